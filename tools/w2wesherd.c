/* SPDX-License-Identifier: MIT */
/*
 * w2wesherd — the w2wesher mesh daemon. Built only on the public API; maps the
 * library's event-loop contract onto libuv (one uv_poll_t per fd, one
 * uv_timer_t for the deadline: the curl multi-uv pattern).
 *
 *   w2wesherd --config FILE [--log-level LEVEL] [--allow-root] [--allow-open-secrets] [--dumpable]
 *           [--private-names]
 *
 * SIGTERM/SIGINT: stop WITHOUT leaving (interface, address and WireGuard peers
 * stay, so a restart is seamless). `w2wesher leave` (control socket): announce
 * the leave and remove the interface. SIGHUP: reload what can change safely
 * (log level, bootstrap list, network PSKs). Exit codes: 0 clean stop, 1 failure, 2 usage.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#include <w2wesher/w2wesher.h>

#include "ctlproto.h"
#include "dnsnames.h"
#include "dops.h"
#include "uvreply.h"

#define MAX_CTL_CLIENTS 64
#define CTL_REQ_MAX 1024
#define CTL_DEADLINE_MS 5000 /* per client, from accept to the last byte of the answer */
#define MAX_CTL_CONNS 256     /* slots plus connections being told "busy" */
/* The lookup socket (any local user): its own, smaller limits, so a local user
 * holding every lookup slot cannot starve the control socket. */
#define MAX_NAMES_CLIENTS 16
#define MAX_NAMES_CONNS 64
#define CTL_BACKLOG 128

struct watch {
	uv_poll_t poll;
	int fd;
	int events;
	struct daemon *d;
	int closing;
};

/* A listening socket: the control socket (0660) or the lookup socket (0666,
 * only "resolve" and "resolve-addr"). Each counts its own clients. */
struct listener {
	uv_pipe_t pipe;
	struct daemon *d;
	int up;
	int lookup_only;
	size_t max_clients, max_conns;
	size_t nclients; /* holding a slot (reading a request or answering it) */
	size_t nconns;   /* every accepted connection not yet freed */
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
};

struct ctl_client {
	struct uvreply r; /* the connection's life cycle (uvreply.h) */
	struct daemon *d;
	struct listener *l;
	struct ctl_client *prev, *next;
	int counted;      /* holds one of its listener's max_clients slots */
	char req[CTL_REQ_MAX];
	size_t len;
};

struct daemon {
	uv_loop_t *uv;
	uv_timer_t timer;
	uv_signal_t sig_term, sig_int, sig_hup;
	struct listener ctl, names;
	struct watch **watches; /* indexed by fd */
	size_t nwatches;
	struct w2w_loop *loop;
	struct w2w_node *node;
	struct w2w_config *cfg;
	const char *config_path;
	int log_level;
	unsigned load_flags; /* W2W_CONFIG_ENV, + ALLOW_OPEN_SECRETS on request */
	int stopping;
	int exit_code;
	struct ctl_client *clients;
	int private_names; /* --private-names: no lookup socket */
	uint64_t names_seen; /* fingerprint of the name collisions last warned about */
	struct dops dops;    /* systemd notifications, metrics (dops.h) */
	struct ctl_client *rotate_waiter; /* "rotate-key": answered on KEY_ROTATED */
};

/* --log-time: each line starts with the wall clock (seconds.microseconds),
 * taken when the line is written, for timelines across several daemons (the
 * benchmark's --keep-logs); journald stamps lines itself. */
static int log_time;

