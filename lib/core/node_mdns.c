/* SPDX-License-Identifier: MIT */
/*
 * LAN discovery for the mesh node (node_mdns.h): the engine and socket glue
 * of tests/interop/mdns_probe.c on the node's reactor, and the node's policy
 * for interfaces, advertised addresses and dialled candidates.
 */
#include "node_mdns.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "mdns.h"
#include "multiaddr.h"
#include "osclock.h"
#include "reactor.h"
#include "rng.h"

struct nmdns {
	struct reactor *r;
	struct nmdns_cfg cfg;
	char ifaces[CFG_MAX_MDNS_IFACES][16];
	char wg_ifname[16];
	struct cfg_prefix overlay;
	struct mdns *m;
	struct mcast *s;
	struct rtimer t, t_scan;
	struct mcast_ifaddr addrs[NMDNS_MAX_IFADDRS];
	size_t naddrs;
	unsigned ifs[MCAST_MAX_IFACES]; /* joined */
	size_t nifs;
	uint8_t own[MDNS_MAX_OWN_ADDRS][4]; /* advertised */
	size_t nown;
	uint16_t own_port;
	bool scanned; /* the advertised addresses were computed once */
	int last_err; /* of the last failed socket open, reported once */
	uint8_t out[MDNS_PKT_MAX];
};

/* ---- the policy ---- */

static bool in_net(const uint8_t ip[4], const uint8_t net[4], unsigned plen)
{
	uint32_t a = (uint32_t)ip[0] << 24 | (uint32_t)ip[1] << 16 | (uint32_t)ip[2] << 8 | ip[3];
	uint32_t b = (uint32_t)net[0] << 24 | (uint32_t)net[1] << 16 | (uint32_t)net[2] << 8 | net[3];
	uint32_t mask = plen ? 0xffffffffu << (32 - plen) : 0;

	return plen <= 32 && (a & mask) == (b & mask);
}

static bool in_overlay(const struct cfg_prefix *p, const uint8_t ip[4])
{
	return p && p->family == 4 && in_net(ip, p->addr, p->len);
}

bool nmdns_lan_ip4(const uint8_t ip[4])
{
	static const struct {
		uint8_t net[4];
		unsigned plen;
	} lan[] = {
	    {{10, 0, 0, 0}, 8},     /* RFC 1918 */
	    {{172, 16, 0, 0}, 12},  /* RFC 1918 */
	    {{192, 168, 0, 0}, 16}, /* RFC 1918 */
	    {{100, 64, 0, 0}, 10},  /* RFC 6598: shared address space (CGNAT) */
	    {{169, 254, 0, 0}, 16}, /* RFC 3927: link-local */
	};

	for (size_t i = 0; i < sizeof(lan) / sizeof(lan[0]); i++)
		if (in_net(ip, lan[i].net, lan[i].plen))
			return true;
	return false;
}

static bool joined(const unsigned *ifs, size_t nifs, unsigned idx)
{
	for (size_t i = 0; i < nifs; i++)
		if (ifs[i] == idx)
			return true;
	return false;
}

size_t nmdns_pick_ifaces(const struct mcast_ifaddr *a, size_t na, const char (*names)[16], size_t nnames,
                         const char *wg_ifname, unsigned *out, size_t cap)
{
	size_t n = 0;

	for (size_t i = 0; i < na && n < cap; i++) {
		bool want;

		if (joined(out, n, a[i].ifindex))
			continue;
		if (nnames) {
			want = false;
			for (size_t k = 0; k < nnames; k++)
				want |= !strcmp(names[k], a[i].name);
			want = want && a[i].up && a[i].multicast;
		} else {
			want = a[i].up && a[i].multicast && !a[i].loopback &&
			       !(wg_ifname && !strcmp(wg_ifname, a[i].name));
		}
		if (want)
			out[n++] = a[i].ifindex;
	}
	return n;
}

size_t nmdns_own_ip4(const struct mcast_ifaddr *a, size_t na, const unsigned *ifs, size_t nifs,
                     const uint8_t listen_ip[4], const struct cfg_prefix *overlay, uint8_t (*out)[4],
                     size_t cap)
{
	static const uint8_t any[4] = {0, 0, 0, 0};
	size_t n = 0;

	for (size_t i = 0; i < na && n < cap; i++) {
		if (!joined(ifs, nifs, a[i].ifindex) || !nmdns_lan_ip4(a[i].ip) ||
		    in_overlay(overlay, a[i].ip))
			continue;
		if (memcmp(listen_ip, any, 4) && memcmp(listen_ip, a[i].ip, 4))
			continue; /* listening on one address: only that one is reachable */
		memcpy(out[n++], a[i].ip, 4);
	}
	return n;
}

