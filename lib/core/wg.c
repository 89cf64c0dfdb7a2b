/* SPDX-License-Identifier: MIT */
/*
 * Public WireGuard API (include/w2wesher/wg.h): the description and device
 * objects, and a handle that queues its operations on the one sync engine
 * (core/wgsync.h) the node uses too.
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
#include "secmem.h"
#include "w2wesher/w2wesher.h"
#include "w2wesher/wg.h"
#include "wgconf.h"
#include "wgdev.h"
#include "wgkey.h"
#include "wgsync.h"

#define MAX_ADDRS 256
#define LIST_TIMEOUT_MS 5000

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

struct op;

struct w2w_wg {
	struct w2w_loop *loop;
	struct wgsync *ws;
	struct op *ops; /* operations queued on the engine, not yet reported */
	struct wlog log;   /* what the engine logs to: log_tramp */
	w2w_log_fn log_fn; /* the user's sink (w2w_wg_set_log) */
	void *log_ud;
	int in_log;          /* inside the user's log callback */
	struct rtimer reap;  /* frees a handle freed from inside a log callback */
	struct w2w_wg_sync_stats last;
	bool create, keep_unlisted;
	int in_cb;
	bool freed;
};

/* ------------------------------------------------------------------ */
/* Config                                                              */

int w2w_wg_config_new(struct w2w_wg_config **ret)
{
	struct w2w_wg_config *c;

	if (!ret)
		return -EINVAL;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->dev = wgdev_new();
	if (!c->dev) {
		free(c);
		return -ENOMEM;
	}
	*ret = c;
	return 0;
}

struct w2w_wg_config *w2w_wg_config_free(struct w2w_wg_config *cfg)
{
	if (cfg) {
		wgdev_free(cfg->dev);
		free(cfg);
	}
	return NULL;
}

/* Base64 key text (NUL-terminated), in constant time. */
static int key_in(uint8_t out[WGDEV_KEY_LEN], const char *text)
{
	if (!text)
		return -EINVAL;
	return wgkey_from_b64(out, text, strnlen(text, WG_KEY_B64_LEN + 1)) < 0 ? W2W_EPARSE : 0;
}

static int key_out(char *out, size_t cap, const uint8_t k[WGDEV_KEY_LEN])
{
	if (!out)
		return -EINVAL;
	if (cap < WG_KEY_B64_LEN + 1)
		return -ENOSPC;
	wgkey_to_b64(out, k);
	return WG_KEY_B64_LEN;
}