static void logf_(struct daemon *d, int level, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void logf_(struct daemon *d, int level, const char *fmt, ...)
{
	static const char *names[] = {"emerg", "alert", "crit", "error", "warn", "notice", "info", "debug"};
	va_list ap;

	if (d && level > d->log_level)
		return;
	if (log_time) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		fprintf(stderr, "@%lld.%06ld ", (long long)ts.tv_sec, ts.tv_nsec / 1000);
	}
	/* "<N>" prefixes let journald assign levels (sd-daemon(3)). */
	fprintf(stderr, "<%d>%s: ", level, names[level & 7]);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* ---- libuv adapter for the loop contract ---- */

static void process_ready(struct daemon *d, int fd, int events)
{
	struct w2w_watch w = {fd, events};

	w2w_loop_process(d->loop, &w, 1);
}

static void on_poll(uv_poll_t *p, int status, int events)
{
	struct watch *w = p->data;
	int ev = 0;

	if (status < 0)
		ev |= W2W_IO_ERROR;
	if (events & UV_READABLE)
		ev |= W2W_IO_READ;
	if (events & UV_WRITABLE)
		ev |= W2W_IO_WRITE;
	if (events & UV_DISCONNECT)
		ev |= W2W_IO_ERROR | W2W_IO_READ;
	process_ready(w->d, w->fd, ev);
}

static void on_poll_closed(uv_handle_t *h)
{
	free(h->data);
}

static void op_watch(void *ud, int fd, int events)
{
	struct daemon *d = ud;
	struct watch *w;
	int uvev = 0;

	if (fd < 0)
		return;
	if ((size_t)fd >= d->nwatches) {
		size_t n = d->nwatches ? d->nwatches : 64;
		struct watch **nw;

		while (n <= (size_t)fd)
			n *= 2;
		nw = realloc(d->watches, n * sizeof(*nw));
		if (!nw) {
			logf_(d, 3, "out of memory watching fd %d", fd);
			return;
		}
		memset(nw + d->nwatches, 0, (n - d->nwatches) * sizeof(*nw));
		d->watches = nw;
		d->nwatches = n;
	}
	w = d->watches[fd];
	if (events == 0) {
		if (w) {
			/* The library may close fd right after this: stop now, free later. */
			uv_poll_stop(&w->poll);
			uv_close((uv_handle_t *)&w->poll, on_poll_closed);
			d->watches[fd] = NULL;
		}
		return;
	}
	if (!w) {
		w = calloc(1, sizeof(*w));
		if (!w || uv_poll_init(d->uv, &w->poll, fd) != 0) {
			free(w);
			logf_(d, 3, "cannot watch fd %d", fd);
			return;
		}
		w->poll.data = w;
		w->fd = fd;
		w->d = d;
		d->watches[fd] = w;
	}
	w->events = events;
	if (events & W2W_IO_READ)
		uvev |= UV_READABLE | UV_DISCONNECT;
	if (events & W2W_IO_WRITE)
		uvev |= UV_WRITABLE;
	uv_poll_start(&w->poll, uvev, on_poll);
}

static void on_timer(uv_timer_t *t)
{
	struct daemon *d = t->data;

	w2w_loop_process(d->loop, NULL, 0);
}

static void op_deadline(void *ud, int64_t when_us)
{
	struct daemon *d = ud;
	uint64_t now = w2w_now_us(), ms;

	if (when_us < 0) {
		uv_timer_stop(&d->timer);
		return;
	}
	ms = (uint64_t)when_us <= now ? 0 : ((uint64_t)when_us - now + 999) / 1000;
	uv_timer_start(&d->timer, on_timer, ms, 0);
}

/* ---- node names (docs/operations.md "Node names", tools/dnsnames.h) ---- */

/* Warns once per change of the set of collision losers (FNV-1a over their
 * peer IDs and names), so a standing collision is one log line, not one per
 * lookup. */
static void names_warn(struct daemon *d, const struct w2w_snapshot *s, const struct dnsnames *dn)
{
	uint64_t h = 14695981039346656037ull;

	for (size_t k = 0; k <= dn->peers; k++) {
		size_t i = k == dn->peers ? W2W_SNAPSHOT_SELF : k;
		const char *p = w2w_snapshot_peer_id(s, i);

		if (!dn->name[k].renamed)
			continue;
		for (; p && *p; p++)
			h = (h ^ (unsigned char)*p) * 1099511628211ull;
		for (p = dn->name[k].fqdn; *p; p++)
			h = (h ^ (unsigned char)*p) * 1099511628211ull;
	}
	if (h == d->names_seen)
		return;
	d->names_seen = h;
	for (size_t k = 0; k <= dn->peers; k++) {
		size_t i = k == dn->peers ? W2W_SNAPSHOT_SELF : k;

		/* The name is a valid DNS label here (dnsnames.h), so it is safe to log. */
		if (dn->name[k].renamed)
			logf_(d, 4, "name collision: %s is announced by a node with a lower peer ID too; %s %s",
			      w2w_snapshot_name(s, i), w2w_snapshot_peer_id(s, i),
			      dn->name[k].fqdn[0] ? dn->name[k].fqdn : "has no DNS name (its derived name is taken)");
	}
}

static void names_check(struct daemon *d)
{
	struct w2w_snapshot *s = w2w_node_snapshot(d->node);
	struct dnsnames dn;

	if (s && dnsnames_build(&dn, s, w2w_config_dns_domain(d->cfg)) == 0) {
		names_warn(d, s, &dn);
		dnsnames_free(&dn);
	}
	w2w_snapshot_free(s);
}

/* The snapshot index of the node holding overlay address ip, or -1. */
static int find_addr(const struct w2w_snapshot *s, const char *ip, size_t *idx)
{
	uint8_t want[16], have[16];
	int fam = strchr(ip, ':') ? AF_INET6 : AF_INET;
	size_t n = w2w_snapshot_peer_count(s);

	if (inet_pton(fam, ip, want) != 1)
		return -1;
	for (size_t k = 0; k <= n; k++) {
		size_t i = k == n ? W2W_SNAPSHOT_SELF : k;

		if (inet_pton(fam, w2w_snapshot_address(s, i), have) == 1 &&
		    !memcmp(want, have, fam == AF_INET6 ? 16 : 4)) {
			*idx = i;
			return 0;
		}
	}
	return -1;
}

/* "resolve NAME" ("resolve-addr IP" when by_addr): "FQDN ADDRESS\n" for a
 * live node with that DNS name (overlay address), else "" (an empty reply is
 * "not found" to the NSS module). NULL on no memory. */
static char *resolve(struct daemon *d, const char *name, int by_addr)
{
	struct w2w_snapshot *s = w2w_node_snapshot(d->node);
	struct dnsnames dn;
	char *out = NULL;
	size_t i;

	if (!s)
		return NULL;
	if (dnsnames_build(&dn, s, w2w_config_dns_domain(d->cfg)) == 0) {
		int r = by_addr ? find_addr(s, name, &i) : dnsnames_find(&dn, name, &i);

		names_warn(d, s, &dn);
		if (r == 0 && w2w_snapshot_address(s, i)[0] && dnsnames_at(&dn, i)->fqdn[0]) {
			const char *fqdn = dnsnames_at(&dn, i)->fqdn, *ip = w2w_snapshot_address(s, i);

			out = malloc(strlen(fqdn) + strlen(ip) + 3);
			if (out)
				sprintf(out, "%s %s\n", fqdn, ip);
		} else {
			out = strdup("");
		}
		dnsnames_free(&dn);
	}
	w2w_snapshot_free(s);
	return out;
}

/* ---- node events ---- */

static void on_log(void *ud, int level, const char *msg)
{
	logf_(ud, level, "%s", msg);
}

static void reply(struct ctl_client *c, char *text);

static void on_event(void *ud, const struct w2w_node_event *ev)
{
	struct daemon *d = ud;
	enum w2w_node_event_type t = w2w_node_event_type(ev);

	dops_event(&d->dops, t);
	switch (t) {
	case W2W_NODE_EV_ERROR:
		logf_(d, 3, "%s: %s", w2w_node_event_message(ev), w2w_strerror(w2w_node_event_error(ev)));
		break;
	case W2W_NODE_EV_STOPPED:
		logf_(d, 6, "stopped");
		d->stopping = 2;
		uv_stop(d->uv);
		break;
	case W2W_NODE_EV_KEY_ROTATED:
		logf_(d, 6, "key-rotated: WireGuard public key %s", w2w_node_event_message(ev));
		if (d->rotate_waiter) {
			char buf[128];
			struct ctl_client *c = d->rotate_waiter;

			d->rotate_waiter = NULL;
			snprintf(buf, sizeof(buf), "{\"ok\":true,\"wg_public_key\":\"%.60s\"}\n", w2w_node_event_message(ev));
			reply(c, strdup(buf));
		}
		break;
	case W2W_NODE_EV_PEER_UP:
	case W2W_NODE_EV_PEER_DOWN:
		logf_(d, 6, "%s %s %s %s", w2w_node_event_type_name(t), w2w_node_event_name(ev),
		      w2w_node_event_peer_id(ev), w2w_node_event_address(ev));
		names_check(d);
		break;
	default:
		logf_(d, 6, "%s %s%s%s", w2w_node_event_type_name(t), w2w_node_event_address(ev),
		      w2w_node_event_message(ev)[0] ? " " : "", w2w_node_event_message(ev));
		break;
	}
}

/* ---- control socket (docs/operations.md "Control socket") ---- */

/*
 * Each client is a heap object owning two handles (its pipe and an idle
 * timer, uvreply.h); it is freed only after libuv has run both close
 * callbacks, never while a handle still points into it. Past MAX_CTL_CLIENTS
 * a connection is still accepted, told {"error":"busy..."} and closed, so a
 * client never sees a silent empty answer. A client gets CTL_DEADLINE_MS in
 * all to send its line and read the answer: an idle holder cannot keep a slot.
 */
static void on_client_closed(void *ud)
{
	struct ctl_client *c = ud;

	if (c->prev)
		c->prev->next = c->next;
	else
		c->d->clients = c->next;
	if (c->next)
		c->next->prev = c->prev;
	if (c->d->rotate_waiter == c)
		c->d->rotate_waiter = NULL;
	if (c->counted)
		c->l->nclients--;
	c->l->nconns--;
	free(c);
}

static void client_close(struct ctl_client *c)
{
	uvreply_close(&c->r);
}

/* Takes text (NULL: out of memory, hang up). */
static void reply(struct ctl_client *c, char *text)
{
	if (!text) {
		client_close(c);
		return;
	}
	uvreply_send(&c->r, text, strlen(text));
}

static void handle_request(struct ctl_client *c, char *line)
{
	struct daemon *d = c->d;
	char *out = NULL;

	if (c->l->lookup_only && strncmp(line, "resolve ", 8) != 0 && strncmp(line, "resolve-addr ", 13) != 0) {
		/* Any local user may connect here: names only, never control. */
		reply(c, ctl_error_json("not on the lookup socket (only resolve, resolve-addr): "
		                        "use the control socket"));
		return;
	}
	if (!strncmp(line, "status", 6) || !strncmp(line, "join-info", 9)) {
		int join = line[0] == 'j';
		const char *rest = line + (join ? 9 : 6);
		struct w2w_snapshot *s;

		if (*rest && strcmp(rest, " json") != 0) {
			reply(c, ctl_error_json("unknown request"));
			return;
		}
		s = w2w_node_snapshot(d->node);
		if (s)
			out = *rest ? ctl_snapshot_json(s, join, w2w_config_dns_domain(d->cfg))
			            : ctl_snapshot_text(s, join);
		w2w_snapshot_free(s);
		if (!out)
			out = ctl_error_json("snapshot failed");
	} else if (!strncmp(line, "resolve ", 8)) {
		out = resolve(d, line + 8, 0);
	} else if (!strncmp(line, "resolve-addr ", 13)) {
		out = resolve(d, line + 13, 1);
	} else if (!strcmp(line, "leave")) {
		int r = w2w_node_leave(d->node);

		out = r < 0 ? ctl_error_json(w2w_strerror(r)) : strdup("{\"ok\":true}\n");
		d->stopping = 1;
		dops_stopping(&d->dops);
	} else if (!strcmp(line, "rotate-key")) {
		/* answered when the switch is done (KEY_ROTATED, ~2 s: within the
		 * client's deadline), with the new public key */
		int r = w2w_node_rotate_wg_key(d->node);

		if (r == 0 && !d->rotate_waiter) {
			d->rotate_waiter = c;
			return;
		}
		out = r < 0 ? ctl_error_json(w2w_strerror(r)) : strdup("{\"ok\":true}\n");
	} else if (!strncmp(line, "join ", 5)) {
		int r = w2w_node_join(d->node, line + 5);

		out = r < 0 ? ctl_error_json(w2w_strerror(r)) : strdup("{\"ok\":true}\n");
	} else if (!strncmp(line, "admission-publish ", 18)) {
		/* a revocation (docs/cli.md "admission"): enforced here, gossiped */
		int r = w2w_node_admission_publish(d->node, line + 18);

		out = r < 0 ? ctl_error_json(w2w_strerror(r))
		            : strdup(r ? "{\"ok\":true,\"new\":true}\n" : "{\"ok\":true,\"new\":false}\n");
	} else {
		out = ctl_error_json("unknown request");
	}
	reply(c, out);
}

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *b)
{
	struct ctl_client *c = h->data;

	(void)hint;
	*b = uv_buf_init(c->req + c->len, (unsigned)(sizeof(c->req) - 1 - c->len));
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
	struct ctl_client *c = s->data;
	char *nl;

	(void)b;
	if (n < 0) {
		client_close(c);
		return;
	}
	c->len += (size_t)n;
	c->req[c->len] = '\0';
	/* memchr, not strchr: the bytes are the peer's and may hold a NUL. */
	nl = memchr(c->req, '\n', c->len);
	if (nl || c->len >= sizeof(c->req) - 1) {
		uv_read_stop(s);
		if (!nl)
			reply(c, ctl_error_json("request too long"));
		else if (memchr(c->req, '\0', (size_t)(nl - c->req)))
			reply(c, ctl_error_json("bad request: NUL byte"));
		else {
			*nl = '\0';
			handle_request(c, c->req);
		}
	}
}

