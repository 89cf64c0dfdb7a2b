/* SPDX-License-Identifier: MIT */
/*
 * `w2wesher p2p ping|listen`: a libp2p host for debugging connectivity and
 * for the interop tests. Drives the library in pull mode (w2w_loop_get_watches
 * + poll) so stdin can share the loop.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <w2wesher/w2wesher.h>

#include "cli.h"
#include "json.h"

#define MAX_DIALS 16
#define MAX_TOPICS 8
#define FILE_MAX 4096

static volatile sig_atomic_t stop_flag;

static void on_signal(int sig)
{
	(void)sig;
	stop_flag = 1;
}

static long read_file(const char *path, uint8_t *buf, size_t cap)
{
	FILE *f = fopen(path, "rb");
	size_t n;

	if (!f)
		return -errno;
	n = fread(buf, 1, cap, f);
	if (ferror(f) || !feof(f)) {
		fclose(f);
		return -EFBIG;
	}
	fclose(f);
	return (long)n;
}

static void log_stderr(void *ud, int level, const char *msg)
{
	const char *lv = level <= 3 ? "error" : level == 4 ? "warning" : level <= 6 ? "info" : "debug";

	(void)ud;
	fprintf(stderr, "w2wesher: p2p: %s: %s\n", lv, msg);
}

static void put_file(void *ud, const char *p, size_t n)
{
	fwrite(p, 1, n, ud);
}

static void json_str(FILE *f, const char *s)
{
	json_put_str(put_file, f, s);
}

struct common {
	const char *swarm_key;
	const char *next_swarm_key;
	const char *key;
	int verbose;
	int msgid_js;
	int echo;
};

/* Parses an option shared by both subcommands; returns 1 when consumed (with *i advanced). */
static int common_opt(const struct cli_cmd *self, struct common *c, int argc, char **argv, int *i, int *rc)
{
	const char *a = argv[*i];

	*rc = CLI_OK;
	if (!strcmp(a, "-v") || !strcmp(a, "--verbose")) {
		c->verbose++;
		return 1;
	}
	if (!strcmp(a, "--echo")) {
		c->echo = 1;
		return 1;
	}
	if (!strcmp(a, "--swarm-key") || !strcmp(a, "--key") || !strcmp(a, "--msgid") ||
	    !strcmp(a, "--next-swarm-key")) {
		if (*i + 1 >= argc) {
			*rc = cli_usage(self, "%s needs a value", a);
			return 1;
		}
		(*i)++;
		if (!strcmp(a, "--swarm-key"))
			c->swarm_key = argv[*i];
		else if (!strcmp(a, "--next-swarm-key"))
			c->next_swarm_key = argv[*i];
		else if (!strcmp(a, "--key"))
			c->key = argv[*i];
		else if (!strcmp(argv[*i], "js"))
			c->msgid_js = 1;
		else if (strcmp(argv[*i], "go"))
			*rc = cli_usage(self, "--msgid is go or js");
		return 1;
	}
	return 0;
}

/* --swarm-key/--next-swarm-key, or a '/psk' stdin line: both files read, then w2w_p2p_set_psk. */
static int set_psk_files(const struct cli_cmd *self, struct w2w_p2p *h, const char *cur, const char *next)
{
	uint8_t a[FILE_MAX + 1], b[FILE_MAX + 1];
	long an, bn = 0;
	int r;

	an = read_file(cur, a, sizeof(a) - 1);
	if (an >= 0 && next)
		bn = read_file(next, b, sizeof(b) - 1);
	if (an < 0 || bn < 0) {
		cli_err(self, "%s: %s", an < 0 ? cur : next, w2w_strerror((int)(an < 0 ? an : bn)));
		r = (int)(an < 0 ? an : bn);
	} else {
		a[an] = 0;
		b[bn] = 0;
		r = w2w_p2p_set_psk(h, (const char *)a, next ? (const char *)b : NULL);
		if (r < 0)
			cli_err(self, "set swarm keys: %s", w2w_strerror(r));
	}
	w2w_wipe(a, sizeof(a));
	w2w_wipe(b, sizeof(b));
	return r;
}