bool nmdns_dialable_ip4(const struct mcast_ifaddr *a, size_t na, const unsigned *ifs, size_t nifs,
                        const uint8_t ip[4], const struct cfg_prefix *overlay)
{
	if (in_overlay(overlay, ip))
		return false;
	for (size_t i = 0; i < na; i++) {
		uint32_t host, mask;

		if (!joined(ifs, nifs, a[i].ifindex) || a[i].plen > 30 || !in_net(ip, a[i].ip, a[i].plen))
			continue;
		mask = a[i].plen ? 0xffffffffu >> a[i].plen : 0xffffffffu;
		host = ((uint32_t)ip[0] << 24 | (uint32_t)ip[1] << 16 | (uint32_t)ip[2] << 8 | ip[3]) & mask;
		if (host != 0 && host != mask) /* not the network nor the broadcast address */
			return true;
	}
	return false;
}

/* ---- the glue: engine + socket + timers on the reactor (as mdns_probe.c) ---- */

/* Dials the candidate's on-link TCP addresses (the host dials one at a time per peer). */
static void on_found(struct nmdns *m, const struct mdns_found *f)
{
	char id[PEERID_STR_MAX], text[MA_MAX_TEXT];
	size_t dialled = 0;

	if (peerid_to_b58(id, sizeof(id), &f->peer) < 0)
		id[0] = '\0';
	for (size_t i = 0; i < f->naddrs; i++) {
		uint8_t bin[MA_MAX_BIN];
		struct ma_addr a;
		int len;

		if (ma_format(text, sizeof(text), f->addr[i], f->addr_len[i]) < 0)
			text[0] = '\0';
		if (ma_decompose(f->addr[i], f->addr_len[i], &a) < 0 || a.kind != MA_KIND_IP4 || !a.tcp ||
		    !nmdns_dialable_ip4(m->addrs, m->naddrs, m->ifs, m->nifs, a.ip, &m->overlay)) {
			log_debug(m->cfg.log,
			          "mDNS: %s at %s: not an on-link /ip4/.../tcp address, not dialled", id,
			          text);
			continue;
		}
		len = ma_from_ip(bin, sizeof(bin), 4, a.ip, a.port, true, &f->peer);
		if (len < 0)
			continue;
		log_info(m->cfg.log, "mDNS: found %s at %s", id, text);
		m->cfg.dial(m->cfg.ud, bin, (size_t)len);
		dialled++;
	}
	if (!dialled)
		log_debug(m->cfg.log, "mDNS: %s has no address to dial", id);
}

/* Sends what is due, delivers events, re-arms the timer at the next deadline. */
static void run(struct nmdns *m, uint64_t now)
{
	struct mdns_found f;
	uint64_t next;
	int n;

	mdns_tick(m->m, now);
	while ((n = mdns_poll_send(m->m, m->out, sizeof(m->out), now)) > 0)
		if (m->s)
			mcast_send(m->s, m->out, (size_t)n); /* loss is fine: mDNS repeats */
	while (mdns_poll_event(m->m, &f, now) == 1)
		on_found(m, &f);
	next = mdns_next_deadline(m->m);
	if (next == UINT64_MAX || !m->s)
		reactor_timer_disarm(m->r, &m->t);
	else
		reactor_timer_arm(m->r, &m->t, next > now ? next : now);
}

static void on_timer(void *ud, uint64_t now)
{
	run(ud, now);
}

static void on_recv(void *ud, const uint8_t *p, size_t n, const struct sock_ip *src, unsigned ifindex,
                    uint64_t now)
{
	struct nmdns *m = ud;

	(void)ifindex;
	mdns_input(m->m, p, n, src->port, now);
	run(m, now);
}

static bool same_ifs(const unsigned *a, size_t na, const unsigned *b, size_t nb)
{
	if (na != nb)
		return false;
	for (size_t i = 0; i < na; i++)
		if (!joined(b, nb, a[i]))
			return false;
	return true;
}

/* The socket on the interfaces we want: (re)opened when they change. */
static void update_socket(struct nmdns *m)
{
	unsigned want[MCAST_MAX_IFACES];
	size_t nwant = nmdns_pick_ifaces(m->addrs, m->naddrs, (const char(*)[16])m->ifaces, m->cfg.n_ifaces,
	                                 m->wg_ifname, want, MCAST_MAX_IFACES);
	struct mcast_cfg mc = {.version = 1, .ifindex = want, .nif = nwant};
	int e;

	if (m->s && same_ifs(want, nwant, m->ifs, m->nifs))
		return;
	m->s = mcast_free(m->s);
	m->nifs = 0;
	e = nwant ? mcast_new(&m->s, m->r, &mc, on_recv, m) : -ENODEV;
	if (e < 0) {
		if (e != m->last_err)
			log_warn(m->cfg.log, "mDNS: %s; retrying every %llu s",
			         e == -ENODEV ? "no interface to use (up, multicast, IPv4)" : err_str(e),
			         (unsigned long long)(NMDNS_RESCAN_US / 1000000));
		m->last_err = e;
		return;
	}
	m->last_err = 0;
	m->nifs = mcast_ifaces(m->s, m->ifs, MCAST_MAX_IFACES);
	for (size_t i = 0; i < m->nifs; i++)
		for (size_t k = 0; k < m->naddrs; k++)
			if (m->addrs[k].ifindex == m->ifs[i]) {
				log_info(m->cfg.log, "mDNS: on %s", m->addrs[k].name);
				break;
			}
}