static void on_connection(uv_stream_t *server, int status)
{
	struct listener *l = server->data;
	struct daemon *d = l->d;
	struct ctl_client *c;

	if (status < 0)
		return;
	c = calloc(1, sizeof(*c));
	if (!c) {
		logf_(d, 3, "control socket: out of memory");
		return;
	}
	c->d = d;
	c->l = l;
	uvreply_init(&c->r, d->uv, 1, CTL_DEADLINE_MS, c->req, sizeof(c->req), on_client_closed, c);
	l->nconns++;
	c->next = d->clients;
	if (c->next)
		c->next->prev = c;
	d->clients = c;
	if (uv_accept(server, uvreply_stream(&c->r)) != 0) {
		client_close(c);
		return;
	}
	if (l->nconns > l->max_conns) {
		client_close(c); /* past even the busy answers: the CLI reports the hang-up */
		return;
	}
	if (l->nclients >= l->max_clients) {
		/* Answer, do not hang up silently: the CLI prints this and fails. */
		reply(c, ctl_error_json(l->lookup_only ? "busy: too many lookup clients, try again"
		                                       : "busy: too many control clients, try again"));
		return;
	}
	c->counted = 1;
	l->nclients++;
	uv_read_start(uvreply_stream(&c->r), on_alloc, on_read);
}

