/* SPDX-License-Identifier: MIT */
/*
 * WireGuard sync (docs/wireguard.md): describe a desired device, sync it,
 * read the actual one — on the kernel (genetlink) or a userspace
 * implementation (wireguard-go, UAPI socket), through the event-loop contract.
 *
 *   struct w2w_wg *wg;
 *   w2w_wg_new(&wg, loop, "wg0", NULL);             // backend auto
 *   struct w2w_wg_config *c;
 *   w2w_wg_config_new(&c);
 *   w2w_wg_config_set_private_key(c, "yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=");
 *   struct w2w_wg_peer *p;
 *   w2w_wg_config_add_peer(c, "xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=", &p);
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
 * One engine does this for both this API and w2wesher's node
 * (docs/wireguard.md describes its rules: backend choice, creating the
 * interface, addresses, the endpoint policy).
 *
 * Callbacks run inside w2w_loop_process(), never from inside the call that
 * started the operation. Operations on one handle run one at a time, in order.
 *
 * Keys are base64 text, as in wg(8) and its configuration files (44
 * characters; W2W_WG_KEY_TEXT_MAX with the NUL), decoded in constant time.
 * Secrets: the private and preshared keys given here are wiped when the
 * config is freed and never logged. Two functions hand a secret out:
 * w2w_wg_device_private_key() and w2w_wg_device_showconf() return the
 * device's own private key as the backend reported it — what `wg showconf`
 * prints, to a caller that already controls the interface (CAP_NET_ADMIN or
 * the UAPI socket). Wipe what they return with w2w_wipe() (keys.h).
 *
 * Return codes: 0 (or a length) on success; negative errno values and W2W_E*
 * codes (error.h, w2w_strerror()) otherwise, as listed per function.
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

struct w2w_wg;        /* a WireGuard interface handle on a loop */
struct w2w_wg_config; /* a desired device */
struct w2w_wg_peer;   /* a peer inside a w2w_wg_config (owned by it) */
struct w2w_wg_device; /* a device as read back */

#define W2W_WG_OPTS_VERSION 2

struct w2w_wg_opts {
	unsigned version; /* W2W_WG_OPTS_VERSION; 1 (with log fields) is still accepted */
	/* AUTO: a running userspace implementation (its UAPI socket exists)
	 * wins, else the kernel module, else userspace. Chosen at w2w_wg_new();
	 * under AUTO a kernel without WireGuard is only known at the first
	 * operation, which then switches to userspace once. */
	enum w2w_backend backend;
	/* Sync creates a missing interface: the kernel `wireguard` link, or
	 * starts the userspace implementation (it outlives the handle; 10 s for
	 * its socket to appear). 0: -ENODEV instead, like `wg setconf`. */
	int create;
	const char *wireguard_go; /* userspace implementation; NULL = "wireguard-go" in PATH */
	const char *uapi_dir;     /* NULL = /var/run/wireguard */
	/* Endpoint policy: keep an endpoint the device roamed to when the peer
	 * completed a handshake in the last keep_roamed_secs seconds (0 = always
	 * write the described endpoint). */
	unsigned keep_roamed_secs;
	int keep_unlisted_peers; /* 1: never remove peers the description does not list */
	/* 1: keep the device as last read plus the sets applied since, and diff
	 * the next sync against it without reading the device again (a one-peer
	 * change then costs one small set, whatever the peer count). Only for a
	 * handle that is the device's only writer; handshake times for the
	 * endpoint policy are those of the last read. A failed operation drops
	 * the cache; w2w_wg_read() refreshes it. */
	int cache_device;
};

/*
 * Opens a handle on ifname (which need not exist yet); opts NULL = defaults
 * (auto backend, no create). Never blocks: a kernel backend's genetlink family
 * is resolved by the first operation.
 * 0 and *ret; -EINVAL (NULL ret or loop, bad name, unknown opts version or
 * backend); -ENOMEM; a negative errno when no backend socket can be opened.
 */
