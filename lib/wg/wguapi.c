/* SPDX-License-Identifier: MIT */
/* The UAPI text protocol of userspace WireGuard (wguapi.h), no I/O. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "err.h"
#include "wgkey.h"
#include "wguapi.h"

/* ------------------------------------------------------------------ */
/* Pure protocol functions                                             */

long wg_uapi_response_scan(const char *d, size_t len, size_t *pos, size_t *line)
{
	for (size_t i = *pos; i < len; i++) {
		if (d[i] != '\n')
			continue;
		if (i == *line)
			return (long)(i + 1);
		if (i - *line + 1 > WG_UAPI_MAX_LINE)
			return W2W_EPROTO;
		*line = i + 1;
	}
	*pos = len;
	if (len - *line > WG_UAPI_MAX_LINE)
		return W2W_EPROTO;
	return 0;
}

long wg_uapi_response_len(const char *data, size_t len)
{
	size_t pos = 0, line = 0;

	return wg_uapi_response_scan(data, len, &pos, &line);
}

/* Keys are secrets: hex in constant time (crypto/wgkey.h, libsodium). */
static bool parse_key(uint8_t out[WGDEV_KEY_LEN], const char *v, size_t n)
{
	return wgkey_from_hex(out, v, n) == 0;
}

/* wireguard-go prints a link-local endpoint with its zone *name* ("[fe80::1%eth0]:51820",
 * Go's netip form); the shared parser takes numeric zones only, so the name is resolved
 * with zone() (the OS's if_nametoindex; NULL: every name reads as 0). A zone that does
 * not exist in this namespace reads as scope 0 rather than failing the whole device. */
static bool parse_endpoint_zone(union wgendpoint *ep, const char *v, size_t n, wg_uapi_zone_fn zone)
{
	char buf[WGENDPOINT_STRLEN + WGDEV_IFNAMSIZ], zname[WGDEV_IFNAMSIZ];
	const char *pct, *rb;
	size_t zl;
	int w;

	if (wgendpoint_parse(ep, v, n))
		return true;
	if (n == 0 || v[0] != '[' || !(pct = memchr(v, '%', n)) || !(rb = memchr(pct, ']', (size_t)(v + n - pct))))
		return false;
	zl = (size_t)(rb - pct - 1);
	if (zl == 0 || zl >= sizeof(zname))
		return false;
	memcpy(zname, pct + 1, zl);
	zname[zl] = '\0';
	w = snprintf(buf, sizeof(buf), "%.*s%%%u%.*s", (int)(pct - v), v, zone ? zone(zname) : 0u, (int)(v + n - rb), rb);
	if (w < 0 || (size_t)w >= sizeof(buf))
		return false;
	return wgendpoint_parse(ep, buf, (size_t)w);
}

/* "errno=N": the xplatform text says N; wireguard-go writes its IPC error codes as
 * negative numbers (IpcErrorIO = -EIO, IpcErrorPortInUse = -EADDRINUSE, ...), and
 * wg(8) passes either through. Both signs mean errno |N|. Values past 999 are not
 * errno numbers (and would collide with the W2W_E* band): malformed. */
static bool parse_errno(uint64_t *out, const char *v, size_t n)
{
	if (n > 1 && v[0] == '-') {
		v++;
		n--;
	}
	return wgdev_parse_u64(out, v, n, 999);
}

static bool key_is(const char *k, size_t kn, const char *name)
{
	return strlen(name) == kn && memcmp(k, name, kn) == 0;
}

