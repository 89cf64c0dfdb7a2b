/* SPDX-License-Identifier: MIT */
#include <arpa/inet.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "err.h"
#include "wg_kernel.h"
#include "wg_uapi.h"
#include "wgsync.h"

#define SPAWN_TIMEOUT_US (10ull * 1000 * 1000)

enum phase { PH_IDLE, PH_SETUP, PH_LINK, PH_ADDRS, PH_GET, PH_SET, PH_REMOVE };

struct wgsync {
	struct reactor *r;
	const struct wlog *log;
	struct wgsync_config cfg;
	char ifname[16];
	char sockdir[256];
	char wggo[256];

	struct rtnl *rt;
	struct wgbackend *be;
	bool kernel;
	uint32_t ifindex;
	bool link_ready;
	pid_t wg_pid;

	enum phase phase;
	bool dirty;
	struct wgdevice *want, *next_want;
	struct rtnl_addr addrs[WGSYNC_MAX_ADDRS], next_addrs[WGSYNC_MAX_ADDRS];
	size_t n_addrs, n_next_addrs;
	bool keep_unlisted, next_keep_unlisted;
	size_t pending; /* rtnl address operations in flight */
	int pending_err;
	struct wgdevice *actual;
	struct wgsync_result res;
	bool refreshing;
	void (*remove_done)(void *ud, int err);
	void *remove_ud;
};

static void cycle_start(struct wgsync *ws);

static void finish(struct wgsync *ws, int err)
{
	struct wgsync_result res = ws->res;

	res.err = err;
	ws->phase = PH_IDLE;
	if (err < 0)
		log_warn(ws->log, "wireguard %s: sync failed: %s", ws->ifname, err_str(err));
	if (ws->cfg.done)
		ws->cfg.done(ws->cfg.ud, &res);
	if (ws->dirty)
		cycle_start(ws);
}

/* ---- reading and diffing ---- */

static void on_set(void *ud, int err)
{
	struct wgsync *ws = ud;

	if (err < 0) {
		finish(ws, err);
		return;
	}
	/* Read back, so statistics and the next diff start from the truth. */
	finish(ws, 0);
	wgsync_refresh(ws);
}

static void on_get(void *ud, int err, struct wgdevice *dev)
{
	struct wgsync *ws = ud;
	struct wgdiff_opts opts;
	struct wgdevice *update = NULL;
	struct timespec ts;
	int r;

	if (err < 0) {
		finish(ws, err);
		return;
	}
	wgdev_free(ws->actual);
	ws->actual = dev;
	clock_gettime(CLOCK_REALTIME, &ts);
	memset(&opts, 0, sizeof(opts));
	opts.now_sec = ts.tv_sec;
	opts.keep_roamed_secs = ws->cfg.keep_roamed_secs;
	opts.keep_unlisted = ws->keep_unlisted;
	r = wgdiff(ws->want, dev, &opts, &update, &ws->res.diff);
	if (r < 0) {
		finish(ws, r);
		return;
	}
	if (wgdiff_is_empty(update)) {
		wgdev_free(update);
		finish(ws, 0);
		return;
	}
	ws->phase = PH_SET;
	r = wgbackend_set_device(ws->be, update, on_set, ws);
	wgdev_free(update);
	if (r < 0)
		finish(ws, r);
}

static void start_get(struct wgsync *ws)
{
	int r;

	ws->phase = PH_GET;
	r = wgbackend_get_device(ws->be, ws->ifname, on_get, ws);
	if (r < 0)
		finish(ws, r);
}

/* ---- addresses ---- */

static bool addr_eq(const struct rtnl_addr *a, const struct rtnl_addr *b)
{
	return a->family == b->family && a->prefixlen == b->prefixlen &&
	       !memcmp(a->addr, b->addr, a->family == AF_INET ? 4 : 16);
}

static void on_addr_op(void *ud, int err)
{
	struct wgsync *ws = ud;

	if (err < 0 && !ws->pending_err)
		ws->pending_err = err;
	if (--ws->pending > 0)
		return;
	if (ws->pending_err) {
		finish(ws, ws->pending_err);
		return;
	}
	start_get(ws);
}