static int make_host(const struct cli_cmd *self, const struct common *c, struct w2w_loop *loop,
		     struct w2w_p2p **h, int log_level, w2w_p2p_event_fn on_event, void *ctx)
{
	uint8_t key[FILE_MAX], sk[FILE_MAX + 1];
	char keytext[FILE_MAX / 3 * 4 + 8];
	long kn = 0, sn = 0;
	int r = 0;

	if (c->key) {
		kn = read_file(c->key, key, sizeof(key));
		if (kn < 0) {
			cli_err(self, "%s: %s", c->key, w2w_strerror((int)kn));
			return CLI_FAIL;
		}
	}
	if (c->swarm_key) {
		sn = read_file(c->swarm_key, sk, sizeof(sk) - 1);
		if (sn < 0) {
			cli_err(self, "%s: %s", c->swarm_key, w2w_strerror((int)sn));
			w2w_wipe(key, sizeof(key));
			return CLI_FAIL;
		}
	}
	/* The key file is the raw PrivateKey protobuf, the swarm key file text; the
	 * API takes both as text. */
	sk[sn] = 0;
	if (c->key)
		r = w2w_base64_encode(keytext, sizeof(keytext), key, (size_t)kn) < 0 ? W2W_EPARSE : 0;
	if (r == 0)
		r = w2w_p2p_new(h, loop, c->key ? keytext : NULL, c->swarm_key ? (const char *)sk : NULL, on_event,
				ctx);
	w2w_wipe(key, sizeof(key));
	w2w_wipe(keytext, sizeof(keytext));
	w2w_wipe(sk, sizeof(sk));
	if (r < 0) {
		cli_err(self, "%s: %s", r == W2W_EPARSE ? "bad --key or --swarm-key file" : "cannot create the host",
			w2w_strerror(r));
		return CLI_FAIL;
	}
	w2w_p2p_set_log(*h, log_stderr, NULL, log_level + c->verbose);
	if (c->next_swarm_key) {
		if (!c->swarm_key) {
			cli_err(self, "--next-swarm-key needs --swarm-key");
			return CLI_USAGE;
		}
		if (set_psk_files(self, *h, c->swarm_key, c->next_swarm_key) < 0)
			return CLI_FAIL;
	}
	w2w_p2p_set_option(*h, W2W_P2P_OPT_ECHO, c->echo);
	w2w_p2p_set_option(*h, W2W_P2P_OPT_MSGID_JS, c->msgid_js);
	return CLI_OK;
}

/*
 * One pull-mode iteration: poll the library's fds (plus extra_fd when >= 0)
 * for at most max_ms. Returns the revents of extra_fd (0 if none), < 0 on error.
 */
static int loop_once(struct w2w_loop *loop, int extra_fd, int max_ms)
{
	struct w2w_watch w[256], ready[256];
	struct pollfd pf[257];
	size_t n = w2w_loop_get_watches(loop, w, 256), nr = 0, np;
	int t = w2w_loop_timeout(loop), extra = 0, r;

	if (n > 256)
		n = 256;
	for (size_t i = 0; i < n; i++) {
		pf[i].fd = w[i].fd;
		pf[i].events = (short)((w[i].events & W2W_IO_READ ? POLLIN : 0) |
				       (w[i].events & W2W_IO_WRITE ? POLLOUT : 0));
		pf[i].revents = 0;
	}
	np = n;
	if (extra_fd >= 0) {
		pf[np].fd = extra_fd;
		pf[np].events = POLLIN;
		pf[np].revents = 0;
		np++;
	}
	if (t < 0 || t > max_ms)
		t = max_ms;
	r = poll(pf, np, t);
	if (r < 0)
		return errno == EINTR ? 0 : -errno;
	for (size_t i = 0; i < n; i++) {
		int ev = 0;

		if (pf[i].revents & POLLIN)
			ev |= W2W_IO_READ;
		if (pf[i].revents & POLLOUT)
			ev |= W2W_IO_WRITE;
		if (pf[i].revents & (POLLERR | POLLHUP | POLLNVAL))
			ev |= W2W_IO_ERROR;
		if (ev) {
			ready[nr].fd = pf[i].fd;
			ready[nr].events = ev;
			nr++;
		}
	}
	if (extra_fd >= 0)
		extra = pf[n].revents;
	w2w_loop_process(loop, ready, nr);
	return extra;
}

