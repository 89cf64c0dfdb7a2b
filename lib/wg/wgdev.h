/* SPDX-License-Identifier: MIT */
/*
 * The one WireGuard device data model, shared by every backend (kernel
 * genetlink, userspace UAPI), the diff engine, the setconf/showconf codec and
 * the public API. Same shape as wireguard-tools' containers.h, so the flags map
 * 1:1 onto WG_CMD_SET_DEVICE (linux/wireguard.h) and onto the UAPI `set=1`
 * keys (wireguard.com/xplatform).
 *
 * As a *read* result (get_device) a device holds everything the backend
 * reported; the HAS_* flags say which fields are meaningful. As a *write*
 * request (set_device) only the fields whose HAS_* flag is set are changed,
 * peers not listed are left alone unless WGDEVICE_REPLACE_PEERS is set, and a
 * peer's allowed IPs are added to the existing ones unless
 * WGPEER_REPLACE_ALLOWEDIPS is set.
 *
 * Ownership: a device owns its peers, a peer owns its allowed IPs (singly
 * linked lists with a tail pointer, so appending is O(1)). wgdev_free() wipes
 * the private key and every preshared key.
 */
#ifndef W2W_WG_WGDEV_H
#define W2W_WG_WGDEV_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define WGDEV_KEY_LEN 32
#define WGDEV_IFNAMSIZ 16 /* IFNAMSIZ, NUL included */

struct wgallowedip {
	uint16_t family; /* AF_INET or AF_INET6 */
	union {
		struct in_addr ip4;
		struct in6_addr ip6;
	};
	uint8_t cidr;
	struct wgallowedip *next_allowedip;
};

enum {
	WGPEER_REMOVE_ME = 1U << 0,
	WGPEER_REPLACE_ALLOWEDIPS = 1U << 1,
	WGPEER_HAS_PUBLIC_KEY = 1U << 2,
	WGPEER_HAS_PRESHARED_KEY = 1U << 3,
	WGPEER_HAS_PERSISTENT_KEEPALIVE = 1U << 4,
	/* Only change an existing peer; never create it (WGPEER_F_UPDATE_ONLY,
	 * UAPI `update_only=true`). */
	WGPEER_UPDATE_ONLY = 1U << 5,
};

struct wgtime {
	int64_t tv_sec;
	int64_t tv_nsec;
};

union wgendpoint {
	struct sockaddr addr; /* addr.sa_family == AF_UNSPEC (0): no endpoint */
	struct sockaddr_in addr4;
	struct sockaddr_in6 addr6;
};

struct wgpeer {
	uint32_t flags; /* WGPEER_* */

	uint8_t public_key[WGDEV_KEY_LEN];
	/* Secret. All zero with HAS_PRESHARED_KEY set means "remove the PSK". */
	uint8_t preshared_key[WGDEV_KEY_LEN];

	/* A set request changes the endpoint when sa_family != AF_UNSPEC. */
	union wgendpoint endpoint;

	/* Read results only. Wall-clock (CLOCK_REALTIME) time of the last
	 * handshake; {0,0} = never. */
	struct wgtime last_handshake_time;
	uint64_t rx_bytes, tx_bytes;

	uint16_t persistent_keepalive_interval; /* seconds, 0 = off */

	struct wgallowedip *first_allowedip, *last_allowedip;
	struct wgpeer *next_peer;
};

enum {
	WGDEVICE_REPLACE_PEERS = 1U << 0,
	WGDEVICE_HAS_PRIVATE_KEY = 1U << 1,
	WGDEVICE_HAS_PUBLIC_KEY = 1U << 2,
	WGDEVICE_HAS_LISTEN_PORT = 1U << 3,
	WGDEVICE_HAS_FWMARK = 1U << 4,
};

struct wgdevice {
	char name[WGDEV_IFNAMSIZ];
	uint32_t ifindex; /* 0 = unknown; backends address devices by name */

	uint32_t flags; /* WGDEVICE_* */

	uint8_t public_key[WGDEV_KEY_LEN];
	/* Secret. All zero with HAS_PRIVATE_KEY set means "remove the key". */
	uint8_t private_key[WGDEV_KEY_LEN];

	uint32_t fwmark;      /* 0 = off */
	uint16_t listen_port; /* 0 = random (set) / none (read) */

	struct wgpeer *first_peer, *last_peer;
};

#define wgdev_for_each_peer(dev, peer) for ((peer) = (dev)->first_peer; (peer); (peer) = (peer)->next_peer)
#define wgpeer_for_each_allowedip(peer, aip)                                                               \
	for ((aip) = (peer)->first_allowedip; (aip); (aip) = (aip)->next_allowedip)

