/* SPDX-License-Identifier: MIT */
/* `wg setconf` file parser and `wg showconf` printer (wg(8) CONFIGURATION FILE FORMAT). */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "err.h"
#include "wgconf.h"
#include "wgkey.h"

enum section { SEC_NONE, SEC_INTERFACE, SEC_PEER };

static int fail(struct wgconf_err *err, unsigned line, int code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int fail(struct wgconf_err *err, unsigned line, int code, const char *fmt, ...)
{
	va_list ap;

	if (err) {
		err->line = line;
		va_start(ap, fmt);
		vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
		va_end(ap);
	}
	return code;
}

/* Keys are secrets: decoded in constant time (crypto/wgkey.h). */
static bool parse_b64key(uint8_t out[WGDEV_KEY_LEN], const char *v, size_t n)
{
	return wgkey_from_b64(out, v, n) == 0;
}

static bool is_key(const char *k, size_t kn, const char *name)
{
	return strlen(name) == kn && strncasecmp(k, name, kn) == 0;
}

static int add_allowedips(struct wgpeer *peer, const char *v, size_t n, unsigned line, size_t *total,
			  struct wgconf_err *err)
{
	size_t i = 0;

	while (i < n) {
		const char *item = v + i, *comma = memchr(item, ',', n - i);
		size_t len = comma ? (size_t)(comma - item) : n - i;
		struct wgallowedip a = {0}, *na;

		i += len + (comma ? 1 : 0);
		if (len == 0) {
			if (comma)
				return fail(err, line, W2W_EPARSE, "empty entry in AllowedIPs");
			break;
		}
		if (memchr(item, '/', len)) {
			if (!wgallowedip_parse(&a, item, len))
				return fail(err, line, W2W_EPARSE, "invalid AllowedIPs entry '%.*s'",
					    (int)(len > 60 ? 60 : len), item);
		} else {
			/* A bare address means the host route (/32 or /128), as wg(8) reads it. */
			char tmp[WGALLOWEDIP_STRLEN];
			int w = snprintf(tmp, sizeof(tmp), "%.*s/%u", (int)len, item,
					 memchr(item, ':', len) ? 128u : 32u);

			if (w < 0 || (size_t)w >= sizeof(tmp) || !wgallowedip_parse(&a, tmp, (size_t)w))
				return fail(err, line, W2W_EPARSE, "invalid AllowedIPs entry '%.*s'",
					    (int)(len > 60 ? 60 : len), item);
		}
		if (++*total > (size_t)WGCONF_MAX_PEERS * 4)
			return fail(err, line, W2W_ELIMIT, "too many allowed IPs");
		na = wgpeer_add_allowedip(peer);
		if (!na)
			return -ENOMEM;
		a.next_allowedip = NULL;
		*na = a;
	}
	return 0;
}

static int interface_key(struct wgdevice *dev, const char *k, size_t kn, const char *v, size_t vn,
			 unsigned line, struct wgconf_err *err)
{
	uint64_t x;

	if (is_key(k, kn, "PrivateKey")) {
		if (!parse_b64key(dev->private_key, v, vn))
			return fail(err, line, W2W_EPARSE, "PrivateKey is not a base64 WireGuard key");
		dev->flags |= WGDEVICE_HAS_PRIVATE_KEY;
	} else if (is_key(k, kn, "ListenPort")) {
		if (!wgdev_parse_num(&x, v, vn, 65535, false))
			return fail(err, line, W2W_EPARSE, "ListenPort must be 0..65535");
		dev->listen_port = (uint16_t)x;
		dev->flags |= WGDEVICE_HAS_LISTEN_PORT;
	} else if (is_key(k, kn, "FwMark")) {
		if (vn == 3 && strncasecmp(v, "off", 3) == 0)
			x = 0;
		else if (!wgdev_parse_num(&x, v, vn, UINT32_MAX, true))
			return fail(err, line, W2W_EPARSE, "FwMark must be 'off' or a 32-bit number");
		dev->fwmark = (uint32_t)x;
		dev->flags |= WGDEVICE_HAS_FWMARK;
	} else {
		return fail(err, line, W2W_EPARSE, "unknown key '%.*s' in [Interface]%s", (int)(kn > 40 ? 40 : kn), k,
			    is_key(k, kn, "Address") || is_key(k, kn, "MTU") || is_key(k, kn, "DNS")
				    ? " (a wg-quick key: use `wg-quick strip`)"
				    : "");
	}
	return 0;
}

static int peer_key(struct wgpeer *peer, const char *k, size_t kn, const char *v, size_t vn, unsigned line,
		    size_t *naips, struct wgconf_err *err)
{
	uint64_t x;

	if (is_key(k, kn, "PublicKey")) {
		if (!parse_b64key(peer->public_key, v, vn))
			return fail(err, line, W2W_EPARSE, "PublicKey is not a base64 WireGuard key");
		peer->flags |= WGPEER_HAS_PUBLIC_KEY;
	} else if (is_key(k, kn, "PresharedKey")) {
		if (!parse_b64key(peer->preshared_key, v, vn))
			return fail(err, line, W2W_EPARSE, "PresharedKey is not a base64 WireGuard key");
		peer->flags |= WGPEER_HAS_PRESHARED_KEY;
	} else if (is_key(k, kn, "AllowedIPs")) {
		return add_allowedips(peer, v, vn, line, naips, err);
	} else if (is_key(k, kn, "Endpoint")) {
		if (!wgendpoint_parse(&peer->endpoint, v, vn))
			return fail(err, line, W2W_EPARSE,
				    "Endpoint must be a numeric 'a.b.c.d:port' or '[v6]:port' (no host names)");
	} else if (is_key(k, kn, "PersistentKeepalive")) {
		if (vn == 3 && strncasecmp(v, "off", 3) == 0)
			x = 0;
		else if (!wgdev_parse_num(&x, v, vn, 65535, false))
			return fail(err, line, W2W_EPARSE, "PersistentKeepalive must be 'off' or 0..65535");
		peer->persistent_keepalive_interval = (uint16_t)x;
		peer->flags |= WGPEER_HAS_PERSISTENT_KEEPALIVE;
	} else {
		return fail(err, line, W2W_EPARSE, "unknown key '%.*s' in [Peer]", (int)(kn > 40 ? 40 : kn), k);
	}
	return 0;
}

static int check_duplicates(const struct wgdevice *dev, struct wgconf_err *err)
{
	struct wgpeer **v;
	size_t n;
	int ret = wgdev_sorted_peers(dev, true, &v, &n);

	if (ret == -EINVAL)
		return fail(err, 0, W2W_EPARSE, "the same PublicKey appears in two [Peer] sections");
	if (ret < 0)
		return ret;
	free(v);
	return 0;
}

int wgconf_parse(const char *text, size_t len, struct wgdevice **out, struct wgconf_err *err)
{
	struct wgdevice *dev = NULL;
	struct wgpeer *peer = NULL;
	enum section sec = SEC_NONE;
	char *lb = NULL; /* the current line without whitespace; may hold a key: wiped */
	size_t off = 0, npeers = 0, naips = 0;
	unsigned line = 0, peer_line = 0;
	int ret;

	if (err) {
		err->line = 0;
		err->msg[0] = '\0';
	}
	if (len > WGCONF_MAX_SIZE)
		return fail(err, 0, W2W_ELIMIT, "file larger than %u bytes", WGCONF_MAX_SIZE);
	dev = wgdev_new();
	lb = malloc(WGCONF_MAX_LINE);
	if (!dev || !lb) {
		ret = -ENOMEM;
		goto out;
	}
	while (off < len) {
		const char *l = text + off, *nl = memchr(l, '\n', len - off), *eq;
		size_t ln = nl ? (size_t)(nl - l) : len - off, n = 0;

		off += ln + (nl ? 1 : 0);
		line++;
		if (ln > WGCONF_MAX_LINE) {
			ret = fail(err, line, W2W_ELIMIT, "line longer than %u bytes", WGCONF_MAX_LINE);
			goto out;
		}
		for (size_t i = 0; i < ln && l[i] != '#'; i++) {
			if (l[i] == '\0') {
				ret = fail(err, line, W2W_EPARSE, "NUL byte in line");
				goto out;
			}
			if (!isspace((unsigned char)l[i]))
				lb[n++] = l[i];
		}
		if (n == 0)
			continue;
		if (lb[0] == '[') {
			if (sec == SEC_PEER && !(peer->flags & WGPEER_HAS_PUBLIC_KEY)) {
				ret = fail(err, peer_line, W2W_EPARSE, "[Peer] without PublicKey");
				goto out;
			}
			if (is_key(lb, n, "[Interface]")) {
				sec = SEC_INTERFACE;
			} else if (is_key(lb, n, "[Peer]")) {
				if (++npeers > WGCONF_MAX_PEERS) {
					ret = fail(err, line, W2W_ELIMIT, "more than %u peers", WGCONF_MAX_PEERS);
					goto out;
				}
				peer = wgdev_add_peer(dev);
				if (!peer) {
					ret = -ENOMEM;
					goto out;
				}
				/* The file lists the whole allowed-IP set of the peer. */
				peer->flags |= WGPEER_REPLACE_ALLOWEDIPS;
				peer_line = line;
				sec = SEC_PEER;
			} else {
				ret = fail(err, line, W2W_EPARSE, "unknown section '%.*s'", (int)(n > 40 ? 40 : n), lb);
				goto out;
			}
			continue;
		}
		eq = memchr(lb, '=', n);
		if (!eq) {
			ret = fail(err, line, W2W_EPARSE, "expected 'Key = value'");
			goto out;
		}
		if (sec == SEC_NONE) {
			ret = fail(err, line, W2W_EPARSE, "key outside of a section");
			goto out;
		}
		if (sec == SEC_INTERFACE)
			ret = interface_key(dev, lb, (size_t)(eq - lb), eq + 1, n - (size_t)(eq - lb) - 1, line, err);
		else
			ret = peer_key(peer, lb, (size_t)(eq - lb), eq + 1, n - (size_t)(eq - lb) - 1, line, &naips,
				       err);
		if (ret < 0)
			goto out;
	}
	if (sec == SEC_PEER && !(peer->flags & WGPEER_HAS_PUBLIC_KEY)) {
		ret = fail(err, peer_line, W2W_EPARSE, "[Peer] without PublicKey");
		goto out;
	}
	ret = check_duplicates(dev, err);
	if (ret < 0)
		goto out;
	*out = dev;
	dev = NULL;
	ret = 0;
out:
	if (lb) {
		explicit_bzero(lb, WGCONF_MAX_LINE);
		free(lb);
	}
	wgdev_free(dev);
	return ret;
}

static int put_b64key(struct buf *b, const char *name, const uint8_t k[WGDEV_KEY_LEN])
{
	char t[WG_KEY_B64_LEN + 1];
	int ret;

	wgkey_to_b64(t, k);
	ret = buf_printf(b, "%s = %s\n", name, t);
	explicit_bzero(t, sizeof(t));
	return ret;
}

int wgconf_print(const struct wgdevice *dev, struct buf *b)
{
	const struct wgpeer *p;
	const struct wgallowedip *a;
	char t[WGENDPOINT_STRLEN];
	int ret = buf_append(b, "[Interface]\n", 12);

	if (ret >= 0 && dev->listen_port)
		ret = buf_printf(b, "ListenPort = %u\n", dev->listen_port);
	if (ret >= 0 && dev->fwmark)
		ret = buf_printf(b, "FwMark = 0x%x\n", dev->fwmark);
	if (ret >= 0 && (dev->flags & WGDEVICE_HAS_PRIVATE_KEY))
		ret = put_b64key(b, "PrivateKey", dev->private_key);
	if (ret >= 0)
		ret = buf_append(b, "\n", 1);
	for (p = dev->first_peer; p && ret >= 0; p = p->next_peer) {
		ret = buf_append(b, "[Peer]\n", 7);
		if (ret >= 0)
			ret = put_b64key(b, "PublicKey", p->public_key);
		if (ret >= 0 && (p->flags & WGPEER_HAS_PRESHARED_KEY))
			ret = put_b64key(b, "PresharedKey", p->preshared_key);
		if (ret >= 0 && p->first_allowedip) {
			ret = buf_append(b, "AllowedIPs = ", 13);
			for (a = p->first_allowedip; a && ret >= 0; a = a->next_allowedip) {
				if (wgallowedip_format(t, sizeof(t), a) < 0)
					continue;
				ret = buf_printf(b, "%s%s", t, a->next_allowedip ? ", " : "");
			}
			if (ret >= 0)
				ret = buf_append(b, "\n", 1);
		}
		if (ret >= 0 && wgendpoint_format(t, sizeof(t), &p->endpoint) >= 0)
			ret = buf_printf(b, "Endpoint = %s\n", t);
		if (ret >= 0 && p->persistent_keepalive_interval)
			ret = buf_printf(b, "PersistentKeepalive = %u\n", p->persistent_keepalive_interval);
		if (ret >= 0 && p->next_peer)
			ret = buf_append(b, "\n", 1);
	}
	return ret < 0 ? ret : 0;
}
