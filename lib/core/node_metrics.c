/* SPDX-License-Identifier: MIT */
/*
 * The node's metrics, as snapshot getters (include/w2wesher/node.h,
 * docs/operations.md "Metrics"). One table: name, help, kind; the values are
 * copied into the snapshot by node_metrics_collect(), so a host reads a
 * consistent set and may format it at leisure. Names follow the Prometheus
 * naming conventions (https://prometheus.io/docs/practices/naming/): a
 * `w2wesher_` prefix, base units, `_total` on counters. New metrics are
 * appended; a host iterates until the name getter returns NULL.
 */
#include <string.h>

#include "gossipsub.h"
#include "node_internal.h"
#include "p2phost.h"

enum {
	M_PEERS, M_PEERS_CONNECTED, M_CONNECTIONS,
	M_PEERS_UP, M_PEERS_EXPIRED, M_PEERS_LEFT, M_PEERS_UNREACHABLE,
	M_ANN_IN, M_ANN_OUT, M_ANN_OUT_ERR,
	M_RECONCILE, M_RECONCILE_ERR,
	M_STATE_WRITES, M_STATE_WRITE_ERR,
	M_GS_RPC_IN, M_GS_RPC_OUT, M_GS_BYTES_IN, M_GS_BYTES_OUT,
	M_GS_MSGS_IN, M_GS_DELIVERED, M_GS_DUPLICATES, M_GS_FORWARDED, M_GS_PUBLISHED, M_GS_DROPPED,
	M_GS_PEERS_DROPPED, M_GS_IHAVE_IN, M_GS_IWANT_IN, M_GS_GRAFT_IN, M_GS_PRUNE_IN,
	M__COUNT
};

_Static_assert(M__COUNT <= NODE_METRICS_MAX, "NODE_METRICS_MAX too small");

static const struct {
	const char *name, *help;
	int counter;
} metrics[M__COUNT] = {
	[M_PEERS] = {"w2wesher_peers", "Nodes in the peer table (live, not expired)", 0},
	[M_PEERS_CONNECTED] = {"w2wesher_peers_connected", "Peers with a libp2p connection up", 0},
	[M_CONNECTIONS] = {"w2wesher_libp2p_connections", "Open libp2p connections", 0},
	[M_PEERS_UP] = {"w2wesher_peers_up_total", "Nodes that appeared in the peer table", 1},
	[M_PEERS_EXPIRED] = {"w2wesher_peers_expired_total", "Peers removed after PeerExpiry without news", 1},
	[M_PEERS_LEFT] = {"w2wesher_peers_left_total", "Peers removed because they announced their leave", 1},
	[M_PEERS_UNREACHABLE] = {"w2wesher_peers_unreachable_total",
	                         "Peers removed because the mesh reported them unreachable", 1},
	[M_ANN_IN] = {"w2wesher_announcements_received_total", "Announcements received on the mesh topic", 1},
	[M_ANN_OUT] = {"w2wesher_announcements_sent_total", "Announcements published", 1},
	[M_ANN_OUT_ERR] = {"w2wesher_announcement_send_errors_total", "Announcements that could not be published", 1},
	[M_RECONCILE] = {"w2wesher_reconcile_runs_total", "WireGuard reconcile runs (device made to match the table)", 1},
	[M_RECONCILE_ERR] = {"w2wesher_reconcile_errors_total", "WireGuard reconcile runs that failed", 1},
	[M_STATE_WRITES] = {"w2wesher_state_writes_total", "State file writes (atomic replace)", 1},
	[M_STATE_WRITE_ERR] = {"w2wesher_state_write_errors_total", "State file writes that failed", 1},
	[M_GS_RPC_IN] = {"w2wesher_gossipsub_rpcs_received_total", "Gossipsub RPCs received", 1},
	[M_GS_RPC_OUT] = {"w2wesher_gossipsub_rpcs_sent_total", "Gossipsub RPCs sent", 1},
	[M_GS_BYTES_IN] = {"w2wesher_gossipsub_received_bytes_total", "Gossipsub bytes received", 1},
	[M_GS_BYTES_OUT] = {"w2wesher_gossipsub_sent_bytes_total", "Gossipsub bytes sent", 1},
	[M_GS_MSGS_IN] = {"w2wesher_gossipsub_messages_received_total", "Gossipsub messages received", 1},
	[M_GS_DELIVERED] = {"w2wesher_gossipsub_messages_delivered_total", "Gossipsub messages delivered locally", 1},
	[M_GS_DUPLICATES] = {"w2wesher_gossipsub_messages_duplicate_total", "Gossipsub messages seen before", 1},
	[M_GS_FORWARDED] = {"w2wesher_gossipsub_messages_forwarded_total", "Gossipsub messages forwarded", 1},
	[M_GS_PUBLISHED] = {"w2wesher_gossipsub_messages_published_total", "Gossipsub messages published", 1},
	[M_GS_DROPPED] = {"w2wesher_gossipsub_messages_dropped_total",
	                  "Gossipsub messages dropped (unsigned, bad signature, wrong author, too large, queue full)", 1},
	[M_GS_PEERS_DROPPED] = {"w2wesher_gossipsub_peers_dropped_total", "Gossipsub peers dropped for misbehaviour", 1},
	[M_GS_IHAVE_IN] = {"w2wesher_gossipsub_ihave_received_total", "Gossipsub IHAVE control messages received", 1},
	[M_GS_IWANT_IN] = {"w2wesher_gossipsub_iwant_received_total", "Gossipsub IWANT control messages received", 1},
	[M_GS_GRAFT_IN] = {"w2wesher_gossipsub_graft_received_total", "Gossipsub GRAFT control messages received", 1},
	[M_GS_PRUNE_IN] = {"w2wesher_gossipsub_prune_received_total", "Gossipsub PRUNE control messages received", 1},
};