/* ---- ping ---- */

struct ping_state {
	struct w2w_p2p *h;
	const char *target;
	char peer[128];
	int connected;
	int failed;
	char reason[256];
	long want, got, sent;
	uint64_t sum_us;
	uint64_t next_at;
	uint64_t dial_at, first_us; /* dial -> first pong (TCP, pnet, noise, yamux, ping) */
};

static void ping_event(void *ud, const struct w2w_p2p_event *ev)
{
	struct ping_state *s = ud;
	const char *reason = w2w_p2p_event_message(ev);

	switch (w2w_p2p_event_type(ev)) {
	case W2W_P2P_EV_CONNECTED:
		if (s->connected)
			break;
		s->connected = 1;
		snprintf(s->peer, sizeof(s->peer), "%s", w2w_p2p_event_peer_id(ev));
		printf("PING %s (%s)\n", w2w_p2p_event_peer_id(ev), w2w_p2p_event_addr(ev));
		fflush(stdout);
		s->next_at = w2w_now_us();
		break;
	case W2W_P2P_EV_DIAL_FAILED:
		s->failed = 1;
		snprintf(s->reason, sizeof(s->reason), "%s", reason[0] ? reason : w2w_strerror(w2w_p2p_event_error(ev)));
		break;
	case W2W_P2P_EV_DISCONNECTED:
		if (s->connected && s->got < s->want) {
			s->failed = 1;
			snprintf(s->reason, sizeof(s->reason), "disconnected: %s", reason);
		}
		break;
	case W2W_P2P_EV_PING:
		if (!s->got)
			s->first_us = w2w_now_us() - s->dial_at;
		s->got++;
		s->sum_us += w2w_p2p_event_rtt_us(ev);
		printf("Pong received: time=%.2f ms\n", (double)w2w_p2p_event_rtt_us(ev) / 1000.0);
		fflush(stdout);
		s->next_at = w2w_now_us() + 1000 * 1000;
		break;
	case W2W_P2P_EV_PING_FAILED:
		s->failed = 1;
		snprintf(s->reason, sizeof(s->reason), "ping failed: %s", w2w_strerror(w2w_p2p_event_error(ev)));
		break;
	default:
		break;
	}
}

