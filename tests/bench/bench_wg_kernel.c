/* SPDX-License-Identifier: MIT */
/*
 * WireGuard apply benchmark on the kernel (run inside the VM: tests/vm/vmrun.py),
 * ours vs wg(8) in the same run:
 *   - full apply of N peers to an empty device: our sync (GET + diff + SET)
 *     vs `wg setconf`;
 *   - one endpoint changed on a 1k-peer device: our sync (GET dump + diff + one
 *     SET message), our set alone (the mesh knows the actual state), vs
 *     `wg syncconf`.
 * Prints wall time, netlink messages sent/received and the ratio to wg.
 * wg's messages are counted with strace (sendto/recvfrom) in a second run on
 * a fresh device, so the timed run is not slowed by tracing.
 *
 *   bench_wg_kernel N [N...]      (exits 77 without kernel WireGuard)
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "nl.h"
#include "osclock.h"
#include "reactor.h"
#include "rtnl.h"
#include "wg_kernel.h"
#include "wgdev.h"
#include "wgdiff.h"
#include "wgkey.h"

#include "../vm/ksync.h"

static struct reactor *R;
static char dir[] = "/tmp/w2w-bench-XXXXXX";

/* GET + diff + SET, as a sync does. */
static int sync_dev(struct wgbackend *be, const struct wgdevice *want)
{
	struct wgdevice *upd = NULL, *have;
	int e;

	have = ksync_get_dev(be, want->name, 120000, &e);
	if (!have)
		return -1;
	e = wgdiff(want, have, NULL, &upd, NULL);
	wgdev_free(have);
	if (e < 0)
		return e;
	if (!wgdiff_is_empty(upd))
		e = ksync_set_dev(be, upd, 120000);
	wgdev_free(upd);
	return e;
}

/* A mesh-like device: every peer has a key, an IPv4 endpoint and one /32. */
static struct wgdevice *make_dev(const char *name, unsigned n, uint16_t port)
{
	struct wgdevice *d = wgdev_new();

	wgdev_set_name(d, name);
	d->flags = WGDEVICE_HAS_PRIVATE_KEY | WGDEVICE_HAS_LISTEN_PORT;
	if (getrandom(d->private_key, 32, 0) != 32)
		abort();
	d->private_key[0] &= 248;
	d->private_key[31] = (d->private_key[31] & 127) | 64;
	d->listen_port = port;
	for (unsigned i = 0; i < n; i++) {
		struct wgpeer *p = wgdev_add_peer(d);
		struct wgallowedip *a = wgpeer_add_allowedip(p);

		p->flags = WGPEER_HAS_PUBLIC_KEY;
		if (getrandom(p->public_key, 32, 0) != 32)
			abort();
		p->endpoint.addr4.sin_family = AF_INET;
		p->endpoint.addr4.sin_port = htons(51820);
		p->endpoint.addr4.sin_addr.s_addr = htonl(0xc6120000u + i);
		a->family = AF_INET;
		a->ip4.s_addr = htonl(0x0a000000u + i);
		a->cidr = 32;
	}
	return d;
}

static int write_conf(const struct wgdevice *d, const char *path)
{
	FILE *f = fopen(path, "w");
	const struct wgpeer *p;
	char k[45];

	if (!f)
		return -1;
	wgkey_to_b64(k, d->private_key);
	fprintf(f, "[Interface]\nPrivateKey = %s\nListenPort = %u\n", k, d->listen_port);
	wgdev_for_each_peer(d, p)
	{
		char ip[INET_ADDRSTRLEN], ep[INET_ADDRSTRLEN];

		wgkey_to_b64(k, p->public_key);
		inet_ntop(AF_INET, &p->first_allowedip->ip4, ip, sizeof(ip));
		inet_ntop(AF_INET, &p->endpoint.addr4.sin_addr, ep, sizeof(ep));
		fprintf(f, "\n[Peer]\nPublicKey = %s\nEndpoint = %s:%u\nAllowedIPs = %s/32\n", k, ep,
		        ntohs(p->endpoint.addr4.sin_port), ip);
	}
	return fclose(f);
}

/* Runs `wg sub ifname conf`; with counts, under strace, and parses its summary. */
static double run_wg(const char *sub, const char *ifname, const char *conf, long *sent, long *recvd)
{
	char cmd[512], out[256], line[256];
	double t0 = (double)os_now_us();
	FILE *f;
	int st;

	if (!sent) {
		snprintf(cmd, sizeof(cmd), "wg %s %s %s", sub, ifname, conf);
		st = system(cmd);
		return st == 0 ? ((double)os_now_us() - t0) / 1000 : -1;
	}
	snprintf(out, sizeof(out), "%s/strace.txt", dir);
	snprintf(cmd, sizeof(cmd), "strace -f -c -e trace=sendto,sendmsg,recvfrom,recvmsg -o %s wg %s %s %s",
	         out, sub, ifname, conf);
	if (system(cmd) != 0)
		return -1;
	*sent = *recvd = 0;
	f = fopen(out, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		double pct, secs;
		long usecs, calls;
		char name[32];

		if (sscanf(line, "%lf %lf %ld %ld %*s %31s", &pct, &secs, &usecs, &calls, name) == 5 ||
		    sscanf(line, "%lf %lf %ld %ld %31s", &pct, &secs, &usecs, &calls, name) == 5) {
			if (!strncmp(name, "send", 4))
				*sent += calls;
			else if (!strncmp(name, "recv", 4))
				*recvd += calls;
		}
	}
	fclose(f);
	return 0;
}

