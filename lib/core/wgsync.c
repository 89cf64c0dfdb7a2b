/* SPDX-License-Identifier: MIT */
/* The one WireGuard sync engine (wgsync.h, docs/wireguard.md). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "err.h"
#include "osclock.h"
#include "wg_kernel.h"
#include "wg_uapi.h"
#include "wgsync.h"

/* ---- the real OS ---- */

static int real_backend_new(void *ctx, enum w2w_backend kind, struct reactor *r, const struct wlog *log,
			    const struct wgsync_config *cfg, struct wgbackend **out)
{
	int ret;

	(void)ctx;
	if (kind == W2W_BACKEND_KERNEL)
		return wg_kernel_new(r, log, out);
	ret = wg_uapi_new(r, log, cfg->uapi_sockdir, out);
	if (ret == 0 && cfg->wireguard_go && (ret = wg_uapi_set_exe(*out, cfg->wireguard_go)) < 0) {
		wgbackend_free(*out);
		*out = NULL;
	}
	return ret;
}

/* How wg(8) picks too: an interface run by a userspace implementation has its
 * UAPI socket. */
static bool real_userspace_running(void *ctx, const struct wgsync_config *cfg)
{
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	struct stat st;
	int n = snprintf(path, sizeof(path), "%s/%s.sock", cfg->uapi_sockdir ? cfg->uapi_sockdir : WG_UAPI_SOCKDIR,
			 cfg->ifname);

	(void)ctx;
	return n > 0 && (size_t)n < sizeof(path) && stat(path, &st) == 0 && S_ISSOCK(st.st_mode);
}

static int real_link_open(void *ctx, struct reactor *r, const struct wlog *log, void **out)
{
	(void)ctx;
	return rtnl_new(r, log, (struct rtnl **)out);
}

static void real_link_close(void *lk)
{
	rtnl_free(lk);
}

static int real_link_get(void *lk, const char *ifname, rtnl_link_cb cb, void *ud)
{
	return rtnl_link_get(lk, ifname, cb, ud);
}

static int real_link_set(void *lk, uint32_t ifindex, uint32_t mtu, bool up, rtnl_done_cb cb, void *ud)
{
	return rtnl_link_set(lk, ifindex, mtu, up, cb, ud);
}

static int real_link_del(void *lk, const char *ifname, rtnl_done_cb cb, void *ud)
{
	return rtnl_link_del(lk, ifname, cb, ud);
}

static int real_addr_list(void *lk, uint32_t ifindex, rtnl_addr_list_cb cb, void *ud)
{
	return rtnl_addr_list(lk, ifindex, AF_UNSPEC, cb, ud);
}

static int real_addr_add(void *lk, const struct rtnl_addr *a, rtnl_done_cb cb, void *ud)
{
	return rtnl_addr_add(lk, a, cb, ud);
}

static int real_addr_del(void *lk, const struct rtnl_addr *a, rtnl_done_cb cb, void *ud)
{
	return rtnl_addr_del(lk, a, cb, ud);
}

static uint64_t real_wall_ms(void *ctx)
{
	(void)ctx;
	return os_wall_ms();
}

const struct wgsync_os wgsync_os_real = {
	.backend_new = real_backend_new,
	.userspace_running = real_userspace_running,
	.link_open = real_link_open,
	.link_close = real_link_close,
	.link_get = real_link_get,
	.link_set = real_link_set,
	.link_del = real_link_del,
	.addr_list = real_addr_list,
	.addr_add = real_addr_add,
	.addr_del = real_addr_del,
	.wall_ms = real_wall_ms,
};

/* ---- jobs ---- */

enum job_kind { JOB_APPLY, JOB_SYNC, JOB_READ, JOB_REFRESH, JOB_REMOVE, JOB_PROBE };

