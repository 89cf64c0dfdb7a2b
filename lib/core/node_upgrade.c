/* SPDX-License-Identifier: MIT */
/*
 * The glue of the relayed-pair upgrade (docs/nat.md "Upgrade", the policy is
 * lib/mesh/upgrade.h): the engine's probe op, carried out by one WireGuard
 * sync job (wgsync_probe), and the watch that follows it: the device is read
 * every NODE_UPW_FAST_STEP_US for NODE_UPW_FAST_US (the peer's answering
 * probe, if any, comes then), then every NODE_UPW_STEP_US until NODE_UPW_US
 * after the probe, and a read that shows the peer at
 * the probed direct endpoint (WireGuard roamed there on an authenticated
 * direct packet) tells the engine (mn_on_direct_seen). Reading often only
 * while a probe round runs: the roam can last only until the peer's next
 * relayed packet arrives, which the regular read (every second) would miss.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include "err.h"
#include "node_internal.h"
#include "osclock.h"
#include "reconcile.h"

/* 0: nothing watched, else the step to the next read. A read costs ~330
 * bytes of UAPI text per peer: from 64 peers on, ten times less often. */
static uint64_t watching(const struct w2w_node *n, uint64_t now)
{
	uint64_t step = 0, scale = pt_count(mn_table(n->mesh)) < 64 ? 1 : 10;

	for (size_t i = 0; i < NODE_UPW_MAX; i++) {
		if (n->upw[i].until_us <= now)
			continue;
		if (now - n->upw[i].since_us < NODE_UPW_FAST_US)
			return NODE_UPW_FAST_STEP_US * scale;
		step = NODE_UPW_STEP_US * scale;
	}
	return step;
}

static void on_watch_read(void *ud, int err, struct wgdevice *dev)
{
	struct w2w_node *n = ud;
	uint64_t now = os_now_us(), step;

	n->upw_reading = false;
	for (size_t i = 0; i < NODE_UPW_MAX && dev && err >= 0; i++) {
		struct node_upw *w = &n->upw[i];
		const struct wgpeer *wp;

		if (w->until_us <= now || !(wp = wgdev_find_peer(dev, w->key)) || !wgendpoint_equal(&wp->endpoint, &w->ep))
			continue;
		w->until_us = 0;
		mn_on_direct_seen(n->mesh, w->key, now);
	}
	wgdev_free(dev);
	if ((step = watching(n, now)))
		reactor_timer_arm(n->r, &n->t_upw, now + step);
	node_mesh_rearm(n);
}

static void on_watch_timer(void *ud, uint64_t now)
{
	struct w2w_node *n = ud;

	if (n->upw_reading || !n->wg || !watching(n, now))
		return;
	if (wgsync_read(n->wg, on_watch_read, n) == 0)
		n->upw_reading = true;
}

static void on_probed(void *ud, int err, bool sent, uint64_t window_us)
{
	struct w2w_node *n = ud;

	if (err < 0)
		log_debug(&n->log, "nat: direct-path probe: %s", err_str(err));
	else if (!window_us)
		log_debug(&n->log, "nat: direct-path probe: not needed, the peer is at its direct endpoint already");
	else
		log_debug(&n->log, "nat: direct-path probe: %s, direct endpoint on the device for at most %llu us",
			  sent ? "keepalive sent" : "no keepalive seen leaving", (unsigned long long)window_us);
}

int node_op_wg_probe(void *ud, const uint8_t *wg_pub, const struct ann_endpoint *direct,
		     const struct ann_endpoint *back)
{
	struct w2w_node *n = ud;
	struct wgsync_probe p;
	struct node_upw *w = NULL;
	uint64_t now = os_now_us();
	int r;

	if (!n->wg)
		return W2W_ESTATE;
	/* a direct endpoint to probe (wgendpoint_equal takes two "none" as equal) */
	if (direct->addr.family != 4 && direct->addr.family != 6)
		return -EINVAL;
	memset(&p, 0, sizeof(p));
	memcpy(p.key, wg_pub, 32);
	reconcile_endpoint(&p.direct, direct);
	reconcile_endpoint(&p.back, back);
	p.keepalive_s = RECONCILE_KICK_KEEPALIVE_S;
	r = wgsync_probe(n->wg, &p, on_probed, n);
	if (r < 0)
		return r;
	/* the entry for this key, else a free (or the oldest) one */
	for (size_t i = 0; i < NODE_UPW_MAX && !w; i++)
		if (!memcmp(n->upw[i].key, wg_pub, 32))
			w = &n->upw[i];
	for (size_t i = 0; i < NODE_UPW_MAX && !w; i++)
		if (n->upw[i].until_us <= now)
			w = &n->upw[i];
	if (!w)
		w = &n->upw[0];
	memcpy(w->key, wg_pub, 32);
	w->ep = p.direct;
	w->until_us = now + NODE_UPW_US;
	w->since_us = now;
	/* reads queue behind the probe job: the first one sees the restored
	 * endpoint, or the roam */
	if (!n->upw_reading)
		reactor_timer_arm(n->r, &n->t_upw, now);
	return 0;
}

void node_upgrade_init(struct w2w_node *n)
{
	rtimer_init(&n->t_upw, on_watch_timer, n);
}