/*
 * Binds l at path with the given mode (through the umask: bind(2) creates the
 * socket file, and a chmod after it would leave a window with the wrong mode).
 */
static int ctl_listen(struct daemon *d, struct listener *l, const char *path, mode_t mask)
{
	mode_t old;
	int r;

	if (!path || !*path)
		return 0;
	if ((size_t)snprintf(l->path, sizeof(l->path), "%s", path) >= sizeof(l->path)) {
		logf_(d, 3, "socket path too long: %s", path);
		return -1;
	}
	/* A stale socket from a killed daemon would make bind fail: only remove a socket. */
	{
		struct stat st;

		if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode))
			unlink(path);
	}
	l->d = d;
	uv_pipe_init(d->uv, &l->pipe, 0);
	l->pipe.data = l;
	old = umask(mask);
	r = uv_pipe_bind(&l->pipe, path);
	umask(old);
	if (r == 0)
		r = uv_listen((uv_stream_t *)&l->pipe, CTL_BACKLOG, on_connection);
	if (r != 0) {
		logf_(d, 3, "%s socket %s: %s", l->lookup_only ? "lookup" : "control", path, uv_strerror(r));
		uv_close((uv_handle_t *)&l->pipe, NULL);
		return -1;
	}
	l->up = 1;
	return 0;
}

