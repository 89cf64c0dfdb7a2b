/* SPDX-License-Identifier: MIT */
/*
 * WireGuard sync (docs/wireguard.md): describe a desired device, sync it,
 * read the actual one — on the kernel (genetlink) or a userspace
 * implementation (wireguard-go, UAPI socket), through the event-loop contract.
 *
 *   struct w2w_wg *wg;
 *   w2w_wg_open(&wg, loop, "wg0", NULL);            // backend auto
 *   struct w2w_wg_config *c = w2w_wg_config_new();
 *   w2w_wg_config_set_private_key(c, priv);
 *   struct w2w_wg_peer *p;
 *   w2w_wg_config_add_peer(c, pub, &p);
 *   w2w_wg_peer_set_endpoint(p, "192.0.2.1:51820");
 *   w2w_wg_peer_add_allowed_ip(p, "10.7.0.2/32");
 *   w2w_wg_sync(wg, c, on_done, ud);                // or w2w_wg_sync_run(wg, c, 5000)
 *
 * A sync makes the device equal to the description with the fewest changes:
 * it reads the device, computes the difference (peers added, changed or
 * removed; allowed IPs replaced only when they changed; never a full replace,
 * which would drop every session) and sends only that. The same semantics as
 * `wg syncconf`. Interface addresses and MTU, when described, are applied
 * with rtnetlink (and the link brought up).
 *
 * Callbacks run inside w2w_loop_process(), never from inside the call that
 * started the operation. Operations on one handle run one at a time, in order.
 */
#ifndef W2WESHER_WG_H
#define W2WESHER_WG_H

#include <stddef.h>
#include <stdint.h>

#include <w2wesher/loop.h>

