/* SPDX-License-Identifier: MIT */
/*
 * Diff engine: desired WireGuard device vs actual device -> the minimal update
 * (a wgdevice used as a set request). Never WGDEVICE_REPLACE_PEERS: a full
 * replace drops every session. Only what differs is sent:
 *  - private key / listen port / fwmark only when the desired device sets
 *    them and they differ (desired ListenPort 0 = "any port": never changes a
 *    running port);
 *  - peers only in desired: added (key, PSK, endpoint, keepalive, allowed IPs);
 *  - peers only in actual: WGPEER_REMOVE_ME (unless keep_unlisted);
 *  - peers in both: an entry only if something differs, carrying just the
 *    changed fields; allowed IPs (compared as sets, host bits ignored) are sent
 *    with WGPEER_REPLACE_ALLOWEDIPS only when the set changed.
 * Desired peers describe the whole peer: no PresharedKey = no PSK, no
 * keepalive = 0. A desired peer without an endpoint never touches the actual
 * one (WireGuard cannot clear an endpoint).
 *
 * Re-create: a desired peer with WGDIFF_PEER_RECREATE whose actual copy has
 * neither an endpoint nor a handshake yet is removed and added anew in the
 * same update (a WGPEER_REMOVE_ME entry, then the full peer: both the kernel
 * and wireguard-go process peers in order, and a peer removed is looked up
 * anew). That resets WireGuard's handshake state, in particular the 5 s rate
 * limit a handshake attempted without an endpoint left behind (and drops the
 * packets it staged). An actual peer with an endpoint or a handshake is
 * updated as usual: once re-created with its endpoint it is not again.
 *
 * Endpoint policy: WireGuard roams a peer's endpoint to the source of its last
 * authenticated packet. When the desired endpoint differs from the actual one,
 * the policy decides whether to overwrite it: the hook (if any) decides;
 * otherwise with keep_roamed_secs > 0 the actual endpoint is kept when the
 * peer's last handshake is at most keep_roamed_secs old at now_sec (wall
 * clock, an input: this layer reads no clock); otherwise it is overwritten.
 *
 * Sans-IO and deterministic: output peers are ordered removals first, then
 * by public key (a re-created peer's removal right before its addition).
 */
#ifndef W2W_WG_WGDIFF_H
#define W2W_WG_WGDIFF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wgdev.h"

/* A flag of desired peers only (never sent to a backend): see "Re-create". */
#define WGDIFF_PEER_RECREATE (1U << 30)
/* A desired peer that is a removal: remove the key if the device has it,
 * even with keep_unlisted (a rotated-out key, docs/mesh.md "Key rotation"). */
#define WGDIFF_PEER_REMOVE (1U << 29)
/* A flag of desired peers only: write the desired endpoint even over a
 * roamed one (a NAT punch towards a peer's new public endpoint, docs/nat.md);
 * a peer that never had a handshake is re-created (its rate limit of
 * initiations reset, as with WGDIFF_PEER_RECREATE). */
#define WGDIFF_PEER_FORCE_ENDPOINT (1U << 28)

/* true: keep the actual (roamed) endpoint; false: write the desired one. */
typedef bool (*wgdiff_endpoint_fn)(void *ud, const struct wgpeer *desired, const struct wgpeer *actual,
				   int64_t now_sec);

struct wgdiff_opts {
	int64_t now_sec;           /* CLOCK_REALTIME seconds (handshake times are wall clock) */
	unsigned keep_roamed_secs; /* 0 = always write the desired endpoint (unless hook) */
	wgdiff_endpoint_fn keep_endpoint; /* optional, overrides keep_roamed_secs */
	void *ud;
	bool keep_unlisted; /* true: never remove peers missing from desired */
};

struct wgdiff_stats {
	size_t added, removed, updated, unchanged;
	size_t recreated;       /* of the updated: removed and added anew (WGDIFF_PEER_RECREATE) */
	size_t endpoints_kept;  /* roamed endpoints the policy kept */
	size_t allowedips_replaced;
	bool device_changed;    /* private key, port or fwmark */
};

/*
 * *out: the update (name from desired, else actual; caller frees). It is
 * "empty" (wgdiff_is_empty) when nothing differs. opts and st may be NULL.
 * 0, -ENOMEM, -EINVAL (a peer without HAS_PUBLIC_KEY, duplicate keys in
 * desired, an invalid allowed IP).
 */
int wgdiff(const struct wgdevice *desired, const struct wgdevice *actual, const struct wgdiff_opts *opts,
	   struct wgdevice **out, struct wgdiff_stats *st);

bool wgdiff_is_empty(const struct wgdevice *update);

/*
 * Applies a set request to a device the way the kernel and wireguard-go do
 * (WG_CMD_SET_DEVICE semantics: REPLACE_PEERS, REMOVE_ME, UPDATE_ONLY,
 * REPLACE_ALLOWEDIPS, an allowed IP moving to the peer that claims it last).
 * A model for tests and simulations. 0 or -ENOMEM (dev then partly updated).
 */
int wgdiff_apply(struct wgdevice *dev, const struct wgdevice *update);

#endif
