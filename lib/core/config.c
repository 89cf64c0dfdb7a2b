/* SPDX-License-Identifier: MIT */
/*
 * Configuration: the Go w2wesher's INI file (config/config.go there, parsed
 * by gopkg.in/ini.v1 with its defaults: case-sensitive names, '#'/';'
 * comments), plus our additions, the environment and setters. See
 * docs/configuration.md for every key. This file holds the object, the
 * checks across keys, secret generation, setters and getters; the parts are
 * listed in config_priv.h.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config_priv.h"
#include "err.h"
#include "godur.h"
#include "ident.h"
#include "peerid.h"
#include "meshnode.h"
#include "rng.h"
#include "secmem.h"
#include "wgkey.h"

#define DEF_STATE_BASE "/var/lib/w2wesher/"
#define DEF_SOCK_BASE "/run/w2wesher/"

/*
 * The default StateDir / ControlSocket (docs/configuration.md "Directories").
 * root: the system base (/var/lib/w2wesher/<if>, /run/w2wesher/<if>.sock).
 * Any other user cannot create those, so it gets its own per the XDG Base
 * Directory spec: $XDG_STATE_HOME (else ~/.local/state) and $XDG_RUNTIME_DIR
 * (no home fallback: a socket belongs on a runtime tmpfs, else the system
 * path). systemd's $STATE_DIRECTORY/$RUNTIME_DIRECTORY win over both
 * (config_file.c, with W2W_CONFIG_ENV). A relative variable is ignored, as
 * the XDG spec says. Returns -1 when the result does not fit.
 */
static int default_path(char *out, size_t cap, const char *sys_base, const char *xdg_var, const char *home_sub,
                        const char *ifname, const char *suffix)
{
	const char *x;
	int w;

	if (geteuid() != 0) {
		x = getenv(xdg_var);
		if (x && x[0] == '/') {
			w = snprintf(out, cap, "%s/w2wesher/%s%s", x, ifname, suffix);
			return w < 0 || (size_t)w >= cap ? -1 : 0;
		}
		x = home_sub ? getenv("HOME") : NULL;
		if (x && x[0] == '/') {
			w = snprintf(out, cap, "%s/%s/w2wesher/%s%s", x, home_sub, ifname, suffix);
			return w < 0 || (size_t)w >= cap ? -1 : 0;
		}
	}
	w = snprintf(out, cap, "%s%s%s", sys_base, ifname, suffix);
	return w < 0 || (size_t)w >= cap ? -1 : 0;
}

/* ---- object ---- */

static void set_defaults(struct w2w_config *c)
{
	char why[CFG_WHY_MAX];

	for (int k = 0; k < CK__COUNT; k++)
		if (!cfg_keydefs[k].secret)
			cfg_keydefs[k].parse(c, "", 0, why);
	c->announce_ms = DEF_ANNOUNCE_MS;
}

int w2w_config_new(struct w2w_config **ret)
{
	struct w2w_config *c;

	if (!ret)
		return -EINVAL;
	if (secmem_init() < 0)
		return -ENOMEM;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->sec = secure_alloc(sizeof(*c->sec));
	if (!c->sec) {
		free(c);
		return -ENOMEM;
	}
	set_defaults(c);
	*ret = c;
	return 0;
}

struct w2w_config *w2w_config_free(struct w2w_config *c)
{
	if (!c)
		return NULL;
	secure_free(c->sec);
	ident_free(c->id);
	cfg_free_list(c->bootstrap, c->n_bootstrap);
	free(c);
	return NULL;
}

const char *w2w_config_error(const struct w2w_config *c)
{
	return c ? c->err : "no configuration";
}

