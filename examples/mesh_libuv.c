/* SPDX-License-Identifier: MIT */
/*
 * mesh_libuv — the "push" integration style: a mesh node on libuv. The host
 * passes struct w2w_loop_ops to w2w_loop_new(); the library then tells it
 *   - watch_fd(fd, events, p): start/change/stop watching an fd -> one uv_poll_t per fd,
 *     kept as the fd's pointer p (w2w_loop_assign(), like curl_multi_assign): no fd map
 *   - set_deadline(when): its earliest timer changed             -> one uv_timer_t
 * and the host calls w2w_loop_process() with the ready fd (from the uv_poll_t
 * callback) or with none (from the timer). The c-ares / curl multi_socket
 * shape; tools/w2wesherd.c is the full version of this file.
 *
 * Build (installed library):
 *   cc -o mesh_libuv mesh_libuv.c $(pkg-config --cflags --libs libw2wesher libuv)
 * or in the tree: ninja -C build examples/mesh_libuv
 *
 * Run (needs CAP_NET_ADMIN; the configuration is the daemon's):
 *   sudo build/examples/mesh_libuv /etc/w2wesher/w2wesher.conf [SECONDS]
 *
 * Prints one line per event. SIGINT/SIGTERM or SECONDS elapsed: prints a
 * snapshot and stops without leaving; a second signal exits at once.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include <w2wesher/w2wesher.h>

struct watch {
	uv_poll_t poll; /* first: the handle's address is the struct's */
	struct app *app;
	int fd;
};

struct app {
	uv_loop_t *uv;
	uv_timer_t deadline, limit;
	uv_signal_t sigint, sigterm;
	struct w2w_loop *loop;
	struct w2w_node *node;
	int stopping;
	int rc;
};

/* ---- the loop contract on libuv ---- */

static void on_poll(uv_poll_t *h, int status, int events)
{
	struct watch *w = (struct watch *)h;
	struct w2w_watch ready = {w->fd, 0};

	if (status < 0)
		ready.events |= W2W_IO_ERROR;
	if (events & UV_READABLE)
		ready.events |= W2W_IO_READ;
	if (events & UV_WRITABLE)
		ready.events |= W2W_IO_WRITE;
	if (events & UV_DISCONNECT)
		ready.events |= W2W_IO_READ | W2W_IO_ERROR;
	/* May call op_watch (even for this fd) and op_deadline before it returns. */
	w2w_loop_process(w->app->loop, &ready, 1);
}

static void on_poll_closed(uv_handle_t *h)
{
	free(h);
}

/* w: what we attached to fd with w2w_loop_assign(), NULL the first time. */
static void op_watch_fd(void *ud, int fd, int events, void *fd_ud)
{
	struct app *a = ud;
	struct watch *w = fd_ud;
	int uvev = 0;

	if (events == 0) {
		if (w) {
			/* The library closes fd right after this returns: stop now, free later. */
			uv_poll_stop(&w->poll);
			uv_close((uv_handle_t *)&w->poll, on_poll_closed);
		}
		return;
	}
	if (!w) {
		w = calloc(1, sizeof(*w));
		if (!w || uv_poll_init_socket(a->uv, &w->poll, fd) != 0) {
			fprintf(stderr, "cannot watch fd %d\n", fd);
			free(w);
			return;
		}
		w->app = a;
		w->fd = fd;
		w2w_loop_assign(a->loop, fd, w); /* handed back with every later call for fd */
	}
	if (events & W2W_IO_READ)
		uvev |= UV_READABLE | UV_DISCONNECT;
	if (events & W2W_IO_WRITE)
		uvev |= UV_WRITABLE;
	uv_poll_start(&w->poll, uvev, on_poll); /* restarting changes the interest */
}

static void on_deadline(uv_timer_t *t)
{
	struct app *a = t->data;

	w2w_loop_process(a->loop, NULL, 0); /* no fds: runs the timers that are due */
}

static void op_set_deadline(void *ud, int64_t when_us)
{
	struct app *a = ud;
	uint64_t now = w2w_now_us();

	if (when_us < 0) {
		uv_timer_stop(&a->deadline);
		return;
	}
	/* Absolute w2w_now_us() microseconds -> a relative libuv timeout in ms, rounded up. */
	uv_timer_start(&a->deadline, on_deadline,
		       (uint64_t)when_us <= now ? 0 : ((uint64_t)when_us - now + 999) / 1000, 0);
}

/* ---- the application ---- */

/* May run from inside any library call: print only (calls back in get -EBUSY). */
static void on_log(void *ud, int level, const char *msg)
{
	(void)ud;
	printf("log <%d> %s\n", level, msg);
	fflush(stdout);
}

static void on_event(void *ud, const struct w2w_node_event *ev)
{
	struct app *a = ud;
	enum w2w_node_event_type t = w2w_node_event_type(ev);

	if (t == W2W_NODE_EV_ERROR)
		printf("%s %s: %s\n", w2w_node_event_type_name(t), w2w_node_event_message(ev),
		       w2w_strerror(w2w_node_event_error(ev)));
	else
		printf("%s peer=%s name=%s address=%s %s\n", w2w_node_event_type_name(t),
		       w2w_node_event_peer_id(ev), w2w_node_event_name(ev), w2w_node_event_address(ev),
		       w2w_node_event_message(ev));
	fflush(stdout);
	if (t == W2W_NODE_EV_STOPPED) {
		a->rc = 0;
		uv_stop(a->uv); /* the node is freed after uv_run returns */
	}
}