/* What we advertise: the listen port on our LAN addresses of the joined interfaces. */
static void update_addrs(struct nmdns *m, uint64_t now)
{
	uint8_t own[MDNS_MAX_OWN_ADDRS][4], bin[MDNS_MAX_OWN_ADDRS][MA_MAX_BIN];
	const uint8_t *ptr[MDNS_MAX_OWN_ADDRS];
	size_t lens[MDNS_MAX_OWN_ADDRS], n = 0;
	const uint8_t *lma = NULL;
	size_t llen = 0;
	struct ma_addr la = {0};

	if (m->cfg.listen_addr && m->cfg.listen_addr(m->cfg.ud, &lma, &llen) == 0 &&
	    ma_decompose(lma, llen, &la) == 0 && la.kind == MA_KIND_IP4 && la.tcp)
		n = nmdns_own_ip4(m->addrs, m->naddrs, m->ifs, m->nifs, la.ip, &m->overlay, own,
		                  MDNS_MAX_OWN_ADDRS);
	if (m->scanned && n == m->nown && (!n || la.port == m->own_port) && !memcmp(own, m->own, n * 4))
		return; /* unchanged: no new announcement */
	m->scanned = true;
	for (size_t i = 0; i < n; i++) {
		int l = ma_from_ip(bin[i], sizeof(bin[i]), 4, own[i], la.port, true, NULL);

		ptr[i] = bin[i];
		lens[i] = l > 0 ? (size_t)l : 0;
	}
	memcpy(m->own, own, n * 4);
	m->nown = n;
	m->own_port = n ? la.port : 0;
	mdns_set_addrs(m->m, ptr, lens, n, now);
	for (size_t i = 0; i < n; i++) {
		char t[MA_MAX_TEXT];

		if (ma_format(t, sizeof(t), ptr[i], lens[i]) > 0)
			log_info(m->cfg.log, "mDNS: advertising %s", t);
	}
	if (!n)
		log_warn(m->cfg.log, "mDNS: no private, shared or link-local IPv4 listen address on the mDNS "
		                     "interfaces: discovering only, not advertised");
}

void nmdns_rescan(struct nmdns *m)
{
	uint64_t now = os_now_us();
	int n = mcast_if_addrs(m->addrs, NMDNS_MAX_IFADDRS);

	m->naddrs = n > 0 ? (size_t)n : 0;
	update_socket(m);
	update_addrs(m, now);
	run(m, now);
	reactor_timer_arm(m->r, &m->t_scan, now + NMDNS_RESCAN_US);
}

static void on_scan(void *ud, uint64_t now)
{
	(void)now;
	nmdns_rescan(ud);
}

static void sys_rng(void *ud, void *buf, size_t n)
{
	(void)ud;
	rng_fill(NULL, buf, n);
}

int nmdns_new(struct nmdns **ret, struct reactor *r, const struct nmdns_cfg *cfg)
{
	struct mdns_cfg mc = {.version = 1, .respond = true, .query = true, .rng_fill = sys_rng};
	struct nmdns *m;
	int e;

	if (!ret || !r || !cfg || !cfg->self || !cfg->dial || cfg->n_ifaces > CFG_MAX_MDNS_IFACES)
		return -EINVAL;
	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->r = r;
	m->cfg = *cfg;
	for (size_t i = 0; i < cfg->n_ifaces; i++)
		memcpy(m->ifaces[i], cfg->ifaces[i], sizeof(m->ifaces[i]));
	if (cfg->wg_ifname)
		strncpy(m->wg_ifname, cfg->wg_ifname, sizeof(m->wg_ifname) - 1);
	if (cfg->overlay)
		m->overlay = *cfg->overlay;
	m->cfg.ifaces = NULL;
	m->cfg.wg_ifname = NULL;
	m->cfg.overlay = NULL;
	mc.self = cfg->self;
	mc.query_interval_us = cfg->interval_us;
	e = mdns_new(&m->m, &mc, os_now_us());
	if (e < 0) {
		free(m);
		return e;
	}
	rtimer_init(&m->t, on_timer, m);
	rtimer_init(&m->t_scan, on_scan, m);
	nmdns_rescan(m);
	*ret = m;
	return 0;
}

struct nmdns *nmdns_free(struct nmdns *m)
{
	int n;

	if (!m)
		return NULL;
	n = mdns_goodbye(m->m, m->out, sizeof(m->out));
	if (n > 0 && m->s && m->nown)
		mcast_send(m->s, m->out, (size_t)n);
	reactor_timer_disarm(m->r, &m->t);
	reactor_timer_disarm(m->r, &m->t_scan);
	m->s = mcast_free(m->s);
	m->m = mdns_free(m->m);
	free(m);
	return NULL;
}

void nmdns_forget(struct nmdns *m, const struct peerid *peer)
{
	if (m && peer)
		mdns_forget(m->m, peer);
}