struct job {
	struct job *next;
	enum job_kind kind;
	struct wgdevice *want; /* APPLY, SYNC */
	unsigned mtu;
	struct rtnl_addr *addrs;
	size_t n_addrs;
	bool set_addrs, keep_unlisted;
	wgsync_done_fn done;
	wgsync_read_fn read;
	void (*removed)(void *ud, int err);
	void *ud;
	/* progress */
	bool created, fell_back;
	uint32_t ifindex;
	size_t pending;
	int first_err;
	struct wgdevice *upd; /* the set in flight (cache_device) */
	struct wgsync_result res;
	/* JOB_PROBE (wgsync_probe) */
	struct wgsync_probe probe;
	wgsync_probe_fn probed;
	int phase; /* 0 baseline read, 1 set direct, 2 polling, 3 set back */
	int polls;
	uint64_t tx0;
	uint16_t ka0;
	bool sent;
	uint64_t t_direct; /* the direct set went out (os_now_us) */
};

struct wgsync {
	struct reactor *r;
	const struct wlog *log;
	struct wgsync_config cfg;
	const struct wgsync_os *os;
	char ifname[WGDEV_IFNAMSIZ];
	char *sockdir, *wggo;

	void *lk; /* link handle (os->link_open), opened on first use */
	struct wgbackend *be;
	enum w2w_backend kind; /* of be; AUTO before the choice */
	bool dev_seen;         /* a get succeeded: refresh may read */
	/* link step done for this MTU (skipped until an error or a create) */
	bool link_done;
	unsigned link_mtu;
	uint32_t link_ifindex;

	struct job *head, *tail, *cur;
	struct rtimer kick;
	bool removing;
	int in_cb;
	bool freed;

	struct wgdevice *actual; /* as last read (plus sets applied when cache_ok) */
	bool cache_ok;
};

static void job_free(struct job *j)
{
	if (!j)
		return;
	wgdev_free(j->want);
	wgdev_free(j->upd);
	free(j->addrs);
	free(j);
}

static void free_now(struct wgsync *ws)
{
	struct job *j, *n;

	reactor_timer_disarm(ws->r, &ws->kick);
	wgbackend_free(ws->be);
	if (ws->lk)
		ws->os->link_close(ws->lk);
	job_free(ws->cur);
	for (j = ws->head; j; j = n) {
		n = j->next;
		job_free(j);
	}
	wgdev_free(ws->actual);
	free(ws->sockdir);
	free(ws->wggo);
	free(ws);
}

static void kick_next(struct wgsync *ws)
{
	if (!ws->cur && ws->head && !rtimer_armed(&ws->kick))
		reactor_timer_arm(ws->r, &ws->kick, 0);
}

static void enqueue(struct wgsync *ws, struct job *j)
{
	if (ws->tail)
		ws->tail->next = j;
	else
		ws->head = j;
	ws->tail = j;
	kick_next(ws);
}

static void drop_cache(struct wgsync *ws)
{
	ws->cache_ok = false;
}

static void set_actual(struct wgsync *ws, struct wgdevice *dev)
{
	wgdev_free(ws->actual);
	ws->actual = dev;
}

static int queue_refresh(struct wgsync *ws);

/* Ends the current job; the callback runs last and may free the engine. */
static void job_finish(struct wgsync *ws, int err, struct wgdevice *dev)
{
	struct job *j = ws->cur;

	ws->cur = NULL;
	j->res.err = err;
	if (err < 0) {
		drop_cache(ws);
		ws->link_done = false;
		if (j->kind != JOB_REFRESH && !(j->kind == JOB_PROBE && err == -ENOENT))
			log_warn(ws->log, "wireguard %s: %s failed: %s", ws->ifname,
				 j->kind == JOB_REMOVE ? "removing the interface"
				 : j->kind == JOB_READ ? "reading the device"
				 : j->kind == JOB_PROBE ? "a direct-path probe"
						       : "sync",
				 err_str(err));
	}
	if (j->kind == JOB_REMOVE) {
		ws->removing = false;
		ws->dev_seen = false;
	}
	if (j->kind == JOB_APPLY && err >= 0 && j->res.applied && !ws->cfg.cache_device)
		queue_refresh(ws); /* read back: statistics and wgsync_actual() start from the truth */
	kick_next(ws);
	ws->in_cb++;
	switch (j->kind) {
	case JOB_APPLY:
		if (ws->cfg.done)
			ws->cfg.done(ws->cfg.ud, &j->res);
		break;
	case JOB_SYNC:
		if (j->done)
			j->done(j->ud, &j->res);
		break;
	case JOB_READ:
		if (j->read) {
			j->read(j->ud, err, dev);
			dev = NULL;
		}
		break;
	case JOB_REFRESH:
		break;
	case JOB_PROBE:
		if (j->probed)
			j->probed(j->ud, err, j->sent, j->t_direct ? os_now_us() - j->t_direct : 0);
		break;
	case JOB_REMOVE:
		if (j->removed)
			j->removed(j->ud, err);
		break;
	}
	if (err == -ENODEV && (j->kind == JOB_READ || j->kind == JOB_REFRESH) && ws->cfg.lost && !ws->removing &&
	    !ws->freed)
		ws->cfg.lost(ws->cfg.ud);
	ws->in_cb--;
	wgdev_free(dev);
	job_free(j);
	if (ws->freed && !ws->in_cb)
		free_now(ws);
}