/*
 * The lookup socket (docs/operations.md "Node names"): next to the control
 * socket, X.sock -> X.names.sock (else PATH.names), mode 0666, so that every
 * local user's resolver (getent, ping after it dropped its capabilities, ssh)
 * can ask. It answers only "resolve" and "resolve-addr": names and overlay
 * addresses of live nodes, what docs/security.md lists as public to local
 * users. None without names (an empty DNSDomain) or with --private-names.
 */
static void names_listen(struct daemon *d)
{
	const char *ctl = w2w_config_control_socket(d->cfg);
	char path[sizeof(d->names.path)];
	size_t n = ctl ? strlen(ctl) : 0;
	int w;

	if (!n)
		return;
	if (n > 5 && !strcmp(ctl + n - 5, ".sock"))
		w = snprintf(path, sizeof(path), "%.*s.names.sock", (int)(n - 5), ctl);
	else
		w = snprintf(path, sizeof(path), "%s.names", ctl);
	if (w < 0 || (size_t)w >= sizeof(path)) {
		logf_(d, 3, "lookup socket: path too long for %s", ctl);
		return;
	}
	if (d->private_names || !*w2w_config_dns_domain(d->cfg)) {
		struct stat st;

		/* A stale one from an earlier run would shadow the control socket
		 * for the NSS module (it prefers X.names.sock): only remove a socket. */
		if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode))
			unlink(path);
		return;
	}
	d->names.lookup_only = 1;
	d->names.max_clients = MAX_NAMES_CLIENTS;
	d->names.max_conns = MAX_NAMES_CONNS;
	ctl_listen(d, &d->names, path, 0111); /* 0666: any local user may look names up */
}