static void on_addrs(void *ud, int err, const struct rtnl_addr *have, size_t n)
{
	struct wgsync *ws = ud;
	int r;

	if (err < 0) {
		finish(ws, err);
		return;
	}
	ws->pending = 1; /* held until every operation is queued */
	ws->pending_err = 0;
	for (size_t i = 0; i < ws->n_addrs; i++) {
		bool present = false;

		for (size_t j = 0; j < n; j++)
			present |= addr_eq(&ws->addrs[i], &have[j]);
		if (!present) {
			struct rtnl_addr a = ws->addrs[i];

			a.ifindex = ws->ifindex;
			ws->pending++;
			r = rtnl_addr_add(ws->rt, &a, on_addr_op, ws);
			if (r < 0) {
				ws->pending--;
				ws->pending_err = r;
			}
		}
	}
	/* The interface is ours: any address that is not desired (an old IPAM
	 * claim, a different overlay range) goes. IPv6 link-local addresses stay. */
	for (size_t j = 0; j < n; j++) {
		bool want = false;

		if (have[j].family == AF_INET6 && have[j].addr[0] == 0xfe && (have[j].addr[1] & 0xc0) == 0x80)
			continue;
		for (size_t i = 0; i < ws->n_addrs; i++)
			want |= addr_eq(&ws->addrs[i], &have[j]);
		if (!want) {
			ws->pending++;
			r = rtnl_addr_del(ws->rt, &have[j], on_addr_op, ws);
			if (r < 0) {
				ws->pending--;
				ws->pending_err = r;
			}
		}
	}
	on_addr_op(ws, 0);
}

static void start_addrs(struct wgsync *ws)
{
	int r;

	ws->phase = PH_ADDRS;
	r = rtnl_addr_list(ws->rt, ws->ifindex, AF_UNSPEC, on_addrs, ws);
	if (r < 0)
		finish(ws, r);
}

/* ---- link and backend ---- */

static void on_link(void *ud, int err, const struct rtnl_link *link)
{
	struct wgsync *ws = ud;

	if (err < 0) {
		log_err(ws->log, "wireguard %s: cannot set up the link: %s", ws->ifname, err_str(err));
		finish(ws, err);
		return;
	}
	ws->ifindex = link->ifindex;
	ws->link_ready = true;
	start_addrs(ws);
}

static void ensure_link(struct wgsync *ws, const char *kind)
{
	int r;

	ws->phase = PH_LINK;
	r = rtnl_link_ensure(ws->rt, ws->ifname, kind, ws->cfg.mtu, on_link, ws);
	if (r < 0)
		finish(ws, r);
}

static void on_spawn(void *ud, int err, pid_t pid)
{
	struct wgsync *ws = ud;

	if (err < 0) {
		log_err(ws->log, "wireguard %s: cannot start wireguard-go: %s", ws->ifname,
			err == W2W_ETIMEDOUT ? "its socket did not appear" : err_str(err));
		finish(ws, err);
		return;
	}
	ws->wg_pid = pid;
	log_info(ws->log, "wireguard %s: started wireguard-go (pid %d)", ws->ifname, (int)pid);
	ws->res.link_created = true;
	ensure_link(ws, NULL);
}

static void on_probe(void *ud, int err, struct wgdevice *dev)
{
	struct wgsync *ws = ud;
	int r;

	wgdev_free(dev);
	if (err == 0) {
		/* A wireguard-go from before a restart still serves the interface: adopt it. */
		log_info(ws->log, "wireguard %s: adopting the running userspace device", ws->ifname);
		ensure_link(ws, NULL);
		return;
	}
	r = wg_uapi_spawn(ws->be, ws->ifname, ws->wggo[0] ? ws->wggo : NULL, SPAWN_TIMEOUT_US, on_spawn, ws);
	if (r < 0)
		finish(ws, r);
}

static int setup_backend(struct wgsync *ws)
{
	int r;

	if (ws->cfg.backend != W2W_BACKEND_USERSPACE) {
		r = wg_kernel_new(ws->r, ws->log, &ws->be);
		if (r == 0) {
			ws->kernel = true;
			return 0;
		}
		if (r != -EPROTONOSUPPORT || ws->cfg.backend == W2W_BACKEND_KERNEL) {
			log_err(ws->log, "wireguard: kernel backend unavailable: %s", err_str(r));
			return r;
		}
		log_info(ws->log, "wireguard: no kernel module, using wireguard-go");
	}
	r = wg_uapi_new(ws->r, ws->log, ws->sockdir[0] ? ws->sockdir : NULL, &ws->be);
	ws->kernel = false;
	return r;
}