/* ---- backend choice ---- */

int wgsync_choose_backend(struct wgsync *ws)
{
	enum w2w_backend kind = ws->cfg.backend;
	int ret;

	if (ws->be)
		return 0;
	if (kind == W2W_BACKEND_AUTO)
		kind = ws->os->userspace_running(ws->os->ctx, &ws->cfg) ? W2W_BACKEND_USERSPACE : W2W_BACKEND_KERNEL;
	ret = ws->os->backend_new(ws->os->ctx, kind, ws->r, ws->log, &ws->cfg, &ws->be);
	if (ret < 0) {
		log_err(ws->log, "wireguard %s: the %s backend is unavailable: %s", ws->ifname,
			kind == W2W_BACKEND_KERNEL ? "kernel" : "userspace", err_str(ret));
		return ret;
	}
	ws->kind = kind;
	return 0;
}

/* Backend auto, kernel chosen, and its first operation says the kernel has
 * no WireGuard: userspace from now on. */
static bool fall_back(struct wgsync *ws, int err)
{
	struct job *j = ws->cur;
	struct wgbackend *be = NULL;

	if (err != -EPROTONOSUPPORT || ws->cfg.backend != W2W_BACKEND_AUTO || ws->kind != W2W_BACKEND_KERNEL ||
	    j->fell_back)
		return false;
	if (ws->os->backend_new(ws->os->ctx, W2W_BACKEND_USERSPACE, ws->r, ws->log, &ws->cfg, &be) < 0)
		return false;
	log_info(ws->log, "wireguard %s: no kernel WireGuard: using the userspace implementation", ws->ifname);
	wgbackend_free(ws->be);
	ws->be = be;
	ws->kind = W2W_BACKEND_USERSPACE;
	j->fell_back = true;
	return true;
}

static int ensure_link_handle(struct wgsync *ws)
{
	if (ws->lk)
		return 0;
	return ws->os->link_open(ws->os->ctx, ws->r, ws->log, &ws->lk);
}

/* ---- sync: addresses ---- */

static bool addr_eq(const struct rtnl_addr *a, const struct rtnl_addr *b)
{
	return a->family == b->family && a->prefixlen == b->prefixlen &&
	       memcmp(a->addr, b->addr, a->family == AF_INET ? 4 : 16) == 0;
}

static bool is_link_local6(const struct rtnl_addr *a)
{
	return a->family == AF_INET6 && a->addr[0] == 0xfe && (a->addr[1] & 0xc0) == 0x80;
}

static void on_addr_op(void *ud, int err)
{
	struct wgsync *ws = ud;
	struct job *j = ws->cur;

	if (err < 0 && !j->first_err)
		j->first_err = err;
	if (--j->pending == 0)
		job_finish(ws, j->first_err, NULL);
}

/* ret from queueing one address operation: its on_addr_op is pending, or the
 * job's first error. */
static void addr_queued(struct job *j, int ret)
{
	if (ret >= 0)
		j->pending++;
	else if (!j->first_err)
		j->first_err = ret;
}

