/* SPDX-License-Identifier: MIT */
/*
 * p2p_ping — the "batteries" integration style: a libp2p host (struct
 * w2w_p2p) dials a multiaddr and pings it, with the library's own poll() loop
 * (w2w_loop_run) doing all the waiting. Everything happens in the event
 * callback, which ends each w2w_loop_run() with w2w_loop_break().
 *
 * Build (installed library):
 *   cc -o p2p_ping p2p_ping.c $(pkg-config --cflags --libs libw2wesher)
 * or in the tree: ninja -C build examples/p2p_ping
 *
 * Run against any libp2p peer that answers /ipfs/ping/1.0.0, e.g.
 *   build/tools/w2wesher p2p listen --listen /ip4/127.0.0.1/tcp/0 &   # prints its address as JSON
 *   build/examples/p2p_ping /ip4/127.0.0.1/tcp/PORT/p2p/12D3KooW... [SWARM_KEY_FILE] [COUNT]
 *
 * SWARM_KEY_FILE ("-" for none) holds the private network's swarm.key
 * (`w2wesher genpsk`). Exit status: 0 when COUNT (default 3) pongs arrived,
 * 1 otherwise (dial failed, ping failed, 10 s timeout).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <w2wesher/w2wesher.h>

struct pinger {
	struct w2w_loop *loop;
	char peer[128]; /* copied: event strings live during the callback only */
	int connected;
	int pongs;
	int failed;
};

/* Runs inside w2w_loop_process(); it may call w2w_p2p_* functions (not
 * w2w_p2p_free) and ends the current w2w_loop_run() with w2w_loop_break(). */
static void on_event(void *ud, const struct w2w_p2p_event *ev)
{
	struct pinger *p = ud;
	enum w2w_p2p_event_type t = w2w_p2p_event_type(ev);
	const char *why;

	/* The event is opaque: getters return "" for what a type does not carry. */
	switch (t) {
	case W2W_P2P_EV_CONNECTED:
		printf("connected to %s at %s\n", w2w_p2p_event_peer_id(ev), w2w_p2p_event_addr(ev));
		snprintf(p->peer, sizeof(p->peer), "%s", w2w_p2p_event_peer_id(ev));
		p->connected = 1;
		w2w_loop_break(p->loop);
		break;
	case W2W_P2P_EV_IDENTIFY:
		printf("%s runs %s\n", w2w_p2p_event_peer_id(ev), w2w_p2p_event_agent_version(ev));
		break;
	case W2W_P2P_EV_PING:
		printf("pong from %s: %.3f ms\n", w2w_p2p_event_peer_id(ev), (double)w2w_p2p_event_rtt_us(ev) / 1000.0);
		p->pongs++;
		w2w_loop_break(p->loop);
		break;
	case W2W_P2P_EV_DIAL_FAILED:
	case W2W_P2P_EV_PING_FAILED:
	case W2W_P2P_EV_DISCONNECTED:
		why = w2w_p2p_event_message(ev);
		fprintf(stderr, "%s: %s\n",
			t == W2W_P2P_EV_DIAL_FAILED   ? "dial failed"
			: t == W2W_P2P_EV_PING_FAILED ? "ping failed"
						      : "disconnected",
			why[0] ? why : w2w_strerror(w2w_p2p_event_error(ev)));
		p->failed = 1;
		w2w_loop_break(p->loop);
		break;
	default:
		break;
	}
}

/* Runs the loop until the callback breaks it; 0, or 1 on timeout or failure. */
static int run_until_break(struct pinger *p, const char *what)
{
	/* 1: w2w_loop_break() was called; 0: the timeout passed; < 0: poll() failed. */
	int r = w2w_loop_run(p->loop, 10000);

	if (r == 0)
		fprintf(stderr, "timeout waiting for %s\n", what);
	else if (r < 0)
		fprintf(stderr, "loop: %s\n", w2w_strerror(r));
	return r == 1 && !p->failed ? 0 : 1;
}

static long read_file(const char *path, char *buf, size_t cap)
{
	FILE *f = fopen(path, "rb");
	size_t n;

	if (!f)
		return -errno;
	n = fread(buf, 1, cap, f);
	fclose(f);
	if (n == cap)
		return -EFBIG;
	buf[n] = 0; /* the API takes the swarm key as text */
	return (long)n;
}

int main(int argc, char **argv)
{
	struct pinger p = { 0 };
	struct w2w_p2p *host = NULL;
	char swarm_key[256];
	long sk_len = 0, count;
	int r, rc = 1;

	if (argc < 2 || argc > 4) {
		fprintf(stderr, "usage: %s MULTIADDR [SWARM_KEY_FILE|-] [COUNT]\n", argv[0]);
		return 2;
	}
	if (argc > 2 && strcmp(argv[2], "-") != 0) {
		sk_len = read_file(argv[2], swarm_key, sizeof(swarm_key) - 1);
		if (sk_len < 0) {
			fprintf(stderr, "%s: %s\n", argv[2], w2w_strerror((int)sk_len));
			return 1;
		}
	}
	count = argc > 3 ? strtol(argv[3], NULL, 10) : 3;
	if (count <= 0)
		count = 1;

	if (w2w_loop_new(&p.loop, NULL) < 0) /* no ops: pull mode, which w2w_loop_run() drives */
		return 1;
	/* NULL key: a fresh random identity. The swarm key text is copied. */
	r = w2w_p2p_new(&host, p.loop, NULL, sk_len ? swarm_key : NULL, on_event, &p);
	w2w_wipe(swarm_key, sizeof(swarm_key));
	if (r < 0) {
		fprintf(stderr, "host: %s\n", w2w_strerror(r));
		goto out;
	}
	w2w_p2p_set_option(host, W2W_P2P_OPT_GOSSIPSUB, 0); /* ping only */
	printf("we are %s\n", w2w_p2p_peer_id(host));

	/* Step by step: each w2w_loop_run() lasts until the callback breaks it. */
	r = w2w_p2p_dial(host, argv[1]); /* returns at once; CONNECTED or DIAL_FAILED follows */
	if (r < 0) {
		fprintf(stderr, "%s: %s\n", argv[1], w2w_strerror(r));
		goto out;
	}
	if (run_until_break(&p, "the connection"))
		goto out;
	for (long i = 0; i < count; i++) {
		r = w2w_p2p_ping(host, p.peer); /* PING or PING_FAILED follows */
		if (r < 0) {
			fprintf(stderr, "ping: %s\n", w2w_strerror(r));
			goto out;
		}
		if (run_until_break(&p, "a pong"))
			goto out;
	}
	rc = p.pongs == count ? 0 : 1;
out:
	/* Objects first, then the loop they are registered on. */
	w2w_p2p_free(host);
	w2w_loop_free(p.loop);
	return rc;
}