int wg_uapi_parse_get(const char *data, size_t len, const char *ifname, wg_uapi_zone_fn zone, struct wgdevice **out,
		      unsigned *errline)
{
	struct wgdevice *dev = wgdev_new();
	struct wgpeer *peer = NULL;
	size_t off = 0, npeers = 0, naips = 0;
	unsigned line = 0;
	bool have_errno = false, done = false;
	uint64_t errnum = 0, v;
	int ret = W2W_EPROTO;

	if (!dev)
		return -ENOMEM;
	if (ifname && wgdev_set_name(dev, ifname) < 0) {
		ret = -EINVAL;
		goto out;
	}
	while (off < len) {
		const char *l = data + off, *nl = memchr(l, '\n', len - off), *eq, *val;
		size_t ln, kn, vn;

		line++;
		if (!nl)
			goto out; /* truncated: a line without its end */
		ln = (size_t)(nl - l);
		off += ln + 1;
		if (ln + 1 > WG_UAPI_MAX_LINE)
			goto out;
		if (ln == 0) {
			done = true;
			break;
		}
		if (have_errno)
			goto out; /* errno is the last key */
		eq = memchr(l, '=', ln);
		if (!eq)
			goto out;
		kn = (size_t)(eq - l);
		val = eq + 1;
		vn = ln - kn - 1;
		if (key_is(l, kn, "errno")) {
			if (!parse_errno(&errnum, val, vn))
				goto out;
			have_errno = true;
		} else if (key_is(l, kn, "public_key")) {
			if (++npeers > WG_UAPI_MAX_PEERS) {
				ret = W2W_ELIMIT;
				goto out;
			}
			peer = wgdev_add_peer(dev);
			if (!peer) {
				ret = -ENOMEM;
				goto out;
			}
			if (!parse_key(peer->public_key, val, vn))
				goto out;
			peer->flags |= WGPEER_HAS_PUBLIC_KEY;
		} else if (!peer) {
			if (key_is(l, kn, "private_key")) {
				if (!parse_key(dev->private_key, val, vn))
					goto out;
				if (!wgdev_key_is_zero(dev->private_key))
					dev->flags |= WGDEVICE_HAS_PRIVATE_KEY;
			} else if (key_is(l, kn, "listen_port")) {
				if (!wgdev_parse_u64(&v, val, vn, 0xffff))
					goto out;
				dev->listen_port = (uint16_t)v;
				dev->flags |= WGDEVICE_HAS_LISTEN_PORT;
			} else if (key_is(l, kn, "fwmark")) {
				if (!wgdev_parse_u64(&v, val, vn, 0xffffffff))
					goto out;
				dev->fwmark = (uint32_t)v;
				dev->flags |= WGDEVICE_HAS_FWMARK;
			} else if (key_is(l, kn, "preshared_key") || key_is(l, kn, "endpoint") ||
				   key_is(l, kn, "allowed_ip")) {
				goto out; /* peer keys before any public_key */
			}
		} else if (key_is(l, kn, "preshared_key")) {
			if (!parse_key(peer->preshared_key, val, vn))
				goto out;
			if (!wgdev_key_is_zero(peer->preshared_key))
				peer->flags |= WGPEER_HAS_PRESHARED_KEY;
		} else if (key_is(l, kn, "endpoint")) {
			if (!parse_endpoint_zone(&peer->endpoint, val, vn, zone))
				goto out;
		} else if (key_is(l, kn, "persistent_keepalive_interval")) {
			if (!wgdev_parse_u64(&v, val, vn, 0xffff))
				goto out;
			peer->persistent_keepalive_interval = (uint16_t)v;
			peer->flags |= WGPEER_HAS_PERSISTENT_KEEPALIVE;
		} else if (key_is(l, kn, "allowed_ip")) {
			struct wgallowedip *a;

			if (++naips > WG_UAPI_MAX_ALLOWEDIPS) {
				ret = W2W_ELIMIT;
				goto out;
			}
			a = wgpeer_add_allowedip(peer);
			if (!a) {
				ret = -ENOMEM;
				goto out;
			}
			if (!wgallowedip_parse(a, val, vn))
				goto out;
		} else if (key_is(l, kn, "last_handshake_time_sec")) {
			if (!wgdev_parse_u64(&v, val, vn, INT64_MAX))
				goto out;
			peer->last_handshake_time.tv_sec = (int64_t)v;
		} else if (key_is(l, kn, "last_handshake_time_nsec")) {
			if (!wgdev_parse_u64(&v, val, vn, 999999999))
				goto out;
			peer->last_handshake_time.tv_nsec = (int64_t)v;
		} else if (key_is(l, kn, "rx_bytes")) {
			if (!wgdev_parse_u64(&v, val, vn, UINT64_MAX))
				goto out;
			peer->rx_bytes = v;
		} else if (key_is(l, kn, "tx_bytes")) {
			if (!wgdev_parse_u64(&v, val, vn, UINT64_MAX))
				goto out;
			peer->tx_bytes = v;
		}
		/* other keys (protocol_version, future ones) are skipped */
	}
	if (!done || !have_errno || off != len)
		goto out; /* truncated, or bytes after the end */
	if (errnum) {
		ret = -(int)errnum;
		goto out;
	}
	*out = dev;
	dev = NULL;
	ret = 0;
out:
	if (ret < 0 && errline)
		*errline = line;
	wgdev_free(dev);
	return ret;
}