static void on_addr_list(void *ud, int err, const struct rtnl_addr *have, size_t n)
{
	struct wgsync *ws = ud;
	struct job *j = ws->cur;

	if (err < 0) {
		job_finish(ws, err, NULL);
		return;
	}
	j->pending = 1; /* held until every operation is queued */
	j->first_err = 0;
	for (size_t i = 0; i < j->n_addrs; i++) {
		struct rtnl_addr a = j->addrs[i];
		bool present = false;

		for (size_t k = 0; k < n && !present; k++)
			present = addr_eq(&have[k], &a);
		if (present)
			continue;
		a.ifindex = j->ifindex;
		addr_queued(j, ws->os->addr_add(ws->lk, &a, on_addr_op, ws));
	}
	/* The set is the whole truth: an address that is not in it (an old IPAM
	 * claim, a different overlay range) goes. IPv6 link-local addresses stay. */
	for (size_t k = 0; k < n; k++) {
		bool want = is_link_local6(&have[k]);

		for (size_t i = 0; i < j->n_addrs && !want; i++)
			want = addr_eq(&have[k], &j->addrs[i]);
		if (want)
			continue;
		addr_queued(j, ws->os->addr_del(ws->lk, &have[k], on_addr_op, ws));
	}
	on_addr_op(ws, 0);
}

static void step_addrs(struct wgsync *ws)
{
	struct job *j = ws->cur;
	int ret;

	if (!j->set_addrs) {
		job_finish(ws, 0, NULL);
		return;
	}
	ret = ws->os->addr_list(ws->lk, j->ifindex, on_addr_list, ws);
	if (ret < 0)
		job_finish(ws, ret, NULL);
}

/* ---- sync: link ---- */

static void on_link_set(void *ud, int err)
{
	struct wgsync *ws = ud;
	struct job *j = ws->cur;

	if (err < 0) {
		job_finish(ws, err, NULL);
		return;
	}
	ws->link_done = true;
	ws->link_mtu = j->mtu;
	ws->link_ifindex = j->ifindex;
	step_addrs(ws);
}

static void on_link_get(void *ud, int err, const struct rtnl_link *link)
{
	struct wgsync *ws = ud;
	struct job *j = ws->cur;
	int ret;

	if (err < 0) {
		job_finish(ws, err, NULL);
		return;
	}
	j->ifindex = link->ifindex;
	ret = ws->os->link_set(ws->lk, link->ifindex, j->mtu, true, on_link_set, ws);
	if (ret < 0)
		job_finish(ws, ret, NULL);
}

/* Up (and MTU) when the job has an MTU or an address set. */
static void step_link(struct wgsync *ws)
{
	struct job *j = ws->cur;
	int ret;

	if (!j->mtu && !j->set_addrs) {
		job_finish(ws, 0, NULL);
		return;
	}
	ret = ensure_link_handle(ws);
	if (ret < 0) {
		job_finish(ws, ret, NULL);
		return;
	}
	if (ws->link_done && ws->link_mtu == j->mtu && !j->created) {
		j->ifindex = ws->link_ifindex;
		step_addrs(ws);
		return;
	}
	ret = ws->os->link_get(ws->lk, ws->ifname, on_link_get, ws);
	if (ret < 0)
		job_finish(ws, ret, NULL);
}

/* ---- sync: device ---- */

static void probe_step(struct wgsync *ws, int err, struct wgdevice *dev);

static void on_set(void *ud, int err)
{
	struct wgsync *ws = ud;
	struct job *j = ws->cur;

	if (j->kind == JOB_PROBE) {
		probe_step(ws, err, NULL);
		return;
	}
	if (err < 0) {
		job_finish(ws, err, NULL); /* the device may hold part of the update: read it next time */
		return;
	}
	if (ws->cache_ok && j->upd && wgdiff_apply(ws->actual, j->upd) < 0)
		drop_cache(ws);
	wgdev_free(j->upd);
	j->upd = NULL;
	j->res.applied = true;
	step_link(ws);
}

