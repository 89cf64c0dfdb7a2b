/* SPDX-License-Identifier: MIT */
/*
 * Public WireGuard sync API (include/w2wesher/wg.h): a job queue per handle;
 * each sync = [ensure link] -> get -> [start wireguard-go, get] -> diff -> [set]
 * -> [link MTU/up, addresses]. Backends: os/wg_kernel.h, os/wg_uapi.h.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "log.h"
#include "loop_internal.h"
#include "rtnl.h"
#include "secmem.h"
#include "w2wesher/w2wesher.h"
#include "w2wesher/wg.h"
#include "wg_kernel.h"
#include "wg_uapi.h"
#include "wgconf.h"
#include "wgdev.h"
#include "wgdiff.h"
#include "wgkey.h"

#define SPAWN_TIMEOUT_US (5ull * 1000 * 1000)
#define MAX_ADDRS 256

struct w2w_wg_config {
	struct wgdevice *dev;
	unsigned mtu;
	struct rtnl_addr addrs[MAX_ADDRS];
	size_t naddrs;
};

struct w2w_wg_device {
	struct wgdevice *dev;
	struct wgpeer **peers;
	size_t n;
};

enum job_kind { JOB_SYNC, JOB_READ };

struct job {
	struct job *next;
	enum job_kind kind;
	struct w2w_wg_config *cfg; /* sync: private copy */
	w2w_wg_done_fn done;
	w2w_wg_read_fn read;
	void *ud;
	bool spawned;
	uint32_t ifindex;
	size_t pending;
	int first_err;
	struct wgdiff_stats st;
	bool applied;
	struct wgdevice *upd; /* the set in flight (for the cache) */
};

struct w2w_wg {
	struct w2w_loop *loop;
	struct reactor *r;
	char ifname[WGDEV_IFNAMSIZ];
	int backend_kind;
	struct wgbackend *be;
	struct rtnl *rt;
	struct wlog log;
	char *wireguard_go;
	char *uapi_dir;
	int create;
	unsigned keep_roamed_secs;
	int keep_unlisted;
	int pid;
	struct job *head, *tail, *cur;
	struct rtimer kick;
	int in_cb;
	bool closed;
	struct w2w_wg_sync_stats last;
	/* cache_device: the device as last read, plus every set applied since
	 * (wgdiff_apply); NULL = read before the next diff. */
	int use_cache;
	struct wgdevice *cache;
};

static void wg_free_now(struct w2w_wg *wg);

/* ------------------------------------------------------------------ */
/* Config                                                              */

struct w2w_wg_config *w2w_wg_config_new(void)
{
	struct w2w_wg_config *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->dev = wgdev_new();
	if (!c->dev) {
		free(c);
		return NULL;
	}
	return c;
}

void w2w_wg_config_free(struct w2w_wg_config *cfg)
{
	if (!cfg)
		return;
	wgdev_free(cfg->dev);
	free(cfg);
}

static struct w2w_wg_config *config_copy(const struct w2w_wg_config *src)
{
	struct w2w_wg_config *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	*c = *src;
	c->dev = wgdev_copy(src->dev);
	if (!c->dev) {
		free(c);
		return NULL;
	}
	return c;
}

int w2w_wg_config_parse(struct w2w_wg_config **out, const char *text, size_t len, char *err, size_t errcap)
{
	struct wgconf_err e;
	struct w2w_wg_config *c;
	struct wgdevice *d = NULL;
	int ret;

	ret = wgconf_parse(text, len, &d, &e);
	if (ret < 0) {
		if (err && errcap) {
			if (e.line)
				snprintf(err, errcap, "line %u: %s", e.line, e.msg);
			else
				snprintf(err, errcap, "%s", e.msg[0] ? e.msg : w2w_strerror(ret));
		}
		return ret;
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		wgdev_free(d);
		return -ENOMEM;
	}
	c->dev = d;
	*out = c;
	return 0;
}

int w2w_wg_config_set_private_key(struct w2w_wg_config *cfg, const uint8_t key[W2W_WG_KEY_LEN])
{
	memcpy(cfg->dev->private_key, key, WGDEV_KEY_LEN);
	cfg->dev->flags |= WGDEVICE_HAS_PRIVATE_KEY;
	return 0;
}