W2W_EXPORT int w2w_wg_new(struct w2w_wg **ret, struct w2w_loop *loop, const char *ifname,
			  const struct w2w_wg_opts *opts);
/* Drops pending operations without callbacks. Never deletes the interface and
 * never stops a userspace implementation. NULL is fine; returns NULL. Safe from
 * inside the handle's own callbacks (freed when the callback returns; from a
 * log callback, from the loop right after). */
W2W_EXPORT struct w2w_wg *w2w_wg_free(struct w2w_wg *wg);
/* Log sink for this handle (NULL: none, the default): messages with level >
 * max_level (W2W_LOG_*) are not formatted; never gets secrets. May run from
 * inside any call on the handle, inside the loop's re-entrancy guard: from
 * inside it the loop and this handle's operations return -EBUSY.
 * 0, -EINVAL (wg NULL), -EBUSY (from inside the log callback). */
W2W_EXPORT int w2w_wg_set_log(struct w2w_wg *wg, w2w_log_fn fn, void *ud, int max_level);
/* "kernel" or "userspace". */
W2W_EXPORT const char *w2w_wg_backend_name(const struct w2w_wg *wg);
W2W_EXPORT const char *w2w_wg_ifname(const struct w2w_wg *wg);
/* PID of the userspace implementation this handle started, or -1. */
W2W_EXPORT int w2w_wg_userspace_pid(const struct w2w_wg *wg);
/* Lists the WireGuard interfaces this handle's backend sees: a NUL-separated
 * list ending with an empty string, freed with w2w_free(). Runs the loop
 * (not from inside a loop callback) for at most 5 s.
 * 0; -EINVAL; -ENOMEM; W2W_ETIMEDOUT; -EBUSY from inside a callback; the
 * backend's error. */
W2W_EXPORT int w2w_wg_list(struct w2w_wg *wg, char **out);

typedef void (*w2w_wg_done_fn)(void *ud, int err);
/* dev is the caller's (w2w_wg_device_free) and NULL when err < 0. */
typedef void (*w2w_wg_read_fn)(void *ud, int err, struct w2w_wg_device *dev);

/*
 * Queues a sync to cfg (copied: cfg may be freed right after). Returns 0,
 * -EINVAL (NULL argument), -ENOMEM, -EBUSY (from inside the log callback).
 * cb(ud, err) then gets: 0; -ENODEV (no such
 * interface and opts.create is 0); -EPROTONOSUPPORT (kernel backend asked
 * for, no kernel WireGuard); -EINVAL (a peer listed twice, a bad allowed IP);
 * W2W_ETIMEDOUT (the backend did not answer within 10 s); W2W_EPROTO (a
 * malformed answer); -ECHILD (wireguard-go exited before its socket
 * appeared); another negative errno the kernel or the userspace implementation
 * reported (e.g. -EADDRINUSE for a taken ListenPort, -EPERM).
 */
W2W_EXPORT int w2w_wg_sync(struct w2w_wg *wg, const struct w2w_wg_config *cfg, w2w_wg_done_fn cb, void *ud);
/* Queues a read of the actual device. Returns 0, -EINVAL (NULL argument),
 * -ENOMEM, -EBUSY (from inside the log callback). cb gets 0 and the device, or -ENODEV, -EPROTONOSUPPORT,
 * W2W_ETIMEDOUT, W2W_EPROTO, W2W_ELIMIT (a device beyond 1M peers / 4M allowed
 * IPs), -ENOMEM, another negative errno from the backend. */
W2W_EXPORT int w2w_wg_read(struct w2w_wg *wg, w2w_wg_read_fn cb, void *ud);

/* Synchronous conveniences for tools: run the loop (w2w_loop_run) until done
 * or timeout_ms (W2W_ETIMEDOUT; the operation is then dropped), and return
 * what the callback would get. Not for use from inside a loop callback
 * (-EBUSY). */
