/* SPDX-License-Identifier: MIT */
/*
 * Node configuration (docs/configuration.md): one INI file compatible with the
 * Go w2wesher ([P2P] and [Wireguard] sections), our additions ([P2P]
 * PSKFile, [Wireguard] MTU/Backend/Address, [Node]), environment overrides
 * and typed setters.
 *
 * Precedence, lowest first: built-in defaults < the file < the environment
 * (W2WESHER_<SECTION>_<KEY>, with W2W_CONFIG_ENV) < setters called after
 * w2w_config_load(). Section and key names are case-sensitive, as in the Go
 * original's INI library; an unknown section or key is an error.
 *
 * Secrets (PSK, both private keys) are kept in locked, guarded memory, wiped
 * by w2w_config_free() and never printed: w2w_config_dump() redacts them.
 *
 * Errors: every failing call returns a negative code and leaves a message
 * readable with w2w_config_error(): "FILE:LINE: [Section] Key: what is
 * wrong" for the file, "environment W2WESHER_X_Y: ..." for the environment.
 */
#ifndef W2WESHER_CONFIG_H
#define W2WESHER_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#include <w2wesher/common.h>
#include <w2wesher/export.h>

struct w2w_config;

/* Flags of w2w_config_load(). */
enum {
	/*
	 * Create missing secrets (PSK unless PSKFile is set, both private keys)
	 * and write them back into the file, keeping every other line, mode
	 * 0600 (0640 if it was 0640), atomically; an existing file keeps its
	 * owner and group, a symlink's target is replaced (the link stays); a
	 * missing file is created. Nothing is written when
	 * the file is invalid or already holds every secret.
	 */
	W2W_CONFIG_GENERATE = 1 << 0,
	/* Apply W2WESHER_<SECTION>_<KEY> environment variables over the file. */
	W2W_CONFIG_ENV = 1 << 1,
	/*
	 * Accept a config file that holds a secret (PSK or a private key), or a
	 * PSKFile, although every user may read (or write) it. Without this flag
	 * such a file is refused with W2W_EPARSE and "FILE: ... readable by every
	 * user", as ssh refuses an open private key: the secret has leaked to
	 * every local account. Group access is accepted (a service group).
	 */
	W2W_CONFIG_ALLOW_OPEN_SECRETS = 1 << 2,
};


/* A configuration holding the defaults and no secrets, into *ret (written
 * only on success). Returns 0, -EINVAL (ret NULL), -ENOMEM. */
W2W_EXPORT int w2w_config_new(struct w2w_config **ret);
/* Wipes the secrets and frees; NULL is fine. Returns NULL. */
W2W_EXPORT struct w2w_config *w2w_config_free(struct w2w_config *cfg);

/*
 * Loads the INI file at path (W2W_CONFIG_* flags), replacing every value
 * set before, then validates the result (w2w_config_check). On failure cfg
 * is unchanged and the file untouched. Returns 0, W2W_EPARSE (invalid
 * content), or a negative errno (e.g. -ENOENT without W2W_CONFIG_GENERATE).
 */
W2W_EXPORT int w2w_config_load(struct w2w_config *cfg, const char *path, unsigned flags);

/*
 * Checks the values together (Address inside NetworkRange, PeerExpiry
 * against AnnounceInterval, PSKFile readable, NodeName usable) and fills the
 * defaults derived from other values (StateDir, ControlSocket, PeerExpiry,
 * NodeName). Missing secrets are not an error here. 0 or W2W_EPARSE.
 */
W2W_EXPORT int w2w_config_check(struct w2w_config *cfg);

/* Generates the missing secrets in memory only (for configurations without a
 * file). Returns 0 or -ENOMEM. */
W2W_EXPORT int w2w_config_generate_secrets(struct w2w_config *cfg);

/* The message of the last failure ("" if none). Valid until the next call on cfg. */
W2W_EXPORT const char *w2w_config_error(const struct w2w_config *cfg);

