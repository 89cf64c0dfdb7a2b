/* SPDX-License-Identifier: MIT */
/*
 * mesh_poll — the "pull" integration style: a mesh node (struct w2w_node)
 * driven by the host's own poll() loop. After every w2w_loop_process() the
 * host asks the library which fds it wants (w2w_loop_get_watches) and how
 * long it may sleep (w2w_loop_timeout), polls them together with its own fds
 * (none here) and hands the ready ones back.
 *
 * Build (installed library):
 *   cc -o mesh_poll mesh_poll.c $(pkg-config --cflags --libs libw2wesher)
 * or in the tree: ninja -C build examples/mesh_poll
 *
 * Run (needs CAP_NET_ADMIN for the WireGuard interface; the configuration is
 * the daemon's, docs/configuration.md; missing secrets are generated and
 * written back into the file):
 *   sudo build/examples/mesh_poll /etc/w2wesher/w2wesher.conf [SECONDS]
 *
 * Prints one line per event. SIGINT/SIGTERM or SECONDS elapsed: prints a
 * snapshot of the peer table and stops WITHOUT leaving (interface, address
 * and peers stay, like the daemon); a second signal exits at once. Use
 * w2w_node_leave() instead of w2w_node_stop() to leave the mesh for good.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <w2wesher/w2wesher.h>

static volatile sig_atomic_t signals;

static void on_signal(int sig)
{
	(void)sig;
	signals++;
}

struct app {
	int stopped;
};

/* Log lines may come from inside any library call: only print here (a call
 * back into the library would get -EBUSY). */
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

	/* Strings are valid during the callback only: copy what you keep. */
	if (t == W2W_NODE_EV_ERROR) {
		printf("%s %s: %s\n", w2w_node_event_type_name(t), w2w_node_event_message(ev),
		       w2w_strerror(w2w_node_event_error(ev)));
	} else {
		printf("%s peer=%s name=%s address=%s %s\n", w2w_node_event_type_name(t),
		       w2w_node_event_peer_id(ev), w2w_node_event_name(ev), w2w_node_event_address(ev),
		       w2w_node_event_message(ev));
	}
	fflush(stdout);
	if (t == W2W_NODE_EV_STOPPED)
		a->stopped = 1; /* free the node after w2w_loop_process() returns, not in here */
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
	for (size_t i = 0; i < w2w_snapshot_join_addr_count(s); i++)
		printf("snapshot join %s\n", w2w_snapshot_join_addr(s, i));
	for (size_t i = 0; i < n; i++)
		printf("snapshot peer name=%s address=%s endpoint=%s connected=%d handshake=%lld\n",
		       w2w_snapshot_name(s, i), w2w_snapshot_address(s, i), w2w_snapshot_endpoint(s, i),
		       w2w_snapshot_connected(s, i), (long long)w2w_snapshot_last_handshake(s, i));
	fflush(stdout);
	w2w_snapshot_free(s);
}