static void sync_diff(struct wgsync *ws)
{
	struct job *j = ws->cur;
	struct wgdevice *upd = NULL;
	struct wgdiff_opts o;
	int ret;

	memset(&o, 0, sizeof(o));
	o.now_sec = (int64_t)(ws->os->wall_ms(ws->os->ctx) / 1000);
	o.keep_roamed_secs = ws->cfg.keep_roamed_secs;
	o.keep_unlisted = j->keep_unlisted;
	ret = wgdiff(j->want, ws->actual, &o, &upd, &j->res.diff);
	if (ret < 0) {
		job_finish(ws, ret, NULL);
		return;
	}
	if (wgdiff_is_empty(upd)) {
		wgdev_free(upd);
		step_link(ws);
		return;
	}
	log_debug(ws->log, "wireguard %s: +%zu -%zu ~%zu peers", ws->ifname, j->res.diff.added, j->res.diff.removed,
		  j->res.diff.updated);
	ret = wgbackend_set_device(ws->be, upd, on_set, ws);
	if (ret < 0 || !ws->cache_ok) {
		wgdev_free(upd); /* the backend copied it (and wipes its copy) */
		upd = NULL;
	}
	j->upd = upd;
	if (ret < 0)
		job_finish(ws, ret, NULL);
}

static void step_get(struct wgsync *ws);

static void on_created(void *ud, int err)
{
	struct wgsync *ws = ud;
	struct job *j = ws->cur;

	if (err < 0) {
		log_err(ws->log, "wireguard %s: cannot create the interface (%s backend): %s", ws->ifname,
			wgbackend_name(ws->be), err_str(err));
		job_finish(ws, err, NULL);
		return;
	}
	j->res.link_created = true;
	ws->link_done = false;
	step_get(ws);
}

static void on_get(void *ud, int err, struct wgdevice *dev)
{
	struct wgsync *ws = ud;
	struct job *j = ws->cur;
	int ret;

	if (j->kind == JOB_PROBE) {
		probe_step(ws, err, dev);
		return;
	}
	if (err < 0 && fall_back(ws, err)) {
		step_get(ws);
		return;
	}
	if (err == -ENODEV && (j->kind == JOB_APPLY || j->kind == JOB_SYNC) && !ws->cfg.adopt_only && !j->created) {
		j->created = true;
		ret = wgbackend_create_device(ws->be, ws->ifname, on_created, ws);
		if (ret < 0)
			job_finish(ws, ret, NULL);
		return;
	}
	if (err < 0) {
		job_finish(ws, err, NULL);
		return;
	}
	ws->dev_seen = true;
	if (j->kind == JOB_READ) {
		if (ws->cfg.cache_device) {
			struct wgdevice *c = wgdev_copy(dev);

			set_actual(ws, c);
			ws->cache_ok = c != NULL; /* NULL on ENOMEM: read next time */
		}
		job_finish(ws, 0, dev);
		return;
	}
	set_actual(ws, dev);
	ws->cache_ok = ws->cfg.cache_device;
	if (j->kind == JOB_REFRESH) {
		job_finish(ws, 0, NULL);
		return;
	}
	sync_diff(ws);
}

static void step_get(struct wgsync *ws)
{
	int ret = wgbackend_get_device(ws->be, ws->ifname, on_get, ws);

	if (ret < 0)
		job_finish(ws, ret, NULL);
}

/* ---- probe (wgsync_probe) ---- */

static struct job *job_new(enum job_kind kind);

static struct wgpeer *probe_peer(struct wgdevice *d, const struct job *j, uint32_t flags)
{
	struct wgpeer *p = wgdev_add_peer(d);

	if (p) {
		memcpy(p->public_key, j->probe.key, 32);
		p->flags = WGPEER_HAS_PUBLIC_KEY | WGPEER_UPDATE_ONLY | flags;
	}
	return p;
}

/* The sets of a probe: phase 1, the direct endpoint and the keepalive 0 -> N
 * (two entries of one peer in one set: the UAPI handles them line by line and
 * the kernel peer by peer, so the second turns the keepalive on and sends
 * one, after the endpoint changed); phase 3, the endpoint back. */