static void cycle_start(struct wgsync *ws)
{
	int r;

	ws->dirty = false;
	if (ws->next_want) {
		wgdev_free(ws->want);
		ws->want = ws->next_want;
		ws->next_want = NULL;
		memcpy(ws->addrs, ws->next_addrs, sizeof(ws->addrs));
		ws->n_addrs = ws->n_next_addrs;
		ws->keep_unlisted = ws->next_keep_unlisted;
	}
	memset(&ws->res, 0, sizeof(ws->res));
	ws->phase = PH_SETUP;
	if (!ws->be) {
		r = setup_backend(ws);
		if (r < 0) {
			/* report from the loop, never from inside wgsync_apply */
			ws->phase = PH_IDLE;
			if (ws->cfg.done) {
				struct wgsync_result res = {.err = r};

				ws->cfg.done(ws->cfg.ud, &res);
			}
			return;
		}
	}
	if (ws->link_ready) {
		start_addrs(ws);
		return;
	}
	if (ws->kernel) {
		ensure_link(ws, "wireguard");
		return;
	}
	r = wgbackend_get_device(ws->be, ws->ifname, on_probe, ws);
	if (r < 0)
		finish(ws, r);
}

int wgsync_new(struct reactor *r, const struct wlog *log, const struct wgsync_config *cfg, struct wgsync **out)
{
	struct wgsync *ws;
	int err;

	if (!cfg->ifname || !cfg->ifname[0] || strlen(cfg->ifname) >= sizeof(ws->ifname))
		return -EINVAL;
	ws = calloc(1, sizeof(*ws));
	if (!ws)
		return -ENOMEM;
	ws->r = r;
	ws->log = log;
	ws->cfg = *cfg;
	strcpy(ws->ifname, cfg->ifname);
	if (cfg->uapi_sockdir)
		snprintf(ws->sockdir, sizeof(ws->sockdir), "%s", cfg->uapi_sockdir);
	if (cfg->wireguard_go)
		snprintf(ws->wggo, sizeof(ws->wggo), "%s", cfg->wireguard_go);
	ws->cfg.ifname = ws->ifname;
	err = rtnl_new(r, log, &ws->rt);
	if (err < 0) {
		free(ws);
		return err;
	}
	*out = ws;
	return 0;
}

void wgsync_free(struct wgsync *ws)
{
	if (!ws)
		return;
	wgbackend_free(ws->be);
	rtnl_free(ws->rt);
	wgdev_free(ws->want);
	wgdev_free(ws->next_want);
	wgdev_free(ws->actual);
	free(ws);
}

int wgsync_apply(struct wgsync *ws, struct wgdevice *desired, const struct rtnl_addr *addrs, size_t n,
		 bool keep_unlisted)
{
	if (n > WGSYNC_MAX_ADDRS || ws->phase == PH_REMOVE) {
		wgdev_free(desired);
		return n > WGSYNC_MAX_ADDRS ? -EINVAL : W2W_ESTATE;
	}
	wgdev_set_name(desired, ws->ifname);
	wgdev_free(ws->next_want);
	ws->next_want = desired;
	memcpy(ws->next_addrs, addrs, n * sizeof(*addrs));
	ws->n_next_addrs = n;
	ws->next_keep_unlisted = keep_unlisted;
	ws->dirty = true;
	if (ws->phase == PH_IDLE)
		cycle_start(ws);
	return 0;
}

static void on_refresh(void *ud, int err, struct wgdevice *dev)
{
	struct wgsync *ws = ud;

	ws->refreshing = false;
	if (err < 0)
		return;
	wgdev_free(ws->actual);
	ws->actual = dev;
}

int wgsync_refresh(struct wgsync *ws)
{
	int r;

	if (!ws->be || !ws->link_ready || ws->refreshing)
		return 0;
	ws->refreshing = true;
	r = wgbackend_get_device(ws->be, ws->ifname, on_refresh, ws);
	if (r < 0)
		ws->refreshing = false;
	return r;
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
	return ws->phase != PH_IDLE;
}

static void on_link_deleted(void *ud, int err)
{
	struct wgsync *ws = ud;

	ws->phase = PH_IDLE;
	ws->link_ready = false;
	if (ws->remove_done)
		ws->remove_done(ws->remove_ud, err);
}

int wgsync_remove(struct wgsync *ws, void (*done)(void *ud, int err), void *ud)
{
	int r;

	ws->remove_done = done;
	ws->remove_ud = ud;
	ws->dirty = false;
	if (ws->be && !ws->kernel) {
		/* Userspace: ending wireguard-go removes its TUN interface. If we did
		 * not start it (adopted after a restart) the link delete below ends it. */
		if (ws->wg_pid > 0)
			kill(ws->wg_pid, SIGTERM);
	}
	ws->phase = PH_REMOVE;
	r = rtnl_link_del(ws->rt, ws->ifname, on_link_deleted, ws);
	if (r < 0)
		ws->phase = PH_IDLE;
	return r;
}