int wg_uapi_parse_set(const char *data, size_t len)
{
	static const char pfx[] = "errno=";
	uint64_t e;
	size_t n;

	if (len < sizeof(pfx) - 1 + 3 || memcmp(data, pfx, sizeof(pfx) - 1) != 0)
		return W2W_EPROTO;
	if (data[len - 1] != '\n' || data[len - 2] != '\n')
		return W2W_EPROTO;
	n = len - (sizeof(pfx) - 1) - 2;
	if (!parse_errno(&e, data + sizeof(pfx) - 1, n))
		return W2W_EPROTO;
	return e ? -(int)e : 0;
}

static int put_key(struct buf *b, const char *name, const uint8_t k[WGDEV_KEY_LEN])
{
	char line[32 + WG_KEY_HEX_LEN + 2];
	size_t n = strlen(name);
	int ret;

	memcpy(line, name, n);
	line[n] = '=';
	wgkey_to_hex(line + n + 1, k);
	line[n + 1 + WG_KEY_HEX_LEN] = '\n';
	ret = buf_append(b, line, n + 2 + WG_KEY_HEX_LEN);
	explicit_bzero(line, sizeof(line));
	return ret;
}

static int put_endpoint(struct buf *b, const union wgendpoint *ep)
{
	char t[WGENDPOINT_STRLEN];
	int ret = wgendpoint_format(t, sizeof(t), ep);

	return ret < 0 ? ret : buf_printf(b, "endpoint=%s\n", t);
}

int wg_uapi_build_set(const struct wgdevice *dev, struct buf *b)
{
	const struct wgpeer *p;
	const struct wgallowedip *a;
	char ip[WGALLOWEDIP_STRLEN];
	int ret;

	ret = buf_append(b, "set=1\n", 6);
	if (ret >= 0 && (dev->flags & WGDEVICE_HAS_PRIVATE_KEY))
		ret = put_key(b, "private_key", dev->private_key);
	if (ret >= 0 && (dev->flags & WGDEVICE_HAS_LISTEN_PORT))
		ret = buf_printf(b, "listen_port=%u\n", dev->listen_port);
	if (ret >= 0 && (dev->flags & WGDEVICE_HAS_FWMARK))
		ret = buf_printf(b, "fwmark=%u\n", dev->fwmark);
	if (ret >= 0 && (dev->flags & WGDEVICE_REPLACE_PEERS))
		ret = buf_append(b, "replace_peers=true\n", 19);
	for (p = dev->first_peer; p && ret >= 0; p = p->next_peer) {
		ret = put_key(b, "public_key", p->public_key);
		if (ret >= 0 && (p->flags & WGPEER_REMOVE_ME)) {
			ret = buf_append(b, "remove=true\n", 12);
			continue;
		}
		if (ret >= 0 && (p->flags & WGPEER_UPDATE_ONLY))
			ret = buf_append(b, "update_only=true\n", 17);
		if (ret >= 0 && (p->flags & WGPEER_HAS_PRESHARED_KEY))
			ret = put_key(b, "preshared_key", p->preshared_key);
		if (ret >= 0 && (p->endpoint.addr.sa_family == AF_INET || p->endpoint.addr.sa_family == AF_INET6))
			ret = put_endpoint(b, &p->endpoint);
		if (ret >= 0 && (p->flags & WGPEER_HAS_PERSISTENT_KEEPALIVE))
			ret = buf_printf(b, "persistent_keepalive_interval=%u\n", p->persistent_keepalive_interval);
		if (ret >= 0 && (p->flags & WGPEER_REPLACE_ALLOWEDIPS))
			ret = buf_append(b, "replace_allowed_ips=true\n", 25);
		for (a = p->first_allowedip; a && ret >= 0; a = a->next_allowedip) {
			ret = wgallowedip_format(ip, sizeof(ip), a);
			if (ret >= 0)
				ret = buf_printf(b, "allowed_ip=%s\n", ip);
		}
	}
	if (ret >= 0)
		ret = buf_append(b, "\n", 1);
	return ret < 0 ? ret : 0;
}

