/* SPDX-License-Identifier: MIT */
/* w2w_config_dump(): the effective configuration as INI text, secrets
 * redacted, each value's origin in a comment. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "b64.h"
#include "buf.h"
#include "config_priv.h"
#include "err.h"
#include "godur.h"
#include "multiaddr.h"

static void origin_text(const struct w2w_config *c, int k, char *out, size_t cap)
{
	switch (c->origin[k]) {
	case CO_FILE:
		snprintf(out, cap, "file line %u", c->line[k]);
		break;
	case CO_ENV:
		snprintf(out, cap, "environment");
		break;
	case CO_SET:
		snprintf(out, cap, "set by the program");
		break;
	case CO_GENERATED:
		snprintf(out, cap, "generated");
		break;
	default:
		snprintf(out, cap, "default");
	}
}

static void value_text(const struct w2w_config *c, int k, struct buf *b)
{
	char t[MA_MAX_TEXT];

	switch (k) {
	case CK_P2P_PSK:
		buf_printf(b, "%s", c->has_psk ? "<redacted>" : "");
		break;
	case CK_P2P_PRIVATEKEY:
		buf_printf(b, "%s", c->id ? "<redacted>" : "");
		break;
	case CK_WG_PRIVATEKEY:
		buf_printf(b, "%s", c->has_wg_priv ? "<redacted>" : "");
		break;
	case CK_P2P_PSKFILE:
		buf_printf(b, "%s", c->psk_file);
		break;
	case CK_P2P_NEXTPSKFILE:
		buf_printf(b, "%s", c->next_psk_file);
		break;
	case CK_P2P_BOOTSTRAP:
		for (size_t i = 0; i < c->n_bootstrap; i++)
			buf_printf(b, "%s%s", i ? "," : "", c->bootstrap[i]);
		break;
	case CK_P2P_LISTENADDR:
		buf_printf(b, "%s", c->listen_addr);
		break;
	case CK_P2P_ANNOUNCE:
		godur_format_ms(t, sizeof(t), c->announce_ms);
		buf_printf(b, "%s", t);
		break;
	case CK_P2P_MDNS:
		buf_printf(b, "%s", c->mdns ? "true" : "false");
		break;
	case CK_NODE_PAIRPSK:
		buf_printf(b, "%s", c->pair_psk ? "true" : "false");
		break;
	case CK_P2P_MDNSIFACES:
		buf_printf(b, "%s", c->mdns_ifaces_text);
		break;
	case CK_P2P_MDNSINTERVAL:
		godur_format_ms(t, sizeof(t), c->mdns_interval_ms);
		buf_printf(b, "%s", t);
		break;
	case CK_WG_INTERFACE:
		buf_printf(b, "%s", c->ifname);
		break;
	case CK_WG_LISTENPORT:
		buf_printf(b, "%u", c->listen_port);
		break;
	case CK_WG_RANGE:
		cfg_ip_text(t, sizeof(t), c->range.family, c->range.addr);
		buf_printf(b, "%s/%u", t, c->range.len);
		break;
	case CK_WG_NODENAME:
		buf_printf(b, "%s", c->node_name);
		break;
	case CK_WG_KEEPALIVE:
		if (c->keepalive_s < 0) {
			buf_printf(b, "-1");
		} else {
			godur_format_ms(t, sizeof(t), (uint64_t)c->keepalive_s * 1000);
			buf_printf(b, "%s", t);
		}
		break;
	case CK_WG_MTU:
		buf_printf(b, "%u", c->mtu);
		break;
	case CK_WG_BACKEND:
		buf_printf(b, "%s",
		           c->backend == W2W_BACKEND_KERNEL      ? "kernel"
		           : c->backend == W2W_BACKEND_USERSPACE ? "userspace"
		                                                 : "auto");
		break;
	case CK_WG_ADDRESS:
		if (c->address_family) {
			cfg_ip_text(t, sizeof(t), c->address_family, c->address);
			buf_printf(b, "%s", t);
		}
		break;
	case CK_NODE_STATEDIR:
		buf_printf(b, "%s", c->state_dir);
		break;
	case CK_NODE_LOGLEVEL:
		buf_printf(b, "%s",
		           c->log_level <= 3   ? "error"
		           : c->log_level == 4 ? "warn"
		           : c->log_level == 7 ? "debug"
		                               : "info");
		break;
	case CK_NODE_PEEREXPIRY:
		godur_format_ms(t, sizeof(t), c->peer_expiry_ms);
		buf_printf(b, "%s", c->peer_expiry_ms ? t : "");
		break;
	case CK_NODE_REFRESH:
		godur_format_ms(t, sizeof(t), c->refresh_ms);
		buf_printf(b, "%s", t);
		break;
	case CK_NODE_CONTROLSOCKET:
		buf_printf(b, "%s", c->control_socket);
		break;
	case CK_P2P_ADMISSIONKEY:
		for (size_t i = 0; i < c->n_adm_keys; i++) {
			char k64[48];

			b64_encode(k64, sizeof(k64), c->adm_keys[i], 32);
			buf_printf(b, "%s%s", i ? "," : "", k64);
		}
		break;
	case CK_P2P_ADMISSIONTOKEN:
		buf_printf(b, "%s", c->adm_token);
		break;
	case CK_NODE_DNSDOMAIN:
		buf_printf(b, "%s", c->dns_domain);
		break;
	case CK_P2P_RELAY:
		buf_printf(b, "%s", c->relay ? "true" : "false");
		break;
	case CK_P2P_RELAYMAXPAIRS:
		buf_printf(b, "%u", c->relay_max_pairs);
		break;
	case CK_P2P_RELAYRATE:
		if (c->relay_rate % (1 << 20) == 0)
			buf_printf(b, "%lluMiB", (unsigned long long)(c->relay_rate >> 20));
		else if (c->relay_rate % 1024 == 0)
			buf_printf(b, "%lluKiB", (unsigned long long)(c->relay_rate >> 10));
		else
			buf_printf(b, "%llu", (unsigned long long)c->relay_rate);
		break;
	case CK_NODE_METRICSADDR:
		buf_printf(b, "%s", c->metrics_addr);
		break;
	case CK_NODE_KEYROTATION:
		godur_format_ms(t, sizeof(t), c->key_rotation_ms);
		buf_printf(b, "%s", c->key_rotation_ms ? t : "off");
		break;
	}
}

int w2w_config_dump(const struct w2w_config *c, char **out)
{
	struct buf b;
	char org[48];
	size_t start;
	int rc = 0;

	buf_init(&b, 1u << 20);
	for (const char *p = c->note, *e; *p; p = *e ? e + 1 : e) {
		e = strchrnul(p, '\n');
		buf_printf(&b, "; note: %.*s\n", (int)(e - p), p);
	}
	for (int s = 0; s < SEC__COUNT; s++) {
		buf_printf(&b, "%s[%s]\n", s ? "\n" : "", cfg_sections[s]);
		for (int k = 0; k < CK__COUNT; k++) {
			if (cfg_keydefs[k].section != s)
				continue;
			start = b.len;
			buf_printf(&b, "%s = ", cfg_keydefs[k].name);
			value_text(c, k, &b);
			origin_text(c, k, org, sizeof(org));
			if (k == CK_P2P_PSK && c->psk_file[0] && c->origin[k] == CO_DEFAULT)
				snprintf(org, sizeof(org), "from PSKFile");
			else if (cfg_keydefs[k].secret && c->origin[k] == CO_DEFAULT)
				snprintf(org, sizeof(org), "not set");
			if (b.len - start < 40)
				buf_printf(&b, "%*s", (int)(40 - (b.len - start)), "");
			rc = buf_printf(&b, " ; %s\n", org);
		}
	}
	if (rc >= 0 && b.data && b.len < INT32_MAX) {
		char *text = malloc(b.len + 1);

		if (text) {
			memcpy(text, b.data, b.len);
			text[b.len] = 0;
			*out = text;
			rc = (int)b.len;
		} else {
			rc = -ENOMEM;
		}
	} else if (rc >= 0) {
		rc = b.data ? W2W_ELIMIT : -ENOMEM;
	}
	buf_free(&b);
	return rc;
}