W2W_EXPORT int w2w_wg_sync_run(struct w2w_wg *wg, const struct w2w_wg_config *cfg, int timeout_ms);
W2W_EXPORT int w2w_wg_read_run(struct w2w_wg *wg, struct w2w_wg_device **out, int timeout_ms);

/* What the last completed sync did. */
struct w2w_wg_sync_stats {
	uint32_t size; /* sizeof(struct w2w_wg_sync_stats), set by the caller */
	size_t added, removed, updated, unchanged;
	size_t endpoints_kept; /* roamed endpoints the policy kept */
	int device_changed;    /* private key, port or fwmark were written */
	int applied;           /* a set was sent (0: the device already matched) */
	/* control traffic of the backend since open (netlink messages or UAPI requests/responses) */
	uint64_t msgs_sent, msgs_recv, bytes_sent, bytes_recv;
};
/* Fills what fits in out->size bytes. 0, -EINVAL (NULL, or size below the
 * first published size). */
W2W_EXPORT int w2w_wg_last_sync_stats(const struct w2w_wg *wg, struct w2w_wg_sync_stats *out);

/* --- Desired device ---------------------------------------------------- */

/* An empty description. 0 and *ret, -EINVAL, -ENOMEM. */
W2W_EXPORT int w2w_wg_config_new(struct w2w_wg_config **ret);
/* Wipes the keys it holds. NULL is fine; returns NULL. */
W2W_EXPORT struct w2w_wg_config *w2w_wg_config_free(struct w2w_wg_config *cfg);
/*
 * Parses the `wg setconf` file format ([Interface] PrivateKey, ListenPort,
 * FwMark; [Peer] PublicKey, PresharedKey, AllowedIPs, Endpoint (numeric),
 * PersistentKeepalive). 0 and *ret; W2W_EPARSE or W2W_ELIMIT with "line N:
 * why" in err (err may be NULL); -EINVAL; -ENOMEM.
 */
W2W_EXPORT int w2w_wg_config_parse(struct w2w_wg_config **ret, const char *text, size_t len, char *err,
				   size_t errcap);

/* key: base64 text, NUL-terminated. 0, W2W_EPARSE (not a key), -EINVAL (NULL). */
W2W_EXPORT int w2w_wg_config_set_private_key(struct w2w_wg_config *cfg, const char *key);
/* 0 = any port (never changes the port of a running device). 0, -EINVAL. */
W2W_EXPORT int w2w_wg_config_set_listen_port(struct w2w_wg_config *cfg, uint16_t port);
/* 0, -EINVAL. */
W2W_EXPORT int w2w_wg_config_set_fwmark(struct w2w_wg_config *cfg, uint32_t fwmark);
/* Link MTU (68..65535); applied by sync, which then also brings the link up.
 * 0, -EINVAL. */
W2W_EXPORT int w2w_wg_config_set_mtu(struct w2w_wg_config *cfg, unsigned mtu);
/* Interface address "10.7.0.1/16" or "fd00::1/64". When any is given, sync
 * makes them exactly the link's addresses (others removed, IPv6 link-local
 * kept) and brings the link up; with none, sync leaves addresses alone.
 * 0, W2W_EPARSE, W2W_ELIMIT (past 256), -EINVAL. */
W2W_EXPORT int w2w_wg_config_add_address(struct w2w_wg_config *cfg, const char *cidr);

/* Adds a peer (public_key: base64 text); *out (may be NULL) stays valid until
 * the config is freed. Not checked here (O(1) per add): the same key twice
 * makes a sync fail with -EINVAL; use w2w_wg_config_find_peer() to update an
 * existing one. 0, W2W_EPARSE, -EINVAL, -ENOMEM. */
W2W_EXPORT int w2w_wg_config_add_peer(struct w2w_wg_config *cfg, const char *public_key,
				      struct w2w_wg_peer **out);