static void print_snapshot(struct w2w_node *node)
{
	struct w2w_snapshot *s = w2w_node_snapshot(node);
	size_t n;

	if (!s)
		return;
	n = w2w_snapshot_peer_count(s);
	printf("snapshot self name=%s address=%s peer=%s peers=%zu\n", w2w_snapshot_name(s, W2W_SNAPSHOT_SELF),
	       w2w_snapshot_address(s, W2W_SNAPSHOT_SELF), w2w_snapshot_peer_id(s, W2W_SNAPSHOT_SELF), n);
	for (size_t i = 0; i < n; i++)
		printf("snapshot peer name=%s address=%s endpoint=%s connected=%d handshake=%lld\n",
		       w2w_snapshot_name(s, i), w2w_snapshot_address(s, i), w2w_snapshot_endpoint(s, i),
		       w2w_snapshot_connected(s, i), (long long)w2w_snapshot_last_handshake(s, i));
	fflush(stdout);
	w2w_snapshot_free(s);
}

/* Called from libuv, never from inside a library callback: node calls are fine. */
static void request_stop(struct app *a)
{
	if (a->stopping) {
		fprintf(stderr, "second request: exiting without waiting for STOPPED\n");
		uv_stop(a->uv);
		return;
	}
	a->stopping = 1;
	print_snapshot(a->node);
	if (w2w_node_stop(a->node) < 0)
		uv_stop(a->uv);
}

static void on_signal(uv_signal_t *s, int signum)
{
	(void)signum;
	request_stop(s->data);
}

static void on_limit(uv_timer_t *t)
{
	request_stop(t->data);
}

static void close_walk(uv_handle_t *h, void *arg)
{
	(void)arg;
	if (!uv_is_closing(h))
		uv_close(h, (uv_close_cb)(h->type == UV_POLL ? on_poll_closed : NULL));
}

int main(int argc, char **argv)
{
	struct app a;
	struct w2w_loop_ops ops;
	struct w2w_config *cfg = NULL;
	int r, level;

	if (argc < 2 || argc > 3) {
		fprintf(stderr, "usage: %s CONFIG_FILE [SECONDS]\n", argv[0]);
		return 2;
	}
	memset(&a, 0, sizeof(a));
	a.rc = 1;
	if (w2w_config_new(&cfg) < 0)
		return 1;
	r = w2w_config_load(cfg, argv[1], W2W_CONFIG_GENERATE | W2W_CONFIG_ENV);
	if (r < 0) {
		fprintf(stderr, "%s\n", w2w_config_error(cfg)[0] ? w2w_config_error(cfg) : w2w_strerror(r));
		w2w_config_free(cfg);
		return 1;
	}

	a.uv = uv_default_loop();
	uv_timer_init(a.uv, &a.deadline);
	a.deadline.data = &a;
	memset(&ops, 0, sizeof(ops));
	/* Zeroed first: a field a later header appends stays NULL (docs/api.md). */
	memset(&ops, 0, sizeof(ops));
	ops.version = W2W_LOOP_OPS_VERSION;
	ops.ud = &a;
	ops.watch_fd = op_watch_fd;
	ops.set_deadline = op_set_deadline;
	if (w2w_loop_new(&a.loop, &ops) < 0)
		goto out;
	r = w2w_node_new(&a.node, a.loop, cfg, on_event, &a);
	level = w2w_config_log_level(cfg);
	cfg = w2w_config_free(cfg); /* the node holds its own copy */
	if (r < 0) {
		fprintf(stderr, "node: %s\n", w2w_strerror(r));
		goto out;
	}
	w2w_node_set_log(a.node, on_log, NULL, level);
	r = w2w_node_start(a.node); /* calls op_watch / op_set_deadline right away */
	if (r < 0) {
		fprintf(stderr, "start: %s\n", w2w_strerror(r));
		goto out;
	}
	uv_signal_init(a.uv, &a.sigint);
	uv_signal_init(a.uv, &a.sigterm);
	a.sigint.data = a.sigterm.data = &a;
	uv_signal_start(&a.sigint, on_signal, SIGINT);
	uv_signal_start(&a.sigterm, on_signal, SIGTERM);
	if (argc == 3) {
		uv_timer_init(a.uv, &a.limit);
		a.limit.data = &a;
		uv_timer_start(&a.limit, on_limit, strtoull(argv[2], NULL, 10) * 1000, 0);
	}
	uv_run(a.uv, UV_RUN_DEFAULT);
out:
	/* The node unregisters its fds (op_watch_fd(fd, 0, w)) while it is freed; then the loop goes. */
	w2w_node_free(a.node);
	w2w_loop_free(a.loop);
	w2w_config_free(cfg);
	/* Close what is left (timers, signals, any watch) and let libuv run the close callbacks. */
	uv_walk(a.uv, close_walk, NULL);
	uv_run(a.uv, UV_RUN_DEFAULT);
	uv_loop_close(a.uv);
	return a.rc;
}