int w2w_wg_config_set_listen_port(struct w2w_wg_config *cfg, uint16_t port)
{
	cfg->dev->listen_port = port;
	cfg->dev->flags |= WGDEVICE_HAS_LISTEN_PORT;
	return 0;
}

int w2w_wg_config_set_fwmark(struct w2w_wg_config *cfg, uint32_t fwmark)
{
	cfg->dev->fwmark = fwmark;
	cfg->dev->flags |= WGDEVICE_HAS_FWMARK;
	return 0;
}

int w2w_wg_config_set_mtu(struct w2w_wg_config *cfg, unsigned mtu)
{
	if (mtu < 68 || mtu > 65535)
		return -EINVAL;
	cfg->mtu = mtu;
	return 0;
}

int w2w_wg_config_add_address(struct w2w_wg_config *cfg, const char *cidr)
{
	struct wgallowedip a;
	struct rtnl_addr *r;

	if (!cidr || !wgallowedip_parse(&a, cidr, strlen(cidr)))
		return W2W_EPARSE;
	if (cfg->naddrs >= MAX_ADDRS)
		return W2W_ELIMIT;
	r = &cfg->addrs[cfg->naddrs++];
	memset(r, 0, sizeof(*r));
	r->family = (uint8_t)a.family;
	r->prefixlen = a.cidr;
	memcpy(r->addr, a.family == AF_INET ? (const void *)&a.ip4 : (const void *)&a.ip6,
	       a.family == AF_INET ? 4 : 16);
	return 0;
}

int w2w_wg_config_add_peer(struct w2w_wg_config *cfg, const uint8_t public_key[W2W_WG_KEY_LEN],
			   struct w2w_wg_peer **out)
{
	struct wgpeer *p = wgdev_add_peer(cfg->dev);

	if (!p)
		return -ENOMEM;
	memcpy(p->public_key, public_key, WGDEV_KEY_LEN);
	p->flags = WGPEER_HAS_PUBLIC_KEY | WGPEER_REPLACE_ALLOWEDIPS;
	if (out)
		*out = (struct w2w_wg_peer *)p;
	return 0;
}

struct w2w_wg_peer *w2w_wg_config_find_peer(struct w2w_wg_config *cfg, const uint8_t public_key[W2W_WG_KEY_LEN])
{
	return (struct w2w_wg_peer *)wgdev_find_peer(cfg->dev, public_key);
}

int w2w_wg_peer_set_preshared_key(struct w2w_wg_peer *peer, const uint8_t psk[W2W_WG_KEY_LEN])
{
	struct wgpeer *p = (struct wgpeer *)peer;

	memcpy(p->preshared_key, psk, WGDEV_KEY_LEN);
	p->flags |= WGPEER_HAS_PRESHARED_KEY;
	return 0;
}

int w2w_wg_peer_set_endpoint(struct w2w_wg_peer *peer, const char *endpoint)
{
	struct wgpeer *p = (struct wgpeer *)peer;
	union wgendpoint ep;

	if (!endpoint || !wgendpoint_parse(&ep, endpoint, strlen(endpoint)))
		return W2W_EPARSE;
	p->endpoint = ep;
	return 0;
}

int w2w_wg_peer_set_keepalive(struct w2w_wg_peer *peer, uint16_t seconds)
{
	struct wgpeer *p = (struct wgpeer *)peer;

	p->persistent_keepalive_interval = seconds;
	p->flags |= WGPEER_HAS_PERSISTENT_KEEPALIVE;
	return 0;
}