/*
 * Sets one key from its text form, exactly as the file would
 * (w2w_config_set(cfg, "Wireguard", "ListenPort", "51820")); NULL or "" resets
 * it as an empty value in the file does. Returns 0 or W2W_EPARSE (unknown
 * section or key, invalid value: w2w_config_error() says why).
 */
W2W_EXPORT int w2w_config_set(struct w2w_config *cfg, const char *section, const char *key,
                              const char *value);

/*
 * Typed setters. Each takes the file's text form and validates like the file
 * does: 0 or W2W_EPARSE (w2w_config_error() says why).
 *
 * Keys are text, as in the file: the PSK is the standard base64 of 32 bytes
 * (it replaces a PSKFile set earlier), the libp2p key the base64 of the
 * Ed25519 PrivateKey protobuf (w2w_identity_generate() output; the legacy
 * 100-byte form is accepted), the WireGuard key 44 base64 characters
 * (`wg genkey`). They are decoded in constant time; NULL or "" unsets.
 */
W2W_EXPORT int w2w_config_set_psk(struct w2w_config *cfg, const char *b64);
W2W_EXPORT int w2w_config_set_p2p_private_key(struct w2w_config *cfg, const char *b64);
W2W_EXPORT int w2w_config_set_wg_private_key(struct w2w_config *cfg, const char *b64);
W2W_EXPORT int w2w_config_set_listen_addr(struct w2w_config *cfg, const char *multiaddr);
/* Appends one /…/tcp/<port>/p2p/<id> multiaddr to the bootstrap list. */
W2W_EXPORT int w2w_config_add_bootstrap(struct w2w_config *cfg, const char *multiaddr);
W2W_EXPORT int w2w_config_set_announce_interval_ms(struct w2w_config *cfg, uint64_t ms);
/* [P2P] MDNS: LAN discovery on (non-zero) or off. */
W2W_EXPORT int w2w_config_set_mdns(struct w2w_config *cfg, int on);
/* [P2P] MDNSInterfaces: comma-separated names; NULL or "" means every suitable interface. */
W2W_EXPORT int w2w_config_set_mdns_interfaces(struct w2w_config *cfg, const char *list);
/* [P2P] MDNSInterval: 1000 to 3600000 ms; 0 means the default (10 s). */
W2W_EXPORT int w2w_config_set_mdns_interval_ms(struct w2w_config *cfg, uint64_t ms);
W2W_EXPORT int w2w_config_set_interface(struct w2w_config *cfg, const char *ifname);
W2W_EXPORT int w2w_config_set_listen_port(struct w2w_config *cfg, unsigned port);
W2W_EXPORT int w2w_config_set_network_range(struct w2w_config *cfg, const char *cidr);
W2W_EXPORT int w2w_config_set_node_name(struct w2w_config *cfg, const char *name);
/* Seconds; a negative value disables keepalives. */
W2W_EXPORT int w2w_config_set_keepalive_s(struct w2w_config *cfg, int seconds);
W2W_EXPORT int w2w_config_set_mtu(struct w2w_config *cfg, unsigned mtu);
W2W_EXPORT int w2w_config_set_backend(struct w2w_config *cfg, enum w2w_backend backend);
/* Pins the node's overlay address (NULL or "" lets the node pick one). */
W2W_EXPORT int w2w_config_set_address(struct w2w_config *cfg, const char *ip);
W2W_EXPORT int w2w_config_set_state_dir(struct w2w_config *cfg, const char *path);
/* "error", "warn", "info" or "debug". */
W2W_EXPORT int w2w_config_set_log_level(struct w2w_config *cfg, const char *level);
W2W_EXPORT int w2w_config_set_peer_expiry_ms(struct w2w_config *cfg, uint64_t ms);
W2W_EXPORT int w2w_config_set_control_socket(struct w2w_config *cfg, const char *path);
/* The domain node names resolve under (docs/operations.md "Node names"); NULL or "" restores
 * the default <Interface>.w2w. */