static int probe_set(struct wgsync *ws, struct job *j)
{
	struct wgdevice *d = wgdev_new();
	struct wgpeer *p;
	uint16_t ka = j->ka0 ? j->ka0 : j->probe.keepalive_s;
	int ret = -ENOMEM;

	if (!d || wgdev_set_name(d, ws->ifname) < 0)
		goto out;
	if (j->phase == 1) {
		if (!(p = probe_peer(d, j, WGPEER_HAS_PERSISTENT_KEEPALIVE)))
			goto out;
		p->endpoint = j->probe.direct;
		p->persistent_keepalive_interval = 0;
		if (!(p = probe_peer(d, j, WGPEER_HAS_PERSISTENT_KEEPALIVE)))
			goto out;
		p->persistent_keepalive_interval = ka ? ka : 25;
	} else {
		if (!(p = probe_peer(d, j, j->ka0 != ka ? WGPEER_HAS_PERSISTENT_KEEPALIVE : 0)))
			goto out;
		p->endpoint = j->probe.back;
		p->persistent_keepalive_interval = j->ka0;
	}
	ret = wgbackend_set_device(ws->be, d, on_set, ws);
out:
	wgdev_free(d);
	return ret;
}

static void probe_step(struct wgsync *ws, int err, struct wgdevice *dev)
{
	struct job *j = ws->cur;
	const struct wgpeer *p = NULL;
	int ret = 0;

	if (err < 0 && (j->phase == 1 || j->phase == 2)) {
		/* the direct set may be (partly) in place: put the endpoint back */
		wgdev_free(dev);
		j->phase = 3;
		ret = probe_set(ws, j);
		if (ret < 0)
			job_finish(ws, ret, NULL);
		return;
	}
	if (err < 0) {
		job_finish(ws, err, dev);
		return;
	}
	if (dev)
		p = wgdev_find_peer(dev, j->probe.key);
	switch (j->phase) {
	case 0: /* baseline read */
		if (!p) {
			job_finish(ws, -ENOENT, dev);
			return;
		}
		ws->dev_seen = true;
		if (wgendpoint_equal(&p->endpoint, &j->probe.direct)) {
			/* roamed there already (an earlier probe of the round
			 * passed): probing would put the relay back over it */
			job_finish(ws, 0, dev);
			return;
		}
		if (p->endpoint.addr.sa_family == AF_INET || p->endpoint.addr.sa_family == AF_INET6)
			j->probe.back = p->endpoint; /* what it was: a roam since the caller looked is kept */
		j->tx0 = p->tx_bytes;
		j->ka0 = p->persistent_keepalive_interval;
		j->phase = 1;
		j->t_direct = os_now_us();
		ret = probe_set(ws, j);
		break;
	case 1: /* direct set: read until the keepalive left */
		j->phase = 2;
		ret = wgbackend_get_device(ws->be, ws->ifname, on_get, ws);
		break;
	case 2:
		if (p && p->tx_bytes > j->tx0)
			j->sent = true;
		if (!j->sent && ++j->polls < WGSYNC_PROBE_POLLS) {
			ret = wgbackend_get_device(ws->be, ws->ifname, on_get, ws);
			break;
		}
		j->phase = 3;
		ret = probe_set(ws, j);
		break;
	default:
		drop_cache(ws); /* the sets bypassed the diff */
		job_finish(ws, 0, dev);
		return;
	}
	wgdev_free(dev);
	if (ret < 0)
		job_finish(ws, ret, NULL);
}

int wgsync_probe(struct wgsync *ws, const struct wgsync_probe *p, wgsync_probe_fn cb, void *ud)
{
	struct job *j;

	if (!p)
		return -EINVAL;
	if (ws->removing)
		return W2W_ESTATE;
	j = job_new(JOB_PROBE);
	if (!j)
		return -ENOMEM;
	j->probe = *p;
	j->probed = cb;
	j->ud = ud;
	enqueue(ws, j);
	return 0;
}

/* ---- remove ---- */

static void on_link_deleted(void *ud, int err)
{
	struct wgsync *ws = ud;

	set_actual(ws, NULL);
	job_finish(ws, err, NULL);
}