/* Looks a peer up by key (NULL when absent or not a key). */
W2W_EXPORT struct w2w_wg_peer *w2w_wg_config_find_peer(struct w2w_wg_config *cfg, const char *public_key);
/* psk: base64 text. 0, W2W_EPARSE, -EINVAL. */
W2W_EXPORT int w2w_wg_peer_set_preshared_key(struct w2w_wg_peer *peer, const char *psk);
/* "192.0.2.1:51820" or "[2001:db8::1]:51820" (numeric). 0, W2W_EPARSE, -EINVAL. */
W2W_EXPORT int w2w_wg_peer_set_endpoint(struct w2w_wg_peer *peer, const char *endpoint);
/* 0 (off), else seconds. 0, -EINVAL. */
W2W_EXPORT int w2w_wg_peer_set_keepalive(struct w2w_wg_peer *peer, uint16_t seconds);
/* "10.7.0.2/32", "fd00::/64". 0, W2W_EPARSE, -EINVAL, -ENOMEM. */
W2W_EXPORT int w2w_wg_peer_add_allowed_ip(struct w2w_wg_peer *peer, const char *cidr);

/* --- Actual device ----------------------------------------------------- */

struct w2w_wg_peer_info {
	uint32_t size; /* sizeof(struct w2w_wg_peer_info), set by the caller */
	char public_key[W2W_WG_KEY_TEXT_MAX]; /* base64 */
	int has_preshared_key;
	char endpoint[72]; /* "" when none */
	uint16_t persistent_keepalive;
	int64_t last_handshake_sec; /* wall clock (CLOCK_REALTIME); 0 = never */
	int64_t last_handshake_nsec;
	uint64_t rx_bytes, tx_bytes;
	size_t n_allowed_ips;
};

/* Wipes the keys it holds. NULL is fine; returns NULL. */
W2W_EXPORT struct w2w_wg_device *w2w_wg_device_free(struct w2w_wg_device *dev);
W2W_EXPORT const char *w2w_wg_device_name(const struct w2w_wg_device *dev);
/* The device's public key as base64 into out: 44 (the length), -ENOENT (the
 * device has no private key), -ENOSPC (cap < W2W_WG_KEY_TEXT_MAX), -EINVAL. */
W2W_EXPORT int w2w_wg_device_public_key(const struct w2w_wg_device *dev, char *out, size_t cap);
/* The device's private key (a secret: see the top of this file), same
 * returns as w2w_wg_device_public_key(). */
W2W_EXPORT int w2w_wg_device_private_key(const struct w2w_wg_device *dev, char *out, size_t cap);
W2W_EXPORT uint16_t w2w_wg_device_listen_port(const struct w2w_wg_device *dev);
W2W_EXPORT uint32_t w2w_wg_device_fwmark(const struct w2w_wg_device *dev);
/* Peers in the backend's order. */
W2W_EXPORT size_t w2w_wg_device_peer_count(const struct w2w_wg_device *dev);
/* Peer i into out (what fits in out->size). 0, -ERANGE past the end, -EINVAL
 * (NULL, or size below the first published size). */
W2W_EXPORT int w2w_wg_device_peer(const struct w2w_wg_device *dev, size_t i, struct w2w_wg_peer_info *out);
/* Allowed IP j of peer i as text into out: its length, -ERANGE (i or j past
 * the end), -ENOSPC (cap too small), -EINVAL. */
W2W_EXPORT int w2w_wg_device_allowed_ip(const struct w2w_wg_device *dev, size_t i, size_t j, char *out,
					size_t cap);
/* The device in `wg showconf` text, NUL-terminated, *len (may be NULL) its
 * length; the private key included: wipe it with w2w_wipe() and free it with
 * w2w_free(). 0, -EINVAL, -ENOMEM. */
W2W_EXPORT int w2w_wg_device_showconf(const struct w2w_wg_device *dev, char **out, size_t *len);

#ifdef __cplusplus
}
#endif
#endif
