/* SPDX-License-Identifier: MIT */
/*
 * The mesh node's glue object (include/w2wesher/node.h), shared by node.c
 * (life cycle, events, libp2p events), node_ops.c (the engine's ops) and the
 * other node_*.c files. Every decision
 * is the engine's (lib/mesh/meshnode.h); this struct holds only what talks to
 * the outside: the loop, the p2p host, the WireGuard sync and the state file.
 */
#ifndef W2W_CORE_NODE_INTERNAL_H
#define W2W_CORE_NODE_INTERNAL_H

#include "announce.h"
#include "config.h"
#include "ident.h"
#include "log.h"
#include "meshnode.h"
#include "multiaddr.h"
#include "node_mdns.h"
#include "peerid.h"
#include "reactor.h"
#include "wgkey.h"
#include "wgsync.h"
#include "w2wesher/node.h"
#include "w2wesher/p2p.h"

#define NODE_ADMQ_MAX 64
#define NODE_UPW_MAX 8                   /* watched probes at once (node_upgrade.c) */
#define NODE_UPW_US (2500ull * 1000)     /* watch after a probe this long... */
#define NODE_UPW_STEP_US (15ull * 1000)  /* ...reading the device this often, */
#define NODE_UPW_FAST_US (1000ull * 1000) /* and during the first second (the peer's answer) */
#define NODE_UPW_FAST_STEP_US (4ull * 1000) /* this often */
/* A refused peer's connections are closed right after the handshake for this
 * long (docs/mesh.md "Admission"): a redial loop costs a handshake, and a
 * node admitted meanwhile (a new token) gets in soon after. */
#define NODE_DENY_US (5ull * 1000 * 1000)

enum node_state { NS_NEW, NS_RUNNING, NS_LEAVING, NS_STOPPING, NS_STOPPED };

/* Since w2w_node_new(); read through snapshots (node_metrics.c). */
struct node_counters {
	uint64_t ann_in, ann_out, ann_out_errors;
	uint64_t reconcile_runs, reconcile_errors;
	uint64_t state_writes, state_write_errors;
	uint64_t peers_up, peers_expired, peers_left, peers_unreachable;
};

/* The opaque public event (getters in node_snapshot.c). */
struct w2w_node_event {
	enum w2w_node_event_type type;
	const char *peer_id, *name, *address, *message;
	int err;
};

struct w2w_node {
	struct w2w_loop *loop;
	bool wg_lost; /* the interface was found gone; logged once until an apply succeeds */
	struct reactor *r;
	w2w_node_event_fn fn;
	void *ud;
	w2w_log_fn log_fn;
	void *log_ud;
	int in_cb;
	enum node_state state;
	struct wlog log;

	/* configuration (copied) */
	struct ident *id;
	char peer_id[PEERID_STR_MAX];
	uint8_t *psk;     /* secure memory, 64 bytes: the PSK, then the next PSK (w2w_node_set_psk) */
	bool has_next_psk;
	bool pair_psk;    /* [Node] PairPSK */
	uint8_t *wg_priv; /* secure memory, 32 bytes */
	uint8_t wg_pub[32];
	char wg_pub_b64[WG_KEY_B64_LEN + 1];
	char ifname[16];
	char name[ANN_NAME_MAX + 1];
	char listen_addr[MA_MAX_TEXT];
	char state_path[CFG_PATH_MAX + 16];
	char state_dir[CFG_PATH_MAX];
	unsigned mtu;
	enum w2w_backend backend;
	uint16_t listen_tcp;
	bool mdns_on; /* [P2P] MDNS and its keys */
	char mdns_ifaces[CFG_MAX_MDNS_IFACES][16];
	size_t n_mdns_ifaces;
	uint64_t mdns_interval_us;
	struct cfg_prefix range;

	struct mesh_node *mesh; /* every decision */
	struct w2w_p2p *p2p;
	struct wgsync *wg;
	struct nmdns *mdns; /* LAN discovery, while running with MDNS on */

