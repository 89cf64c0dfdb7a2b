/* SPDX-License-Identifier: MIT */
/*
 * Upgrade of a relayed pair to a direct path (docs/nat.md "Upgrade"),
 * sans-IO: when to probe, when to answer the peer's probe, when the pair is
 * direct, and how long the direct endpoint is defended against late relayed
 * packets. The engine (meshnode.c) keeps one upg_pair per peer and carries
 * out the probes (mn_ops.wg_probe); the glue watches the device after each.
 *
 *  - Only a relayed pair of two members behind cone NATs, each with a
 *    learned public WireGuard endpoint (`wep`): a symmetric NAT (ANN_F_SYMNAT,
 *    or our own detection) maps per destination, so no probe can open it.
 *  - A probe is one device operation, not a state: the peer's endpoint set to
 *    its `wep` with a keepalive kicked, then set back to the relay at once.
 *    Only what is sent in that window (the keepalive, and data by chance)
 *    takes the direct path. The keepalive opens our NAT towards the peer.
 *  - The lower key opens a round UPG_FIRST_US after the relay carries the
 *    pair, then every period (backing off after failed rounds); it announces
 *    the probe (`up`: key prefix, counter n, hop h). The peer answers a new
 *    counter with its own probe (h + 1), which now passes our NAT: WireGuard
 *    roams us to its direct address. Answers alternate up to UPG_ROUND_HOPS
 *    probes per round (each one can tip the pair to direct).
 *  - Direct when the device shows the peer at its `wep` while relayed (it
 *    roamed on an authenticated direct packet): stop asking for the relay and
 *    keep the direct endpoint, forcing it back for UPG_SETTLE_US whenever a
 *    relayed packet still in flight roamed us back.
 */
#ifndef W2W_MESH_UPGRADE_H
#define W2W_MESH_UPGRADE_H

#include <stdbool.h>
#include <stdint.h>

#include "announce.h"

#define UPG_FIRST_US (3ull * 1000 * 1000)   /* first round after the relay carries the pair */
#define UPG_PERIOD_US (20ull * 1000 * 1000) /* between rounds */
#define UPG_FAST_ROUNDS 3                   /* rounds at UPG_PERIOD_US before backing off */
#define UPG_PERIOD_MAX_US (600ull * 1000 * 1000) /* backoff cap: 10 min */
#define UPG_ROUND_HOPS 6                    /* probes per round: lower, higher, lower, ... */
#define UPG_SETTLE_US (10ull * 1000 * 1000) /* direct endpoint defended this long */
#define UPG_ANNOUNCE_US (60ull * 1000 * 1000) /* a probe stays in `up` this long */
/* Answers to one peer: at most a round's worth (UPG_ROUND_HOPS / 2) per
 * UPG_ANSWER_WINDOW_US, whatever its announcements say: a member announcing
 * a new counter in every announcement (and someone else's address as its
 * endpoint) cannot make us send more. */
#define UPG_ANSWER_WINDOW_US (10ull * 1000 * 1000)

struct upg_pair {
	uint64_t relayed_at; /* the relay carries the pair since (0: not relayed) */
	uint64_t next_us;    /* our next round (lower key only; 0: not scheduled) */
	uint32_t rounds;     /* rounds opened since relayed */
	uint32_t n;          /* our probes to the peer (announced counter, never reset) */
	uint8_t h;           /* hop of our last probe */
	uint64_t probed_at;  /* our last probe (0: none) */
	bool seen_n;         /* answered_n holds the peer's counter */
	uint32_t answered_n;
	uint64_t answer_window_at; /* the answers' rate limit (UPG_ANSWER_WINDOW_US) */
	uint8_t answers;
	bool relay_seen;     /* the device showed the relay's endpoint since relayed */
	bool direct;         /* upgraded: keep the direct endpoint */
	uint64_t direct_at;
};

/* Can the pair go direct at all? relayed: a relay carries it now. */
bool upg_eligible(bool relayed, bool self_nat, bool self_has_wep, bool self_symmetric, const struct announce *peer);

/* The relay starts carrying the pair at now (keeps the counters). */
void upg_relayed(struct upg_pair *u, uint64_t now);

/* The period before round r + 1 (r >= 1 rounds done). */
uint64_t upg_period(uint32_t rounds);

/* Lower key: is a round due at now? Schedules the next one if so. *wait_us:
 * until the next one (for the caller's timer). */
bool upg_round_due(struct upg_pair *u, const uint8_t *self_pub, const uint8_t *peer_pub, uint64_t now,
		   uint64_t *wait_us);

/* We probe (hop h) at now: the counter to announce. */
uint32_t upg_probed(struct upg_pair *u, uint8_t h, uint64_t now);

/* The peer's probe entry p about us at now: answer it with a probe of hop
 * h + 1? Records its counter; eligible: upg_eligible now. */
bool upg_should_answer(struct upg_pair *u, const struct ann_probe *p, bool eligible, uint64_t now);

/* Should our announcement carry our last probe to the peer at now? */
bool upg_announce(const struct upg_pair *u, uint64_t now);

/* The device shows the peer at dev_ep while relayed through relay_ep; its
 * public endpoint is wep: true when the pair just went direct (u->direct
 * set). Only after the device showed relay_ep once: before, wep may be what
 * the failed punch wrote, not a roam. */
bool upg_on_device(struct upg_pair *u, const struct ann_endpoint *wep, const struct ann_endpoint *relay_ep,
		   const struct ann_endpoint *dev_ep, uint64_t now);

/* Direct and settling: must the direct endpoint be written again over dev_ep? */
bool upg_reforce(const struct upg_pair *u, const struct ann_endpoint *wep, const struct ann_endpoint *dev_ep,
		 uint64_t now);

/* Direct, settled, and nothing from the peer (its rx bytes last grew at
 * rx_at_us, 0: never) for UPG_DEAD_INTERVALS times the longest a live peer
 * stays silent: its persistent keepalive (keepalive_s), or WireGuard's passive
 * keepalive (10 s after data it received without answering). The direct path
 * died: ask for the relay again. */
#define UPG_DEAD_INTERVALS 2
#define UPG_DEAD_SLACK_US (2ull * 1000 * 1000) /* device reads, timers */
bool upg_dead(const struct upg_pair *u, uint64_t rx_at_us, unsigned keepalive_s, uint64_t now);

/* Within UPG_SETTLE_US of the upgrade. */
bool upg_settling(const struct upg_pair *u, uint64_t now);

#endif
