/* SPDX-License-Identifier: MIT */
/*
 * WireGuard apply benchmark on wireguard-go (UAPI), ours vs wg(8), same run:
 *   - full apply of N peers to an empty device: w2w_wg_sync vs `wg setconf`;
 *   - one endpoint changed on an N-peer device: w2w_wg_sync vs `wg syncconf`.
 * Prints wall time, UAPI bytes and the ratios. Our bytes are counted by the
 * backend; wg's are what its ipc-uapi.h writes for the same request, rebuilt
 * with our serializer (same text), plus the get it does first for syncconf.
 *
 *   bench_wg N [N...]      (run as root inside a scratch network namespace)
 */
#include <errno.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "buf.h"
#include "wg_uapi.h"
#include "wgconf.h"
#include "w2wesher/w2wesher.h"

extern char **environ;

static double now_s(void)
{
	return (double)w2w_now_us() / 1e6;
}

static int run_wg(const char *sub, const char *ifname, const char *path)
{
	char *argv[] = {"wg", (char *)sub, (char *)ifname, (char *)path, NULL};
	pid_t pid;
	int st;

	if (posix_spawnp(&pid, "wg", NULL, NULL, argv, environ) != 0)
		return -1;
	if (waitpid(pid, &st, 0) != pid)
		return -1;
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

static void make_conf(struct buf *b, unsigned n, unsigned changed, uint32_t seed)
{
	uint8_t priv[32], pub[32];
	char t[64];

	for (int i = 0; i < 32; i++)
		priv[i] = (uint8_t)(seed * 7 + (uint32_t)i);
	priv[0] &= 248;
	priv[31] = (priv[31] & 127) | 64;
	w2w_base64_encode(t, sizeof(t), priv, 32);
	buf_printf(b, "[Interface]\nPrivateKey = %s\n\n", t);
	for (unsigned k = 0; k < n; k++) {
		for (int i = 0; i < 32; i++)
			pub[i] = (uint8_t)((k * 2654435761u) >> (i % 4 * 8)) ^ (uint8_t)(i * 13 + seed);
		w2w_base64_encode(t, sizeof(t), pub, 32);
		buf_printf(b, "[Peer]\nPublicKey = %s\nAllowedIPs = 10.%u.%u.%u/32\nEndpoint = 198.18.%u.%u:%u\n\n", t,
			   (k >> 16) & 255, (k >> 8) & 255, k & 255, (k >> 8) & 255, k & 255,
			   k == changed ? 40000 : 51820);
	}
	w2w_wipe(priv, sizeof(priv));
}

static int write_file(const char *path, const struct buf *b)
{
	FILE *f = fopen(path, "w");

	if (!f || fwrite(b->data, 1, b->len, f) != b->len) {
		if (f)
			fclose(f);
		return -1;
	}
	return fclose(f);
}

/* Bytes wg(8) writes for `setconf` (set with replace_peers) / `syncconf` (get, then set of every peer). */
static size_t wg_set_bytes(const struct buf *conf, int replace_peers)
{
	struct wgdevice *d = NULL;
	struct buf b;
	size_t n;

	if (wgconf_parse((const char *)conf->data, conf->len, &d, NULL) < 0)
		return 0;
	if (replace_peers)
		d->flags |= WGDEVICE_REPLACE_PEERS;
	buf_init(&b, 0);
	wg_uapi_build_set(d, &b);
	n = b.len;
	buf_free_wipe(&b);
	wgdev_free(d);
	return n;
}

struct dev {
	struct w2w_wg *wg;
	char name[16];
};

static int open_dev(struct w2w_loop *loop, struct dev *d, const char *name, int cache)
{
	struct w2w_wg_opts o = {.version = W2W_WG_OPTS_VERSION,
				.backend = W2W_BACKEND_USERSPACE,
				.create = 1,
				.cache_device = cache};
	struct w2w_wg_config *empty = NULL;
	int r;

	snprintf(d->name, sizeof(d->name), "%s", name);
	r = w2w_wg_config_new(&empty);
	if (r >= 0)
		r = w2w_wg_new(&d->wg, loop, name, &o);
	if (r >= 0)
		r = w2w_wg_sync_run(d->wg, empty, 20000); /* starts wireguard-go */
	w2w_wg_config_free(empty);
	return r;
}

static void stop_dev(struct dev *d)
{
	int pid = d->wg ? w2w_wg_userspace_pid(d->wg) : -1;

	if (pid > 0) {
		kill(pid, SIGTERM);
		waitpid(pid, NULL, 0);
	}
	w2w_wg_free(d->wg);
	d->wg = NULL;
}

static int sync_conf(struct dev *d, const struct buf *conf, double *secs, uint64_t *sent, uint64_t *recv)
{
	struct w2w_wg_config *cfg = NULL;
	struct w2w_wg_sync_stats a = {.size = sizeof(a)}, b = {.size = sizeof(b)};
	double t0;
	int r;

	w2w_wg_last_sync_stats(d->wg, &a);
	t0 = now_s();
	/* Parsing the file is part of the work, as for wg(8). */
	r = w2w_wg_config_parse(&cfg, (const char *)conf->data, conf->len, NULL, 0);
	if (r >= 0)
		r = w2w_wg_sync_run(d->wg, cfg, 600000);
	*secs = now_s() - t0;
	w2w_wg_config_free(cfg);
	w2w_wg_last_sync_stats(d->wg, &b);
	*sent = b.bytes_sent - a.bytes_sent;
	*recv = b.bytes_recv - a.bytes_recv;
	return r;
}

#define REPS 3

struct sample {
	double full_w, full_g, one_w, one_g, one_c;
	uint64_t full_sent, full_recv, one_sent, one_recv, get_sent, get_recv, c_sent, c_recv;
};

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return v[n / 2];
}