	struct rtimer t_mesh, t_refresh, t_leave, t_stopped;

	struct node_counters cnt; /* metrics (node_metrics.c) */
	/* admission (admission.c): our token, and the engine's admit decisions
	 * carried out from the loop (a hang-up raises events the engine must not
	 * see from inside its own op) */
	uint8_t adm_tok[256];
	size_t adm_tok_len;
	struct {
		struct peerid id;
		bool ok;
	} admq[NODE_ADMQ_MAX];
	size_t n_admq;
	struct rtimer t_adm;
	/* WireGuard key rotation (node_keys.c, docs/mesh.md "Key rotation") */
	uint8_t *wg_next;         /* secure memory, 32 bytes: the announced next key */
	uint8_t wg_base_pub[32];  /* public key of the configured PrivateKey */
	char key_path[CFG_PATH_MAX + 16]; /* StateDir/wgkey; "" without a StateDir */
	bool has_resume;          /* the key file holds a next key: resume at start */
	uint8_t resume_pub[32];
	/* upgrade of relayed pairs (node_upgrade.c, docs/nat.md "Upgrade"): the
	 * peers whose device endpoint is watched after a probe */
	struct node_upw {
		uint8_t key[32];
		union wgendpoint ep; /* the probed direct endpoint */
		uint64_t until_us;   /* 0: free */
		uint64_t since_us;   /* the probe */
	} upw[NODE_UPW_MAX];
	struct rtimer t_upw;
	bool upw_reading;
	uint64_t relay_rate; /* [P2P] RelayRate (node_relay.c) */
};

/* node_upgrade.c: the engine's probe op and the device watch after it. */
int node_op_wg_probe(void *ud, const uint8_t *wg_pub, const struct ann_endpoint *direct,
		     const struct ann_endpoint *back);
void node_upgrade_init(struct w2w_node *n);

/* node.c: events, the engine's timer. */
#define NODE_TOPIC "w2w:announces"
#define NODE_REFRESH_US (5 * 1000 * 1000) /* WireGuard statistics for snapshots */
void node_emit(struct w2w_node *n, enum w2w_node_event_type type, const char *peer_id, const char *name,
	       const char *address, const char *message, int err);
void node_id_str(const struct peerid *id, char *out, size_t cap);
void node_mesh_rearm(struct w2w_node *n);

/* node_ops.c: the engine's ops, the WireGuard sync's completion and refresh. */
extern const struct mn_ops node_mesh_ops;
void node_op_dial(void *ud, const uint8_t *ma, size_t len); /* also mDNS's dial */
void node_on_wg_done(void *ud, const struct wgsync_result *res);
void node_on_wg_lost(void *ud);
void node_on_refresh(void *ud, uint64_t now);

/* admission.c */
void node_op_admit(void *ud, const struct peerid *peer, bool ok);
void node_save_revocations(void *ud, const uint8_t *p, size_t len);
void node_admission_init(struct w2w_node *n);
void node_admission_start(struct w2w_node *n);
int node_admission_token(struct w2w_node *n, const char *text);

/* node_state.c: the state file. Load merges it into the engine's state at
 * start; save is the engine's save op. */
void node_load_state(struct w2w_node *n);
void node_save_state(void *ud, const struct nodestate *st);
/* node_keys.c: the key file. Load (at node creation) may replace wg_priv,
 * wg_pub and set has_resume; prepare and commit are the engine's ops. */
void node_keys_load(struct w2w_node *n);
int node_keys_prepare(void *ud, uint8_t next_pub[32]);
int node_keys_commit(void *ud);

/* node_metrics.c: fills the snapshot's metric values (NODE_METRICS_MAX). */
#define NODE_METRICS_MAX 40
struct w2w_snapshot;
void node_metrics_collect(struct w2w_node *n, uint64_t *values);
const uint64_t *node_snapshot_metrics(const struct w2w_snapshot *s);

#endif