void node_metrics_collect(struct w2w_node *n, uint64_t *v)
{
	struct gs_stats gs;

	memset(&gs, 0, sizeof(gs));
	if (n->p2p)
		p2ph_gs_stats(n->p2p, &gs);
	v[M_PEERS] = pt_count(mn_table(n->mesh));
	v[M_PEERS_CONNECTED] = mn_connected_count(n->mesh);
	v[M_CONNECTIONS] = n->p2p ? w2w_p2p_connection_count(n->p2p) : 0;
	v[M_PEERS_UP] = n->cnt.peers_up;
	v[M_PEERS_EXPIRED] = n->cnt.peers_expired;
	v[M_PEERS_LEFT] = n->cnt.peers_left;
	v[M_PEERS_UNREACHABLE] = n->cnt.peers_unreachable;
	v[M_ANN_IN] = n->cnt.ann_in;
	v[M_ANN_OUT] = n->cnt.ann_out;
	v[M_ANN_OUT_ERR] = n->cnt.ann_out_errors;
	v[M_RECONCILE] = n->cnt.reconcile_runs;
	v[M_RECONCILE_ERR] = n->cnt.reconcile_errors;
	v[M_STATE_WRITES] = n->cnt.state_writes;
	v[M_STATE_WRITE_ERR] = n->cnt.state_write_errors;
	v[M_GS_RPC_IN] = gs.rpc_in;
	v[M_GS_RPC_OUT] = gs.rpc_out;
	v[M_GS_BYTES_IN] = gs.bytes_in;
	v[M_GS_BYTES_OUT] = gs.bytes_out;
	v[M_GS_MSGS_IN] = gs.msgs_in;
	v[M_GS_DELIVERED] = gs.delivered;
	v[M_GS_DUPLICATES] = gs.duplicates;
	v[M_GS_FORWARDED] = gs.forwarded;
	v[M_GS_PUBLISHED] = gs.published;
	v[M_GS_DROPPED] = gs.drop_unsigned + gs.drop_bad_sig + gs.drop_author + gs.drop_too_large +
	                  gs.drop_queue_full;
	v[M_GS_PEERS_DROPPED] = gs.peers_dropped;
	v[M_GS_IHAVE_IN] = gs.ihave_in;
	v[M_GS_IWANT_IN] = gs.iwant_in;
	v[M_GS_GRAFT_IN] = gs.graft_in;
	v[M_GS_PRUNE_IN] = gs.prune_in;
}

const char *w2w_snapshot_metric_name(const struct w2w_snapshot *s, size_t i)
{
	return s && i < M__COUNT ? metrics[i].name : NULL;
}

const char *w2w_snapshot_metric_help(const struct w2w_snapshot *s, size_t i)
{
	return s && i < M__COUNT ? metrics[i].help : NULL;
}

int w2w_snapshot_metric_is_counter(const struct w2w_snapshot *s, size_t i)
{
	return s && i < M__COUNT ? metrics[i].counter : 0;
}

uint64_t w2w_snapshot_metric_value(const struct w2w_snapshot *s, size_t i)
{
	return s && i < M__COUNT ? node_snapshot_metrics(s)[i] : 0;
}