int w2w_config_check(struct w2w_config *c)
{
	char host[256], ip[64], net[64];
	unsigned bits = c->range.family == 4 ? 32 : 128;
	int rc;

	c->err[0] = 0;
	if (!c->node_name[0] || c->origin[CK_WG_NODENAME] == CO_DEFAULT) {
		/* Go w2wesher: NodeName defaults to os.Hostname(). */
		if (gethostname(host, sizeof(host)) < 0)
			host[0] = 0;
		host[sizeof(host) - 1] = 0;
		if (!cfg_valid_hostname(host, strlen(host))) {
			cfg_err_key(c, CK_WG_NODENAME, "the host name '%s' is not usable; set NodeName", host);
			return W2W_EPARSE;
		}
		cfg_copy_str(c->node_name, sizeof(c->node_name), host, strlen(host));
	}
	if ((c->origin[CK_NODE_STATEDIR] == CO_DEFAULT || !c->state_dir[0]) &&
	    default_path(c->state_dir, sizeof(c->state_dir), DEF_STATE_BASE, "XDG_STATE_HOME", ".local/state",
	                 c->ifname, "") < 0) {
		cfg_err_key(c, CK_NODE_STATEDIR, "the default (from $XDG_STATE_HOME or $HOME) is too long; set StateDir");
		return W2W_EPARSE;
	}
	if ((c->origin[CK_NODE_CONTROLSOCKET] == CO_DEFAULT || !c->control_socket[0]) &&
	    default_path(c->control_socket, sizeof(c->control_socket), DEF_SOCK_BASE, "XDG_RUNTIME_DIR", NULL,
	                 c->ifname, ".sock") < 0) {
		cfg_err_key(c, CK_NODE_CONTROLSOCKET, "the default (from $XDG_RUNTIME_DIR) is too long; set ControlSocket");
		return W2W_EPARSE;
	}
	if (c->origin[CK_NODE_DNSDOMAIN] == CO_DEFAULT || !c->dns_domain[0]) {
		/* <Interface>.w2w: two clusters on one host differ in Interface, so in domain. An
		 * interface name that is no DNS label (wg_0) gives no names until DNSDomain is set. */
		c->dns_domain[0] = 0;
		if (cfg_valid_hostname(c->ifname, strlen(c->ifname)) && !strchr(c->ifname, '.')) {
			snprintf(c->dns_domain, sizeof(c->dns_domain), "%s.w2w", c->ifname);
			for (char *q = c->dns_domain; *q; q++)
				*q = (char)tolower((unsigned char)*q);
		} else {
			cfg_note(c, "Interface %s is no DNS label: set [Node] DNSDomain to resolve node names",
			         c->ifname);
		}
	}
	if (c->origin[CK_NODE_PEEREXPIRY] == CO_DEFAULT || !c->peer_expiry_ms) {
		c->peer_expiry_ms = mn_default_expiry_ms(c->announce_ms); /* the mesh's one default */
	}
	/* No check against AnnounceInterval any more: expiry no longer waits for
	 * announcements, the probes find a dead node (docs/mesh.md "Liveness"). */
	if (c->address_family) {
		cfg_ip_text(ip, sizeof(ip), c->address_family, c->address);
		cfg_ip_text(net, sizeof(net), c->range.family, c->range.addr);
		if (c->address_family != c->range.family || !cfg_in_prefix(&c->range, c->address)) {
			cfg_err_key(c, CK_WG_ADDRESS, "%s is outside NetworkRange %s/%u", ip, net, c->range.len);
			return W2W_EPARSE;
		}
		if (cfg_host_bits(c->address, bits, c->range.len, false) ||
		    (c->range.family == 4 && cfg_host_bits(c->address, bits, c->range.len, true))) {
			cfg_err_key(c, CK_WG_ADDRESS, "%s is the network or broadcast address of %s/%u", ip, net,
			        c->range.len);
			return W2W_EPARSE;
		}
	}
	if (c->psk_file[0]) {
		rc = cfg_load_psk_file(c);
		if (rc < 0)
			return rc;
	}
	if (c->next_psk_file[0]) {
		rc = cfg_load_next_psk_file(c);
		if (rc < 0)
			return rc;
	}
	return 0;
}

void cfg_gen_missing(struct w2w_config *c, bool need[CK__COUNT])
{
	need[CK_P2P_PSK] = !c->has_psk && !c->psk_file[0];
	need[CK_P2P_PRIVATEKEY] = !c->id;
	need[CK_WG_PRIVATEKEY] = !c->has_wg_priv;
}

int cfg_generate(struct w2w_config *c, const bool need[CK__COUNT])
{
	int rc;

	if (need[CK_P2P_PSK]) {
		rng_fill(NULL, c->sec->psk, 32);
		c->has_psk = true;
		c->origin[CK_P2P_PSK] = CO_GENERATED;
	}
	if (need[CK_P2P_PRIVATEKEY]) {
		rc = ident_new(&c->id, NULL);
		if (rc < 0)
			return rc;
		c->origin[CK_P2P_PRIVATEKEY] = CO_GENERATED;
	}
	if (need[CK_WG_PRIVATEKEY]) {
		wgkey_generate(c->sec->wg_priv, NULL);
		c->has_wg_priv = true;
		c->origin[CK_WG_PRIVATEKEY] = CO_GENERATED;
	}
	return 0;
}

int w2w_config_generate_secrets(struct w2w_config *c)
{
	bool need[CK__COUNT] = {0};

	c->err[0] = 0;
	cfg_gen_missing(c, need);
	return cfg_generate(c, need);
}

/* ---- setters ---- */