/* One repetition on two fresh devices. Which side goes first alternates, so
 * neither always meets the colder (or busier) machine. */
static int one_rep(struct w2w_loop *loop, int rep, const struct buf *c1, const struct buf *c2, const char *p1,
		   const char *p2, struct sample *s)
{
	struct dev ours = {0}, theirs = {0}, cached = {0};
	double t0, tn;
	int rc = -1;

	if (open_dev(loop, &ours, "w2wbo", 0) < 0 || open_dev(loop, &theirs, "w2wbt", 0) < 0) {
		fprintf(stderr, "bench: cannot start wireguard-go\n");
		goto out;
	}
	for (int side = 0; side < 2; side++) {
		if ((side == 0) == (rep % 2 == 0)) {
			if (sync_conf(&ours, c1, &s->full_w, &s->full_sent, &s->full_recv) < 0)
				goto out;
		} else {
			t0 = now_s();
			if (run_wg("setconf", theirs.name, p1) < 0)
				goto out;
			s->full_g = now_s() - t0;
		}
	}
	for (int side = 0; side < 2; side++) {
		if ((side == 0) == (rep % 2 == 0)) {
			if (sync_conf(&ours, c2, &s->one_w, &s->one_sent, &s->one_recv) < 0)
				goto out;
		} else {
			t0 = now_s();
			if (run_wg("syncconf", theirs.name, p2) < 0)
				goto out;
			s->one_g = now_s() - t0;
		}
	}
	/* a no-op sync of ours is exactly one get: what wg's syncconf reads first */
	if (sync_conf(&ours, c2, &tn, &s->get_sent, &s->get_recv) < 0)
		goto out;
	/* cache_device: a second handle reads once, then the endpoint change back costs one set */
	if (open_dev(loop, &cached, "w2wbo", 1) < 0 || sync_conf(&cached, c2, &tn, &s->c_sent, &s->c_recv) < 0 ||
	    sync_conf(&cached, c1, &s->one_c, &s->c_sent, &s->c_recv) < 0)
		goto out;
	rc = 0;
out:
	w2w_wg_free(cached.wg);
	stop_dev(&ours);
	stop_dev(&theirs);
	return rc;
}