W2W_EXPORT int w2w_config_set_dns_domain(struct w2w_config *cfg, const char *domain);

/* Getters (strings owned by cfg, valid until it changes). Configuration
 * reports no log lines: its failures come back as return codes with the
 * message of w2w_config_error(), and the dump's notes. */
W2W_EXPORT const char *w2w_config_path(const struct w2w_config *cfg); /* "" without a file */
W2W_EXPORT const char *w2w_config_interface(const struct w2w_config *cfg);
W2W_EXPORT unsigned w2w_config_listen_port(const struct w2w_config *cfg);
W2W_EXPORT const char *w2w_config_listen_addr(const struct w2w_config *cfg);
W2W_EXPORT size_t w2w_config_bootstrap_count(const struct w2w_config *cfg);
/* The i-th bootstrap multiaddr; NULL past the end. */
W2W_EXPORT const char *w2w_config_bootstrap(const struct w2w_config *cfg, size_t i);
/* 1 when mDNS discovery is on, else 0. */
W2W_EXPORT int w2w_config_mdns(const struct w2w_config *cfg);
/* The MDNSInterfaces list as "eth0,eth1"; "" for every suitable interface. */
W2W_EXPORT const char *w2w_config_mdns_interfaces(const struct w2w_config *cfg);
W2W_EXPORT uint64_t w2w_config_mdns_interval_ms(const struct w2w_config *cfg);
W2W_EXPORT const char *w2w_config_node_name(const struct w2w_config *cfg);
W2W_EXPORT unsigned w2w_config_mtu(const struct w2w_config *cfg);
W2W_EXPORT enum w2w_backend w2w_config_backend(const struct w2w_config *cfg);
W2W_EXPORT const char *w2w_config_state_dir(const struct w2w_config *cfg);
W2W_EXPORT const char *w2w_config_control_socket(const struct w2w_config *cfg);
/* Lower case, no trailing dot; "" before w2w_config_check() and when the
 * default cannot be derived (an Interface that is no DNS label). */
W2W_EXPORT const char *w2w_config_dns_domain(const struct w2w_config *cfg);
/* [P2P] AdmissionToken as configured ("" = none): a daemon's reload passes it
 * to w2w_node_set_admission_token(). */
W2W_EXPORT const char *w2w_config_admission_token(const struct w2w_config *cfg);
/* syslog numbering: 3 error, 4 warn, 6 info, 7 debug. */
W2W_EXPORT int w2w_config_log_level(const struct w2w_config *cfg);
/* [Node] MetricsAddr: "IP:PORT" ("[IPv6]:PORT") where w2wesherd serves
 * Prometheus metrics; "" (the default) for none. The setter takes the same
 * text ("" turns it off); W2W_EPARSE for anything else. */
W2W_EXPORT const char *w2w_config_metrics_addr(const struct w2w_config *cfg);
W2W_EXPORT int w2w_config_set_metrics_addr(struct w2w_config *cfg, const char *addr);

/*
 * The node's libp2p peer ID ("12D3KooW...") and WireGuard public key (base64),
 * NUL-terminated. Return the length, W2W_ESTATE when the private key is not
 * set, or -ENOSPC when cap is too small.
 */
W2W_EXPORT int w2w_config_peer_id(const struct w2w_config *cfg, char *out, size_t cap);
W2W_EXPORT int w2w_config_wg_public_key(const struct w2w_config *cfg, char *out, size_t cap);

/*
 * The effective configuration as INI text with secrets replaced by
 * "<redacted>" and each value's origin in a comment, NUL-terminated, into
 * *out: free it with w2w_free(). Returns its length, or -ENOMEM (*out is
 * written only on success).
 */
W2W_EXPORT int w2w_config_dump(const struct w2w_config *cfg, char **out);

#ifdef __cplusplus
}
#endif
#endif
