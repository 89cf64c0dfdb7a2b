/* SPDX-License-Identifier: MIT */
/*
 * Whole w2w_nodes in one process without root (issue 9 §2): three real nodes
 * on real loopback TCP, each on its own loop with the in-memory WireGuard OS
 * (fake_wgos.h, selected with loop_set_wg_os(), docs/wireguard.md "Test
 * seam") and its own temporary state directory, configured through the
 * public w2w_config API. What runs is the product: the libp2p host, the
 * private network, gossipsub, the mesh engine and the WireGuard engine; only
 * the kernel below WireGuard is replaced.
 *
 *  - test_mesh: the nodes join (JOINED, PEER_UP) and connect pairwise, every
 *    fake device holds the two others with their distinct overlay addresses
 *    as allowed IPs, every link carries its own address, snapshots list the
 *    peers; a node stopped and started again from its state directory keeps
 *    its address and its claim time; a node that leaves is dropped from the
 *    others' devices ("left", not expired) and its interface is removed.
 *    Leaks (fds, memory): LSan in the ASan build.
 *  - test_start_retry: w2w_node_start() failing half-way (the listen address
 *    is taken, or not ours) and retried leaves no fd, watch or timer behind,
 *    and the retried start then works (issue 9 §3).
 *
 * Every wait is bounded in iterations and in time.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <w2wesher/w2wesher.h>

#include "fake_wgos.h"
#include "loop_internal.h"
#include "node_internal.h"
#include "wgkey.h"

#define N 3
#define ANNOUNCE_MS 1000
#define EXPIRY_MS 4000
#define RANGE "10.77.0.0/16"
#define PLEN 16
#define WAIT_S 30          /* the bound of every wait; convergence takes ~1-2 s */
#define MAX_ROUNDS 200000  /* and of the poll rounds of one wait */

struct tnode {
	int idx;
	struct w2w_loop *loop;
	struct fake_wgos f;
	struct w2w_config *cfg;
	struct w2w_node *node;
	uint64_t started_us;
	char ifname[16], wg_pub[64], peer_id[64], address[64];
	/* events */
	unsigned listening, joined, peer_up, peer_down_left, peer_down_expired, addr_events, errors, stopped;
	unsigned rotated; /* KEY_ROTATED: wg_pub is the new key */
};

struct world {
	char base[64];
	struct tnode n[N];
};

static bool verbose;
/* test_ipam: n1 pins n2's first candidate, so n2 must move (set before world_start). */
static bool pin_n1_on_n2;

/* ---- small helpers ---- */

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	assert_non_null(d);
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1; /* the directory's own fd */
}

/* A TCP socket listening on 127.0.0.1 with a port the kernel chose. */
static int tcp_listener(unsigned *port)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(fd, 1), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	*port = ntohs(a.sin_port);
	return fd;
}

/* A free port for n0, the bootstrap node. The others listen on /tcp/0: their
 * announcements must carry the port the kernel picked (`la`), or the nodes
 * that learn of each other through n0 cannot connect directly. */