/* A zeroed device; NULL on allocation failure. */
struct wgdevice *wgdev_new(void);
/* Frees the device, its peers and allowed IPs, wiping every key. NULL is fine. */
void wgdev_free(struct wgdevice *dev);
/* Frees one peer that is not (or no longer) linked in a device, wiping its PSK. */
void wgpeer_free(struct wgpeer *peer);
/* Frees every allowed IP of peer, every peer of dev (the lists end empty). */
void wgpeer_clear_allowedips(struct wgpeer *peer);
void wgdev_clear_peers(struct wgdevice *dev);
/* Sets dev->name; -EINVAL when empty, too long (>= WGDEV_IFNAMSIZ) or contains '/' or whitespace. */
int wgdev_set_name(struct wgdevice *dev, const char *name);

/* Appends a zeroed peer / allowed IP; NULL on allocation failure. */
struct wgpeer *wgdev_add_peer(struct wgdevice *dev);
struct wgallowedip *wgpeer_add_allowedip(struct wgpeer *peer);

/* Deep copy (keys included); NULL on allocation failure. */
struct wgdevice *wgdev_copy(const struct wgdevice *dev);

size_t wgdev_peer_count(const struct wgdevice *dev);
size_t wgpeer_allowedip_count(const struct wgpeer *peer);
/* Linear search by public key; NULL when absent. */
struct wgpeer *wgdev_find_peer(const struct wgdevice *dev, const uint8_t key[WGDEV_KEY_LEN]);

/* Clears the host bits beyond cidr (the kernel and wireguard-go store allowed
 * IPs this way, so 10.0.0.1/24 reads back as 10.0.0.0/24). */
void wgallowedip_canon(struct wgallowedip *a);
/* Validates family and cidr (<= 32 / <= 128). */
bool wgallowedip_valid(const struct wgallowedip *a);
/* Total order: family, then address bytes, then cidr. */
int wgallowedip_cmp(const struct wgallowedip *a, const struct wgallowedip *b);
/* Order by public key (memcmp). */
int wgpeer_cmp(const struct wgpeer *a, const struct wgpeer *b);

/* Sorts the peers by public key and every peer's allowed IPs (after
 * wgallowedip_canon, duplicates removed). 0 or -ENOMEM (then unchanged). */
int wgdev_sort(struct wgdevice *dev);
/*
 * The peers of dev (NULL: none) in wgpeer_cmp order: a malloc'ed array with
 * room for at least one, which the caller frees (the peers stay dev's).
 * Returns 0 or -ENOMEM. With unique, a key held by two peers is -EINVAL.
 */
int wgdev_sorted_peers(const struct wgdevice *dev, bool unique, struct wgpeer ***out, size_t *n);

/* Same allowed-IP sets (order and host bits ignored, duplicates ignored). */
bool wgpeer_allowedips_equal(const struct wgpeer *a, const struct wgpeer *b);
/* Same endpoint (family, address, port; v6 scope id included); two "none" are equal. */
bool wgendpoint_equal(const union wgendpoint *a, const union wgendpoint *b);
/* Text forms used by UAPI, setconf and showconf: "a.b.c.d:port", "[v6]:port",
 * "[v6%N]:port" (numeric scope id only: no name lookups in this layer). The
 * parsers take a length (no NUL needed) and are strict (numeric only). */
#define WGENDPOINT_STRLEN 72
#define WGALLOWEDIP_STRLEN 52
bool wgendpoint_parse(union wgendpoint *ep, const char *s, size_t n);
/* Writes text and NUL; returns its length, -EINVAL (no endpoint) or -ENOSPC. */
int wgendpoint_format(char *out, size_t cap, const union wgendpoint *ep);
/* "addr/cidr" with cidr <= 32 (v4) / <= 128 (v6); host bits are kept. */
bool wgallowedip_parse(struct wgallowedip *a, const char *s, size_t n);
int wgallowedip_format(char *out, size_t cap, const struct wgallowedip *a);

/* Strict decimal (digits only, no sign or spaces, at most max) of n bytes; the
 * number form of every text format here (endpoints, UAPI values). */
bool wgdev_parse_u64(uint64_t *out, const char *v, size_t n, uint64_t max);
/* The same, or hex after "0x"/"0X" when hex_ok (wg(8)'s FwMark). */
bool wgdev_parse_num(uint64_t *out, const char *v, size_t n, uint64_t max, bool hex_ok);

/* Constant-time "all zero" for a key. */
bool wgdev_key_is_zero(const uint8_t key[WGDEV_KEY_LEN]);
/* Constant-time key equality. */
bool wgdev_key_equal(const uint8_t a[WGDEV_KEY_LEN], const uint8_t b[WGDEV_KEY_LEN]);

/*
 * Configuration equality of two read results, as `wg showconf` would show
 * them: private key, listen port, fwmark, and per peer (matched by key, order
 * ignored) preshared key, endpoint, keepalive and allowed IPs. Statistics,
 * handshake times, name and ifindex are ignored. Absent fields compare as
 * zero. 1 equal, 0 different, -ENOMEM.
 */
int wgdev_config_equal(const struct wgdevice *a, const struct wgdevice *b);

#endif