int w2w_wg_peer_add_allowed_ip(struct w2w_wg_peer *peer, const char *cidr)
{
	struct wgpeer *p = (struct wgpeer *)peer;
	struct wgallowedip a, *n;

	if (!cidr || !wgallowedip_parse(&a, cidr, strlen(cidr)))
		return W2W_EPARSE;
	n = wgpeer_add_allowedip(p);
	if (!n)
		return -ENOMEM;
	a.next_allowedip = NULL;
	*n = a;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Device (read result)                                                */

static int device_wrap(struct wgdevice *d, struct w2w_wg_device **out)
{
	struct w2w_wg_device *w = calloc(1, sizeof(*w));
	struct wgpeer *p;
	size_t k = 0;

	if (!w)
		return -ENOMEM;
	w->n = wgdev_peer_count(d);
	w->peers = calloc(w->n ? w->n : 1, sizeof(*w->peers));
	if (!w->peers) {
		free(w);
		return -ENOMEM;
	}
	wgdev_for_each_peer(d, p) w->peers[k++] = p;
	/* UAPI does not report the public key; the kernel does. Derive it when missing. */
	if ((d->flags & WGDEVICE_HAS_PRIVATE_KEY) && !(d->flags & WGDEVICE_HAS_PUBLIC_KEY)) {
		if (wgkey_public(d->public_key, d->private_key) == 0)
			d->flags |= WGDEVICE_HAS_PUBLIC_KEY;
	}
	w->dev = d;
	*out = w;
	return 0;
}

void w2w_wg_device_free(struct w2w_wg_device *dev)
{
	if (!dev)
		return;
	wgdev_free(dev->dev);
	free(dev->peers);
	free(dev);
}

const char *w2w_wg_device_name(const struct w2w_wg_device *dev)
{
	return dev->dev->name;
}

int w2w_wg_device_public_key(const struct w2w_wg_device *dev, uint8_t out[W2W_WG_KEY_LEN])
{
	if (!(dev->dev->flags & WGDEVICE_HAS_PUBLIC_KEY) || wgdev_key_is_zero(dev->dev->public_key))
		return -ENOENT;
	memcpy(out, dev->dev->public_key, WGDEV_KEY_LEN);
	return 0;
}

int w2w_wg_device_private_key(const struct w2w_wg_device *dev, uint8_t out[W2W_WG_KEY_LEN])
{
	if (!(dev->dev->flags & WGDEVICE_HAS_PRIVATE_KEY))
		return -ENOENT;
	memcpy(out, dev->dev->private_key, WGDEV_KEY_LEN);
	return 0;
}

uint16_t w2w_wg_device_listen_port(const struct w2w_wg_device *dev)
{
	return dev->dev->listen_port;
}

uint32_t w2w_wg_device_fwmark(const struct w2w_wg_device *dev)
{
	return dev->dev->fwmark;
}

size_t w2w_wg_device_peer_count(const struct w2w_wg_device *dev)
{
	return dev->n;
}

int w2w_wg_device_peer(const struct w2w_wg_device *dev, size_t i, struct w2w_wg_peer_info *out)
{
	const struct wgpeer *p;

	if (i >= dev->n)
		return -ERANGE;
	p = dev->peers[i];
	memset(out, 0, sizeof(*out));
	memcpy(out->public_key, p->public_key, WGDEV_KEY_LEN);
	out->has_preshared_key = !!(p->flags & WGPEER_HAS_PRESHARED_KEY);
	if (wgendpoint_format(out->endpoint, sizeof(out->endpoint), &p->endpoint) < 0)
		out->endpoint[0] = '\0';
	out->persistent_keepalive = p->persistent_keepalive_interval;
	out->last_handshake_sec = p->last_handshake_time.tv_sec;
	out->last_handshake_nsec = p->last_handshake_time.tv_nsec;
	out->rx_bytes = p->rx_bytes;
	out->tx_bytes = p->tx_bytes;
	out->n_allowed_ips = wgpeer_allowedip_count(p);
	return 0;
}

int w2w_wg_device_allowed_ip(const struct w2w_wg_device *dev, size_t i, size_t j, char *out, size_t cap)
{
	const struct wgallowedip *a;

	if (i >= dev->n)
		return -ERANGE;
	for (a = dev->peers[i]->first_allowedip; a && j; a = a->next_allowedip)
		j--;
	if (!a)
		return -ERANGE;
	return wgallowedip_format(out, cap, a);
}

int w2w_wg_device_showconf(const struct w2w_wg_device *dev, char **out, size_t *len)
{
	struct buf b;
	int ret;

	buf_init(&b, 0);
	ret = wgconf_print(dev->dev, &b);
	if (ret >= 0)
		ret = buf_append_u8(&b, 0);
	if (ret < 0) {
		buf_free_wipe(&b);
		return ret;
	}
	*out = (char *)b.data;
	if (len)
		*len = b.len - 1;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Handle and jobs                                                     */

static void job_free(struct job *j)
{
	if (!j)
		return;
	w2w_wg_config_free(j->cfg);
	wgdev_free(j->upd);
	free(j);
}

static void kick_next(struct w2w_wg *wg)
{
	if (!wg->cur && wg->head && !rtimer_armed(&wg->kick))
		reactor_timer_arm(wg->r, &wg->kick, 0);
}

/* Ends the current job: user callback last; frees the handle if it was closed inside. */
static void job_finish(struct w2w_wg *wg, int err, struct wgdevice *dev)
{
	struct job *j = wg->cur;
	struct w2w_wg_device *wd = NULL;
	const struct wgbackend_stats *bs = wgbackend_stats(wg->be);

	wg->cur = NULL;
	if (j->kind == JOB_SYNC) {
		memset(&wg->last, 0, sizeof(wg->last));
		wg->last.added = j->st.added;
		wg->last.removed = j->st.removed;
		wg->last.updated = j->st.updated;
		wg->last.unchanged = j->st.unchanged;
		wg->last.endpoints_kept = j->st.endpoints_kept;
		wg->last.device_changed = j->st.device_changed;
		wg->last.applied = j->applied;
		wg->last.msgs_sent = bs->msgs_sent;
		wg->last.msgs_recv = bs->msgs_recv;
		wg->last.bytes_sent = bs->bytes_sent;
		wg->last.bytes_recv = bs->bytes_recv;
	}
	if (err >= 0 && j->kind == JOB_READ) {
		err = device_wrap(dev, &wd);
		if (err >= 0)
			dev = NULL;
	}
	wgdev_free(dev);
	kick_next(wg);
	wg->in_cb++;
	loop_enter_cb(wg->loop);
	if (j->kind == JOB_SYNC && j->done)
		j->done(j->ud, err);
	else if (j->kind == JOB_READ && j->read)
		j->read(j->ud, err, wd);
	else
		w2w_wg_device_free(wd);
	loop_leave_cb(wg->loop);
	wg->in_cb--;
	job_free(j);
	if (wg->closed && !wg->in_cb)
		wg_free_now(wg);
}

static void step_get(struct w2w_wg *wg);
static void step_link(struct w2w_wg *wg);

static int ensure_rtnl(struct w2w_wg *wg)
{
	if (wg->rt)
		return 0;
	return rtnl_new(wg->r, &wg->log, &wg->rt);
}

static void addr_op_done(void *ud, int err)
{
	struct w2w_wg *wg = ud;
	struct job *j = wg->cur;

	if (err < 0 && !j->first_err)
		j->first_err = err;
	if (--j->pending == 0)
		job_finish(wg, j->first_err, NULL);
}

static bool addr_eq(const struct rtnl_addr *a, const struct rtnl_addr *b)
{
	return a->family == b->family && a->prefixlen == b->prefixlen &&
	       memcmp(a->addr, b->addr, a->family == AF_INET ? 4 : 16) == 0;
}

static bool is_link_local6(const struct rtnl_addr *a)
{
	return a->family == AF_INET6 && a->addr[0] == 0xfe && (a->addr[1] & 0xc0) == 0x80;
}

static void on_addr_list(void *ud, int err, const struct rtnl_addr *addrs, size_t n)
{
	struct w2w_wg *wg = ud;
	struct job *j = wg->cur;
	const struct w2w_wg_config *c = j->cfg;
	int ret;

	if (err < 0) {
		job_finish(wg, err, NULL);
		return;
	}
	j->pending = 1; /* held until every op is queued */
	for (size_t i = 0; i < c->naddrs; i++) {
		bool have = false;
		struct rtnl_addr a = c->addrs[i];

		for (size_t k = 0; k < n && !have; k++)
			have = addr_eq(&addrs[k], &a);
		if (have)
			continue;
		a.ifindex = j->ifindex;
		ret = rtnl_addr_add(wg->rt, &a, addr_op_done, wg);
		if (ret < 0 && !j->first_err)
			j->first_err = ret;
		else if (ret >= 0)
			j->pending++;
	}
	for (size_t k = 0; k < n; k++) {
		bool want = is_link_local6(&addrs[k]);

		for (size_t i = 0; i < c->naddrs && !want; i++)
			want = addr_eq(&addrs[k], &c->addrs[i]);
		if (want || !c->naddrs)
			continue;
		ret = rtnl_addr_del(wg->rt, &addrs[k], addr_op_done, wg);
		if (ret < 0 && !j->first_err)
			j->first_err = ret;
		else if (ret >= 0)
			j->pending++;
	}
	if (--j->pending == 0)
		job_finish(wg, j->first_err, NULL);
}

static void on_link_set(void *ud, int err)
{
	struct w2w_wg *wg = ud;
	struct job *j = wg->cur;
	int ret;

	if (err < 0) {
		job_finish(wg, err, NULL);
		return;
	}
	if (!j->cfg->naddrs) {
		job_finish(wg, 0, NULL);
		return;
	}
	ret = rtnl_addr_list(wg->rt, j->ifindex, AF_UNSPEC, on_addr_list, wg);
	if (ret < 0)
		job_finish(wg, ret, NULL);
}

static void on_link_get(void *ud, int err, const struct rtnl_link *link)
{
	struct w2w_wg *wg = ud;
	struct job *j = wg->cur;
	int ret;

	if (err < 0) {
		job_finish(wg, err, NULL);
		return;
	}
	j->ifindex = link->ifindex;
	ret = rtnl_link_set(wg->rt, link->ifindex, j->cfg->mtu, true, on_link_set, wg);
	if (ret < 0)
		job_finish(wg, ret, NULL);
}

/* MTU, up, addresses: only when the description has any. */
static void step_link(struct w2w_wg *wg)
{
	struct job *j = wg->cur;
	int ret;

	if (!j->cfg->mtu && !j->cfg->naddrs) {
		job_finish(wg, 0, NULL);
		return;
	}
	ret = ensure_rtnl(wg);
	if (ret >= 0)
		ret = rtnl_link_get(wg->rt, wg->ifname, on_link_get, wg);
	if (ret < 0)
		job_finish(wg, ret, NULL);
}

static void drop_cache(struct w2w_wg *wg)
{
	wgdev_free(wg->cache);
	wg->cache = NULL;
}

static void on_set(void *ud, int err)
{
	struct w2w_wg *wg = ud;

	if (err < 0) {
		log_warn(&wg->log, "wg %s: set failed: %s", wg->ifname, w2w_strerror(err));
		drop_cache(wg); /* the device may hold part of the update: read it next time */
		job_finish(wg, err, NULL);
		return;
	}
	if (wg->cache && wgdiff_apply(wg->cache, wg->cur->upd) < 0)
		drop_cache(wg);
	wg->cur->applied = true;
	step_link(wg);
}

static void on_spawned(void *ud, int err, pid_t pid)
{
	struct w2w_wg *wg = ud;

	if (err < 0) {
		log_err(&wg->log, "wg %s: could not start the userspace implementation: %s", wg->ifname,
			w2w_strerror(err));
		job_finish(wg, err, NULL);
		return;
	}
	wg->pid = (int)pid;
	step_get(wg);
}

/* desired vs actual -> set (if anything differs) -> link step. */
static void sync_diff(struct w2w_wg *wg, const struct wgdevice *actual)
{
	struct job *j = wg->cur;
	struct wgdevice *upd = NULL;
	struct wgdiff_opts o = {0};
	int ret;

	o.now_sec = wgbackend_realtime_sec();
	o.keep_roamed_secs = wg->keep_roamed_secs;
	o.keep_unlisted = wg->keep_unlisted;
	memcpy(j->cfg->dev->name, wg->ifname, sizeof(wg->ifname));
	ret = wgdiff(j->cfg->dev, actual, &o, &upd, &j->st);
	if (ret < 0) {
		job_finish(wg, ret, NULL);
		return;
	}
	if (wgdiff_is_empty(upd)) {
		wgdev_free(upd);
		step_link(wg);
		return;
	}
	log_debug(&wg->log, "wg %s: +%zu -%zu ~%zu peers", wg->ifname, j->st.added, j->st.removed, j->st.updated);
	ret = wgbackend_set_device(wg->be, upd, on_set, wg);
	if (ret < 0 || !wg->cache) {
		wgdev_free(upd); /* the backend copied it (and wipes its copy) */
		upd = NULL;
	}
	j->upd = upd;
	if (ret < 0)
		job_finish(wg, ret, NULL);
}

static void on_get(void *ud, int err, struct wgdevice *actual)
{
	struct w2w_wg *wg = ud;
	struct job *j = wg->cur;
	int ret;

	if (j->kind == JOB_READ) {
		if (wg->use_cache) {
			drop_cache(wg);
			if (err >= 0)
				wg->cache = wgdev_copy(actual); /* NULL on ENOMEM: read next time */
		}
		job_finish(wg, err, actual);
		return;
	}
	if (err == -ENODEV && wg->create && !j->spawned && !strcmp(wgbackend_name(wg->be), "userspace")) {
		j->spawned = true;
		ret = wg_uapi_spawn(wg->be, wg->ifname, wg->wireguard_go, SPAWN_TIMEOUT_US, on_spawned, wg);
		if (ret < 0)
			job_finish(wg, ret, NULL);
		return;
	}
	if (err < 0) {
		drop_cache(wg);
		job_finish(wg, err, NULL);
		return;
	}
	if (wg->use_cache) {
		drop_cache(wg);
		wg->cache = actual; /* kept: the next sync diffs against it */
		sync_diff(wg, actual);
		return;
	}
	sync_diff(wg, actual);
	wgdev_free(actual);
}

static void step_get(struct w2w_wg *wg)
{
	int ret = wgbackend_get_device(wg->be, wg->ifname, on_get, wg);

	if (ret < 0)
		job_finish(wg, ret, NULL);
}

static void on_link_ensured(void *ud, int err, const struct rtnl_link *link)
{
	struct w2w_wg *wg = ud;

	if (err < 0) {
		job_finish(wg, err, NULL);
		return;
	}
	step_get(wg);
}

static void on_kick(void *ud, uint64_t now_us)
{
	struct w2w_wg *wg = ud;
	struct job *j;
	int ret;

	if (wg->cur || !wg->head)
		return;
	j = wg->cur = wg->head;
	wg->head = j->next;
	if (!wg->head)
		wg->tail = NULL;
	if (j->kind == JOB_SYNC && wg->cache) {
		/* cache_device: diff against what this handle last read and wrote */
		sync_diff(wg, wg->cache);
		return;
	}
	if (j->kind == JOB_SYNC && wg->create && !strcmp(wgbackend_name(wg->be), "kernel")) {
		ret = ensure_rtnl(wg);
		if (ret >= 0)
			ret = rtnl_link_ensure(wg->rt, wg->ifname, "wireguard", j->cfg->mtu, on_link_ensured, wg);
		if (ret < 0)
			job_finish(wg, ret, NULL);
		return;
	}
	step_get(wg);
}

static void enqueue(struct w2w_wg *wg, struct job *j)
{
	if (wg->tail)
		wg->tail->next = j;
	else
		wg->head = j;
	wg->tail = j;
	kick_next(wg);
}

int w2w_wg_sync(struct w2w_wg *wg, const struct w2w_wg_config *cfg, w2w_wg_done_fn cb, void *ud)
{
	struct job *j;

	if (!wg || !cfg || wg->closed)
		return -EINVAL;
	j = calloc(1, sizeof(*j));
	if (!j)
		return -ENOMEM;
	j->kind = JOB_SYNC;
	j->cfg = config_copy(cfg);
	if (!j->cfg) {
		free(j);
		return -ENOMEM;
	}
	j->done = cb;
	j->ud = ud;
	enqueue(wg, j);
	return 0;
}

int w2w_wg_read(struct w2w_wg *wg, w2w_wg_read_fn cb, void *ud)
{
	struct job *j;

	if (!wg || !cb || wg->closed)
		return -EINVAL;
	j = calloc(1, sizeof(*j));
	if (!j)
		return -ENOMEM;
	j->kind = JOB_READ;
	j->read = cb;
	j->ud = ud;
	enqueue(wg, j);
	return 0;
}

int w2w_wg_open(struct w2w_wg **out, struct w2w_loop *loop, const char *ifname, const struct w2w_wg_opts *opts)
{
	static const struct w2w_wg_opts defaults = {.version = W2W_WG_OPTS_VERSION};
	struct w2w_wg *wg;
	struct wgdevice tmp;
	int kind, ret;

	if (!opts)
		opts = &defaults;
	if (!out || !loop || opts->version != W2W_WG_OPTS_VERSION || wgdev_set_name(&tmp, ifname) < 0)
		return -EINVAL;
	kind = opts->backend;
	if (kind < W2W_WG_BACKEND_AUTO || kind > W2W_WG_BACKEND_USERSPACE)
		return -EINVAL;
	wg = calloc(1, sizeof(*wg));
	if (!wg)
		return -ENOMEM;
	wg->loop = loop;
	wg->r = loop_reactor(loop);
	memcpy(wg->ifname, tmp.name, sizeof(wg->ifname));
	wg->pid = -1;
	wg->create = opts->create;
	wg->keep_roamed_secs = opts->keep_roamed_secs;
	wg->keep_unlisted = opts->keep_unlisted_peers;
	wg->use_cache = opts->cache_device;
	wg->log.fn = opts->log; /* NULL drops messages */
	wg->log.ud = opts->log_ud;
	wg->log.max_level = opts->log_level ? opts->log_level : WLOG_INFO;
	rtimer_init(&wg->kick, on_kick, wg);
	ret = -ENOMEM;
	if (opts->wireguard_go && !(wg->wireguard_go = strdup(opts->wireguard_go)))
		goto fail;
	if (opts->uapi_dir && !(wg->uapi_dir = strdup(opts->uapi_dir)))
		goto fail;
	if (kind == W2W_WG_BACKEND_AUTO) {
		/* An interface run by a userspace implementation has its UAPI socket
		 * (this is how wg(8) picks too); otherwise the kernel if it has the module. */
		char path[128];
		struct stat st;
		int n = snprintf(path, sizeof(path), "%s/%s.sock", wg->uapi_dir ? wg->uapi_dir : WG_UAPI_SOCKDIR,
				 wg->ifname);

		if (n > 0 && (size_t)n < sizeof(path) && stat(path, &st) == 0 && S_ISSOCK(st.st_mode)) {
			kind = W2W_WG_BACKEND_USERSPACE;
		} else {
			ret = wg_kernel_new(wg->r, &wg->log, &wg->be);
			if (ret == -EPROTONOSUPPORT) {
				log_info(&wg->log, "wg %s: no kernel WireGuard: using the userspace backend", wg->ifname);
				kind = W2W_WG_BACKEND_USERSPACE;
			} else if (ret < 0) {
				goto fail;
			} else {
				kind = W2W_WG_BACKEND_KERNEL;
			}
		}
	} else if (kind == W2W_WG_BACKEND_KERNEL) {
		ret = wg_kernel_new(wg->r, &wg->log, &wg->be);
		if (ret < 0)
			goto fail;
	}
	if (kind == W2W_WG_BACKEND_USERSPACE && !wg->be) {
		ret = wg_uapi_new(wg->r, &wg->log, wg->uapi_dir, &wg->be);
		if (ret < 0)
			goto fail;
	}
	wg->backend_kind = kind;
	*out = wg;
	return 0;
fail:
	free(wg->wireguard_go);
	free(wg->uapi_dir);
	free(wg);
	return ret;
}

static void wg_free_now(struct w2w_wg *wg)
{
	struct job *j, *n;

	reactor_timer_disarm(wg->r, &wg->kick);
	wgbackend_free(wg->be);
	rtnl_free(wg->rt);
	drop_cache(wg);
	job_free(wg->cur);
	for (j = wg->head; j; j = n) {
		n = j->next;
		job_free(j);
	}
	free(wg->wireguard_go);
	free(wg->uapi_dir);
	free(wg);
}

void w2w_wg_close(struct w2w_wg *wg)
{
	if (!wg)
		return;
	if (wg->in_cb) {
		/* Inside our own callback: free once it returns. Stop everything now. */
		wg->closed = true;
		return;
	}
	wg_free_now(wg);
}

const char *w2w_wg_backend_name(const struct w2w_wg *wg)
{
	return wgbackend_name(wg->be);
}

const char *w2w_wg_ifname(const struct w2w_wg *wg)
{
	return wg->ifname;
}

int w2w_wg_userspace_pid(const struct w2w_wg *wg)
{
	return wg->pid;
}

void w2w_wg_last_sync_stats(const struct w2w_wg *wg, struct w2w_wg_sync_stats *out)
{
	*out = wg->last;
}

struct list_res {
	int done, err;
	char *names;
	struct w2w_loop *loop;
};

static void on_list(void *ud, int err, char *names)
{
	struct list_res *r = ud;

	r->done = 1;
	r->err = err;
	r->names = names;
	w2w_loop_break(r->loop);
}

int w2w_wg_list(struct w2w_wg *wg, char **out)
{
	struct list_res r = {.loop = wg->loop};
	int ret = wgbackend_list_devices(wg->be, on_list, &r);

	for (int i = 0; ret >= 0 && !r.done && i < 100; i++)
		ret = w2w_loop_run(wg->loop, 50) < 0 ? -EIO : 0;
	if (ret < 0)
		return ret;
	if (!r.done)
		return W2W_ETIMEDOUT;
	if (r.err < 0)
		return r.err;
	*out = r.names;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Synchronous conveniences                                            */

struct run_res {
	int done, err;
	struct w2w_wg_device *dev;
	struct w2w_loop *loop;
};

static void run_done(void *ud, int err)
{
	struct run_res *r = ud;

	r->done = 1;
	r->err = err;
	w2w_loop_break(r->loop);
}

static void run_read(void *ud, int err, struct w2w_wg_device *dev)
{
	struct run_res *r = ud;

	r->done = 1;
	r->err = err;
	r->dev = dev;
	w2w_loop_break(r->loop);
}

/* Drops a job whose caller stopped waiting (its ud lives on the caller's stack). */
static void abandon(struct w2w_wg *wg, void *ud)
{
	struct job *j;

	if (wg->cur && wg->cur->ud == ud) {
		wg->cur->done = NULL;
		wg->cur->read = NULL;
	}
	for (j = wg->head; j; j = j->next) {
		if (j->ud == ud) {
			j->done = NULL;
			j->read = NULL;
		}
	}
}

static int run_until(struct w2w_wg *wg, struct run_res *r, int timeout_ms)
{
	uint64_t end = w2w_now_us() + (uint64_t)(timeout_ms < 0 ? 0 : timeout_ms) * 1000;

	while (!r->done) {
		uint64_t now = w2w_now_us();
		int left = timeout_ms < 0 ? -1 : (now >= end ? 0 : (int)((end - now + 999) / 1000));
		int ret;

		if (left == 0) {
			abandon(wg, r);
			return W2W_ETIMEDOUT;
		}
		ret = w2w_loop_run(wg->loop, left);
		if (ret < 0) {
			abandon(wg, r);
			return ret;
		}
	}
	return r->err;
}

int w2w_wg_sync_run(struct w2w_wg *wg, const struct w2w_wg_config *cfg, int timeout_ms)
{
	struct run_res r = {.loop = wg->loop};
	int ret = w2w_wg_sync(wg, cfg, run_done, &r);

	return ret < 0 ? ret : run_until(wg, &r, timeout_ms);
}

int w2w_wg_read_run(struct w2w_wg *wg, struct w2w_wg_device **out, int timeout_ms)
{
	struct run_res r = {.loop = wg->loop};
	int ret = w2w_wg_read(wg, run_read, &r);

	if (ret < 0)
		return ret;
	ret = run_until(wg, &r, timeout_ms);
	if (ret < 0) {
		w2w_wg_device_free(r.dev);
		return ret;
	}
	*out = r.dev;
	return 0;
}