static unsigned free_port(void)
{
	unsigned port;

	close(tcp_listener(&port));
	return port;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void rm_tree(const char *path)
{
	nftw(path, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
}

/* ---- the nodes' callbacks ---- */

static void on_event(void *ud, const struct w2w_node_event *ev)
{
	struct tnode *t = ud;

	if (verbose)
		fprintf(stderr, "n%d event %s %s %s %s %d\n", t->idx, w2w_node_event_type_name(w2w_node_event_type(ev)),
			w2w_node_event_name(ev), w2w_node_event_address(ev), w2w_node_event_message(ev),
			w2w_node_event_error(ev));
	switch (w2w_node_event_type(ev)) {
	case W2W_NODE_EV_LISTENING:
		t->listening++;
		break;
	case W2W_NODE_EV_JOINED:
		t->joined++;
		break;
	case W2W_NODE_EV_PEER_UP:
		t->peer_up++;
		break;
	case W2W_NODE_EV_PEER_DOWN:
		if (!strcmp(w2w_node_event_message(ev), "left"))
			t->peer_down_left++;
		else
			t->peer_down_expired++;
		break;
	case W2W_NODE_EV_ADDRESS_ASSIGNED:
		t->addr_events++;
		snprintf(t->address, sizeof(t->address), "%s", w2w_node_event_address(ev));
		break;
	case W2W_NODE_EV_ERROR:
		t->errors++;
		break;
	case W2W_NODE_EV_KEY_ROTATED:
		t->rotated++;
		assert_string_equal(w2w_node_event_peer_id(ev), t->peer_id);
		assert_string_not_equal(w2w_node_event_message(ev), t->wg_pub);
		snprintf(t->wg_pub, sizeof(t->wg_pub), "%s", w2w_node_event_message(ev));
		break;
	case W2W_NODE_EV_STOPPED:
		t->stopped++;
		break;
	default:
		break;
	}
}

static void on_log(void *ud, int level, const char *msg)
{
	struct tnode *t = ud;

	fprintf(stderr, "n%d log %d %s\n", t->idx, level, msg);
}

/* ---- driving several loops from one poll() ---- */

#define MAX_WATCHES 256

/* One round: poll every loop's fds until the earliest deadline (at most
 * max_ms), then let each loop process its ready fds and due timers. */
static void pump(struct tnode **ts, size_t nt, int max_ms)
{
	struct w2w_watch w[MAX_WATCHES], ready[MAX_WATCHES];
	struct pollfd pfd[MAX_WATCHES];
	size_t first[N + 1], total = 0;
	int timeout = max_ms;

	for (size_t i = 0; i < nt; i++) {
		size_t n = w2w_loop_get_watches(ts[i]->loop, w + total, MAX_WATCHES - total);
		int t = w2w_loop_timeout(ts[i]->loop);

		assert_true(total + n <= MAX_WATCHES);
		first[i] = total;
		for (size_t k = total; k < total + n; k++) {
			pfd[k].fd = w[k].fd;
			pfd[k].events = (short)(((w[k].events & W2W_IO_READ) ? POLLIN : 0) |
						((w[k].events & W2W_IO_WRITE) ? POLLOUT : 0));
			pfd[k].revents = 0;
		}
		total += n;
		if (t >= 0 && t < timeout)
			timeout = t;
	}
	first[nt] = total;
	assert_true(poll(pfd, total, timeout) >= 0 || errno == EINTR);
	for (size_t i = 0; i < nt; i++) {
		size_t nr = 0;

		for (size_t k = first[i]; k < first[i + 1]; k++) {
			int ev = 0;

			if (pfd[k].revents & POLLIN)
				ev |= W2W_IO_READ;
			if (pfd[k].revents & POLLOUT)
				ev |= W2W_IO_WRITE;
			if (pfd[k].revents & (POLLERR | POLLHUP | POLLNVAL))
				ev |= W2W_IO_ERROR;
			if (ev)
				ready[nr++] = (struct w2w_watch){pfd[k].fd, ev};
		}
		assert_int_equal(w2w_loop_process(ts[i]->loop, ready, nr), 0);
	}
}

typedef bool (*cond_fn)(struct world *w);

/* Runs every loop of w until cond holds; fails the test after WAIT_S
 * seconds or MAX_ROUNDS rounds. */
static void wait_for(struct world *w, cond_fn cond, const char *what)
{
	struct tnode *ts[N];
	uint64_t end = w2w_now_us() + (uint64_t)WAIT_S * 1000000;

	for (size_t i = 0; i < N; i++)
		ts[i] = &w->n[i];
	for (unsigned round = 0; round < MAX_ROUNDS; round++) {
		if (cond(w))
			return;
		if (w2w_now_us() >= end)
			break;
		pump(ts, N, 50);
	}
	fail_msg("timed out waiting for: %s", what);
}

/* ---- the nodes ---- */

static void node_config(struct world *w, int i, unsigned tcp_port, const char *bootstrap)
{
	struct tnode *t = &w->n[i];
	char buf[256];

	assert_int_equal(w2w_config_new(&t->cfg), 0);
	assert_int_equal(w2w_config_set_psk(t->cfg, "c2hhcmVkIHBzayBvZiB0aGUgdGVzdCBtZXNoICEhISE="), 0);
	snprintf(buf, sizeof(buf), "%s/n%d", w->base, i);
	assert_int_equal(w2w_config_set_state_dir(t->cfg, buf), 0);
	snprintf(buf, sizeof(buf), "/ip4/127.0.0.1/tcp/%u", tcp_port);
	assert_int_equal(w2w_config_set_listen_addr(t->cfg, buf), 0);
	snprintf(t->ifname, sizeof(t->ifname), "w2wt%d", i);
	assert_int_equal(w2w_config_set_interface(t->cfg, t->ifname), 0);
	snprintf(buf, sizeof(buf), "t%d", i);
	assert_int_equal(w2w_config_set_node_name(t->cfg, buf), 0);
	assert_int_equal(w2w_config_set_listen_port(t->cfg, 51820u + (unsigned)i), 0);
	assert_int_equal(w2w_config_set_network_range(t->cfg, RANGE), 0);
	assert_int_equal(w2w_config_set_announce_interval_ms(t->cfg, ANNOUNCE_MS), 0);
	assert_int_equal(w2w_config_set_peer_expiry_ms(t->cfg, EXPIRY_MS), 0);
	if (bootstrap)
		assert_int_equal(w2w_config_add_bootstrap(t->cfg, bootstrap), 0);
	assert_int_equal(w2w_config_generate_secrets(t->cfg), 0);
	assert_int_equal(w2w_config_check(t->cfg), 0);
	assert_true(w2w_config_wg_public_key(t->cfg, t->wg_pub, sizeof(t->wg_pub)) > 0);
	assert_true(w2w_config_peer_id(t->cfg, t->peer_id, sizeof(t->peer_id)) > 0);
}

static void node_start(struct tnode *t)
{
	assert_int_equal(w2w_node_new(&t->node, t->loop, t->cfg, on_event, t), 0);
	if (verbose)
		assert_int_equal(w2w_node_set_log(t->node, on_log, t, W2W_LOG_DEBUG), 0);
	assert_int_equal(w2w_node_start(t->node), 0);
	t->started_us = w2w_now_us();
}

static void world_start(struct world *w)
{
	unsigned ports[N];
	char boot[256];

	verbose = getenv("W2W_TEST_VERBOSE") != NULL;
	snprintf(w->base, sizeof(w->base), "/tmp/w2w-test-node-mesh-XXXXXX");
	assert_non_null(mkdtemp(w->base));
	for (int i = 0; i < N; i++)
		ports[i] = i ? 0 : free_port();
	for (int i = 0; i < N; i++) {
		struct tnode *t = &w->n[i];

		t->idx = i;
		assert_int_equal(w2w_loop_new(&t->loop, NULL), 0);
		fake_wgos_init(&t->f, loop_reactor(t->loop));
		loop_set_wg_os(t->loop, &t->f.os);
		/* everyone joins through n0 */
		if (i)
			snprintf(boot, sizeof(boot), "/ip4/127.0.0.1/tcp/%u/p2p/%s", ports[0], w->n[0].peer_id);
		node_config(w, i, ports[i], i ? boot : NULL);
	}
	if (pin_n1_on_n2) {
		char cand[W2W_IP_TEXT_MAX];

		assert_true(w2w_ipam_candidate(cand, sizeof(cand), RANGE, w->n[2].peer_id, 0) > 0);
		assert_int_equal(w2w_config_set_address(w->n[1].cfg, cand), 0);
		assert_int_equal(w2w_config_check(w->n[1].cfg), 0);
	}
	for (int i = 0; i < N; i++)
		node_start(&w->n[i]);
}

static void node_free(struct tnode *t)
{
	assert_null(w2w_node_free(t->node));
	t->node = NULL;
	/* every queued fake operation went with the node's engine */
	assert_int_equal(t->f.pending, 0);
}

static void world_free(struct world *w)
{
	for (int i = 0; i < N; i++) {
		struct tnode *t = &w->n[i];

		if (t->node)
			node_free(t);
		assert_int_equal(w2w_loop_get_watches(t->loop, NULL, 0), 0);
		fake_wgos_clear(&t->f);
		assert_null(w2w_config_free(t->cfg));
		assert_null(w2w_loop_free(t->loop));
	}
	rm_tree(w->base);
}

/* ---- what the fake kernels hold ---- */

static const struct wgpeer *dev_peer(const struct wgdevice *dev, const char *b64)
{
	const struct wgpeer *p;
	char k[64];

	wgdev_for_each_peer(dev, p) {
		wgkey_to_b64(k, p->public_key);
		if (!strcmp(k, b64))
			return p;
	}
	return NULL;
}

/* How many nodes t's peer table lists; 0 unless t has a libp2p connection
 * to each (a node dials every node announced to it: docs/mesh.md). */
static size_t table_count(struct tnode *t)
{
	struct w2w_snapshot *s = w2w_node_snapshot(t->node);
	size_t n;

	assert_non_null(s);
	n = w2w_snapshot_peer_count(s);
	for (size_t i = 0; i < n; i++)
		if (!w2w_snapshot_connected(s, i))
			n = 0;
	w2w_snapshot_free(s);
	return n;
}

/* t's device holds exactly the nodes in live (bit mask), each with its
 * address as the one allowed IP, and t's link carries t's address. With
 * table, t's peer table lists them too, connected (a restarted node's
 * device holds its peers before it has heard from them). */
static bool device_matches(struct world *w, int i, unsigned live, bool table)
{
	struct tnode *t = &w->n[i];
	struct fake_wgos_link *l = fake_wgos_link(&t->f, t->ifname);
	size_t want = 0;
	char ip[64];

	if (!l || !t->address[0] || !l->up)
		return false;
	for (int j = 0; j < N; j++) {
		const struct wgpeer *p;
		char a[80];

		if (j == i || !(live & (1u << j)))
			continue;
		want++;
		p = dev_peer(l->dev, w->n[j].wg_pub);
		if (!p || !w->n[j].address[0] || wgpeer_allowedip_count(p) != 1)
			return false;
		snprintf(a, sizeof(a), "%s/32", w->n[j].address);
		if (wgallowedip_format(ip, sizeof(ip), p->first_allowedip) < 0 || strcmp(ip, a))
			return false;
	}
	if (wgdev_peer_count(l->dev) != want || (table && table_count(t) != want))
		return false;
	for (size_t k = 0; k < l->naddrs; k++)
		if (l->addrs[k].family == AF_INET && l->addrs[k].prefixlen == PLEN &&
		    inet_ntop(AF_INET, l->addrs[k].addr, ip, sizeof(ip)) && !strcmp(ip, t->address))
			return l->naddrs == 1;
	return false;
}

static bool all_converged(struct world *w)
{
	for (int i = 0; i < N; i++)
		if (!device_matches(w, i, (1u << N) - 1, true))
			return false;
	return true;
}

/* Every node reported peer-up for the others (raised once the device that
 * routes them is applied, a little after it shows on the device). */
static bool all_up(struct world *w)
{
	for (int i = 0; i < N; i++)
		if (w->n[i].peer_up < N - 1)
			return false;
	return true;
}

static bool n2_stopped(struct world *w)
{
	return w->n[2].stopped == 1;
}

static bool n1_stopped(struct world *w)
{
	return w->n[1].stopped == 1;
}

/* n1 left: n0 and n2 hold only each other, n1's interface is gone. */
static bool n1_gone(struct world *w)
{
	return device_matches(w, 0, 1u | 4u, true) && device_matches(w, 2, 1u | 4u, true) && w->n[0].peer_down_left &&
	       w->n[2].peer_down_left && !fake_wgos_link(&w->n[1].f, w->n[1].ifname);
}

static int64_t grace_end_us;

/* Every running node is past its restart grace (one PeerExpiry after its
 * start), in which peers the table does not list are kept on the device. */
static bool past_grace(struct world *w)
{
	(void)w;
	return (int64_t)w2w_now_us() > grace_end_us;
}

/* The claim time of j's address as i sees it (i == j: j's own claim); 0
 * when unknown. Not in the public API: the seniority a restart must keep
 * (docs/mesh.md, IPAM rule 1), which an address alone does not show (the
 * first free candidate is the same again). */
static uint64_t claim_ms(struct world *w, int i, int j)
{
	const struct peertable *pt = mn_table(w->n[i].node->mesh);
	char id[PEERID_STR_MAX];

	if (i == j) {
		const struct ann_claim *c = mn_claim(w->n[i].node->mesh);

		return c ? c->claimed_ms : 0;
	}
	for (size_t k = 0; k < pt_count(pt); k++) {
		const struct pt_entry *e = pt_at(pt, k);

		if (peerid_to_b58(id, sizeof(id), &e->id) >= 0 && !strcmp(id, w->n[j].peer_id))
			return e->ann.n_claims ? e->ann.claims[0].claimed_ms : 0;
	}
	return 0;
}

/* Every announcement i holds lists the author's libp2p listen addresses with
 * the port it is bound to: never /tcp/0 (n1 and n2 are configured with it). */
static void check_announced_ports(struct world *w, int i)
{
	const struct peertable *pt = mn_table(w->n[i].node->mesh);

	assert_int_equal(pt_count(pt), N - 1);
	for (size_t k = 0; k < pt_count(pt); k++) {
		const struct pt_entry *e = pt_at(pt, k);

		assert_true(e->ann.n_la >= 1);
		for (size_t l = 0; l < e->ann.n_la; l++) {
			struct ann_ip ip;
			uint16_t port = 0;

			assert_true(ann_ip_from_ma(e->ann.la[l].b, e->ann.la[l].len, &ip, &port));
			assert_int_not_equal(port, 0);
		}
	}
}

/* ---- snapshots ---- */

static void check_snapshot(struct world *w, int i)
{
	struct w2w_snapshot *s = w2w_node_snapshot(w->n[i].node);
	char name[8];

	assert_non_null(s);
	snprintf(name, sizeof(name), "t%d", i);
	assert_string_equal(w2w_snapshot_name(s, W2W_SNAPSHOT_SELF), name);
	assert_string_equal(w2w_snapshot_peer_id(s, W2W_SNAPSHOT_SELF), w->n[i].peer_id);
	assert_string_equal(w2w_snapshot_address(s, W2W_SNAPSHOT_SELF), w->n[i].address);
	assert_string_equal(w2w_snapshot_wg_public_key(s, W2W_SNAPSHOT_SELF), w->n[i].wg_pub);
	assert_true(w2w_snapshot_join_addr_count(s) >= 1);
	assert_non_null(strstr(w2w_snapshot_join_addr(s, 0), w->n[i].peer_id));
	/* n1 and n2 listen on /tcp/0: the join addresses carry the bound port
	 * (issue 14), like the announcements (check_announced_ports). */
	for (size_t k = 0; k < w2w_snapshot_join_addr_count(s); k++)
		assert_null(strstr(w2w_snapshot_join_addr(s, k), "/tcp/0/"));
	assert_int_equal(w2w_snapshot_peer_count(s), N - 1);
	for (int j = 0; j < N; j++) {
		size_t k;

		if (j == i)
			continue;
		for (k = 0; k < N - 1; k++)
			if (!strcmp(w2w_snapshot_peer_id(s, k), w->n[j].peer_id))
				break;
		assert_true(k < N - 1);
		snprintf(name, sizeof(name), "t%d", j);
		assert_string_equal(w2w_snapshot_name(s, k), name);
		assert_string_equal(w2w_snapshot_address(s, k), w->n[j].address);
		assert_string_equal(w2w_snapshot_wg_public_key(s, k), w->n[j].wg_pub);
		assert_int_equal(w2w_snapshot_connected(s, k), 1);
	}
	assert_null(w2w_snapshot_name(s, N - 1)); /* past the end */
	assert_null(w2w_snapshot_free(s));
}

/* ---- the tests ---- */

static bool n0_rotated(struct world *w)
{
	return w->n[0].rotated == 1;
}

static bool n0_stopped(struct world *w)
{
	return w->n[0].stopped == 1;
}

/* The key file: the current key, no next one (mesh/rotate.h layout), 0600. */
static void check_keyfile(struct world *w, int i)
{
	char path[128], pub[64];
	uint8_t b[128], k[32];
	struct stat st;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "%s/n%d/wgkey", w->base, i);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	f = fopen(path, "rb");
	assert_non_null(f);
	n = fread(b, 1, sizeof(b), f);
	fclose(f);
	assert_int_equal(n, 102);
	assert_memory_equal(b, "W2WK\x01\x00", 6);
	assert_int_equal(wgkey_public(k, b + 38), 0);
	wgkey_to_b64(pub, k);
	assert_string_equal(pub, w->n[i].wg_pub);
}

static void test_mesh(void **state)
{
	struct world w;
	char before[64], path[128];
	uint64_t claimed;
	struct stat st;

	(void)state;
	memset(&w, 0, sizeof(w));
	world_start(&w);

	/* join: everyone on everyone's device with distinct addresses */
	wait_for(&w, all_converged, "three nodes on each other's devices");
	wait_for(&w, all_up, "peer-up from every node");
	for (int i = 0; i < N; i++) {
		struct tnode *t = &w.n[i];

		assert_int_equal(t->listening, 1);
		assert_int_equal(t->joined, 1);
		assert_true(t->peer_up >= N - 1);
		assert_true(t->addr_events >= 1);
		assert_int_equal(t->errors, 0);
		for (int j = 0; j < i; j++)
			assert_string_not_equal(t->address, w.n[j].address);
		check_snapshot(&w, i);
		check_announced_ports(&w, i);
	}

	/* stop + start from the state directory: the same address, claimed at
	 * the same time (its seniority), in its own view and in n0's */
	snprintf(before, sizeof(before), "%s", w.n[2].address);
	claimed = claim_ms(&w, 2, 2);
	assert_true(claimed > 0);
	assert_true(claim_ms(&w, 0, 2) == claimed);
	assert_int_equal(w2w_node_stop(w.n[2].node), 0);
	wait_for(&w, n2_stopped, "n2 stopped");
	/* stop keeps the interface, its address and its peers */
	assert_true(device_matches(&w, 2, 7u, false));
	snprintf(path, sizeof(path), "%s/n2/state", w.base);
	assert_int_equal(stat(path, &st), 0);
	node_free(&w.n[2]);
	w.n[2].address[0] = '\0';
	w.n[2].stopped = 0;
	node_start(&w.n[2]);
	wait_for(&w, all_converged, "n2 back in the mesh");
	assert_string_equal(w.n[2].address, before);
	assert_true(claim_ms(&w, 2, 2) == claimed);
	assert_true(claim_ms(&w, 0, 2) == claimed);
	check_snapshot(&w, 2);

	/* key rotation (docs/mesh.md "Key rotation"): n0's new key is persisted,
	 * reported, and replaces the old one on every device (exactly: the old
	 * key goes at once, although n2 is still in its restart grace) */
	snprintf(before, sizeof(before), "%s", w.n[0].wg_pub);
	assert_int_equal(w2w_node_rotate_wg_key(w.n[0].node), 0);
	assert_int_equal(w2w_node_rotate_wg_key(w.n[0].node), -EALREADY);
	wait_for(&w, n0_rotated, "n0's key rotated");
	assert_string_not_equal(w.n[0].wg_pub, before);
	wait_for(&w, all_converged, "every device holding n0's new key only");
	check_keyfile(&w, 0);
	/* a restart keeps the rotated key (the configured one is older) */
	assert_int_equal(w2w_node_stop(w.n[0].node), 0);
	wait_for(&w, n0_stopped, "n0 stopped");
	node_free(&w.n[0]);
	w.n[0].stopped = 0;
	node_start(&w.n[0]);
	{
		struct w2w_snapshot *s = w2w_node_snapshot(w.n[0].node);

		assert_non_null(s);
		assert_string_equal(w2w_snapshot_wg_public_key(s, W2W_SNAPSHOT_SELF), w.n[0].wg_pub);
		w2w_snapshot_free(s);
	}
	wait_for(&w, all_converged, "n0 back with its rotated key");

	/* leave: the others drop n1 ("left", not expired), its interface goes */
	grace_end_us = (int64_t)w.n[2].started_us + EXPIRY_MS * 1000;
	wait_for(&w, past_grace, "the restart grace to end");
	assert_int_equal(w2w_node_leave(w.n[1].node), 0);
	wait_for(&w, n1_stopped, "n1 left");
	wait_for(&w, n1_gone, "n1 dropped from n0 and n2");
	assert_int_equal(w.n[0].errors + w.n[1].errors + w.n[2].errors, 0);
	world_free(&w);
}

/* One node whose listen address fails: every failed start leaves nothing
 * behind; with retry_ok, the blocker goes and the retried start works. */
static void start_retry_case(const char *ip, bool fake_os, bool retry_ok)
{
	struct tnode t;
	struct tnode *ts[1] = {&t};
	char dir[64], path[128], addr[96];
	unsigned port = 0;
	int blocker, fds0, fds1, r;
	uint64_t end;

	memset(&t, 0, sizeof(t));
	snprintf(dir, sizeof(dir), "/tmp/w2w-test-node-retry-XXXXXX");
	assert_non_null(mkdtemp(dir));
	fds0 = count_fds();
	assert_int_equal(w2w_loop_new(&t.loop, NULL), 0);
	if (fake_os) {
		fake_wgos_init(&t.f, loop_reactor(t.loop));
		loop_set_wg_os(t.loop, &t.f.os);
	}
	blocker = tcp_listener(&port);
	snprintf(addr, sizeof(addr), "/ip4/%s/tcp/%u", ip, port);
	snprintf(t.ifname, sizeof(t.ifname), "w2wr0");
	assert_int_equal(w2w_config_new(&t.cfg), 0);
	snprintf(path, sizeof(path), "%s/state", dir);
	assert_int_equal(w2w_config_set_state_dir(t.cfg, path), 0);
	assert_int_equal(w2w_config_set_listen_addr(t.cfg, addr), 0);
	assert_int_equal(w2w_config_set_interface(t.cfg, t.ifname), 0);
	assert_int_equal(w2w_config_set_node_name(t.cfg, "retry"), 0);
	assert_int_equal(w2w_config_set_network_range(t.cfg, RANGE), 0);
	assert_int_equal(w2w_config_generate_secrets(t.cfg), 0);
	assert_int_equal(w2w_config_check(t.cfg), 0);
	assert_int_equal(w2w_node_new(&t.node, t.loop, t.cfg, on_event, &t), 0);
	fds1 = count_fds();
	for (int k = 0; k < 3; k++) {
		r = w2w_node_start(t.node);
		assert_true(r == -EADDRINUSE || r == -EADDRNOTAVAIL);
		/* nothing left behind: no fd, no watch, no timer */
		assert_int_equal(count_fds(), fds1);
		assert_int_equal(w2w_loop_get_watches(t.loop, NULL, 0), 0);
		assert_int_equal(w2w_loop_next_deadline(t.loop), -1);
		assert_int_equal(t.f.pending, 0);
		assert_int_equal(w2w_loop_process(t.loop, NULL, 0), 0);
		assert_int_equal(t.listening + t.stopped + t.errors, 0);
	}
	close(blocker);
	if (retry_ok) {
		/* the retried start runs the whole node: listening, a device */
		assert_int_equal(w2w_node_start(t.node), 0);
		end = w2w_now_us() + (uint64_t)WAIT_S * 1000000;
		for (unsigned round = 0; round < MAX_ROUNDS && w2w_now_us() < end; round++) {
			if (t.listening && t.address[0] && fake_wgos_link(&t.f, t.ifname))
				break;
			pump(ts, 1, 50);
		}
		assert_int_equal(t.listening, 1);
		assert_non_null(fake_wgos_link(&t.f, t.ifname));
		assert_int_equal(w2w_node_start(t.node), W2W_ESTATE); /* a node starts once */
		assert_int_equal(w2w_node_stop(t.node), 0);
		end = w2w_now_us() + (uint64_t)WAIT_S * 1000000;
		for (unsigned round = 0; round < MAX_ROUNDS && !t.stopped && w2w_now_us() < end; round++)
			pump(ts, 1, 50);
		assert_int_equal(t.stopped, 1);
	}
	assert_null(w2w_node_free(t.node));
	assert_int_equal(w2w_loop_get_watches(t.loop, NULL, 0), 0);
	assert_int_equal(t.f.pending, 0);
	if (fake_os)
		fake_wgos_clear(&t.f);
	assert_null(w2w_config_free(t.cfg));
	assert_null(w2w_loop_free(t.loop));
	assert_int_equal(count_fds(), fds0);
	rm_tree(dir);
}

/*
 * The public IPAM API (include/w2wesher/ipam.h) gives what the nodes choose
 * (issue 14): n1 pins n2's first candidate (a pinned claim is time 0, it
 * always wins), so n2, which claims that candidate at start, loses it and
 * moves; w2w_ipam_pick() on the claims n2 then holds names the address n2
 * moved to, w2w_ipam_winner() names n1 for the pinned one, and every node's
 * dynamic node's address is its pick given the others' claims as it sees them.
 */
static void test_ipam(void **state)
{
	struct world w;
	struct w2w_ipam_claims *c;
	char cand0[W2W_IP_TEXT_MAX], pick[W2W_IP_TEXT_MAX];
	uint64_t ms = 1;

	(void)state;
	memset(&w, 0, sizeof(w));
	pin_n1_on_n2 = true;
	world_start(&w);
	pin_n1_on_n2 = false;
	wait_for(&w, all_converged, "three nodes on each other's devices");
	assert_true(w2w_ipam_candidate(cand0, sizeof(cand0), RANGE, w.n[2].peer_id, 0) > 0);
	assert_string_equal(w.n[1].address, cand0);
	assert_string_not_equal(w.n[2].address, cand0);
	/* claimed cand0 at start, then moved: address-assigned for cand0 too unless
	 * the address gate (docs/mesh.md "Joining fast") learned n1's pinned claim
	 * before cand0 ever went on the interface */
	assert_true(w.n[2].addr_events >= 1);
	for (int i = 0; i < N; i += 2) { /* the dynamic ones: n1 is pinned, it does not pick */
		assert_int_equal(w2w_ipam_claims_new(&c), 0);
		for (int j = 0; j < N; j++)
			assert_int_equal(w2w_ipam_claims_add(c, w.n[j].peer_id, w.n[j].address, claim_ms(&w, i, j)), j);
		/* i's own claim is in the set: ignored by the pick */
		assert_int_equal(w2w_ipam_pick(pick, sizeof(pick), &ms, RANGE, w.n[i].peer_id, c, NULL, 0, 12345),
				 (int)strlen(w.n[i].address));
		assert_string_equal(pick, w.n[i].address);
		assert_int_equal(ms, 12345); /* a fresh claim is made "now" */
		assert_int_equal(w2w_ipam_winner(c, cand0), 1);
		assert_int_equal(w2w_ipam_winner(c, w.n[2].address), 2);
		/* held with its claim time: kept */
		assert_true(w2w_ipam_pick(pick, sizeof(pick), &ms, RANGE, w.n[i].peer_id, c, w.n[i].address,
					  claim_ms(&w, i, i), 12345) > 0);
		assert_string_equal(pick, w.n[i].address);
		assert_int_equal(ms, claim_ms(&w, i, i));
		assert_null(w2w_ipam_claims_free(c));
	}
	/* n2's view when it lost: n1's pin against its own claim on cand0 at its
	 * start; the pick is where n2 went */
	assert_int_equal(w2w_ipam_claims_new(&c), 0);
	assert_int_equal(w2w_ipam_claims_add(c, w.n[0].peer_id, w.n[0].address, claim_ms(&w, 2, 0)), 0);
	assert_int_equal(w2w_ipam_claims_add(c, w.n[1].peer_id, cand0, 0), 1);
	assert_true(w2w_ipam_pick(pick, sizeof(pick), &ms, RANGE, w.n[2].peer_id, c, cand0, claim_ms(&w, 2, 2),
				  claim_ms(&w, 2, 2)) > 0);
	assert_string_equal(pick, w.n[2].address);
	assert_null(w2w_ipam_claims_free(c));
	world_free(&w);
}

static void test_start_retry(void **state)
{
	(void)state;
	/* taken: another socket listens there; retried after it closes */
	start_retry_case("127.0.0.1", true, true);
	/* not ours (TEST-NET-1, RFC 5737); never works */
	start_retry_case("192.0.2.1", true, false);
	/* the real OS under WireGuard: a start that fails must not leave its
	 * netlink sockets either (it never gets to create an interface) */
	start_retry_case("127.0.0.1", false, false);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_start_retry),
		cmocka_unit_test(test_mesh),
		cmocka_unit_test(test_ipam),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
