/* SPDX-License-Identifier: MIT */
/* See dops.h. */
#include "dops.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "httpreq.h"
#include "strbuf.h"
#include "uvreply.h"

struct dops_client {
	struct uvreply r; /* the connection's life cycle (uvreply.h) */
	struct dops *o;
	struct dops_client *prev, *next;
	size_t len;
	char req[HTTPREQ_MAX];
};

static void logf_(struct dops *o, int level, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void logf_(struct dops *o, int level, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	o->log(o->log_ud, level, msg);
}

/* ---- systemd (sd_notify(3)) ---- */

/* "STATUS=..." text: what `systemctl status` shows next to the unit. */
static void status_text(struct dops *o, char *out, size_t cap)
{
	struct w2w_snapshot *s = w2w_node_snapshot(o->node);
	size_t n = s ? w2w_snapshot_peer_count(s) : 0, up = 0;

	for (size_t i = 0; i < n; i++)
		up += w2w_snapshot_connected(s, i) == 1;
	if (s && w2w_snapshot_address(s, W2W_SNAPSHOT_SELF)[0])
		snprintf(out, cap, "%zu peer%s up (%zu connected), address %s", n, n == 1 ? "" : "s", up,
		         w2w_snapshot_address(s, W2W_SNAPSHOT_SELF));
	else
		snprintf(out, cap, "%zu peer%s up (%zu connected), no address yet", n, n == 1 ? "" : "s", up);
	w2w_snapshot_free(s);
}

static void send_ready(struct dops *o)
{
	char st[256];

	status_text(o, st, sizeof(st));
	sdnotify_sendf(&o->sd, "READY=1\nSTATUS=%s", st);
}

static void on_watchdog(uv_timer_t *t)
{
	struct dops *o = t->data;

	/* From the loop itself: a loop that stops turning stops the pings, and
	 * systemd then restarts us (WatchdogSec=, systemd.service(5)). */
	sdnotify_send(&o->sd, "WATCHDOG=1");
}

void dops_init(struct dops *o, uv_loop_t *uv, void (*log)(void *ud, int level, const char *msg), void *ud)
{
	int r;

	memset(o, 0, sizeof(*o));
	o->uv = uv;
	o->log = log;
	o->log_ud = ud;
	r = sdnotify_init(&o->sd);
	if (r < 0)
		logf_(o, 4, "NOTIFY_SOCKET unusable (%s): no systemd notifications", strerror(-r));
}

void dops_event(struct dops *o, int type)
{
	char st[256];

	if (type == W2W_NODE_EV_LISTENING)
		o->seen |= 1;
	else if (type == W2W_NODE_EV_WG_APPLIED)
		o->seen |= 2;
	if (!o->ready && o->seen == 3) {
		/* The listener is bound and the interface exists with its peers:
		 * units ordered After= this one can use the overlay. */
		o->ready = 1;
		send_ready(o);
		return;
	}
	if (o->ready && (type == W2W_NODE_EV_PEER_UP || type == W2W_NODE_EV_PEER_DOWN ||
	                 type == W2W_NODE_EV_ADDRESS_ASSIGNED)) {
		status_text(o, st, sizeof(st));
		sdnotify_sendf(&o->sd, "STATUS=%s", st);
	}
}

void dops_reloading(struct dops *o)
{
	struct timespec ts;

	/* MONOTONIC_USEC: systemd >= 253 matches RELOADING=1 to the reload it
	 * started by this timestamp (Type=notify-reload, sd_notify(3)). */
	clock_gettime(CLOCK_MONOTONIC, &ts);
	sdnotify_sendf(&o->sd, "RELOADING=1\nMONOTONIC_USEC=%" PRIu64,
	               (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u);
}

void dops_reloaded(struct dops *o)
{
	char st[256];

	if (o->ready) {
		send_ready(o);
		return;
	}
	/* Reloaded before the first READY=1: that one still waits for the
	 * interface; systemd leaves "reloading" on the next READY=1. */
	status_text(o, st, sizeof(st));
	sdnotify_sendf(&o->sd, "STATUS=%s", st);
}

void dops_stopping(struct dops *o)
{
	sdnotify_send(&o->sd, "STOPPING=1");
}

void dops_mkdir_parent(const char *path)
{
	char dir[256];
	const char *slash = path ? strrchr(path, '/') : NULL;

	if (!slash || slash == path || (size_t)(slash - path) >= sizeof(dir))
		return;
	memcpy(dir, path, (size_t)(slash - path));
	dir[slash - path] = 0;
	if (mkdir(dir, 0755) != 0 && errno != EEXIST)
		return; /* the bind reports it, naming the path */
}

/* ---- Prometheus text exposition format 0.0.4 ----
 * https://prometheus.io/docs/instrumenting/exposition_formats/ */

/* A label value: backslash, double quote and line feed escaped. */
static void put_label(struct strbuf *t, const char *key, const char *v, int first)
{
	strbuf_add(t, "%s%s=\"", first ? "" : ",", key);
	for (; v && *v; v++) {
		if (*v == '\\' || *v == '"')
			strbuf_add(t, "\\%c", *v);
		else if (*v == '\n')
			strbuf_add(t, "\\n");
		else
			strbuf_add(t, "%c", *v);
	}
	strbuf_add(t, "\"");
}

static void family(struct strbuf *t, const char *name, const char *type, const char *help)
{
	strbuf_add(t, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void peer_labels(struct strbuf *t, const struct w2w_snapshot *s, size_t i)
{
	strbuf_add(t, "{");
	put_label(t, "peer_id", w2w_snapshot_peer_id(s, i), 1);
	put_label(t, "name", w2w_snapshot_name(s, i), 0);
	strbuf_add(t, "}");
}

/* The exposition body, or NULL (no memory, or over DOPS_MAX_BODY). */
static char *metrics_text(struct dops *o, size_t *len)
{
	struct w2w_snapshot *s = w2w_node_snapshot(o->node);
	struct strbuf t = {.max = DOPS_MAX_BODY};
	time_t now = time(NULL);
	size_t n;

	if (!s)
		return NULL;
	n = w2w_snapshot_peer_count(s);
	family(&t, "w2wesher_info", "gauge", "This node: peer ID, name, overlay address, version (value 1)");
	strbuf_add(&t, "w2wesher_info{");
	put_label(&t, "peer_id", w2w_snapshot_peer_id(s, W2W_SNAPSHOT_SELF), 1);
	put_label(&t, "name", w2w_snapshot_name(s, W2W_SNAPSHOT_SELF), 0);
	put_label(&t, "address", w2w_snapshot_address(s, W2W_SNAPSHOT_SELF), 0);
	put_label(&t, "version", w2w_version(), 0);
	strbuf_add(&t, "} 1\n");
	for (size_t i = 0; w2w_snapshot_metric_name(s, i); i++) {
		const char *name = w2w_snapshot_metric_name(s, i);

		family(&t, name, w2w_snapshot_metric_is_counter(s, i) ? "counter" : "gauge",
		       w2w_snapshot_metric_help(s, i));
		strbuf_add(&t, "%s %" PRIu64 "\n", name, w2w_snapshot_metric_value(s, i));
	}
	family(&t, "w2wesher_peer_connected", "gauge", "1 when a libp2p connection to the peer is up");
	for (size_t i = 0; i < n; i++) {
		strbuf_add(&t, "w2wesher_peer_connected");
		peer_labels(&t, s, i);
		strbuf_add(&t, " %d\n", w2w_snapshot_connected(s, i) == 1);
	}
	family(&t, "w2wesher_peer_last_handshake_seconds", "gauge",
	       "Unix time of the last WireGuard handshake with the peer (0: never)");
	for (size_t i = 0; i < n; i++) {
		strbuf_add(&t, "w2wesher_peer_last_handshake_seconds");
		peer_labels(&t, s, i);
		strbuf_add(&t, " %" PRId64 "\n", w2w_snapshot_last_handshake(s, i));
	}
	family(&t, "w2wesher_peer_handshake_age_seconds", "gauge",
	       "Seconds since the last WireGuard handshake with the peer (peers with one only)");
	for (size_t i = 0; i < n; i++) {
		int64_t hs = w2w_snapshot_last_handshake(s, i);

		if (hs <= 0)
			continue;
		strbuf_add(&t, "w2wesher_peer_handshake_age_seconds");
		peer_labels(&t, s, i);
		strbuf_add(&t, " %" PRId64 "\n", (int64_t)now > hs ? (int64_t)now - hs : 0);
	}
	family(&t, "w2wesher_peer_receive_bytes_total", "counter", "WireGuard bytes received from the peer");
	for (size_t i = 0; i < n; i++) {
		strbuf_add(&t, "w2wesher_peer_receive_bytes_total");
		peer_labels(&t, s, i);
		strbuf_add(&t, " %" PRIu64 "\n", w2w_snapshot_rx_bytes(s, i));
	}
	family(&t, "w2wesher_peer_transmit_bytes_total", "counter", "WireGuard bytes sent to the peer");
	for (size_t i = 0; i < n; i++) {
		strbuf_add(&t, "w2wesher_peer_transmit_bytes_total");
		peer_labels(&t, s, i);
		strbuf_add(&t, " %" PRIu64 "\n", w2w_snapshot_tx_bytes(s, i));
	}
	w2w_snapshot_free(s);
	if (t.err) {
		free(t.p);
		return NULL;
	}
	*len = t.len;
	return t.p;
}

/* ---- the HTTP endpoint ---- */

static void on_client_closed(void *ud)
{
	struct dops_client *c = ud;

	if (c->prev)
		c->prev->next = c->next;
	else
		c->o->clients = c->next;
	if (c->next)
		c->next->prev = c->prev;
	c->o->nclients--;
	free(c);
}

static void client_close(struct dops_client *c)
{
	uvreply_close(&c->r);
}

static void respond(struct dops_client *c, int code, const char *reason, const char *ctype, const char *body,
                    size_t blen, int head)
{
	struct strbuf t = {.max = DOPS_MAX_BODY};

	strbuf_add(&t, "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\nConnection: close\r\n%s\r\n", code,
	    reason, ctype, blen, code == 405 ? "Allow: GET, HEAD\r\n" : "");
	if (!head && blen && !t.err) {
		size_t at = t.len;

		strbuf_add(&t, "%*s", (int)blen, ""); /* room, then the bytes (the body may hold '%') */
		if (!t.err)
			memcpy(t.p + at, body, blen);
	}
	if (t.err) {
		free(t.p);
		client_close(c);
		return;
	}
	uvreply_send(&c->r, t.p, t.len);
}

static void answer(struct dops_client *c, int r, const struct httpreq *req)
{
	static const char plain[] = "text/plain; charset=utf-8";
	static const struct {
		int code;
		const char *reason;
	} errs[] = {{400, "Bad Request"},
	            {405, "Method Not Allowed"},
	            {414, "URI Too Long"},
	            {431, "Request Header Fields Too Large"},
	            {505, "HTTP Version Not Supported"}};
	char *body;
	size_t len = 0;

	if (r < 0) {
		for (size_t i = 0; i < sizeof(errs) / sizeof(errs[0]); i++)
			if (errs[i].code == -r) {
				respond(c, errs[i].code, errs[i].reason, plain, errs[i].reason, strlen(errs[i].reason),
				        0);
				return;
			}
		client_close(c);
		return;
	}
	if (strcmp(req->path, "/metrics") != 0) {
		respond(c, 404, "Not Found", plain, "not found: try /metrics\n", 24, req->head);
		return;
	}
	body = metrics_text(c->o, &len);
	if (!body) {
		respond(c, 500, "Internal Server Error", plain, "out of memory\n", 14, req->head);
		return;
	}
	respond(c, 200, "OK", "text/plain; version=0.0.4; charset=utf-8", body, len, req->head);
	free(body);
}

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *b)
{
	struct dops_client *c = h->data;

	(void)hint;
	*b = uv_buf_init(c->req + c->len, (unsigned)(sizeof(c->req) - c->len));
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
	struct dops_client *c = s->data;
	struct httpreq req;
	int r;

	(void)b;
	if (n < 0) {
		client_close(c);
		return;
	}
	c->len += (size_t)n;
	r = httpreq_parse(c->req, c->len, &req);
	if (r == 0)
		return; /* on_alloc still has room: parse returns -431 once the buffer is full */
	uv_read_stop(s);
	answer(c, r, &req);
}

static void on_connection(uv_stream_t *server, int status)
{
	struct dops *o = server->data;
	struct dops_client *c;

	if (status < 0)
		return;
	c = calloc(1, sizeof(*c));
	if (!c)
		return;
	c->o = o;
	uvreply_init(&c->r, o->uv, 0, DOPS_DEADLINE_MS, c->req, sizeof(c->req), on_client_closed, c);
	o->nclients++;
	c->next = o->clients;
	if (c->next)
		c->next->prev = c;
	o->clients = c;
	if (uv_accept(server, uvreply_stream(&c->r)) != 0 || o->nclients > DOPS_MAX_CLIENTS) {
		client_close(c); /* a scraper retries at its next interval */
		return;
	}
	uv_read_start(uvreply_stream(&c->r), on_alloc, on_read);
}

/* "IP:PORT" or "[IPv6]:PORT", already checked by the configuration. */
static int parse_addr(const char *a, struct sockaddr_storage *ss)
{
	char host[64];
	const char *colon = strrchr(a, ':');
	size_t hl;
	int port;

	if (!colon)
		return -1;
	hl = (size_t)(colon - a);
	port = atoi(colon + 1);
	if (a[0] == '[') {
		if (hl < 2 || hl - 2 >= sizeof(host))
			return -1;
		memcpy(host, a + 1, hl - 2);
		host[hl - 2] = 0;
		return uv_ip6_addr(host, port, (struct sockaddr_in6 *)ss) == 0 ? 0 : -1;
	}
	if (hl >= sizeof(host))
		return -1;
	memcpy(host, a, hl);
	host[hl] = 0;
	return uv_ip4_addr(host, port, (struct sockaddr_in *)ss) == 0 ? 0 : -1;
}

int dops_start(struct dops *o, struct w2w_node *node, const char *metrics_addr)
{
	struct sockaddr_storage ss;
	int r;

	o->node = node;
	if (o->sd.wd_usec) {
		uint64_t ms = o->sd.wd_usec / 2000; /* half the timeout, as sd_watchdog_enabled(3) advises */

		uv_timer_init(o->uv, &o->wd);
		o->wd.data = o;
		o->wd_up = 1;
		uv_timer_start(&o->wd, on_watchdog, 0, ms ? ms : 1);
	}
	if (!metrics_addr || !*metrics_addr)
		return 0;
	snprintf(o->addr, sizeof(o->addr), "%s", metrics_addr);
	memset(&ss, 0, sizeof(ss));
	if (parse_addr(metrics_addr, &ss) < 0) {
		logf_(o, 3, "MetricsAddr %s: not IP:PORT", metrics_addr);
		return -1;
	}
	uv_tcp_init(o->uv, &o->srv);
	o->srv.data = o;
	o->srv_up = 1;
	/* UV_TCP_IPV6ONLY: [::1]:P is that address only, never v4 as well. */
	r = uv_tcp_bind(&o->srv, (const struct sockaddr *)&ss, ss.ss_family == AF_INET6 ? UV_TCP_IPV6ONLY : 0);
	if (r == 0)
		r = uv_listen((uv_stream_t *)&o->srv, 16, on_connection);
	if (r != 0) {
		logf_(o, 3, "MetricsAddr %s: %s", metrics_addr, uv_strerror(r));
		return -1;
	}
	logf_(o, 6, "metrics on http://%s/metrics", metrics_addr);
	return 0;
}

void dops_close(struct dops *o)
{
	for (struct dops_client *c = o->clients; c; c = c->next)
		client_close(c);
	if (o->srv_up && !uv_is_closing((uv_handle_t *)&o->srv))
		uv_close((uv_handle_t *)&o->srv, NULL);
	if (o->wd_up && !uv_is_closing((uv_handle_t *)&o->wd))
		uv_close((uv_handle_t *)&o->wd, NULL);
	o->srv_up = o->wd_up = 0;
	sdnotify_close(&o->sd);
}