/* ---- signals ---- */

static void on_signal(uv_signal_t *s, int signum)
{
	struct daemon *d = s->data;

	if (signum == SIGHUP) {
		struct w2w_config *n = NULL;

		dops_reloading(&d->dops);
		if (w2w_config_new(&n) == 0 && w2w_config_load(n, d->config_path, d->load_flags) == 0) {
			d->log_level = w2w_config_log_level(n);
			w2w_node_set_log(d->node, on_log, d, d->log_level);
			for (size_t i = 0; i < w2w_config_bootstrap_count(n); i++)
				w2w_node_join(d->node, w2w_config_bootstrap(n, i));
			/* Network PSK rotation (docs/operations.md): PSK/PSKFile and NextPSKFile. */
			int r = w2w_node_set_psk(d->node, n);

			if (r < 0)
				logf_(d, 3, "reload: keeping the network PSKs: %s", w2w_strerror(r));
			/* admission: a node admitted while running (docs/operations.md) */
			if (w2w_node_set_admission_token(d->node, w2w_config_admission_token(n)) < 0)
				logf_(d, 3, "reload: AdmissionToken not taken");
			logf_(d, 6, "reloaded %s (log level, bootstrap list, network PSKs, admission token)", d->config_path);
		} else {
			logf_(d, 3, "reload failed, keeping the running configuration: %s",
			      n ? w2w_config_error(n) : "out of memory");
		}
		w2w_config_free(n);
		dops_reloaded(&d->dops);
		return;
	}
	if (d->stopping) {
		logf_(d, 4, "second signal: exiting now");
		uv_stop(d->uv);
		return;
	}
	logf_(d, 6, "signal %d: stopping (interface and peers stay up)", signum);
	d->stopping = 1;
	dops_stopping(&d->dops);
	if (w2w_node_stop(d->node) < 0)
		uv_stop(d->uv);
}