static int run_ping(const struct cli_cmd *self, int argc, char **argv)
{
	struct common c = { 0 };
	struct ping_state s = { 0 };
	struct w2w_loop *loop = NULL;
	const char *target = NULL;
	long timeout_s = 20;
	uint64_t end;
	int rc, r;

	s.want = 3;
	for (int i = 1; i < argc; i++) {
		if (common_opt(self, &c, argc, argv, &i, &rc)) {
			if (rc != CLI_OK)
				return rc;
		} else if (!strcmp(argv[i], "--count") || !strcmp(argv[i], "-n") || !strcmp(argv[i], "--timeout")) {
			char *e;
			long v;

			if (i + 1 >= argc)
				return cli_usage(self, "%s needs a value", argv[i]);
			v = strtol(argv[i + 1], &e, 10);
			if (*e || v <= 0 || v > 100000)
				return cli_usage(self, "bad %s value '%s'", argv[i], argv[i + 1]);
			if (!strcmp(argv[i], "--timeout"))
				timeout_s = v;
			else
				s.want = v;
			i++;
		} else if (argv[i][0] == '-' && argv[i][1]) {
			return cli_usage(self, "unknown option '%s'", argv[i]);
		} else if (!target) {
			target = argv[i];
		} else {
			return cli_usage(self, "unexpected argument '%s'", argv[i]);
		}
	}
	if (!target)
		return cli_usage(self, "MULTIADDR missing");
	if (w2w_loop_new(&loop, NULL) < 0)
		return CLI_FAIL;
	rc = make_host(self, &c, loop, &s.h, 4, ping_event, &s);
	if (rc != CLI_OK)
		goto out;
	w2w_p2p_set_option(s.h, W2W_P2P_OPT_GOSSIPSUB, 0);
	s.dial_at = w2w_now_us();
	r = w2w_p2p_dial(s.h, target);
	if (r < 0) {
		cli_err(self, "%s: %s", target, r == W2W_EPARSE ? "not a dialable multiaddr" : w2w_strerror(r));
		rc = r == W2W_EPARSE ? CLI_USAGE : CLI_FAIL;
		goto out;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	/* --timeout bounds each wait, not the run: the connection, then every
	 * ping from its send to its pong (the 1 s pause between pings is ours). */
	end = w2w_now_us() + (uint64_t)timeout_s * 1000 * 1000;
	while (!stop_flag && !s.failed && s.got < s.want) {
		uint64_t now = w2w_now_us();

		if ((!s.connected || s.sent > s.got) && now >= end) {
			s.failed = 1;
			snprintf(s.reason, sizeof(s.reason), "timeout after %ld s (%s)", timeout_s,
				 s.connected ? "no ping answer" : "no connection");
			break;
		}
		if (s.connected && s.sent == s.got && now >= s.next_at) {
			r = w2w_p2p_ping(s.h, s.peer);
			if (r < 0) {
				s.failed = 1;
				snprintf(s.reason, sizeof(s.reason), "ping: %s", w2w_strerror(r));
				break;
			}
			s.sent++;
			end = now + (uint64_t)timeout_s * 1000 * 1000;
		}
		if (loop_once(loop, -1, 100) < 0)
			break;
	}
	if (s.got) {
		printf("Average latency: %.2f ms\n", (double)s.sum_us / (double)s.got / 1000.0);
		printf("Dial to first pong: %.2f ms\n", (double)s.first_us / 1000.0);
	}
	if (s.failed || s.got < s.want) {
		cli_err(self, "%s: %s", target, s.reason[0] ? s.reason : "interrupted");
		rc = CLI_FAIL;
	} else {
		rc = CLI_OK;
	}
out:
	fflush(stdout);
	w2w_p2p_free(s.h);
	w2w_loop_free(loop);
	return rc;
}

/* ---- listen ---- */

struct listen_state {
	struct w2w_p2p *h;
};

static void json_list(FILE *f, const struct w2w_p2p_event *ev, size_t n,
		      const char *(*at)(const struct w2w_p2p_event *, size_t))
{
	fputc('[', f);
	for (size_t i = 0; i < n; i++) {
		if (i)
			fputc(',', f);
		json_str(f, at(ev, i));
	}
	fputc(']', f);
}

static void listen_event(void *ud, const struct w2w_p2p_event *ev)
{
	enum w2w_p2p_event_type t = w2w_p2p_event_type(ev);
	FILE *f = stdout;

	(void)ud;
	switch (t) {
	case W2W_P2P_EV_LISTENING:
		return; /* printed once with every address after setup */
	case W2W_P2P_EV_SUBSCRIBED:
	case W2W_P2P_EV_UNSUBSCRIBED:
		return; /* not part of this tool's JSON lines (the interop drivers parse them) */
	case W2W_P2P_EV_CONNECTED:
	case W2W_P2P_EV_DISCONNECTED:
		fprintf(f, "{\"event\":\"%s\",\"peer\":", t == W2W_P2P_EV_CONNECTED ? "connected" : "disconnected");
		json_str(f, w2w_p2p_event_peer_id(ev));
		fputs(",\"addr\":", f);
		json_str(f, w2w_p2p_event_addr(ev));
		fprintf(f, ",\"direction\":\"%s\"", w2w_p2p_event_inbound(ev) ? "inbound" : "outbound");
		if (t == W2W_P2P_EV_DISCONNECTED) {
			fputs(",\"reason\":", f);
			json_str(f, w2w_p2p_event_message(ev));
		}
		fputs("}\n", f);
		break;
	case W2W_P2P_EV_DIAL_FAILED:
		fputs("{\"event\":\"dial_failed\",\"addr\":", f);
		json_str(f, w2w_p2p_event_addr(ev));
		fprintf(f, ",\"err\":%d,\"reason\":", w2w_p2p_event_error(ev));
		json_str(f, w2w_p2p_event_message(ev));
		fputs("}\n", f);
		break;
	case W2W_P2P_EV_IDENTIFY:
		fputs("{\"event\":\"identify\",\"peer\":", f);
		json_str(f, w2w_p2p_event_peer_id(ev));
		fputs(",\"agentVersion\":", f);
		json_str(f, w2w_p2p_event_agent_version(ev));
		fputs(",\"protocolVersion\":", f);
		json_str(f, w2w_p2p_event_protocol_version(ev));
		fputs(",\"protocols\":", f);
		json_list(f, ev, w2w_p2p_event_protocol_count(ev), w2w_p2p_event_protocol);
		fputs(",\"listenAddrs\":", f);
		json_list(f, ev, w2w_p2p_event_listen_addr_count(ev), w2w_p2p_event_listen_addr);
		fputs(",\"observedAddr\":", f);
		if (w2w_p2p_event_observed_addr(ev)[0])
			json_str(f, w2w_p2p_event_observed_addr(ev));
		else
			fputs("null", f);
		fputs("}\n", f);
		break;
	case W2W_P2P_EV_PING:
		fputs("{\"event\":\"ping\",\"peer\":", f);
		json_str(f, w2w_p2p_event_peer_id(ev));
		fprintf(f, ",\"rttUs\":%llu}\n", (unsigned long long)w2w_p2p_event_rtt_us(ev));
		break;
	case W2W_P2P_EV_PING_FAILED:
		fputs("{\"event\":\"ping_failed\",\"peer\":", f);
		json_str(f, w2w_p2p_event_peer_id(ev));
		fputs(",\"reason\":", f);
		json_str(f, w2w_strerror(w2w_p2p_event_error(ev)));
		fputs("}\n", f);
		break;
	case W2W_P2P_EV_MESSAGE: {
		size_t len;
		const uint8_t *data = w2w_p2p_event_data(ev, &len);

		fputs("{\"event\":\"message\",\"from\":", f);
		json_str(f, w2w_p2p_event_from(ev));
		fputs(",\"topic\":", f);
		json_str(f, w2w_p2p_event_topic(ev));
		fputs(",\"dataHex\":\"", f);
		for (size_t i = 0; i < len; i++)
			fprintf(f, "%02x", data[i]);
		fprintf(f, "\",\"seqno\":\"%llu\"}\n", (unsigned long long)w2w_p2p_event_seqno(ev));
		break;
	}
	}
	fflush(f);
}

/* A hex digit's value, or -1. The library's hex codec is internal (tools use
 * only the public API, docs/hacking.md) and a public hex decoder is not worth
 * an export for this one debugging convenience: libc's tables do it. */
static int hexval(char c)
{
	static const char digits[] = "0123456789abcdef";
	const char *p = isxdigit((unsigned char)c) ? strchr(digits, tolower((unsigned char)c)) : NULL;

	return p ? (int)(p - digits) : -1;
}

/* One stdin line: published on the first topic ("hex:" lines decoded);
 * "/ping <peer>" and "/dial <multiaddr>" are commands (diagnostics, tests). */
static void stdin_line(const struct cli_cmd *self, struct w2w_p2p *h, const char *topic, char *line, size_t len)
{
	int r;

	if (!strncmp(line, "/ping ", 6)) {
		r = w2w_p2p_ping(h, line + 6);
		if (r < 0) {
			/* the peer is what the user typed: escaped like every string */
			fputs("{\"event\":\"ping_failed\",\"peer\":", stdout);
			json_str(stdout, line + 6);
			fputs(",\"reason\":", stdout);
			json_str(stdout, w2w_strerror(r));
			fputs("}\n", stdout);
		}
		fflush(stdout);
		return;
	}
	if (!strncmp(line, "/psk ", 5)) {
		/* "/psk CURRENT [NEXT]": swarm.key files, a network PSK rotation step. */
		char *cur = line + 5, *next = strchr(cur, ' ');

		if (next)
			*next++ = 0;
		if (set_psk_files(self, h, cur, next && *next ? next : NULL) == 0) {
			fputs("{\"event\":\"psk_set\"}\n", stdout);
			fflush(stdout);
		}
		return;
	}
	if (!strncmp(line, "/dial ", 6)) {
		r = w2w_p2p_dial(h, line + 6);
		if (r < 0 && r != -EALREADY)
			cli_err(self, "dial %s: %s", line + 6, w2w_strerror(r));
		return;
	}
	if (!topic)
		return;
	if (!strncmp(line, "hex:", 4)) {
		size_t n = 0;

		if (len % 2) { /* "hex:" is even: an odd digit count would lose the last one */
			cli_err(self, "bad hex line (odd number of digits)");
			return;
		}
		for (size_t i = 4; i + 1 < len; i += 2) {
			int a = hexval(line[i]), b = hexval(line[i + 1]);

			if (a < 0 || b < 0) {
				cli_err(self, "bad hex line");
				return;
			}
			line[n++] = (char)(a << 4 | b);
		}
		len = n;
	}
	r = w2w_p2p_publish(h, topic, line, len);
	if (r < 0)
		cli_err(self, "publish: %s", w2w_strerror(r));
}

static int run_listen(const struct cli_cmd *self, int argc, char **argv)
{
	struct common c = { 0 };
	struct w2w_loop *loop = NULL;
	struct w2w_p2p *h = NULL;
	const char *listens[MAX_DIALS], *dials[MAX_DIALS], *topics[MAX_TOPICS];
	size_t nl = 0, nd = 0, nt = 0;
	static char line[256 * 1024];
	size_t llen = 0;
	int stdin_open = 1, skipping = 0, rc, r;

	for (int i = 1; i < argc; i++) {
		if (common_opt(self, &c, argc, argv, &i, &rc)) {
			if (rc != CLI_OK)
				return rc;
		} else if (!strcmp(argv[i], "--listen") || !strcmp(argv[i], "--dial") || !strcmp(argv[i], "--topic")) {
			if (i + 1 >= argc)
				return cli_usage(self, "%s needs a value", argv[i]);
			if (!strcmp(argv[i], "--listen") && nl < MAX_DIALS)
				listens[nl++] = argv[i + 1];
			else if (!strcmp(argv[i], "--dial") && nd < MAX_DIALS)
				dials[nd++] = argv[i + 1];
			else if (!strcmp(argv[i], "--topic") && nt < MAX_TOPICS)
				topics[nt++] = argv[i + 1];
			else
				return cli_usage(self, "too many %s options", argv[i]);
			i++;
		} else {
			return cli_usage(self, "unexpected argument '%s'", argv[i]);
		}
	}
	if (!nl)
		return cli_usage(self, "--listen MULTIADDR is required");
	if (w2w_loop_new(&loop, NULL) < 0)
		return CLI_FAIL;
	rc = make_host(self, &c, loop, &h, 6, listen_event, NULL);
	if (rc != CLI_OK)
		goto out;
	for (size_t i = 0; i < nl; i++) {
		r = w2w_p2p_listen(h, listens[i]);
		if (r < 0) {
			cli_err(self, "listen %s: %s", listens[i], w2w_strerror(r));
			rc = r == W2W_EPARSE ? CLI_USAGE : CLI_FAIL;
			goto out;
		}
	}
	printf("{\"event\":\"listening\",\"peerId\":\"%s\",\"addrs\":[", w2w_p2p_peer_id(h));
	for (size_t i = 0;; i++) {
		char a[1200];

		if (w2w_p2p_listen_addr(h, i, a, sizeof(a)) < 0)
			break;
		printf("%s", i ? "," : "");
		json_str(stdout, a);
	}
	printf("]}\n");
	fflush(stdout);
	for (size_t i = 0; i < nt; i++) {
		r = w2w_p2p_subscribe(h, topics[i]);
		if (r < 0) {
			cli_err(self, "subscribe %s: %s", topics[i], w2w_strerror(r));
			rc = CLI_FAIL;
			goto out;
		}
	}
	for (size_t i = 0; i < nd; i++) {
		r = w2w_p2p_dial(h, dials[i]);
		if (r < 0)
			cli_err(self, "dial %s: %s", dials[i], w2w_strerror(r));
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGPIPE, SIG_IGN);
	fcntl(0, F_SETFL, fcntl(0, F_GETFL) | O_NONBLOCK);
	while (!stop_flag) {
		int ev = loop_once(loop, stdin_open ? 0 : -1, 1000);

		if (ev < 0) {
			cli_err(self, "poll: %s", w2w_strerror(ev));
			rc = CLI_FAIL;
			goto out;
		}
		if (!(ev & (POLLIN | POLLHUP)))
			continue;
		for (;;) {
			ssize_t n = read(0, line + llen, sizeof(line) - 1 - llen);
			char *nlp;

			if (n == 0) {
				stdin_open = 0; /* keep serving; SIGTERM/SIGINT stops */
				break;
			}
			if (n < 0)
				break;
			llen += (size_t)n;
			if (skipping) {
				/* The rest of an over-long line: dropped up to its newline, never published. */
				nlp = memchr(line, '\n', llen);
				if (!nlp) {
					llen = 0;
					continue;
				}
				skipping = 0;
				llen -= (size_t)(nlp - line) + 1;
				memmove(line, nlp + 1, llen);
			}
			while ((nlp = memchr(line, '\n', llen))) {
				size_t k = (size_t)(nlp - line);

				line[k] = 0;
				if (k && line[k - 1] == '\r')
					line[--k] = 0;
				stdin_line(self, h, nt ? topics[0] : NULL, line, k);
				memmove(line, nlp + 1, llen - (size_t)(nlp - line) - 1);
				llen -= (size_t)(nlp - line) + 1;
			}
			if (llen >= sizeof(line) - 1) {
				/* A line longer than the buffer is rejected whole: publishing
				 * its pieces as separate messages would be garbage. */
				cli_err(self, "stdin line longer than %zu bytes: rejected, not published", sizeof(line) - 2);
				llen = 0;
				skipping = 1;
			}
		}
	}
	rc = CLI_OK;
out:
	w2w_p2p_free(h);
	w2w_loop_free(loop);
	return rc;
}

static int run_p2p(const struct cli_cmd *self, int argc, char **argv)
{
	if (argc < 2)
		return cli_usage(self, "ping or listen expected");
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		cli_help(self, stdout);
		return CLI_OK;
	}
	if (!strcmp(argv[1], "ping")) {
		if (cli_help_requested(self, argc - 1, argv + 1))
			return CLI_OK;
		return run_ping(self, argc - 1, argv + 1);
	}
	if (!strcmp(argv[1], "listen")) {
		if (cli_help_requested(self, argc - 1, argv + 1))
			return CLI_OK;
		return run_listen(self, argc - 1, argv + 1);
	}
	return cli_usage(self, "unknown p2p command '%s'", argv[1]);
}