#ifdef __cplusplus
extern "C" {
#endif

#include <w2wesher/common.h>
#include <w2wesher/export.h>

#define W2W_WG_KEY_LEN 32

struct w2w_wg;        /* a WireGuard interface handle on a loop */
struct w2w_wg_config; /* a desired device */
struct w2w_wg_peer;   /* a peer inside a w2w_wg_config (owned by it) */
struct w2w_wg_device; /* a device as read back */

enum w2w_wg_backend {
	W2W_WG_BACKEND_AUTO = 0,      /* userspace if its UAPI socket exists, else kernel if the module is
				       * loaded, else userspace */
	W2W_WG_BACKEND_KERNEL = 1,    /* genetlink; w2w_wg_open fails with -EPROTONOSUPPORT without it */
	W2W_WG_BACKEND_USERSPACE = 2, /* UAPI socket of wireguard-go (or any xplatform implementation) */
};

#define W2W_WG_OPTS_VERSION 1

struct w2w_wg_opts {
	unsigned version; /* W2W_WG_OPTS_VERSION */
	int backend;      /* enum w2w_wg_backend */
	/* Sync creates a missing interface: the kernel `wireguard` link, or
	 * starts the userspace implementation (it outlives the handle). */
	int create;
	const char *wireguard_go; /* userspace implementation; NULL = "wireguard-go" in PATH */
	const char *uapi_dir;     /* NULL = /var/run/wireguard */
	/* Endpoint policy: keep an endpoint the device roamed to when the peer
	 * completed a handshake in the last keep_roamed_secs seconds (0 = always
	 * write the described endpoint). */
	unsigned keep_roamed_secs;
	int keep_unlisted_peers; /* 1: never remove peers the description does not list */
	/* Log sink (level: 3 error, 4 warning, 6 info, 7 debug); never gets secrets. */
	void (*log)(void *ud, int level, const char *msg);
	void *log_ud;
	int log_level; /* 0 = 6 (info) */
	/* 1: keep the device as last read plus the sets applied since, and diff
	 * the next sync against it without reading the device again (a one-peer
	 * change then costs one small set, whatever the peer count). Only for a
	 * handle that is the device's only writer; handshake times for the
	 * endpoint policy are those of the last read. A failed operation drops
	 * the cache; w2w_wg_read() refreshes it. */
	int cache_device;
};

/* opts NULL = defaults (auto backend, no create). -EPROTONOSUPPORT when the
 * kernel backend was asked for and is missing; -EINVAL bad name/opts. The
 * interface need not exist yet. */
W2W_EXPORT int w2w_wg_open(struct w2w_wg **out, struct w2w_loop *loop, const char *ifname,
			   const struct w2w_wg_opts *opts);
/* Drops pending operations without callbacks. Never deletes the interface and
 * never stops a userspace implementation. NULL is fine. */
W2W_EXPORT void w2w_wg_close(struct w2w_wg *wg);
/* "kernel" or "userspace". */
W2W_EXPORT const char *w2w_wg_backend_name(const struct w2w_wg *wg);
W2W_EXPORT const char *w2w_wg_ifname(const struct w2w_wg *wg);
/* PID of the userspace implementation this handle started, or -1. */
W2W_EXPORT int w2w_wg_userspace_pid(const struct w2w_wg *wg);
/* Lists the WireGuard interfaces this handle's backend sees: a NUL-separated
 * list ending with an empty string, malloc'd (free()). Synchronous for the
 * userspace backend (a directory listing); -EOPNOTSUPP for the kernel one. */
W2W_EXPORT int w2w_wg_list(struct w2w_wg *wg, char **out);

typedef void (*w2w_wg_done_fn)(void *ud, int err);
/* dev is the caller's (w2w_wg_device_free) and NULL when err < 0. */
typedef void (*w2w_wg_read_fn)(void *ud, int err, struct w2w_wg_device *dev);

/* Queues a sync to cfg (copied: cfg may be freed right after). */
W2W_EXPORT int w2w_wg_sync(struct w2w_wg *wg, const struct w2w_wg_config *cfg, w2w_wg_done_fn cb, void *ud);
/* Queues a read of the actual device. */
W2W_EXPORT int w2w_wg_read(struct w2w_wg *wg, w2w_wg_read_fn cb, void *ud);

/* Synchronous conveniences for tools: run the loop (w2w_loop_run) until done
 * or timeout_ms (W2W_ETIMEDOUT; the operation is then dropped). Not for use
 * from inside a loop callback. */
W2W_EXPORT int w2w_wg_sync_run(struct w2w_wg *wg, const struct w2w_wg_config *cfg, int timeout_ms);
W2W_EXPORT int w2w_wg_read_run(struct w2w_wg *wg, struct w2w_wg_device **out, int timeout_ms);

/* What the last completed sync did. */
struct w2w_wg_sync_stats {
	size_t added, removed, updated, unchanged;
	size_t endpoints_kept; /* roamed endpoints the policy kept */
	int device_changed;    /* private key, port or fwmark were written */
	int applied;           /* a set was sent (0: the device already matched) */
	/* control traffic of the backend since open (netlink messages or UAPI requests/responses) */
	uint64_t msgs_sent, msgs_recv, bytes_sent, bytes_recv;
};
W2W_EXPORT void w2w_wg_last_sync_stats(const struct w2w_wg *wg, struct w2w_wg_sync_stats *out);

/* --- Desired device ---------------------------------------------------- */

W2W_EXPORT struct w2w_wg_config *w2w_wg_config_new(void);
/* Wipes the keys it holds. NULL is fine. */
W2W_EXPORT void w2w_wg_config_free(struct w2w_wg_config *cfg);
/*
 * Parses the `wg setconf` file format ([Interface] PrivateKey, ListenPort,
 * FwMark; [Peer] PublicKey, PresharedKey, AllowedIPs, Endpoint (numeric),
 * PersistentKeepalive). On error W2W_EPARSE/W2W_ELIMIT and "line N: why" in
 * err (err may be NULL).
 */
W2W_EXPORT int w2w_wg_config_parse(struct w2w_wg_config **out, const char *text, size_t len, char *err,
				   size_t errcap);

W2W_EXPORT int w2w_wg_config_set_private_key(struct w2w_wg_config *cfg, const uint8_t key[W2W_WG_KEY_LEN]);
/* 0 = any port (never changes the port of a running device). */
W2W_EXPORT int w2w_wg_config_set_listen_port(struct w2w_wg_config *cfg, uint16_t port);
W2W_EXPORT int w2w_wg_config_set_fwmark(struct w2w_wg_config *cfg, uint32_t fwmark);
/* Link MTU (68..65535); applied by sync, which then also brings the link up. */
W2W_EXPORT int w2w_wg_config_set_mtu(struct w2w_wg_config *cfg, unsigned mtu);
/* Interface address "10.7.0.1/16" or "fd00::1/64". When any is given, sync
 * makes them the link's global addresses (others removed, link-local kept)
 * and brings the link up. */
W2W_EXPORT int w2w_wg_config_add_address(struct w2w_wg_config *cfg, const char *cidr);

/* Adds a peer; *out (may be NULL) stays valid until the config is freed.
 * Not checked here (O(1) per add): the same key twice makes a sync fail
 * with -EINVAL; use w2w_wg_config_find_peer() to update an existing one. */
W2W_EXPORT int w2w_wg_config_add_peer(struct w2w_wg_config *cfg, const uint8_t public_key[W2W_WG_KEY_LEN],
				      struct w2w_wg_peer **out);
/* Looks a peer up by key (NULL when absent). */
W2W_EXPORT struct w2w_wg_peer *w2w_wg_config_find_peer(struct w2w_wg_config *cfg,
						       const uint8_t public_key[W2W_WG_KEY_LEN]);
W2W_EXPORT int w2w_wg_peer_set_preshared_key(struct w2w_wg_peer *peer, const uint8_t psk[W2W_WG_KEY_LEN]);
/* "192.0.2.1:51820" or "[2001:db8::1]:51820" (numeric). W2W_EPARSE otherwise. */
W2W_EXPORT int w2w_wg_peer_set_endpoint(struct w2w_wg_peer *peer, const char *endpoint);
W2W_EXPORT int w2w_wg_peer_set_keepalive(struct w2w_wg_peer *peer, uint16_t seconds);
/* "10.7.0.2/32", "fd00::/64". W2W_EPARSE otherwise. */
W2W_EXPORT int w2w_wg_peer_add_allowed_ip(struct w2w_wg_peer *peer, const char *cidr);

/* --- Actual device ----------------------------------------------------- */

struct w2w_wg_peer_info {
	uint8_t public_key[W2W_WG_KEY_LEN];
	int has_preshared_key;
	char endpoint[72]; /* "" when none */
	uint16_t persistent_keepalive;
	int64_t last_handshake_sec; /* wall clock (CLOCK_REALTIME); 0 = never */
	int64_t last_handshake_nsec;
	uint64_t rx_bytes, tx_bytes;
	size_t n_allowed_ips;
};

/* Wipes the keys it holds. NULL is fine. */
W2W_EXPORT void w2w_wg_device_free(struct w2w_wg_device *dev);
W2W_EXPORT const char *w2w_wg_device_name(const struct w2w_wg_device *dev);
/* -ENOENT when the device has no private key. */
W2W_EXPORT int w2w_wg_device_public_key(const struct w2w_wg_device *dev, uint8_t out[W2W_WG_KEY_LEN]);
W2W_EXPORT int w2w_wg_device_private_key(const struct w2w_wg_device *dev, uint8_t out[W2W_WG_KEY_LEN]);
W2W_EXPORT uint16_t w2w_wg_device_listen_port(const struct w2w_wg_device *dev);
W2W_EXPORT uint32_t w2w_wg_device_fwmark(const struct w2w_wg_device *dev);
/* Peers in the backend's order. */
W2W_EXPORT size_t w2w_wg_device_peer_count(const struct w2w_wg_device *dev);
/* -ERANGE past the end. */
W2W_EXPORT int w2w_wg_device_peer(const struct w2w_wg_device *dev, size_t i, struct w2w_wg_peer_info *out);
/* Allowed IP j of peer i as text into out; returns its length, -ERANGE, -ENOSPC. */
W2W_EXPORT int w2w_wg_device_allowed_ip(const struct w2w_wg_device *dev, size_t i, size_t j, char *out,
					size_t cap);
/* The device in `wg showconf` text (the private key included: wipe with
 * w2w_wipe and free() it). */
W2W_EXPORT int w2w_wg_device_showconf(const struct w2w_wg_device *dev, char **out, size_t *len);

#ifdef __cplusplus
}
#endif
#endif