static void run_remove(struct wgsync *ws)
{
	int ret;

	if (ws->be)
		wgbackend_forget_device(ws->be, ws->ifname);
	ret = ensure_link_handle(ws);
	if (ret >= 0)
		ret = ws->os->link_del(ws->lk, ws->ifname, on_link_deleted, ws);
	if (ret < 0)
		job_finish(ws, ret, NULL);
}

/* ---- the queue ---- */

static void on_kick(void *ud, uint64_t now_us)
{
	struct wgsync *ws = ud;
	struct job *j;
	int ret;

	(void)now_us;
	if (ws->cur || !ws->head)
		return;
	j = ws->cur = ws->head;
	ws->head = j->next;
	if (!ws->head)
		ws->tail = NULL;
	j->next = NULL;
	if (j->kind == JOB_REMOVE) {
		run_remove(ws);
		return;
	}
	ret = wgsync_choose_backend(ws);
	if (ret < 0) {
		job_finish(ws, ret, NULL);
		return;
	}
	if ((j->kind == JOB_APPLY || j->kind == JOB_SYNC) && ws->cache_ok && ws->actual) {
		sync_diff(ws); /* cache_device: against what this engine last read and wrote */
		return;
	}
	step_get(ws);
}

static struct job *job_new(enum job_kind kind)
{
	struct job *j = calloc(1, sizeof(*j));

	if (j)
		j->kind = kind;
	return j;
}

static int job_set_addrs(struct job *j, const struct rtnl_addr *addrs, size_t n)
{
	if (n) {
		j->addrs = malloc(n * sizeof(*addrs));
		if (!j->addrs)
			return -ENOMEM;
		memcpy(j->addrs, addrs, n * sizeof(*addrs));
	}
	j->n_addrs = n;
	j->set_addrs = true;
	return 0;
}

int wgsync_apply(struct wgsync *ws, struct wgdevice *desired, const struct rtnl_addr *addrs, size_t n,
		 bool keep_unlisted)
{
	struct job *j, *q;

	if (ws->removing) {
		wgdev_free(desired);
		return W2W_ESTATE;
	}
	j = job_new(JOB_APPLY);
	if (!j || job_set_addrs(j, addrs, n) < 0) {
		job_free(j);
		wgdev_free(desired);
		return -ENOMEM;
	}
	wgdev_set_name(desired, ws->ifname);
	j->want = desired;
	j->mtu = ws->cfg.mtu;
	j->keep_unlisted = keep_unlisted;
	/* Coalesce: an apply still waiting takes the newer state in place. */
	for (q = ws->head; q; q = q->next) {
		if (q->kind != JOB_APPLY)
			continue;
		wgdev_free(q->want);
		free(q->addrs);
		q->want = j->want;
		q->addrs = j->addrs;
		q->n_addrs = j->n_addrs;
		q->keep_unlisted = j->keep_unlisted;
		j->want = NULL;
		j->addrs = NULL;
		job_free(j);
		return 0;
	}
	enqueue(ws, j);
	return 0;
}

int wgsync_sync(struct wgsync *ws, const struct wgsync_job *job, wgsync_done_fn cb, void *ud)
{
	struct job *j;

	if (!job || !job->desired)
		return -EINVAL;
	if (ws->removing)
		return W2W_ESTATE;
	j = job_new(JOB_SYNC);
	if (!j)
		return -ENOMEM;
	j->want = wgdev_copy(job->desired);
	if (!j->want || (job->set_addrs && job_set_addrs(j, job->addrs, job->n_addrs) < 0)) {
		job_free(j);
		return -ENOMEM;
	}
	wgdev_set_name(j->want, ws->ifname);
	j->mtu = job->mtu;
	j->keep_unlisted = job->keep_unlisted;
	j->done = cb;
	j->ud = ud;
	enqueue(ws, j);
	return 0;
}

