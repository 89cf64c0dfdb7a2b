/* SPDX-License-Identifier: MIT */
/*
 * The mDNS engine (p2p/mdns) and socket (os/mcast) on the library's reactor,
 * driven by a poll() loop as core/loop.c drives it, with no node around them:
 * the end-to-end proof against js-libp2p's @libp2p/mdns (test_mdns.py), and
 * the shape of the node wiring (the "glue" below is what the node needs: ~80
 * lines, on loop_reactor()).
 *
 *   mdns_probe --seed HEX32 --addr MA [--addr MA]... [--iface NAME]...
 *              [--interval-ms N] [--timeout-ms N]
 *
 * Prints JSON lines: {"event":"self","peer":ID,"name":PEER_NAME} at start,
 * {"event":"found","peer":ID,"addrs":[MA...]} per candidate event, and
 * {"event":"stats",...} at the end. Runs until stdin closes or the timeout.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hex.h"
#include "ident.h"
#include "mcast.h"
#include "mdns.h"
#include "multiaddr.h"
#include "osclock.h"
#include "reactor.h"

/* --- glue: engine + socket + one timer on the loop's reactor --- */

struct glue {
	struct reactor *r;
	struct mdns *m;
	struct mcast *s;
	struct rtimer t;
	void (*found)(void *ud, const struct mdns_found *f);
	void *ud;
	uint8_t out[MDNS_PKT_MAX];
};

/* Sends what is due, delivers events, re-arms the timer at the next deadline. */
static void glue_run(struct glue *g, uint64_t now)
{
	struct mdns_found f;
	uint64_t next;
	int n;

	mdns_tick(g->m, now);
	while ((n = mdns_poll_send(g->m, g->out, sizeof(g->out), now)) > 0)
		mcast_send(g->s, g->out, (size_t)n); /* loss is fine: mDNS repeats */
	while (mdns_poll_event(g->m, &f, now) == 1)
		g->found(g->ud, &f);
	next = mdns_next_deadline(g->m);
	if (next == UINT64_MAX)
		reactor_timer_disarm(g->r, &g->t);
	else
		reactor_timer_arm(g->r, &g->t, next > now ? next : now);
}

static void glue_timer(void *ud, uint64_t now)
{
	glue_run(ud, now);
}

static void glue_recv(void *ud, const uint8_t *p, size_t n, const struct sock_ip *src, unsigned ifindex,
                      uint64_t now)
{
	struct glue *g = ud;

	(void)ifindex;
	mdns_input(g->m, p, n, src->port, now);
	glue_run(g, now);
}

static int glue_start(struct glue *g, struct reactor *r, const struct mdns_cfg *cfg,
                      const struct mcast_cfg *mc, const uint8_t *const *addrs, const size_t *lens,
                      size_t naddrs)
{
	uint64_t now = os_now_us();
	int e;

	g->r = r;
	rtimer_init(&g->t, glue_timer, g);
	if ((e = mdns_new(&g->m, cfg, now)) < 0)
		return e;
	if ((e = mcast_new(&g->s, r, mc, glue_recv, g)) < 0) {
		g->m = mdns_free(g->m);
		return e;
	}
	mdns_set_addrs(g->m, addrs, lens, naddrs, now);
	glue_run(g, now);
	return 0;
}

static void glue_stop(struct glue *g)
{
	int n = mdns_goodbye(g->m, g->out, sizeof(g->out));

	if (n > 0)
		mcast_send(g->s, g->out, (size_t)n);
	reactor_timer_disarm(g->r, &g->t);
	g->s = mcast_free(g->s);
	g->m = mdns_free(g->m);
}

/* --- the probe --- */

static bool done;

static void on_found(void *ud, const struct mdns_found *f)
{
	char id[PEERID_STR_MAX], t[MA_MAX_TEXT];

	(void)ud;
	peerid_to_b58(id, sizeof(id), &f->peer);
	printf("{\"event\":\"found\",\"peer\":\"%s\",\"addrs\":[", id);
	for (size_t i = 0; i < f->naddrs; i++)
		if (ma_format(t, sizeof(t), f->addr[i], f->addr_len[i]) > 0)
			printf("%s\"%s\"", i ? "," : "", t);
	printf("]}\n");
	fflush(stdout);
}

static void on_stdin(void *ud, int fd, int revents, uint64_t now)
{
	char b[256];

	(void)ud;
	(void)revents;
	(void)now;
	if (read(fd, b, sizeof(b)) <= 0)
		done = true;
}

/* The pull loop of core/loop.c in small: poll the reactor's watches until the
 * deadline, deliver readiness, run due timers. 0 at stdin EOF or timeout. */