int main(int argc, char **argv)
{
	struct w2w_loop *loop;
	int rc = 0;

	if (argc < 2) {
		fprintf(stderr, "usage: bench_wg N [N...]\n");
		return 2;
	}
	if (geteuid() != 0 || access("/dev/net/tun", R_OK | W_OK) != 0) {
		printf("SKIP: needs root and /dev/net/tun\n");
		return 77;
	}
	if (w2w_loop_new(&loop, NULL) < 0)
		return 1;
	printf("# wireguard-go (UAPI): median of %d runs on fresh devices; bytes sent/received on the socket\n"
	       "# (wg's rebuilt with the same serializer: the text of its ipc-uapi.h)\n", REPS);
	printf("%-27s %6s %8s %9s %9s %8s %9s %9s %7s %7s\n", "case", "peers", "w2w s", "w2w sent", "w2w recv",
	       "wg s", "wg sent", "wg recv", "t ratio", "tx ratio");
	for (int i = 1; i < argc && rc == 0; i++) {
		unsigned n = (unsigned)atoi(argv[i]);
		struct sample s[REPS];
		double fw[REPS], fg[REPS], ow[REPS], og[REPS], oc[REPS], mfw, mfg, mow, mog, moc;
		struct buf c1, c2;
		size_t bg, bgr;
		char p1[64], p2[64];

		memset(s, 0, sizeof(s));
		buf_init(&c1, 0);
		buf_init(&c2, 0);
		make_conf(&c1, n, (unsigned)-1, 1);
		make_conf(&c2, n, n / 2, 1);
		snprintf(p1, sizeof(p1), "/tmp/w2w-bench-%d-a.conf", (int)getpid());
		snprintf(p2, sizeof(p2), "/tmp/w2w-bench-%d-b.conf", (int)getpid());
		if (write_file(p1, &c1) || write_file(p2, &c2))
			rc = 1;
		for (int r = 0; r < REPS && rc == 0; r++) {
			if (one_rep(loop, r, &c1, &c2, p1, p2, &s[r]) < 0)
				rc = 1;
			fw[r] = s[r].full_w;
			fg[r] = s[r].full_g;
			ow[r] = s[r].one_w;
			og[r] = s[r].one_g;
			oc[r] = s[r].one_c;
		}
		if (rc == 0) {
			mfw = median(fw, REPS);
			mfg = median(fg, REPS);
			mow = median(ow, REPS);
			mog = median(og, REPS);
			moc = median(oc, REPS);
			bg = wg_set_bytes(&c1, 1);
			bgr = 9;
			printf("%-27s %6u %8.3f %9llu %9llu %8.3f %9zu %9zu %7.2f %7.2f\n", "full apply (wg setconf)", n,
			       mfw, (unsigned long long)s[0].full_sent, (unsigned long long)s[0].full_recv, mfg, bg, bgr,
			       mfw / mfg, (double)s[0].full_sent / (double)bg);
			bg = (size_t)s[0].get_sent + wg_set_bytes(&c2, 0);
			bgr = (size_t)s[0].get_recv + 9;
			printf("%-27s %6u %8.3f %9llu %9llu %8.3f %9zu %9zu %7.2f %7.4f\n", "one endpoint (wg syncconf)",
			       n, mow, (unsigned long long)s[0].one_sent, (unsigned long long)s[0].one_recv, mog, bg,
			       bgr, mow / mog, (double)s[0].one_sent / (double)bg);
			printf("%-27s %6u %8.4f %9llu %9llu %8.3f %9zu %9zu %7.3f %7.4f\n", "one endpoint, cache_device",
			       n, moc, (unsigned long long)s[0].c_sent, (unsigned long long)s[0].c_recv, mog, bg, bgr,
			       moc / mog, (double)s[0].c_sent / (double)bg);
		} else {
			fprintf(stderr, "bench: %u peers failed\n", n);
		}
		unlink(p1);
		unlink(p2);
		buf_free_wipe(&c1);
		buf_free_wipe(&c2);
	}
	w2w_loop_free(loop);
	return rc;
}