int w2w_config_set(struct w2w_config *c, const char *section, const char *key, const char *value)
{
	int s, k;

	c->err[0] = 0;
	s = section ? cfg_find_section(section, strlen(section)) : -1;
	k = s >= 0 && key ? cfg_find_key(s, key, strlen(key)) : -1;
	if (k < 0) {
		char sb[72], kb[72];

		cfg_err_at(c, -1, CO_SET, 0, "unknown key [%s] %s",
		           section ? cfg_name_shown(sb, section, strlen(section)) : "",
		           key ? cfg_name_shown(kb, key, strlen(key)) : "");
		return W2W_EPARSE;
	}
	return cfg_apply(c, k, value ? value : "", value ? strlen(value) : 0, CO_SET, 0);
}

static int set_text(struct w2w_config *c, int k, const char *v)
{
	c->err[0] = 0;
	return cfg_apply(c, k, v ? v : "", v ? strlen(v) : 0, CO_SET, 0);
}

static int set_fmt(struct w2w_config *c, int k, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int set_fmt(struct w2w_config *c, int k, const char *fmt, ...)
{
	char v[64];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(v, sizeof(v), fmt, ap);
	va_end(ap);
	return set_text(c, k, v);
}

/* Keys go through the file's own parsers: the same text, the same checks and
 * messages, decoded in constant time (secret_from_b64, wgkey_from_b64). */
int w2w_config_set_psk(struct w2w_config *c, const char *b64)
{
	return set_text(c, CK_P2P_PSK, b64);
}

int w2w_config_set_p2p_private_key(struct w2w_config *c, const char *b64)
{
	return set_text(c, CK_P2P_PRIVATEKEY, b64);
}

int w2w_config_set_wg_private_key(struct w2w_config *c, const char *b64)
{
	return set_text(c, CK_WG_PRIVATEKEY, b64);
}

int w2w_config_set_listen_addr(struct w2w_config *c, const char *ma)
{
	return set_text(c, CK_P2P_LISTENADDR, ma);
}

int w2w_config_add_bootstrap(struct w2w_config *c, const char *ma)
{
	uint8_t bin[MA_MAX_BIN];
	struct ma_addr a;
	char text[MA_MAX_TEXT], *copy;
	int blen;

	c->err[0] = 0;
	blen = ma ? ma_parse(bin, sizeof(bin), ma, strlen(ma)) : W2W_EPARSE;
	if (blen < 0 || ma_decompose(bin, (size_t)blen, &a) < 0 || !a.tcp || !a.has_peer) {
		cfg_err_at(c, CK_P2P_BOOTSTRAP, CO_SET, 0, "not a /…/tcp/<port>/p2p/<peer ID> multiaddr");
		return W2W_EPARSE;
	}
	if (c->n_bootstrap == CFG_MAX_BOOTSTRAP) {
		cfg_err_at(c, CK_P2P_BOOTSTRAP, CO_SET, 0, "more than %d addresses", CFG_MAX_BOOTSTRAP);
		return W2W_ELIMIT;
	}
	if (ma_format(text, sizeof(text), bin, (size_t)blen) < 0 || !(copy = strdup(text)))
		return -ENOMEM;
	c->bootstrap[c->n_bootstrap++] = copy;
	c->origin[CK_P2P_BOOTSTRAP] = CO_SET;
	return 0;
}

int w2w_config_set_announce_interval_ms(struct w2w_config *c, uint64_t ms)
{
	return set_fmt(c, CK_P2P_ANNOUNCE, "%llums", (unsigned long long)ms);
}

int w2w_config_set_mdns(struct w2w_config *c, int on)
{
	return set_text(c, CK_P2P_MDNS, on ? "true" : "false");
}

int w2w_config_set_mdns_interfaces(struct w2w_config *c, const char *list)
{
	return set_text(c, CK_P2P_MDNSIFACES, list);
}

int w2w_config_set_mdns_interval_ms(struct w2w_config *c, uint64_t ms)
{
	return set_fmt(c, CK_P2P_MDNSINTERVAL, "%llums", (unsigned long long)ms);
}

int w2w_config_set_interface(struct w2w_config *c, const char *ifname)
{
	return set_text(c, CK_WG_INTERFACE, ifname);
}

int w2w_config_set_listen_port(struct w2w_config *c, unsigned port)
{
	return set_fmt(c, CK_WG_LISTENPORT, "%u", port);
}

int w2w_config_set_network_range(struct w2w_config *c, const char *cidr)
{
	return set_text(c, CK_WG_RANGE, cidr);
}

int w2w_config_set_node_name(struct w2w_config *c, const char *name)
{
	return set_text(c, CK_WG_NODENAME, name);
}

int w2w_config_set_keepalive_s(struct w2w_config *c, int seconds)
{
	return seconds < 0 ? set_text(c, CK_WG_KEEPALIVE, "-1") : set_fmt(c, CK_WG_KEEPALIVE, "%ds", seconds);
}

int w2w_config_set_mtu(struct w2w_config *c, unsigned mtu)
{
	return set_fmt(c, CK_WG_MTU, "%u", mtu);
}

int w2w_config_set_backend(struct w2w_config *c, enum w2w_backend backend)
{
	static const char *const names[] = {"auto", "kernel", "userspace"};

	return set_text(c, CK_WG_BACKEND, (unsigned)backend < 3 ? names[backend] : "?");
}

int w2w_config_set_address(struct w2w_config *c, const char *ip)
{
	return set_text(c, CK_WG_ADDRESS, ip);
}

int w2w_config_set_state_dir(struct w2w_config *c, const char *path)
{
	return set_text(c, CK_NODE_STATEDIR, path);
}

int w2w_config_set_log_level(struct w2w_config *c, const char *level)
{
	return set_text(c, CK_NODE_LOGLEVEL, level);
}

int w2w_config_set_peer_expiry_ms(struct w2w_config *c, uint64_t ms)
{
	return set_fmt(c, CK_NODE_PEEREXPIRY, "%llums", (unsigned long long)ms);
}

int w2w_config_set_control_socket(struct w2w_config *c, const char *path)
{
	return set_text(c, CK_NODE_CONTROLSOCKET, path);
}

int w2w_config_set_dns_domain(struct w2w_config *c, const char *domain)
{
	return set_text(c, CK_NODE_DNSDOMAIN, domain);
}

int w2w_config_set_metrics_addr(struct w2w_config *c, const char *addr)
{
	return set_text(c, CK_NODE_METRICSADDR, addr);
}

/* ---- getters ---- */

const char *w2w_config_metrics_addr(const struct w2w_config *c)
{
	return c->metrics_addr;
}

const char *w2w_config_path(const struct w2w_config *c)
{
	return c->path;
}

const char *w2w_config_interface(const struct w2w_config *c)
{
	return c->ifname;
}

unsigned w2w_config_listen_port(const struct w2w_config *c)
{
	return c->listen_port;
}

const char *w2w_config_listen_addr(const struct w2w_config *c)
{
	return c->listen_addr;
}

size_t w2w_config_bootstrap_count(const struct w2w_config *c)
{
	return c->n_bootstrap;
}

const char *w2w_config_bootstrap(const struct w2w_config *c, size_t i)
{
	return i < c->n_bootstrap ? c->bootstrap[i] : NULL;
}

int w2w_config_mdns(const struct w2w_config *c)
{
	return c->mdns;
}

const char *w2w_config_mdns_interfaces(const struct w2w_config *c)
{
	return c->mdns_ifaces_text;
}

uint64_t w2w_config_mdns_interval_ms(const struct w2w_config *c)
{
	return c->mdns_interval_ms;
}

const char *w2w_config_node_name(const struct w2w_config *c)
{
	return c->node_name;
}

unsigned w2w_config_mtu(const struct w2w_config *c)
{
	return c->mtu;
}

enum w2w_backend w2w_config_backend(const struct w2w_config *c)
{
	return c->backend;
}

const char *w2w_config_state_dir(const struct w2w_config *c)
{
	return c->state_dir;
}

const char *w2w_config_control_socket(const struct w2w_config *c)
{
	return c->control_socket;
}

const char *w2w_config_dns_domain(const struct w2w_config *c)
{
	return c->dns_domain;
}

int w2w_config_log_level(const struct w2w_config *c)
{
	return c->log_level;
}

int w2w_config_peer_id(const struct w2w_config *c, char *out, size_t cap)
{
	int n;

	if (!c->id)
		return W2W_ESTATE;
	n = peerid_to_b58(out, out ? cap : 0, ident_peerid(c->id));
	return n == W2W_ELIMIT ? -ENOSPC : n;
}

int w2w_config_wg_public_key(const struct w2w_config *c, char *out, size_t cap)
{
	uint8_t pub[WG_KEY_LEN];
	char text[WG_KEY_B64_LEN + 1];

	if (!c->has_wg_priv)
		return W2W_ESTATE;
	if (!out || cap < sizeof(text))
		return -ENOSPC;
	if (wgkey_public(pub, c->sec->wg_priv) < 0)
		return W2W_EPARSE;
	wgkey_to_b64(text, pub);
	memcpy(out, text, sizeof(text));
	return WG_KEY_B64_LEN;
}

/* ---- dump ---- */