/* One iteration of the pull loop. Returns 0 or a negative errno. */
static int poll_once(struct w2w_loop *loop, struct w2w_watch **w, struct pollfd **pf, size_t *cap)
{
	size_t n = w2w_loop_get_watches(loop, *w, *cap), nready = 0;
	int timeout = w2w_loop_timeout(loop), r;

	if (n > *cap) { /* more fds than room: grow and ask again */
		size_t ncap = n * 2;
		struct w2w_watch *nw = realloc(*w, ncap * sizeof(**w));
		struct pollfd *np;

		if (!nw)
			return -ENOMEM;
		*w = nw;
		np = realloc(*pf, ncap * sizeof(**pf));
		if (!np)
			return -ENOMEM;
		*pf = np;
		*cap = ncap;
		n = w2w_loop_get_watches(loop, *w, *cap);
	}
	for (size_t i = 0; i < n; i++) {
		(*pf)[i].fd = (*w)[i].fd;
		(*pf)[i].events = (short)(((*w)[i].events & W2W_IO_READ ? POLLIN : 0) |
					  ((*w)[i].events & W2W_IO_WRITE ? POLLOUT : 0));
		(*pf)[i].revents = 0;
	}
	/* A host with its own timers would take the minimum with its own timeout here. */
	if (timeout < 0 || timeout > 1000)
		timeout = 1000; /* wake up now and then to notice signals and the time limit */
	r = poll(*pf, n, timeout);
	if (r < 0)
		return errno == EINTR ? 0 : -errno;
	/* Reuse the watch array for the ready list: entry i is read before it is written. */
	for (size_t i = 0; i < n; i++) {
		int ev = 0;

		if ((*pf)[i].revents & POLLIN)
			ev |= W2W_IO_READ;
		if ((*pf)[i].revents & POLLOUT)
			ev |= W2W_IO_WRITE;
		if ((*pf)[i].revents & (POLLERR | POLLHUP | POLLNVAL))
			ev |= W2W_IO_ERROR;
		if (ev) {
			(*w)[nready].fd = (*pf)[i].fd;
			(*w)[nready].events = ev;
			nready++;
		}
	}
	/* Also with nready == 0: that runs the timers that are due. */
	return w2w_loop_process(loop, *w, nready);
}

int main(int argc, char **argv)
{
	struct app app = { 0 };
	struct w2w_config *cfg = NULL;
	struct w2w_loop *loop = NULL;
	struct w2w_node *node = NULL;
	struct w2w_watch *w = NULL;
	struct pollfd *pf = NULL;
	size_t cap = 0;
	struct sigaction sa;
	uint64_t end = 0;
	int r, rc = 1, handled = 0;

	if (argc < 2 || argc > 3) {
		fprintf(stderr, "usage: %s CONFIG_FILE [SECONDS]\n", argv[0]);
		return 2;
	}
	if (argc == 3)
		end = w2w_now_us() + (uint64_t)strtoul(argv[2], NULL, 10) * 1000000u;

	if (w2w_config_new(&cfg) < 0)
		return 1;
	r = w2w_config_load(cfg, argv[1], W2W_CONFIG_GENERATE | W2W_CONFIG_ENV);
	if (r < 0) {
		/* "FILE:LINE: [Section] Key: what is wrong" for a bad file; strerror for e.g. EACCES */
		fprintf(stderr, "%s\n", w2w_config_error(cfg)[0] ? w2w_config_error(cfg) : w2w_strerror(r));
		goto out;
	}
	if (w2w_loop_new(&loop, NULL) < 0) /* pull mode: no ops */
		goto out;
	r = w2w_node_new(&node, loop, cfg, on_event, &app); /* cfg is copied: it could be freed now */
	if (r < 0) {
		fprintf(stderr, "node: %s\n", w2w_strerror(r));
		goto out;
	}
	w2w_node_set_log(node, on_log, NULL, w2w_config_log_level(cfg));
	r = w2w_node_start(node);
	if (r < 0) {
		fprintf(stderr, "start: %s\n", w2w_strerror(r));
		goto out;
	}

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal; /* no SA_RESTART: poll() returns EINTR */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	while (!app.stopped) {
		int requests = (int)signals + (end && w2w_now_us() >= end);

		if (requests > handled) {
			if (handled) {
				fprintf(stderr, "second request: exiting without waiting for STOPPED\n");
				break;
			}
			/* Outside any library callback, so these calls cannot return -EBUSY. */
			print_snapshot(node);
			r = w2w_node_stop(node); /* STOPPED follows from the loop */
			if (r < 0) {
				fprintf(stderr, "stop: %s\n", w2w_strerror(r));
				goto out;
			}
			handled = requests;
		}
		r = poll_once(loop, &w, &pf, &cap);
		if (r < 0) {
			fprintf(stderr, "poll: %s\n", w2w_strerror(r));
			goto out;
		}
	}
	rc = 0;
out:
	/* Objects first, then the loop they are registered on. */
	w2w_node_free(node);
	w2w_loop_free(loop);
	w2w_config_free(cfg);
	free(w);
	free(pf);
	return rc;
}