int w2w_wg_config_parse(struct w2w_wg_config **out, const char *text, size_t len, char *err, size_t errcap)
{
	struct wgconf_err e;
	struct w2w_wg_config *c;
	struct wgdevice *d = NULL;
	int ret;

	if (!out || !text)
		return -EINVAL;
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

int w2w_wg_config_set_private_key(struct w2w_wg_config *cfg, const char *key)
{
	uint8_t k[WGDEV_KEY_LEN];
	int ret;

	if (!cfg)
		return -EINVAL;
	ret = key_in(k, key);
	if (ret == 0) {
		memcpy(cfg->dev->private_key, k, WGDEV_KEY_LEN);
		cfg->dev->flags |= WGDEVICE_HAS_PRIVATE_KEY;
	}
	secure_wipe(k, sizeof(k));
	return ret;
}

int w2w_wg_config_set_listen_port(struct w2w_wg_config *cfg, uint16_t port)
{
	if (!cfg)
		return -EINVAL;
	cfg->dev->listen_port = port;
	cfg->dev->flags |= WGDEVICE_HAS_LISTEN_PORT;
	return 0;
}

int w2w_wg_config_set_fwmark(struct w2w_wg_config *cfg, uint32_t fwmark)
{
	if (!cfg)
		return -EINVAL;
	cfg->dev->fwmark = fwmark;
	cfg->dev->flags |= WGDEVICE_HAS_FWMARK;
	return 0;
}

int w2w_wg_config_set_mtu(struct w2w_wg_config *cfg, unsigned mtu)
{
	if (!cfg || mtu < 68 || mtu > 65535)
		return -EINVAL;
	cfg->mtu = mtu;
	return 0;
}

int w2w_wg_config_add_address(struct w2w_wg_config *cfg, const char *cidr)
{
	struct wgallowedip a;
	struct rtnl_addr *r;

	if (!cfg || !cidr)
		return -EINVAL;
	if (!wgallowedip_parse(&a, cidr, strlen(cidr)))
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

int w2w_wg_config_add_peer(struct w2w_wg_config *cfg, const char *public_key, struct w2w_wg_peer **out)
{
	uint8_t k[WGDEV_KEY_LEN];
	struct wgpeer *p;
	int ret;

	if (!cfg)
		return -EINVAL;
	ret = key_in(k, public_key);
	if (ret < 0)
		return ret;
	p = wgdev_add_peer(cfg->dev);
	if (!p)
		return -ENOMEM;
	memcpy(p->public_key, k, WGDEV_KEY_LEN);
	p->flags = WGPEER_HAS_PUBLIC_KEY | WGPEER_REPLACE_ALLOWEDIPS;
	if (out)
		*out = (struct w2w_wg_peer *)p;
	return 0;
}

struct w2w_wg_peer *w2w_wg_config_find_peer(struct w2w_wg_config *cfg, const char *public_key)
{
	uint8_t k[WGDEV_KEY_LEN];

	if (!cfg || key_in(k, public_key) < 0)
		return NULL;
	return (struct w2w_wg_peer *)wgdev_find_peer(cfg->dev, k);
}

int w2w_wg_peer_set_preshared_key(struct w2w_wg_peer *peer, const char *psk)
{
	struct wgpeer *p = (struct wgpeer *)peer;
	uint8_t k[WGDEV_KEY_LEN];
	int ret;

	if (!p)
		return -EINVAL;
	ret = key_in(k, psk);
	if (ret == 0) {
		memcpy(p->preshared_key, k, WGDEV_KEY_LEN);
		p->flags |= WGPEER_HAS_PRESHARED_KEY;
	}
	secure_wipe(k, sizeof(k));
	return ret;
}

int w2w_wg_peer_set_endpoint(struct w2w_wg_peer *peer, const char *endpoint)
{
	struct wgpeer *p = (struct wgpeer *)peer;
	union wgendpoint ep;

	if (!p || !endpoint)
		return -EINVAL;
	if ( !wgendpoint_parse(&ep, endpoint, strlen(endpoint)))
		return W2W_EPARSE;
	p->endpoint = ep;
	return 0;
}

int w2w_wg_peer_set_keepalive(struct w2w_wg_peer *peer, uint16_t seconds)
{
	struct wgpeer *p = (struct wgpeer *)peer;

	if (!p)
		return -EINVAL;
	p->persistent_keepalive_interval = seconds;
	p->flags |= WGPEER_HAS_PERSISTENT_KEEPALIVE;
	return 0;
}

int w2w_wg_peer_add_allowed_ip(struct w2w_wg_peer *peer, const char *cidr)
{
	struct wgpeer *p = (struct wgpeer *)peer;
	struct wgallowedip a, *n;

	if (!p || !cidr)
		return -EINVAL;
	if ( !wgallowedip_parse(&a, cidr, strlen(cidr)))
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

struct w2w_wg_device *w2w_wg_device_free(struct w2w_wg_device *dev)
{
	if (dev) {
		wgdev_free(dev->dev);
		free(dev->peers);
		free(dev);
	}
	return NULL;
}

const char *w2w_wg_device_name(const struct w2w_wg_device *dev)
{
	return dev->dev->name;
}

int w2w_wg_device_public_key(const struct w2w_wg_device *dev, char *out, size_t cap)
{
	if (!dev)
		return -EINVAL;
	if (!(dev->dev->flags & WGDEVICE_HAS_PUBLIC_KEY) || wgdev_key_is_zero(dev->dev->public_key))
		return -ENOENT;
	return key_out(out, cap, dev->dev->public_key);
}

int w2w_wg_device_private_key(const struct w2w_wg_device *dev, char *out, size_t cap)
{
	if (!dev)
		return -EINVAL;
	if (!(dev->dev->flags & WGDEVICE_HAS_PRIVATE_KEY))
		return -ENOENT;
	return key_out(out, cap, dev->dev->private_key);
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
	struct w2w_wg_peer_info v;
	const struct wgpeer *p;
	uint32_t size;

	/* The first published layout is the current one. */
	if (!dev || !out || out->size < sizeof(v))
		return -EINVAL;
	if (i >= dev->n)
		return -ERANGE;
	size = out->size;
	p = dev->peers[i];
	memset(&v, 0, sizeof(v));
	v.size = (uint32_t)sizeof(v);
	wgkey_to_b64(v.public_key, p->public_key);
	v.has_preshared_key = !!(p->flags & WGPEER_HAS_PRESHARED_KEY);
	if (wgendpoint_format(v.endpoint, sizeof(v.endpoint), &p->endpoint) < 0)
		v.endpoint[0] = '\0';
	v.persistent_keepalive = p->persistent_keepalive_interval;
	v.last_handshake_sec = p->last_handshake_time.tv_sec;
	v.last_handshake_nsec = p->last_handshake_time.tv_nsec;
	v.rx_bytes = p->rx_bytes;
	v.tx_bytes = p->tx_bytes;
	v.n_allowed_ips = wgpeer_allowedip_count(p);
	memcpy(out, &v, size < sizeof(v) ? size : sizeof(v));
	out->size = size;
	return 0;
}

int w2w_wg_device_allowed_ip(const struct w2w_wg_device *dev, size_t i, size_t j, char *out, size_t cap)
{
	const struct wgallowedip *a;

	if (!dev || !out)
		return -EINVAL;
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

	if (!dev || !out)
		return -EINVAL;
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
/* Handle: operations queued on the engine                             */

/* The user's callback: inside the loop's re-entrancy guard; the handle may be
 * freed inside it. */
static void user_cb_enter(struct w2w_wg *wg)
{
	wg->in_cb++;
	loop_enter_cb(wg->loop);
}

struct op {
	struct op *prev, *next;
	struct w2w_wg *wg;
	w2w_wg_done_fn done;
	w2w_wg_read_fn read;
	void *ud;
};

static struct op *op_new(struct w2w_wg *wg, w2w_wg_done_fn done, w2w_wg_read_fn read, void *ud)
{
	struct op *o = calloc(1, sizeof(*o));

	if (!o)
		return NULL;
	o->wg = wg;
	o->done = done;
	o->read = read;
	o->ud = ud;
	o->next = wg->ops;
	if (wg->ops)
		wg->ops->prev = o;
	wg->ops = o;
	return o;
}

static void op_free(struct op *o)
{
	if (o->prev)
		o->prev->next = o->next;
	else
		o->wg->ops = o->next;
	if (o->next)
		o->next->prev = o->prev;
	free(o);
}

static void free_now(struct w2w_wg *wg)
{
	reactor_timer_disarm(loop_reactor(wg->loop), &wg->reap);
	wgsync_free(wg->ws); /* drops its jobs without callbacks */
	while (wg->ops)
		op_free(wg->ops);
	free(wg);
}

static void user_cb_leave(struct w2w_wg *wg)
{
	loop_leave_cb(wg->loop);
	wg->in_cb--;
	if (wg->freed && !wg->in_cb)
		free_now(wg);
}

static void record_stats(struct w2w_wg *wg, const struct wgsync_result *res)
{
	struct wgbackend_stats bs = wgsync_backend_stats(wg->ws);

	memset(&wg->last, 0, sizeof(wg->last));
	wg->last.size = (uint32_t)sizeof(wg->last);
	wg->last.added = res->diff.added;
	wg->last.removed = res->diff.removed;
	wg->last.updated = res->diff.updated;
	wg->last.unchanged = res->diff.unchanged;
	wg->last.endpoints_kept = res->diff.endpoints_kept;
	wg->last.device_changed = res->diff.device_changed;
	wg->last.applied = res->applied;
	wg->last.msgs_sent = bs.msgs_sent;
	wg->last.msgs_recv = bs.msgs_recv;
	wg->last.bytes_sent = bs.bytes_sent;
	wg->last.bytes_recv = bs.bytes_recv;
}

static void on_synced(void *ud, const struct wgsync_result *res)
{
	struct op *o = ud;
	struct w2w_wg *wg = o->wg;

	w2w_wg_done_fn cb = o->done;
	void *cud = o->ud;

	record_stats(wg, res);
	op_free(o);
	if (cb && !wg->freed) { /* freed from a log callback: no more callbacks */
		user_cb_enter(wg);
		cb(cud, res->err);
		user_cb_leave(wg);
	}
}

static void on_read(void *ud, int err, struct wgdevice *dev)
{
	struct op *o = ud;
	struct w2w_wg *wg = o->wg;
	struct w2w_wg_device *wd = NULL;
	w2w_wg_read_fn cb = o->read;
	void *cud = o->ud;

	op_free(o);
	if (err >= 0) {
		err = device_wrap(dev, &wd);
		if (err >= 0)
			dev = NULL;
	}
	wgdev_free(dev);
	if (cb && !wg->freed) {
		user_cb_enter(wg);
		cb(cud, err, wd);
		wd = NULL;
		user_cb_leave(wg);
	}
	w2w_wg_device_free(wd);
}

int w2w_wg_sync(struct w2w_wg *wg, const struct w2w_wg_config *cfg, w2w_wg_done_fn cb, void *ud)
{
	struct wgsync_job job;
	struct op *o;
	int ret;

	if (!wg || !cfg || wg->freed)
		return -EINVAL;
	if (wg->in_log)
		return -EBUSY;
	o = op_new(wg, cb, NULL, ud);
	if (!o)
		return -ENOMEM;
	memset(&job, 0, sizeof(job));
	job.desired = cfg->dev;
	job.mtu = cfg->mtu;
	job.addrs = cfg->addrs;
	job.n_addrs = cfg->naddrs;
	job.set_addrs = cfg->naddrs > 0; /* none described: addresses are left alone */
	job.keep_unlisted = wg->keep_unlisted;
	ret = wgsync_sync(wg->ws, &job, on_synced, o);
	if (ret < 0)
		op_free(o);
	return ret;
}

int w2w_wg_read(struct w2w_wg *wg, w2w_wg_read_fn cb, void *ud)
{
	struct op *o;
	int ret;

	if (!wg || !cb || wg->freed)
		return -EINVAL;
	if (wg->in_log)
		return -EBUSY;
	o = op_new(wg, NULL, cb, ud);
	if (!o)
		return -ENOMEM;
	ret = wgsync_read(wg->ws, on_read, o);
	if (ret < 0)
		op_free(o);
	return ret;
}

/* The user's log sink, inside the loop's re-entrancy guard: a log line may
 * come from inside any call (docs/api.md), so from inside it the loop and
 * this handle's operations answer -EBUSY. */
static void log_tramp(void *ud, int level, const char *msg)
{
	struct w2w_wg *wg = ud;

	if (!wg->log_fn || wg->freed)
		return; /* a freed handle says nothing more */
	wg->in_log++;
	loop_enter_log(wg->loop); /* node and p2p calls answer -EBUSY too */
	wg->log_fn(wg->log_ud, level, msg);
	loop_leave_log(wg->loop);
	wg->in_log--;
}

/* w2w_wg_free() from inside a log callback: the engine is somewhere in its
 * own code, so the handle goes from the loop, right after. */
static void on_reap(void *ud, uint64_t now)
{
	struct w2w_wg *wg = ud;

	(void)now;
	if (!wg->in_cb)
		free_now(wg);
}

/* Version 1 of the options: the log sink was a field. */
struct w2w_wg_opts_v1 {
	unsigned version;
	int backend;
	int create;
	const char *wireguard_go;
	const char *uapi_dir;
	unsigned keep_roamed_secs;
	int keep_unlisted_peers;
	void (*log)(void *ud, int level, const char *msg);
	void *log_ud;
	int log_level;
	int cache_device;
};

int w2w_wg_new(struct w2w_wg **ret, struct w2w_loop *loop, const char *ifname, const struct w2w_wg_opts *opts)
{
	static const struct w2w_wg_opts defaults = {.version = W2W_WG_OPTS_VERSION};
	struct wgsync_config c;
	struct w2w_wg_opts o;
	struct w2w_wg *wg;
	int err;

	if (!opts)
		opts = &defaults;
	if (!ret || !loop || !ifname || opts->version < 1 || opts->version > W2W_WG_OPTS_VERSION)
		return -EINVAL;
	wg = calloc(1, sizeof(*wg));
	if (!wg)
		return -ENOMEM;
	if (opts->version == 1) {
		const struct w2w_wg_opts_v1 *v1 = (const void *)opts;

		memset(&o, 0, sizeof(o));
		o.backend = (enum w2w_backend)v1->backend;
		o.create = v1->create;
		o.wireguard_go = v1->wireguard_go;
		o.uapi_dir = v1->uapi_dir;
		o.keep_roamed_secs = v1->keep_roamed_secs;
		o.keep_unlisted_peers = v1->keep_unlisted_peers;
		o.cache_device = v1->cache_device;
		wg->log_fn = v1->log;
		wg->log_ud = v1->log_ud;
		wg->log.max_level = v1->log_level ? v1->log_level : WLOG_INFO;
	} else {
		o = *opts;
	}
	wg->loop = loop;
	wg->log.fn = log_tramp;
	wg->log.ud = wg;
	rtimer_init(&wg->reap, on_reap, wg);
	wg->keep_unlisted = o.keep_unlisted_peers != 0;
	memset(&c, 0, sizeof(c));
	c.ifname = ifname;
	c.backend = o.backend;
	c.keep_roamed_secs = o.keep_roamed_secs;
	c.uapi_sockdir = o.uapi_dir;
	c.wireguard_go = o.wireguard_go;
	c.adopt_only = !o.create;
	c.cache_device = o.cache_device != 0;
	c.os = loop_wg_os(loop); /* the test seam */
	err = wgsync_new(loop_reactor(loop), &wg->log, &c, &wg->ws);
	if (err == 0)
		err = wgsync_choose_backend(wg->ws);
	if (err < 0) {
		wgsync_free(wg->ws);
		free(wg);
		return err;
	}
	*ret = wg;
	return 0;
}

struct w2w_wg *w2w_wg_free(struct w2w_wg *wg)
{
	if (!wg)
		return NULL;
	if (wg->freed)
		return NULL;
	if (wg->in_cb) {
		/* Inside our own callback: freed once it returns. */
		wg->freed = true;
		return NULL;
	}
	if (wg->in_log) {
		wg->freed = true;
		reactor_timer_arm(loop_reactor(wg->loop), &wg->reap, 0);
		return NULL;
	}
	free_now(wg);
	return NULL;
}

int w2w_wg_set_log(struct w2w_wg *wg, w2w_log_fn fn, void *ud, int max_level)
{
	if (!wg || wg->freed)
		return -EINVAL;
	if (wg->in_log)
		return -EBUSY;
	wg->log_fn = fn;
	wg->log_ud = ud;
	wg->log.max_level = max_level;
	return 0;
}

const char *w2w_wg_backend_name(const struct w2w_wg *wg)
{
	return wgsync_backend_name(wg->ws);
}

const char *w2w_wg_ifname(const struct w2w_wg *wg)
{
	return wgsync_ifname(wg->ws);
}

int w2w_wg_userspace_pid(const struct w2w_wg *wg)
{
	return wgsync_child_pid(wg->ws);
}

int w2w_wg_last_sync_stats(const struct w2w_wg *wg, struct w2w_wg_sync_stats *out)
{
	uint32_t size;

	if (!wg || !out || out->size < sizeof(*out))
		return -EINVAL;
	size = out->size;
	*out = wg->last;
	out->size = size;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Synchronous conveniences                                            */

struct run_res {
	int done, err;
	struct w2w_wg_device *dev;
	char *names;
	struct w2w_loop *loop;
	int abandoned;
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

static void run_list(void *ud, int err, char *names)
{
	struct run_res *r = ud;

	if (r->abandoned) {
		free(names);
		free(r);
		return;
	}
	r->done = 1;
	r->err = err;
	r->names = names;
	w2w_loop_break(r->loop);
}

/* Runs the loop until r->done or timeout_ms; 0 or the loop's error / W2W_ETIMEDOUT. */
static int run_until(struct w2w_loop *loop, struct run_res *r, int timeout_ms)
{
	uint64_t end = w2w_now_us() + (uint64_t)(timeout_ms < 0 ? 0 : timeout_ms) * 1000;

	while (!r->done) {
		uint64_t now = w2w_now_us();
		int left = timeout_ms < 0 ? -1 : (now >= end ? 0 : (int)((end - now + 999) / 1000));
		int ret;

		if (left == 0)
			return W2W_ETIMEDOUT;
		ret = w2w_loop_run(loop, left);
		if (ret < 0)
			return ret;
	}
	return 0;
}

static int run_op(struct w2w_wg *wg, struct run_res *r, int timeout_ms)
{
	int ret = run_until(wg->loop, r, timeout_ms);

	if (ret < 0) {
		/* The caller stops waiting: its r lives on its stack. */
		for (struct op *o = wg->ops; o; o = o->next)
			if (o->ud == r)
				o->done = NULL, o->read = NULL;
		return ret;
	}
	return r->err;
}

int w2w_wg_sync_run(struct w2w_wg *wg, const struct w2w_wg_config *cfg, int timeout_ms)
{
	struct run_res r = {.loop = wg ? wg->loop : NULL};
	int ret = w2w_wg_sync(wg, cfg, run_done, &r);

	return ret < 0 ? ret : run_op(wg, &r, timeout_ms);
}

int w2w_wg_read_run(struct w2w_wg *wg, struct w2w_wg_device **out, int timeout_ms)
{
	struct run_res r = {.loop = wg ? wg->loop : NULL};
	int ret;

	if (!out)
		return -EINVAL;
	ret = w2w_wg_read(wg, run_read, &r);
	if (ret < 0)
		return ret;
	ret = run_op(wg, &r, timeout_ms);
	if (ret < 0) {
		w2w_wg_device_free(r.dev);
		return ret;
	}
	*out = r.dev;
	return 0;
}

int w2w_wg_list(struct w2w_wg *wg, char **out)
{
	struct run_res *r;
	struct wgbackend *be;
	int ret;

	if (!wg || !out || wg->freed)
		return -EINVAL;
	if (wg->in_log)
		return -EBUSY;
	be = wgsync_backend(wg->ws);
	if (!be)
		return -EINVAL;
	/* On the heap: after a timeout the backend may still call back. */
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->loop = wg->loop;
	ret = wgbackend_list_devices(be, run_list, r);
	if (ret < 0) {
		free(r);
		return ret;
	}
	ret = run_until(wg->loop, r, LIST_TIMEOUT_MS);
	if (ret < 0) {
		r->abandoned = 1; /* run_list frees it */
		return ret;
	}
	ret = r->err;
	if (ret >= 0)
		*out = r->names;
	free(r);
	return ret < 0 ? ret : 0;
}
