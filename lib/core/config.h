/* SPDX-License-Identifier: MIT */
/*
 * The layout of struct w2w_config, for the rest of core/ (the public API is
 * include/w2wesher/config.h). Read fields directly; change them only through
 * the w2w_config_set_* functions so validation and origins stay right.
 */
#ifndef W2W_CORE_CONFIG_H
#define W2W_CORE_CONFIG_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

#include "w2wesher/config.h"

#include "ident.h"
#include "multiaddr.h"

#define CFG_MAX_BOOTSTRAP 64
#define CFG_MAX_FILE (256u * 1024u) /* bytes of config file read at most */
#define CFG_PATH_MAX 1024
#define CFG_SOCK_MAX 108 /* sizeof(sun_path) */
/* DNSDomain: a 63-byte label, a dot and the domain fit a 253-byte name (RFC 1035 2.3.4). */
#define CFG_DOMAIN_MAX 189
#define CFG_MAX_MDNS_IFACES 16 /* MCAST_MAX_IFACES */

/* Every key the file, the environment and w2w_config_set() know. */
enum cfg_key {
	CK_P2P_PSK,
	CK_P2P_PSKFILE,
	CK_P2P_PRIVATEKEY,
	CK_P2P_BOOTSTRAP,
	CK_P2P_LISTENADDR,
	CK_P2P_ANNOUNCE,
	CK_P2P_MDNS,
	CK_P2P_MDNSIFACES,
	CK_P2P_MDNSINTERVAL,
	CK_WG_INTERFACE,
	CK_WG_PRIVATEKEY,
	CK_WG_LISTENPORT,
	CK_WG_RANGE,
	CK_WG_NODENAME,
	CK_WG_KEEPALIVE,
	CK_WG_MTU,
	CK_WG_BACKEND,
	CK_WG_ADDRESS,
	CK_NODE_STATEDIR,
	CK_NODE_LOGLEVEL,
	CK_NODE_PEEREXPIRY,
	CK_NODE_REFRESH,
	CK_NODE_CONTROLSOCKET,
	CK_NODE_DNSDOMAIN,
	CK_P2P_RELAY,
	CK_P2P_NEXTPSKFILE,
	CK_NODE_PAIRPSK,
	CK_NODE_METRICSADDR,
	CK_P2P_ADMISSIONKEY,   /* docs/configuration.md "Admission" */
	CK_P2P_ADMISSIONTOKEN,
	CK_NODE_KEYROTATION,
	CK_P2P_RELAYMAXPAIRS, /* docs/nat.md "Relays": the budget */
	CK_P2P_RELAYRATE,
	CK__COUNT
};

/* Where a value came from; a higher origin overrides a lower one. */
enum cfg_origin { CO_DEFAULT = 0, CO_FILE, CO_ENV, CO_SET, CO_GENERATED };

/* Secrets, in one guarded allocation (crypto/secmem.h). */
struct cfg_secrets {
	uint8_t psk[32];
	uint8_t next_psk[32];
	uint8_t wg_priv[32];
	uint8_t scratch[160]; /* decoding area, wiped after each use */
};

struct cfg_prefix {
	int family; /* 4 or 6 */
	uint8_t addr[16];
	unsigned len;
};

struct w2w_config {
	struct cfg_secrets *sec;
	bool has_psk, has_wg_priv;
	bool allow_open_secrets; /* W2W_CONFIG_ALLOW_OPEN_SECRETS */
	struct ident *id; /* NULL until set or generated */

	uint8_t origin[CK__COUNT];
	unsigned line[CK__COUNT]; /* file line of each CO_FILE value */

	char path[CFG_PATH_MAX];
	char psk_file[CFG_PATH_MAX];
	char next_psk_file[CFG_PATH_MAX]; /* [P2P] NextPSKFile: network PSK rotation */
	bool has_next_psk;                /* sec->next_psk loaded from it */
	bool pair_psk;                    /* [Node] PairPSK: per-pair WireGuard PSKs */
	char listen_addr[MA_MAX_TEXT]; /* canonical /ip4|ip6/<ip>/tcp/<port> */
	char *bootstrap[CFG_MAX_BOOTSTRAP];
	size_t n_bootstrap;
	uint64_t announce_ms;
	bool mdns;
	char mdns_ifaces[CFG_MAX_MDNS_IFACES][16]; /* MDNSInterfaces, none: every suitable one */
	size_t n_mdns_ifaces;
	char mdns_ifaces_text[CFG_MAX_MDNS_IFACES * 16]; /* "eth0,eth1" */
	uint64_t mdns_interval_ms;
	bool relay; /* [P2P] Relay: forward WireGuard UDP for NATed members (docs/nat.md) */
	unsigned relay_max_pairs; /* [P2P] RelayMaxPairs */
	uint64_t relay_rate;      /* [P2P] RelayRate: bytes per second per pair */

	char ifname[16];
	unsigned listen_port;
	struct cfg_prefix range;
	char node_name[254];
	int keepalive_s; /* < 0: disabled */
	unsigned mtu;
	enum w2w_backend backend;
	int address_family; /* 0: no pinned address, else 4 or 6 */
	uint8_t address[16];

	char state_dir[CFG_PATH_MAX];
	int log_level;
	uint64_t peer_expiry_ms; /* 0 until w2w_config_check() derives it */
	uint64_t refresh_ms;     /* RefreshInterval: the periodic re-announcement */
	char control_socket[CFG_SOCK_MAX];
	char dns_domain[CFG_DOMAIN_MAX + 1]; /* "" until w2w_config_check() derives it */
	char metrics_addr[64];               /* [Node] MetricsAddr, "IP:PORT"; "" = off */
	uint64_t key_rotation_ms; /* WireguardKeyRotation; 0: off */

	uint8_t adm_keys[8][32]; /* AdmissionKey (ADM_MAX_KEYS): admission mode when n_adm_keys > 0 */
	size_t n_adm_keys;
	char adm_token[300]; /* AdmissionToken, base64 text ("" = none) */

	char note[512]; /* a remark for the dump (e.g. a rewritten ListenAddr) */
	char err[512];
};

/*
 * Parses INI text as if read from the file `name` (no environment, no
 * generation, nothing written) into c, then runs w2w_config_check(). For
 * the fuzz target; c may be left half-updated on error.
 */
int config_parse_text(struct w2w_config *c, const char *name, const char *text, size_t len);

#endif