struct stat_snap {
	uint64_t tx, rx, t;
};

static struct stat_snap snap(struct wgbackend *be)
{
	const struct nl_stats *s = nl_get_stats(wg_kernel_engine(be));
	struct stat_snap x = {s->tx_msgs, s->rx_msgs, os_now_us()};

	return x;
}

static void row(const char *what, unsigned n, struct stat_snap a, struct stat_snap b, double wg_ms,
                long wg_tx, long wg_rx)
{
	double ms = (double)(b.t - a.t) / 1000;

	printf("%-36s %6u %10.1f %7llu %7llu %10.1f %7ld %7ld %7.2f\n", what, n, ms,
	       (unsigned long long)(b.tx - a.tx), (unsigned long long)(b.rx - a.rx), wg_ms, wg_tx, wg_rx,
	       wg_ms > 0 ? ms / wg_ms : 0);
}

int main(int argc, char **argv)
{
	struct wgbackend *be;
	struct rtnl *rt;
	int e, idx = 0;

	setvbuf(stdout, NULL, _IOLBF, 0);
	R = reactor_new();
	ksync_init(R);
	e = wg_kernel_new(R, NULL, &be);
	if (e == -EPROTONOSUPPORT) {
		printf("no kernel WireGuard: skip\n");
		return 77;
	}
	if (e < 0 || rtnl_new(R, NULL, &rt) < 0 || !mkdtemp(dir))
		return 1;
	printf("# kernel WireGuard, netlink messages of at most %d bytes (wg(8): one page)\n", NL_MSG_BUF);
	printf("%-36s %6s %10s %7s %7s %10s %7s %7s %7s\n", "operation", "peers", "ours ms", "tx", "rx",
	       "wg ms", "wg tx", "wg rx", "ratio");
	for (int a = 1; a < argc; a++) {
		unsigned n = (unsigned)atoi(argv[a]);
		char ours[16], wgt[16], wgs[16], conf[256], conf2[256];
		struct wgdevice *want;
		struct stat_snap s0, s1;
		double wg_ms;
		long tx = -1, rx = -1;

		snprintf(ours, sizeof(ours), "wo%d", idx);
		snprintf(wgt, sizeof(wgt), "wt%d", idx);
		snprintf(wgs, sizeof(wgs), "ws%d", idx);
		idx++;
		if (ksync_link_ensure(rt, ours, "wireguard", NULL) || ksync_link_ensure(rt, wgt, "wireguard", NULL) ||
		    ksync_link_ensure(rt, wgs, "wireguard", NULL))
			return 1;
		want = make_dev(ours, n, (uint16_t)(40000 + idx * 3));
		/* each device needs its own port: wg's get +1 and +2 */
		snprintf(conf, sizeof(conf), "%s/%u.conf", dir, n);
		want->listen_port++;
		write_conf(want, conf);
		want->listen_port--;

		/* full apply */
		s0 = snap(be);
		e = sync_dev(be, want);
		s1 = snap(be);
		if (e) {
			printf("our sync failed: %d\n", e);
			return 1;
		}
		wg_ms = run_wg("setconf", wgt, conf, NULL, NULL);
		/* the traced run needs its own port */
		snprintf(conf2, sizeof(conf2), "%s/%u-b.conf", dir, n);
		want->listen_port += 2;
		write_conf(want, conf2);
		want->listen_port -= 2;
		run_wg("setconf", wgs, conf2, &tx, &rx);
		row("full apply (sync vs setconf)", n, s0, s1, wg_ms, tx, rx);

		/* one endpoint changed, on the 1k device only (the case) */
		if (n == 1000) {
			struct wgpeer *p = want->first_peer->next_peer;
			struct wgdevice *upd = wgdev_new();
			struct wgpeer *q = wgdev_add_peer(upd);

			p->endpoint.addr4.sin_port = htons(4444);
			want->listen_port++;
			write_conf(want, conf);
			want->listen_port++;
			write_conf(want, conf2);
			want->listen_port -= 2;
			s0 = snap(be);
			e = sync_dev(be, want);
			s1 = snap(be);
			wg_ms = run_wg("syncconf", wgt, conf, NULL, NULL);
			run_wg("syncconf", wgs, conf2, &tx, &rx);
			row("one endpoint (sync vs syncconf)", n, s0, s1, wg_ms, tx, rx);
			/* set alone: the state is known, no dump */
			wgdev_set_name(upd, ours);
			q->flags = WGPEER_HAS_PUBLIC_KEY;
			memcpy(q->public_key, p->public_key, 32);
			q->endpoint = p->endpoint;
			q->endpoint.addr4.sin_port = htons(5555);
			s0 = snap(be);
			e |= ksync_set_dev(be, upd, 120000);
			s1 = snap(be);
			row("one endpoint (set only vs syncconf)", n, s0, s1, wg_ms, tx, rx);
			wgdev_free(upd);
			if (e)
				printf("one-peer change failed\n");
		}
		wgdev_free(want);
	}
	printf("(tx/rx: netlink messages sent/received; wg counted with strace in a separate run;\n"
	       " ratio: our wall time / wg's; devices are left in place: deleting 10k peers takes ~2 min)\n");
	wgbackend_free(be);
	rtnl_free(rt);
	reactor_free(R);
	return 0;
}