int wgsync_read(struct wgsync *ws, wgsync_read_fn cb, void *ud)
{
	struct job *j;

	if (!cb)
		return -EINVAL;
	if (ws->removing)
		return W2W_ESTATE;
	j = job_new(JOB_READ);
	if (!j)
		return -ENOMEM;
	j->read = cb;
	j->ud = ud;
	enqueue(ws, j);
	return 0;
}

static int queue_refresh(struct wgsync *ws)
{
	struct job *j;

	for (j = ws->head; j; j = j->next)
		if (j->kind == JOB_REFRESH)
			return 0;
	j = job_new(JOB_REFRESH);
	if (!j)
		return -ENOMEM;
	enqueue(ws, j);
	return 0;
}

int wgsync_refresh(struct wgsync *ws)
{
	if (!ws->be || !ws->dev_seen || ws->removing || (ws->cur && ws->cur->kind == JOB_REFRESH))
		return 0;
	return queue_refresh(ws);
}

int wgsync_remove(struct wgsync *ws, void (*done)(void *ud, int err), void *ud)
{
	struct job *j = job_new(JOB_REMOVE), *q, *n;

	if (!j)
		return -ENOMEM;
	/* What was still to be applied no longer matters. */
	for (q = ws->head; q; q = n) {
		n = q->next;
		job_free(q);
	}
	ws->head = ws->tail = NULL;
	j->removed = done;
	j->ud = ud;
	ws->removing = true;
	enqueue(ws, j);
	return 0;
}

int wgsync_new(struct reactor *r, const struct wlog *log, const struct wgsync_config *cfg, struct wgsync **out)
{
	struct wgdevice tmp;
	struct wgsync *ws;

	if (!cfg || !cfg->ifname || wgdev_set_name(&tmp, cfg->ifname) < 0 || cfg->backend < W2W_BACKEND_AUTO ||
	    cfg->backend > W2W_BACKEND_USERSPACE)
		return -EINVAL;
	ws = calloc(1, sizeof(*ws));
	if (!ws)
		return -ENOMEM;
	ws->r = r;
	ws->log = log;
	ws->cfg = *cfg;
	ws->os = cfg->os ? cfg->os : &wgsync_os_real;
	memcpy(ws->ifname, tmp.name, sizeof(ws->ifname));
	ws->cfg.ifname = ws->ifname;
	if ((cfg->uapi_sockdir && !(ws->sockdir = strdup(cfg->uapi_sockdir))) ||
	    (cfg->wireguard_go && !(ws->wggo = strdup(cfg->wireguard_go)))) {
		free(ws->sockdir);
		free(ws);
		return -ENOMEM;
	}
	ws->cfg.uapi_sockdir = ws->sockdir;
	ws->cfg.wireguard_go = ws->wggo;
	rtimer_init(&ws->kick, on_kick, ws);
	*out = ws;
	return 0;
}

void wgsync_free(struct wgsync *ws)
{
	if (!ws)
		return;
	if (ws->in_cb) {
		/* Inside our own callback: freed once it returns; nothing runs meanwhile. */
		ws->freed = true;
		reactor_timer_disarm(ws->r, &ws->kick);
		return;
	}
	free_now(ws);
}

const char *wgsync_ifname(const struct wgsync *ws)
{
	return ws->ifname;
}

const struct wgdevice *wgsync_actual(const struct wgsync *ws)
{
	return ws->actual;
}

const char *wgsync_backend_name(const struct wgsync *ws)
{
	return ws->be ? wgbackend_name(ws->be) : "none";
}

bool wgsync_busy(const struct wgsync *ws)
{
	for (const struct job *j = ws->head; j; j = j->next)
		if (j->kind != JOB_REFRESH)
			return true;
	return ws->cur && ws->cur->kind != JOB_REFRESH;
}

struct wgbackend_stats wgsync_backend_stats(const struct wgsync *ws)
{
	struct wgbackend_stats z;

	if (ws->be)
		return *wgbackend_stats(ws->be);
	memset(&z, 0, sizeof(z));
	return z;
}

int wgsync_child_pid(const struct wgsync *ws)
{
	return ws->be ? ws->be->child_pid : -1;
}

struct wgbackend *wgsync_backend(struct wgsync *ws)
{
	return ws->be;
}