static int run(struct reactor *r, int timeout_ms)
{
	uint64_t end = os_now_us() + (uint64_t)timeout_ms * 1000;

	while (!done && os_now_us() < end) {
		struct w2w_watch w[8];
		struct pollfd p[8];
		size_t n = reactor_watches(r, w, 8);
		int64_t dl = reactor_next_deadline(r);
		uint64_t now = os_now_us();
		int wait = 100;

		if (n > 8)
			return -E2BIG;
		for (size_t i = 0; i < n; i++)
			p[i] = (struct pollfd){.fd = w[i].fd,
			                       .events = (w[i].events & W2W_IO_READ) ? POLLIN : 0};
		if (dl >= 0)
			wait = (uint64_t)dl <= now ? 0 : (int)(((uint64_t)dl - now) / 1000 + 1);
		if (wait > 100)
			wait = 100;
		if (poll(p, n, wait) < 0 && errno != EINTR)
			return -errno;
		now = os_now_us();
		for (size_t i = 0; i < n; i++)
			if (p[i].revents)
				reactor_dispatch_io(r, p[i].fd, W2W_IO_READ, now);
		reactor_run_timers(r, now);
	}
	return 0;
}

static void sys_rng(void *ud, void *buf, size_t n)
{
	FILE *f = fopen("/dev/urandom", "rb");

	(void)ud;
	if (!f || fread(buf, 1, n, f) != n)
		abort();
	fclose(f);
}

int main(int argc, char **argv)
{
	static uint8_t abin[MDNS_MAX_OWN_ADDRS][MA_MAX_BIN];
	const uint8_t *ap[MDNS_MAX_OWN_ADDRS];
	size_t al[MDNS_MAX_OWN_ADDRS], na = 0, nif = 0;
	unsigned ifs[MCAST_MAX_IFACES];
	uint8_t seed[IDENT_SEED_LEN] = {0};
	int timeout_ms = 60000;
	uint64_t interval = 0;
	struct ident *me;
	struct reactor *r;
	struct glue g = {0};
	struct mdns_cfg cfg = {.version = 1, .respond = true, .query = true, .rng_fill = sys_rng};
	struct mcast_cfg mc = {.version = 1};
	char id[PEERID_STR_MAX];
	int e;

	for (int i = 1; i + 1 < argc; i += 2) {
		const char *a = argv[i], *v = argv[i + 1];

		if (!strcmp(a, "--seed") && hex_decode(seed, sizeof(seed), v, strlen(v)) == IDENT_SEED_LEN) {
		} else if (!strcmp(a, "--addr") && na < MDNS_MAX_OWN_ADDRS &&
		           (e = ma_parse(abin[na], MA_MAX_BIN, v, strlen(v))) > 0) {
			ap[na] = abin[na];
			al[na++] = (size_t)e;
		} else if (!strcmp(a, "--iface") && nif < MCAST_MAX_IFACES && mcast_ifindex(v) > 0) {
			ifs[nif++] = (unsigned)mcast_ifindex(v);
		} else if (!strcmp(a, "--interval-ms")) {
			interval = strtoull(v, NULL, 10) * 1000;
		} else if (!strcmp(a, "--timeout-ms")) {
			timeout_ms = atoi(v);
		} else {
			fprintf(stderr, "mdns_probe: bad argument %s %s\n", a, v);
			return 2;
		}
	}
	if (ident_from_seed(&me, seed) < 0)
		return 1;
	cfg.self = ident_peerid(me);
	cfg.query_interval_us = interval;
	mc.ifindex = ifs;
	mc.nif = nif;
	r = reactor_new();
	g.found = on_found;
	if (!r || (e = glue_start(&g, r, &cfg, &mc, ap, al, na)) < 0) {
		fprintf(stderr, "mdns_probe: start: %d\n", r ? e : -ENOMEM);
		return 1;
	}
	reactor_io_set(r, 0, W2W_IO_READ, on_stdin, NULL);
	peerid_to_b58(id, sizeof(id), cfg.self);
	printf("{\"event\":\"self\",\"peer\":\"%s\",\"name\":\"%s\"}\n", id, mdns_peer_name(g.m));
	fflush(stdout);
	e = run(r, timeout_ms);
	{
		const struct mdns_stats *st = mdns_stats(g.m);

		printf("{\"event\":\"stats\",\"rx\":%llu,\"rx_bad\":%llu,\"rx_self\":%llu,\"answered\":%llu,"
		       "\"events\":%llu}\n",
		       (unsigned long long)st->rx, (unsigned long long)st->rx_bad,
		       (unsigned long long)st->rx_self, (unsigned long long)st->queries_answered,
		       (unsigned long long)st->events);
	}
	reactor_io_del(r, 0);
	glue_stop(&g);
	e = reactor_free(r) == 0 ? e : -EBUSY; /* nothing may stay registered */
	ident_free(me);
	return e < 0 ? 1 : 0;
}
