/* SPDX-License-Identifier: MIT */
/*
 * w2wesherd's operations side (docs/operations.md "systemd", "Metrics"):
 * the systemd notifications (READY/STATUS/RELOADING/STOPPING, the watchdog)
 * and the Prometheus endpoint at [Node] MetricsAddr. Public API only, on the
 * daemon's libuv loop. Kept out of w2wesherd.c, which calls the hooks below.
 */
#ifndef W2W_TOOLS_DOPS_H
#define W2W_TOOLS_DOPS_H

#include <stddef.h>
#include <uv.h>

#include <w2wesher/w2wesher.h>

#include "sdnotify.h"

#define DOPS_MAX_CLIENTS 8        /* concurrent scrapes; more are closed at once */
#define DOPS_DEADLINE_MS 5000     /* per scrape, from accept to the last byte */
#define DOPS_MAX_BODY (4u << 20)  /* exposition text cap (thousands of peers fit) */

struct dops_client;

struct dops {
	uv_loop_t *uv;
	struct w2w_node *node;
	void (*log)(void *ud, int level, const char *msg);
	void *log_ud;
	struct sdnotify sd;
	uv_timer_t wd;
	int wd_up;
	unsigned seen; /* 1: libp2p listening, 2: WireGuard applied once */
	int ready;
	uv_tcp_t srv;
	int srv_up;
	size_t nclients;
	struct dops_client *clients;
	char addr[64];
};

/* Reads the notify environment (and unsets it). Call before anything forks. */
void dops_init(struct dops *o, uv_loop_t *uv, void (*log)(void *ud, int level, const char *msg), void *ud);
/* After w2w_node_start(): starts the watchdog pings and, with a non-empty
 * metrics_addr, listens there. Returns 0 or -1 (logged: the daemon stops). */
int dops_start(struct dops *o, struct w2w_node *node, const char *metrics_addr);
/* Node events: READY=1 once listening and the interface applied; STATUS=. */
void dops_event(struct dops *o, int type);
/* SIGHUP: RELOADING=1 before, READY=1 and STATUS= after (ok or not). */
void dops_reloading(struct dops *o);
void dops_reloaded(struct dops *o);
void dops_stopping(struct dops *o);
/* Closes the clients (with their own callbacks, which free them), the
 * listener and the timer; then the caller runs the loop to let them finish. */
void dops_close(struct dops *o);
/* mkdir of path's parent directory (mode 0755) when missing: the control
 * socket in $XDG_RUNTIME_DIR/w2wesher/ (docs/configuration.md "Directories"). */
void dops_mkdir_parent(const char *path);

#endif