static void usage(FILE *f)
{
	fprintf(f, "usage: w2wesherd --config FILE [--log-level error|warn|info|debug] [--allow-root]\n"
		   "                 [--allow-open-secrets] [--dumpable] [--private-names] [--log-time]\n"
		   "       w2wesherd --version | --help\n"
		   "\n"
		   "Runs a w2wesher mesh node. Needs CAP_NET_ADMIN, refuses to run as root\n"
		   "(--allow-root overrides, loudly). Refuses a config or PSKFile holding secrets\n"
		   "that every user may read (--allow-open-secrets overrides). Not dumpable (no\n"
		   "core dump, no ptrace by the same user) unless --dumpable, for debugging.\n"
		   "Node names resolve for every local user through a lookup socket next to the\n"
		   "control socket (X.names.sock, mode 0666); --private-names does not create it,\n"
		   "so only the control socket's owner, group and root can resolve them.\n"
		   "--log-time starts each log line with the wall clock (@SECONDS.MICROSECONDS).\n"
		   "See w2wesherd(8) / docs/operations.md.\n");
}

static void close_walk(uv_handle_t *h, void *arg)
{
	(void)arg;
	if (!uv_is_closing(h))
		uv_close(h, NULL);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"config", required_argument, NULL, 'c'}, {"log-level", required_argument, NULL, 'l'},
		{"allow-root", no_argument, NULL, 'R'},  {"version", no_argument, NULL, 'V'},
		{"allow-open-secrets", no_argument, NULL, 'O'}, {"dumpable", no_argument, NULL, 'D'},
		{"private-names", no_argument, NULL, 'P'}, {"log-time", no_argument, NULL, 'T'},
		{"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0},
	};
	struct daemon d;
	struct w2w_loop_ops ops;
	const char *level = NULL;
	int allow_root = 0, dumpable = 0, c, r;

	memset(&d, 0, sizeof(d));
	d.log_level = 6;
	d.load_flags = W2W_CONFIG_ENV;
	while ((c = getopt_long(argc, argv, "c:l:h", opts, NULL)) != -1) {
		switch (c) {
		case 'c': d.config_path = optarg; break;
		case 'l': level = optarg; break;
		case 'R': allow_root = 1; break;
		case 'O': d.load_flags |= W2W_CONFIG_ALLOW_OPEN_SECRETS; break;
		case 'D': dumpable = 1; break;
		case 'P': d.private_names = 1; break;
		case 'T': log_time = 1; break;
		case 'V': printf("w2wesherd %s\n", w2w_version()); return 0;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (!d.config_path || optind != argc) {
		usage(stderr);
		return 2;
	}
	if (geteuid() == 0) {
		if (!allow_root) {
			logf_(NULL, 3, "refusing to run as root: run as an unprivileged user with CAP_NET_ADMIN "
				       "(systemd AmbientCapabilities= or setpriv --ambient-caps +net_admin); "
				       "--allow-root overrides");
			return 1;
		}
		logf_(NULL, 4, "RUNNING AS ROOT (--allow-root): a bug in this daemon would own the machine");
	}
	/* Keep CAP_NET_ADMIN only; never gain privileges through exec. */
	prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
	/* No core dump and no ptrace/proc-mem access by the same user: the process
	 * holds the PSK and both private keys (docs/security.md). --dumpable keeps
	 * the default, to debug a crash. */
	if (!dumpable && prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0)
		logf_(NULL, 4, "PR_SET_DUMPABLE: %s", strerror(errno));
	signal(SIGPIPE, SIG_IGN);

	if (w2w_config_new(&d.cfg) < 0)
		return 1;
	r = w2w_config_load(d.cfg, d.config_path, W2W_CONFIG_GENERATE | d.load_flags);
	if (r < 0) {
		logf_(NULL, 3, "%s", w2w_config_error(d.cfg)[0] ? w2w_config_error(d.cfg) : w2w_strerror(r));
		w2w_config_free(d.cfg);
		return 1;
	}
	if (level && w2w_config_set_log_level(d.cfg, level) < 0) {
		logf_(NULL, 3, "--log-level: %s", w2w_config_error(d.cfg));
		w2w_config_free(d.cfg);
		return 2;
	}
	d.log_level = w2w_config_log_level(d.cfg);

	d.uv = uv_default_loop();
	dops_init(&d.dops, d.uv, on_log, &d); /* before anything forks: it unsets NOTIFY_SOCKET */
	uv_timer_init(d.uv, &d.timer);
	d.timer.data = &d;
	memset(&ops, 0, sizeof(ops)); /* fields of a later ops version stay NULL */
	ops.version = W2W_LOOP_OPS_VERSION;
	ops.ud = &d;
	ops.watch = op_watch;
	ops.set_deadline = op_deadline;
	if (w2w_loop_new(&d.loop, &ops) < 0)
		goto fail;
	r = w2w_node_new(&d.node, d.loop, d.cfg, on_event, &d);
	if (r < 0) {
		logf_(&d, 3, "cannot create node: %s", w2w_strerror(r));
		goto fail;
	}
	w2w_node_set_log(d.node, on_log, &d, d.log_level);
	uv_signal_init(d.uv, &d.sig_term);
	uv_signal_init(d.uv, &d.sig_int);
	uv_signal_init(d.uv, &d.sig_hup);
	d.sig_term.data = d.sig_int.data = d.sig_hup.data = &d;
	uv_signal_start(&d.sig_term, on_signal, SIGTERM);
	uv_signal_start(&d.sig_int, on_signal, SIGINT);
	uv_signal_start(&d.sig_hup, on_signal, SIGHUP);

	r = w2w_node_start(d.node);
	if (r < 0) {
		logf_(&d, 3, "cannot start: %s", w2w_strerror(r));
		goto fail;
	}
	d.ctl.max_clients = MAX_CTL_CLIENTS;
	d.ctl.max_conns = MAX_CTL_CONNS;
	dops_mkdir_parent(w2w_config_control_socket(d.cfg));
	ctl_listen(&d, &d.ctl, w2w_config_control_socket(d.cfg), 0117); /* 0660: owner and group control */
	names_listen(&d);
	if (dops_start(&d.dops, d.node, w2w_config_metrics_addr(d.cfg)) < 0)
		goto fail;
	uv_run(d.uv, UV_RUN_DEFAULT);
	d.exit_code = d.stopping == 2 ? 0 : 1;
	goto out;
fail:
	d.exit_code = 1;
out:
	if (d.ctl.up)
		unlink(d.ctl.path);
	if (d.names.up)
		unlink(d.names.path);
	w2w_node_free(d.node);
	for (struct ctl_client *cl = d.clients; cl; cl = cl->next)
		client_close(cl); /* with their own callbacks, which free them */
	dops_close(&d.dops);
	/* Close every remaining handle, then let libuv run their close callbacks. */
	uv_walk(d.uv, close_walk, NULL);
	uv_run(d.uv, UV_RUN_DEFAULT);
	for (size_t i = 0; i < d.nwatches; i++)
		free(d.watches[i]);
	free(d.watches);
	w2w_loop_free(d.loop);
	w2w_config_free(d.cfg);
	uv_loop_close(d.uv);
	return d.exit_code;
}