CLI_COMMAND(cmd_p2p) = {
	.name = "p2p",
	.args = "ping [--swarm-key FILE [--next-swarm-key FILE]] [--key FILE] [--count N] [--timeout S] MULTIADDR | "
		"listen [--swarm-key FILE [--next-swarm-key FILE]] [--key FILE] --listen MULTIADDR [--dial MULTIADDR]... "
		"[--topic NAME]...",
	.summary = "talk libp2p (pnet, noise, yamux, identify, ping, gossipsub) to debug connectivity",
	.help = "p2p ping: dials MULTIADDR (/ip4|ip6|dns4|dns6/HOST/tcp/PORT[/p2p/ID]) and prints the round\n"
		"  trip of --count pings (default 3), like `ipfs ping`. Exit 0 when every ping was answered,\n"
		"  1 with the reason otherwise (connection refused, timeout, wrong peer ID, handshake failed).\n"
		"  --timeout S (default 20) bounds the connection and each ping, not the whole run.\n"
		"p2p listen: runs a node answering ping and identify (and gossipsub) and prints one JSON line\n"
		"  per event: listening, connected, disconnected, dial_failed, identify, ping, message.\n"
		"  With --topic, every stdin line is published on the first topic (a line 'hex:...' is\n"
		"  hex-decoded first); '/ping PEERID', '/dial MULTIADDR' and '/psk FILE [NEXTFILE]' (new\n"
		"  swarm keys, a PSK rotation step) lines are commands. A line\n"
		"  longer than 256 KiB is rejected whole with an error.\n"
		"options:\n"
		"  --swarm-key FILE  private network key (swarm.key format); without it plain libp2p\n"
		"  --next-swarm-key FILE  the next network key during a rotation: accepted too, dialled first\n"
		"  --key FILE        libp2p identity (PrivateKey protobuf, `w2wesher identity`); default: random\n"
		"  --msgid go|js     gossipsub message IDs: from||seqno (go, default) or key||seqno (js)\n"
		"  --echo            also serve /w2w/echo/1.0.0 (diagnostics)\n"
		"  -v                more log output on stderr\n",
	.run = run_p2p,
};
