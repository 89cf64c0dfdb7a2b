/* SPDX-License-Identifier: MIT */
/*
 * Configuration: the Go w2wesher's INI file (config/config.go there, parsed
 * by gopkg.in/ini.v1 with its defaults: case-sensitive names, '#'/';'
 * comments), plus our additions, the environment and setters. See
 * docs/configuration.md for every key.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "atomicfile.h"
#include "b64.h"
#include "buf.h"
#include "config.h"
#include "err.h"
#include "ident.h"
#include "ini.h"
#include "meshnode.h"
#include "multiaddr.h"
#include "rng.h"
#include "secmem.h"
#include "swarmkey.h"
#include "wgkey.h"

extern char **environ;

#define DEF_LISTEN_PORT 10042
#define DEF_LISTEN_ADDR "/ip4/0.0.0.0/tcp/10042"
#define DEF_ANNOUNCE_MS 60000u
#define DEF_INTERFACE "wesh0"
#define DEF_RANGE "fd6d:142e:65e7:4cc1::/64"
#define DEF_KEEPALIVE_S 60
#define DEF_MTU 1420
#define DEF_LOG_LEVEL 6
#define DEF_STATE_BASE "/var/lib/w2wesher/"
#define DEF_SOCK_BASE "/run/w2wesher/"
#define MAX_ENV 100000u /* environment entries looked at */
#define WHY_MAX 256

#define NS_PER_MS 1000000LL
#define NS_PER_S 1000000000LL

enum { SEC_P2P, SEC_WG, SEC_NODE, SEC__COUNT };
static const char *const sections[SEC__COUNT] = {"P2P", "Wireguard", "Node"};

typedef int (*parse_fn)(struct w2w_config *c, const char *v, size_t n, char *why);

struct keydef {
	int section;
	const char *name;
	parse_fn parse;
	bool secret;
};

/* ---- small helpers ---- */

static void why_set(char *why, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void why_set(char *why, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, WHY_MAX, fmt, ap);
	va_end(ap);
}

/* Adds a remark shown by w2w_config_dump() (one per line). */
static void add_note(struct w2w_config *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void add_note(struct w2w_config *c, const char *fmt, ...)
{
	size_t used = strlen(c->note);
	va_list ap;

	if (used && used + 1 < sizeof(c->note))
		c->note[used++] = '\n';
	if (used + 1 >= sizeof(c->note))
		return;
	va_start(ap, fmt);
	vsnprintf(c->note + used, sizeof(c->note) - used, fmt, ap);
	va_end(ap);
}

/* Copies a value for messages: at most 64 characters, non-printables as '?'. */
static const char *shown(char out[72], const char *v, size_t n)
{
	size_t i, m = n > 64 ? 64 : n;

	for (i = 0; i < m; i++)
		out[i] = isprint((unsigned char)v[i]) ? v[i] : '?';
	if (m < n) {
		memcpy(out + m, "...", 3);
		m += 3;
	}
	out[m] = 0;
	return out;
}

static int copy_str(char *dst, size_t cap, const char *v, size_t n)
{
	if (n >= cap || memchr(v, 0, n))
		return -1;
	memcpy(dst, v, n);
	dst[n] = 0;
	return 0;
}

static bool eq_ci(const char *v, size_t n, const char *lit)
{
	return strlen(lit) == n && !strncasecmp(v, lit, n);
}

/* Decimal integer with optional sign, no spaces. */
static int parse_int(const char *v, size_t n, long long *out)
{
	long long x = 0;
	size_t i = 0;
	bool neg = false;

	if (n && (v[0] == '-' || v[0] == '+')) {
		neg = v[0] == '-';
		i = 1;
	}
	if (i == n)
		return -1;
	for (; i < n; i++) {
		if (v[i] < '0' || v[i] > '9' || x > (LLONG_MAX - 9) / 10)
			return -1;
		x = x * 10 + (v[i] - '0');
	}
	*out = neg ? -x : x;
	return 0;
}

/*
 * Go time.ParseDuration: [-+]? then one or more <decimal><unit>, units ns us
 * µs μs ms s m h; "0" alone needs no unit. Nanoseconds into *ns.
 */
static int parse_go_duration(const char *v, size_t n, long long *ns)
{
	/* clang-format off */
	static const struct {
		const char *u;
		long long mult;
	} units[] = {
		{"ns", 1},
		{"us", 1000},
		{"\xc2\xb5s", 1000}, /* U+00B5 micro sign */
		{"\xce\xbcs", 1000}, /* U+03BC Greek mu */
		{"ms", NS_PER_MS},
		{"s", NS_PER_S},
		{"m", 60 * NS_PER_S},
		{"h", 3600 * NS_PER_S},
	};
	/* clang-format on */
	long double total = 0;
	size_t i = 0;
	bool neg = false;

	if (n && (v[0] == '-' || v[0] == '+')) {
		neg = v[0] == '-';
		i = 1;
	}
	if (n - i == 1 && v[i] == '0') {
		*ns = 0;
		return 0;
	}
	if (i == n)
		return -1;
	while (i < n) {
		long double whole = 0, frac = 0, scale = 1;
		size_t digits = 0, ulen = 0, u;
		long long mult = 0;

		while (i < n && v[i] >= '0' && v[i] <= '9') {
			whole = whole * 10 + (v[i++] - '0');
			digits++;
		}
		if (i < n && v[i] == '.') {
			i++;
			while (i < n && v[i] >= '0' && v[i] <= '9') {
				if (scale < 1e19L) {
					frac = frac * 10 + (v[i] - '0');
					scale *= 10;
				}
				i++;
				digits++;
			}
		}
		if (!digits)
			return -1;
		while (i + ulen < n && !(v[i + ulen] >= '0' && v[i + ulen] <= '9') && v[i + ulen] != '.')
			ulen++;
		if (!ulen)
			return -1; /* missing unit */
		for (u = 0; u < sizeof(units) / sizeof(units[0]); u++)
			if (strlen(units[u].u) == ulen && !memcmp(units[u].u, v + i, ulen))
				mult = units[u].mult;
		if (!mult)
			return -2; /* unknown unit */
		i += ulen;
		total += (whole + frac / scale) * (long double)mult;
		if (total >= (long double)LLONG_MAX)
			return -3;
	}
	*ns = neg ? -(long long)total : (long long)total;
	return 0;
}

/* Go's Duration.String() for whole milliseconds: "1m0s", "1h30m0s", "500ms", "1.5s". */
static void fmt_duration_ms(char *out, size_t cap, uint64_t ms)
{
	uint64_t h = ms / 3600000, m = ms / 60000 % 60, s = ms / 1000 % 60, f = ms % 1000;
	char sec[32];
	int k;

	if (ms == 0) {
		snprintf(out, cap, "0s");
		return;
	}
	if (ms < 1000) {
		snprintf(out, cap, "%llums", (unsigned long long)ms);
		return;
	}
	if (f) {
		k = snprintf(sec, sizeof(sec), "%llu.%03llu", (unsigned long long)s, (unsigned long long)f);
		while (k > 0 && sec[k - 1] == '0')
			sec[--k] = 0;
	} else {
		snprintf(sec, sizeof(sec), "%llu", (unsigned long long)s);
	}
	if (h)
		snprintf(out, cap, "%lluh%llum%ss", (unsigned long long)h, (unsigned long long)m, sec);
	else if (m)
		snprintf(out, cap, "%llum%ss", (unsigned long long)m, sec);
	else
		snprintf(out, cap, "%ss", sec);
}

/* A positive duration in [min_ms, max_ms] as milliseconds; 0 ("0") gives *ms = 0. */
static int parse_duration_ms(const char *v, size_t n, uint64_t min_ms, uint64_t max_ms, uint64_t *ms,
                             char *why)
{
	char s[72], lo[64], hi[64];
	long long ns, dummy;
	int rc = parse_go_duration(v, n, &ns);

	if (rc < 0) {
		if (parse_int(v, n, &dummy) == 0)
			why_set(why, "'%s' has no unit (write e.g. 30s, 1m or 1h30m)", shown(s, v, n));
		else if (rc == -2)
			why_set(why, "'%s' has an unknown unit (use ms, s, m or h)", shown(s, v, n));
		else if (rc == -3)
			why_set(why, "'%s' is too long a duration", shown(s, v, n));
		else
			why_set(why, "'%s' is not a duration (write e.g. 30s, 1m or 1h30m)", shown(s, v, n));
		return -1;
	}
	if (ns == 0) {
		*ms = 0;
		return 0;
	}
	fmt_duration_ms(lo, sizeof(lo), min_ms);
	fmt_duration_ms(hi, sizeof(hi), max_ms);
	if (ns < 0 || (uint64_t)ns / NS_PER_MS < min_ms || (uint64_t)ns / NS_PER_MS > max_ms) {
		why_set(why, "'%s' is out of range (%s to %s)", shown(s, v, n), lo, hi);
		return -1;
	}
	*ms = (uint64_t)ns / NS_PER_MS;
	return 0;
}

/* RFC 1123 host name: dot-separated labels of letters, digits and '-'. */
static bool valid_hostname(const char *v, size_t n)
{
	size_t label = 0;

	if (!n || n > 253)
		return false;
	for (size_t i = 0; i < n; i++) {
		char ch = v[i];

		if (ch == '.') {
			if (!label || v[i - 1] == '-')
				return false;
			label = 0;
			continue;
		}
		if (!isalnum((unsigned char)ch) && ch != '-')
			return false;
		if (ch == '-' && !label)
			return false;
		if (++label > 63)
			return false;
	}
	return label && v[n - 1] != '-';
}

static int parse_ip(const char *v, size_t n, int *family, uint8_t addr[16])
{
	char tmp[64];

	if (copy_str(tmp, sizeof(tmp), v, n) < 0)
		return -1;
	if (inet_pton(AF_INET, tmp, addr) == 1) {
		*family = 4;
		return 0;
	}
	if (inet_pton(AF_INET6, tmp, addr) == 1) {
		*family = 6;
		return 0;
	}
	return -1;
}

static void ip_text(char *out, size_t cap, int family, const uint8_t *addr)
{
	if (!inet_ntop(family == 4 ? AF_INET : AF_INET6, addr, out, (socklen_t)cap))
		snprintf(out, cap, "?");
}

/* Host bits of addr under a prefix of len bits are all zero (or all one with ones). */
static bool host_bits(const uint8_t *addr, unsigned bits, unsigned len, bool ones)
{
	for (unsigned i = len; i < bits; i++) {
		bool set = addr[i / 8] & (0x80 >> (i % 8));

		if (set != ones)
			return false;
	}
	return true;
}

static bool in_prefix(const struct cfg_prefix *p, const uint8_t *addr)
{
	for (unsigned i = 0; i < p->len; i++)
		if ((addr[i / 8] ^ p->addr[i / 8]) & (0x80 >> (i % 8)))
			return false;
	return true;
}

/* ---- per-key parsers: v/n is the raw text (not NUL-terminated) ---- */

static int p_psk(struct w2w_config *c, const char *v, size_t n, char *why)
{
	int len;

	if (!n) {
		c->has_psk = false;
		secure_wipe(c->sec->psk, sizeof(c->sec->psk));
		return 0;
	}
	len = n > 64 ? W2W_ELIMIT : b64_decode(c->sec->scratch, sizeof(c->sec->scratch), v, n);
	if (len != 32) {
		if (len == W2W_EPARSE)
			why_set(why, "not valid base64 (a PSK is the standard base64 of 32 random bytes)");
		else if (len < 0)
			why_set(why, "a PSK is 32 bytes; this is longer");
		else
			why_set(why, "a PSK is 32 bytes; this is %d", len);
		secure_wipe(c->sec->scratch, sizeof(c->sec->scratch));
		return -1;
	}
	memcpy(c->sec->psk, c->sec->scratch, 32);
	secure_wipe(c->sec->scratch, sizeof(c->sec->scratch));
	c->has_psk = true;
	return 0;
}

static int p_pskfile(struct w2w_config *c, const char *v, size_t n, char *why)
{
	if (copy_str(c->psk_file, sizeof(c->psk_file), v, n) < 0) {
		why_set(why, "path too long");
		return -1;
	}
	return 0;
}

static int p_p2p_key(struct w2w_config *c, const char *v, size_t n, char *why)
{
	struct ident *id = NULL;
	int len, rc = -1;

	if (!n) {
		ident_free(c->id);
		c->id = NULL;
		return 0;
	}
	len = n > 200 ? W2W_ELIMIT : b64_decode(c->sec->scratch, sizeof(c->sec->scratch), v, n);
	if (len < 0) {
		why_set(why, "%s", len == W2W_EPARSE ? "not valid base64" : "too long for an Ed25519 key");
		goto out;
	}
	if (ident_from_privkey_pb(&id, c->sec->scratch, (size_t)len) < 0) {
		why_set(why,
		        "not a libp2p Ed25519 PrivateKey protobuf (only Ed25519 identities are supported)");
		goto out;
	}
	ident_free(c->id);
	c->id = id;
	rc = 0;
out:
	secure_wipe(c->sec->scratch, sizeof(c->sec->scratch));
	return rc;
}

static int p_wg_key(struct w2w_config *c, const char *v, size_t n, char *why)
{
	if (!n) {
		c->has_wg_priv = false;
		secure_wipe(c->sec->wg_priv, sizeof(c->sec->wg_priv));
		return 0;
	}
	if (wgkey_from_b64(c->sec->scratch, v, n) < 0) {
		why_set(why, "not a WireGuard key (44 base64 characters, as `wg genkey` prints)");
		secure_wipe(c->sec->scratch, sizeof(c->sec->scratch));
		return -1;
	}
	memcpy(c->sec->wg_priv, c->sec->scratch, 32);
	secure_wipe(c->sec->scratch, sizeof(c->sec->scratch));
	c->has_wg_priv = true;
	return 0;
}

static void free_list(char **list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(list[i]);
}

static int p_bootstrap(struct w2w_config *c, const char *v, size_t n, char *why)
{
	char *list[CFG_MAX_BOOTSTRAP];
	size_t count = 0, skipped = 0, pos = 0;
	uint8_t bin[MA_MAX_BIN];
	char text[MA_MAX_TEXT], s[72];
	int rc = -1;

	/* go-ini splits []string values on ',' and trims each item (key.Strings). */
	while (pos <= n) {
		const char *item = v + pos, *comma = memchr(item, ',', n - pos);
		size_t len = comma ? (size_t)(comma - item) : n - pos;
		struct ma_addr a;
		struct peerid peer;
		int blen;

		pos += len + 1;
		while (len && isspace((unsigned char)item[0])) {
			item++;
			len--;
		}
		while (len && isspace((unsigned char)item[len - 1]))
			len--;
		if (!len)
			continue;
		blen = ma_parse(bin, sizeof(bin), item, len);
		if (blen < 0) {
			why_set(why, "'%s' is not a multiaddr", shown(s, item, len));
			goto out;
		}
		if (ma_peer(bin, (size_t)blen, &peer) < 0) {
			why_set(why, "'%s' has no /p2p/<peer ID> part", shown(s, item, len));
			goto out;
		}
		/* The Go node learned addresses of every transport; we dial TCP only. */
		if (ma_decompose(bin, (size_t)blen, &a) < 0 || !a.tcp) {
			skipped++;
			continue;
		}
		if (count == CFG_MAX_BOOTSTRAP) {
			why_set(why, "more than %d addresses", CFG_MAX_BOOTSTRAP);
			goto out;
		}
		if (ma_format(text, sizeof(text), bin, (size_t)blen) < 0 || !(list[count] = strdup(text))) {
			why_set(why, "out of memory");
			goto out;
		}
		count++;
	}
	free_list(c->bootstrap, c->n_bootstrap);
	memcpy(c->bootstrap, list, count * sizeof(list[0]));
	c->n_bootstrap = count;
	count = 0;
	if (skipped)
		add_note(c, "%zu Bootstrap address(es) skipped: only /tcp/ is dialled", skipped);
	rc = 0;
out:
	free_list(list, count);
	return rc;
}

static int p_listen_addr(struct w2w_config *c, const char *v, size_t n, char *why)
{
	uint8_t bin[MA_MAX_BIN];
	char text[MA_MAX_TEXT], s[72];
	struct ma_addr a;
	int blen;

	if (!n) {
		snprintf(c->listen_addr, sizeof(c->listen_addr), "%s", DEF_LISTEN_ADDR);
		return 0;
	}
	blen = ma_parse(bin, sizeof(bin), v, n);
	if (blen < 0 || ma_decompose(bin, (size_t)blen, &a) < 0 ||
	    (a.kind != MA_KIND_IP4 && a.kind != MA_KIND_IP6) || a.has_peer) {
		why_set(why, "'%s' is not an /ip4/<addr>/tcp/<port> or /ip6/<addr>/tcp/<port> multiaddr",
		        shown(s, v, n));
		return -1;
	}
	if (!a.tcp) {
		/*
		 * The Go default /ip4/0.0.0.0/udp/10042 names no transport
		 * go-libp2p can listen on with a PSK; the control plane is TCP.
		 */
		add_note(c, "ListenAddr '%s' uses /udp/: listening on TCP port %u instead", shown(s, v, n),
		         a.port);
		a.tcp = true;
	}
	blen = ma_from_ip(bin, sizeof(bin), a.kind == MA_KIND_IP4 ? 4 : 6, a.ip, a.port, true, NULL);
	if (blen < 0 || ma_format(text, sizeof(text), bin, (size_t)blen) < 0) {
		why_set(why, "cannot encode '%s'", shown(s, v, n));
		return -1;
	}
	snprintf(c->listen_addr, sizeof(c->listen_addr), "%s", text);
	return 0;
}

static int p_announce(struct w2w_config *c, const char *v, size_t n, char *why)
{
	uint64_t ms;

	if (parse_duration_ms(v, n, 1000, 24 * 3600000u, &ms, why) < 0)
		return -1;
	c->announce_ms = ms ? ms : DEF_ANNOUNCE_MS; /* Go: 0 means the default */
	return 0;
}

static int p_interface(struct w2w_config *c, const char *v, size_t n, char *why)
{
	char s[72];
	bool bad = n >= sizeof(c->ifname) || eq_ci(v, n, ".") || eq_ci(v, n, "..");

	if (!n) {
		snprintf(c->ifname, sizeof(c->ifname), "%s", DEF_INTERFACE);
		return 0;
	}
	/* The kernel's dev_valid_name(): IFNAMSIZ - 1 bytes, no '/', ':' or whitespace. */
	for (size_t i = 0; i < n; i++)
		if (v[i] == '/' || v[i] == ':' || !isgraph((unsigned char)v[i]))
			bad = true;
	if (bad) {
		why_set(why, "'%s' is not an interface name (1 to 15 characters, no '/', ':' or spaces)",
		        shown(s, v, n));
		return -1;
	}
	copy_str(c->ifname, sizeof(c->ifname), v, n);
	return 0;
}

static int p_listen_port(struct w2w_config *c, const char *v, size_t n, char *why)
{
	long long x;
	char s[72];

	if (!n) {
		c->listen_port = DEF_LISTEN_PORT;
		return 0;
	}
	if (parse_int(v, n, &x) < 0) {
		why_set(why, "'%s' is not a port number", shown(s, v, n));
		return -1;
	}
	if (x < 0 || x > 65535) {
		why_set(why, "port %s out of range (1 to 65535)", shown(s, v, n));
		return -1;
	}
	c->listen_port = x ? (unsigned)x : DEF_LISTEN_PORT; /* Go: 0 means the default */
	return 0;
}

static int p_range(struct w2w_config *c, const char *v, size_t n, char *why)
{
	const char *slash;
	struct cfg_prefix p;
	long long len;
	char s[72], net[64];
	unsigned bits;

	if (!n) {
		v = DEF_RANGE;
		n = strlen(v);
	}
	slash = memchr(v, '/', n);
	if (!slash || parse_ip(v, (size_t)(slash - v), &p.family, p.addr) < 0 ||
	    parse_int(slash + 1, n - (size_t)(slash + 1 - v), &len) < 0 || slash[1] == '+' ||
	    slash[1] == '-') {
		why_set(why,
		        "'%s' is not a network prefix (write e.g. fd6d:142e:65e7:4cc1::/64 or 10.42.0.0/16)",
		        shown(s, v, n));
		return -1;
	}
	bits = p.family == 4 ? 32 : 128;
	/* Room for at least two nodes besides the network (and broadcast) address. */
	if (len < 1 || len > (long long)bits - 2) {
		why_set(why, "prefix length /%lld out of range for IPv%d (1 to %u)", len, p.family, bits - 2);
		return -1;
	}
	p.len = (unsigned)len;
	if (!host_bits(p.addr, bits, p.len, false)) {
		struct cfg_prefix m = p;

		for (unsigned i = p.len; i < bits; i++)
			m.addr[i / 8] &= (uint8_t) ~(0x80 >> (i % 8));
		ip_text(net, sizeof(net), p.family, m.addr);
		why_set(why, "'%s' is not a network: host bits are set (the network is %s/%u)",
		        shown(s, v, n), net, p.len);
		return -1;
	}
	c->range = p;
	return 0;
}

static int p_node_name(struct w2w_config *c, const char *v, size_t n, char *why)
{
	char s[72];

	if (n && !valid_hostname(v, n)) {
		why_set(why, "'%s' is not a host name (letters, digits, '-' and '.')", shown(s, v, n));
		return -1;
	}
	copy_str(c->node_name, sizeof(c->node_name), v, n);
	return 0;
}

static int p_keepalive(struct w2w_config *c, const char *v, size_t n, char *why)
{
	long long x, ns;
	char s[72];
	int rc;

	if (!n) {
		c->keepalive_s = DEF_KEEPALIVE_S;
		return 0;
	}
	/* go-ini falls back to a plain integer (nanoseconds) when the duration has no unit: "-1". */
	if (parse_int(v, n, &x) == 0) {
		if (x > 0) {
			why_set(why, "'%s' has no unit (write e.g. 25s; -1 disables)", shown(s, v, n));
			return -1;
		}
		c->keepalive_s = x < 0 ? -1 : DEF_KEEPALIVE_S;
		return 0;
	}
	rc = parse_go_duration(v, n, &ns);
	if (rc < 0) {
		why_set(why, "'%s' is not a duration (write e.g. 25s or 1m; -1 disables)", shown(s, v, n));
		return -1;
	}
	if (ns <= 0) {
		c->keepalive_s = ns < 0 ? -1 : DEF_KEEPALIVE_S;
		return 0;
	}
	if (ns % NS_PER_S || ns / NS_PER_S > 65535) {
		why_set(why, "'%s' must be whole seconds from 1s to 65535s (-1 disables)", shown(s, v, n));
		return -1;
	}
	c->keepalive_s = (int)(ns / NS_PER_S);
	return 0;
}

static int p_mtu(struct w2w_config *c, const char *v, size_t n, char *why)
{
	long long x;
	char s[72];

	if (!n) {
		c->mtu = DEF_MTU;
		return 0;
	}
	if (parse_int(v, n, &x) < 0 || x < 1280 || x > 9000) {
		why_set(why, "'%s' is not an MTU from 1280 to 9000", shown(s, v, n));
		return -1;
	}
	c->mtu = (unsigned)x;
	return 0;
}

static int p_backend(struct w2w_config *c, const char *v, size_t n, char *why)
{
	char s[72];

	if (!n || eq_ci(v, n, "auto"))
		c->backend = W2W_BACKEND_AUTO;
	else if (eq_ci(v, n, "kernel"))
		c->backend = W2W_BACKEND_KERNEL;
	else if (eq_ci(v, n, "userspace"))
		c->backend = W2W_BACKEND_USERSPACE;
	else {
		why_set(why, "'%s' is not auto, kernel or userspace", shown(s, v, n));
		return -1;
	}
	return 0;
}

static int p_address(struct w2w_config *c, const char *v, size_t n, char *why)
{
	char s[72];
	int family;
	uint8_t a[16];

	if (!n) {
		c->address_family = 0;
		return 0;
	}
	if (parse_ip(v, n, &family, a) < 0) {
		why_set(why, "'%s' is not an IPv4 or IPv6 address", shown(s, v, n));
		return -1;
	}
	c->address_family = family;
	memcpy(c->address, a, 16);
	return 0;
}

static int p_abs_path(char *dst, size_t cap, const char *v, size_t n, char *why)
{
	char s[72];

	if (n && v[0] != '/') {
		why_set(why, "'%s' is not an absolute path", shown(s, v, n));
		return -1;
	}
	if (copy_str(dst, cap, v, n) < 0) {
		why_set(why, "path longer than %zu characters", cap - 1);
		return -1;
	}
	return 0;
}

static int p_state_dir(struct w2w_config *c, const char *v, size_t n, char *why)
{
	return p_abs_path(c->state_dir, sizeof(c->state_dir), v, n, why);
}

static int p_control_socket(struct w2w_config *c, const char *v, size_t n, char *why)
{
	return p_abs_path(c->control_socket, sizeof(c->control_socket), v, n, why);
}

static int p_log_level(struct w2w_config *c, const char *v, size_t n, char *why)
{
	char s[72];

	if (!n || eq_ci(v, n, "info"))
		c->log_level = 6;
	else if (eq_ci(v, n, "error"))
		c->log_level = 3;
	else if (eq_ci(v, n, "warn") || eq_ci(v, n, "warning"))
		c->log_level = 4;
	else if (eq_ci(v, n, "debug"))
		c->log_level = 7;
	else {
		why_set(why, "'%s' is not error, warn, info or debug", shown(s, v, n));
		return -1;
	}
	return 0;
}

static int p_peer_expiry(struct w2w_config *c, const char *v, size_t n, char *why)
{
	uint64_t ms = 0;

	if (n && parse_duration_ms(v, n, 1000, 30 * 24 * 3600000ull, &ms, why) < 0)
		return -1;
	c->peer_expiry_ms = ms; /* 0: derived in w2w_config_check() */
	return 0;
}

static const struct keydef keydefs[CK__COUNT] = {
    [CK_P2P_PSK] = {SEC_P2P, "PSK", p_psk, true},
    [CK_P2P_PSKFILE] = {SEC_P2P, "PSKFile", p_pskfile, false},
    [CK_P2P_PRIVATEKEY] = {SEC_P2P, "PrivateKey", p_p2p_key, true},
    [CK_P2P_BOOTSTRAP] = {SEC_P2P, "Bootstrap", p_bootstrap, false},
    [CK_P2P_LISTENADDR] = {SEC_P2P, "ListenAddr", p_listen_addr, false},
    [CK_P2P_ANNOUNCE] = {SEC_P2P, "AnnounceInterval", p_announce, false},
    [CK_WG_INTERFACE] = {SEC_WG, "Interface", p_interface, false},
    [CK_WG_PRIVATEKEY] = {SEC_WG, "PrivateKey", p_wg_key, true},
    [CK_WG_LISTENPORT] = {SEC_WG, "ListenPort", p_listen_port, false},
    [CK_WG_RANGE] = {SEC_WG, "NetworkRange", p_range, false},
    [CK_WG_NODENAME] = {SEC_WG, "NodeName", p_node_name, false},
    [CK_WG_KEEPALIVE] = {SEC_WG, "PersistentKeepalive", p_keepalive, false},
    [CK_WG_MTU] = {SEC_WG, "MTU", p_mtu, false},
    [CK_WG_BACKEND] = {SEC_WG, "Backend", p_backend, false},
    [CK_WG_ADDRESS] = {SEC_WG, "Address", p_address, false},
    [CK_NODE_STATEDIR] = {SEC_NODE, "StateDir", p_state_dir, false},
    [CK_NODE_LOGLEVEL] = {SEC_NODE, "LogLevel", p_log_level, false},
    [CK_NODE_PEEREXPIRY] = {SEC_NODE, "PeerExpiry", p_peer_expiry, false},
    [CK_NODE_CONTROLSOCKET] = {SEC_NODE, "ControlSocket", p_control_socket, false},
};

/* ---- errors ---- */

static void upper(char *out, size_t cap, const char *s)
{
	size_t i;

	for (i = 0; s[i] && i + 1 < cap; i++)
		out[i] = (char)toupper((unsigned char)s[i]);
	out[i] = 0;
}

/* Formats "<where>[Section] Key: msg" for key k (k < 0: no key) at origin o. */
static void err_at(struct w2w_config *c, int k, int o, unsigned line, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static void err_at(struct w2w_config *c, int k, int o, unsigned line, const char *fmt, ...)
{
	char sec[32], key[32];
	size_t len = 0;
	va_list ap;

	c->err[0] = 0;
	if (o == CO_FILE)
		len = (size_t)snprintf(c->err, sizeof(c->err), "%s:%u: ", c->path, line);
	else if (o == CO_ENV && k >= 0) {
		upper(sec, sizeof(sec), sections[keydefs[k].section]);
		upper(key, sizeof(key), keydefs[k].name);
		len = (size_t)snprintf(c->err, sizeof(c->err), "environment W2WESHER_%s_%s: ", sec, key);
	}
	if (k >= 0 && len < sizeof(c->err))
		len += (size_t)snprintf(c->err + len, sizeof(c->err) - len,
		                        "[%s] %s: ", sections[keydefs[k].section], keydefs[k].name);
	if (len < sizeof(c->err)) {
		va_start(ap, fmt);
		vsnprintf(c->err + len, sizeof(c->err) - len, fmt, ap);
		va_end(ap);
	}
}

/* An error located where key k got its current value. */
#define err_key(c, k, ...) err_at((c), (k), (c)->origin[k], (c)->line[k], __VA_ARGS__)

/* ---- applying values ---- */

static bool psk_side_set(const struct w2w_config *c, int k)
{
	return k == CK_P2P_PSK ? c->has_psk : c->psk_file[0] != 0;
}

static int apply(struct w2w_config *c, int k, const char *v, size_t n, int o, unsigned line)
{
	char why[WHY_MAX] = "";

	if (n > INI_MAX_LINE) {
		err_at(c, k, o, line, "value too long");
		return W2W_EPARSE;
	}
	/* PSK and PSKFile are two ways to give one key: a stronger source replaces the other. */
	if ((k == CK_P2P_PSK || k == CK_P2P_PSKFILE) && n) {
		int other = k == CK_P2P_PSK ? CK_P2P_PSKFILE : CK_P2P_PSK;

		if (psk_side_set(c, other)) {
			if (c->origin[other] >= o) {
				err_at(c, k, o, line, "PSK and PSKFile both set; keep one");
				return W2W_EPARSE;
			}
			if (other == CK_P2P_PSK)
				p_psk(c, "", 0, why);
			else
				c->psk_file[0] = 0;
			c->origin[other] = CO_DEFAULT;
		}
	}
	if (keydefs[k].parse(c, v, n, why) < 0) {
		err_at(c, k, o, line, "%s", why);
		return W2W_EPARSE;
	}
	c->origin[k] = (uint8_t)o;
	c->line[k] = line;
	return 0;
}

static int find_key(int section, const char *name, size_t n)
{
	for (int k = 0; k < CK__COUNT; k++)
		if (keydefs[k].section == section && strlen(keydefs[k].name) == n &&
		    !memcmp(keydefs[k].name, name, n))
			return k;
	return -1;
}

static int find_section(const char *name, size_t n)
{
	for (int s = 0; s < SEC__COUNT; s++)
		if (strlen(sections[s]) == n && !memcmp(sections[s], name, n))
			return s;
	return -1;
}

/* What the write-back needs to know about the file. */
struct layout {
	bool seen[SEC__COUNT];
	size_t sect_end[SEC__COUNT]; /* just past the last header/key line of the section */
	bool sect_end_nl[SEC__COUNT];
	bool empty_line[CK__COUNT]; /* key present with an empty value: replace that line */
	size_t line_off[CK__COUNT], line_end[CK__COUNT];
};

static int parse_file(struct w2w_config *c, const char *text, size_t len, struct layout *lay)
{
	struct ini p;
	struct ini_tok t;
	const char *why;
	char s[72];
	int rc, section = -1, k;
	unsigned guard = 0;

	ini_init(&p, text, len);
	while ((rc = ini_next(&p, &t, &why)) == 1 && ++guard <= INI_MAX_LINES) {
		if (t.kind == INI_SECTION) {
			section = find_section(t.name, t.name_len);
			if (section < 0) {
				err_at(c, -1, CO_FILE, t.line,
				       "unknown section [%s] (known, case-sensitive: [P2P], [Wireguard], "
				       "[Node])",
				       shown(s, t.name, t.name_len));
				return W2W_EPARSE;
			}
		} else if (t.kind == INI_KEY) {
			if (section < 0) {
				err_at(c, -1, CO_FILE, t.line, "'%s' is outside any section",
				       shown(s, t.name, t.name_len));
				return W2W_EPARSE;
			}
			k = find_key(section, t.name, t.name_len);
			if (k < 0) {
				const char *hint = NULL;

				for (int i = 0; i < CK__COUNT; i++)
					if (keydefs[i].section == section &&
					    eq_ci(t.name, t.name_len, keydefs[i].name))
						hint = keydefs[i].name;
				err_at(c, -1, CO_FILE, t.line, "unknown key '%s' in [%s]%s%s%s",
				       shown(s, t.name, t.name_len), sections[section],
				       hint ? " (names are case-sensitive: did you mean '" : "",
				       hint ? hint : "", hint ? "'?)" : "");
				return W2W_EPARSE;
			}
			if (c->origin[k] == CO_FILE) {
				err_at(c, k, CO_FILE, t.line, "set twice (first on line %u)", c->line[k]);
				return W2W_EPARSE;
			}
			rc = apply(c, k, t.value, t.value_len, CO_FILE, t.line);
			if (rc < 0)
				return rc;
			lay->empty_line[k] = t.value_len == 0;
			lay->line_off[k] = t.off;
			lay->line_end[k] = t.end;
		} else {
			continue;
		}
		lay->seen[section] = true;
		lay->sect_end[section] = t.end;
		lay->sect_end_nl[section] = t.end > t.off + t.len;
	}
	if (rc < 0) {
		err_at(c, -1, CO_FILE, t.line, "%s", why);
		return W2W_EPARSE;
	}
	return 0;
}

static int apply_env(struct w2w_config *c)
{
	char want[80], sec[32], key[32];

	for (size_t i = 0; environ && environ[i] && i < MAX_ENV; i++) {
		const char *e = environ[i], *eq = strchr(e, '='), *name = e + 9;
		size_t nlen;
		int hit = -1, sect = -1;

		if (strncmp(e, "W2WESHER_", 9) || !eq)
			continue;
		nlen = (size_t)(eq - name);
		for (int s = 0; s < SEC__COUNT; s++) {
			upper(sec, sizeof(sec), sections[s]);
			if (nlen > strlen(sec) && !strncmp(name, sec, strlen(sec)) &&
			    name[strlen(sec)] == '_')
				sect = s;
		}
		if (sect < 0)
			continue; /* not a configuration variable */
		for (int k = 0; k < CK__COUNT; k++) {
			upper(sec, sizeof(sec), sections[keydefs[k].section]);
			upper(key, sizeof(key), keydefs[k].name);
			snprintf(want, sizeof(want), "%s_%s", sec, key);
			if (strlen(want) == nlen && !strncmp(name, want, nlen))
				hit = k;
		}
		if (hit < 0) {
			err_at(c, -1, CO_ENV, 0, "environment %.*s: no such configuration key",
			       (int)(nlen + 9), e);
			return W2W_EPARSE;
		}
		if (apply(c, hit, eq + 1, strlen(eq + 1), CO_ENV, 0) < 0)
			return W2W_EPARSE;
	}
	return 0;
}

/* ---- object ---- */

static void set_defaults(struct w2w_config *c)
{
	char why[WHY_MAX];

	for (int k = 0; k < CK__COUNT; k++)
		if (!keydefs[k].secret)
			keydefs[k].parse(c, "", 0, why);
	c->announce_ms = DEF_ANNOUNCE_MS;
}

struct w2w_config *w2w_config_new(void)
{
	struct w2w_config *c;

	if (secmem_init() < 0)
		return NULL;
	c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->sec = secure_alloc(sizeof(*c->sec));
	if (!c->sec) {
		free(c);
		return NULL;
	}
	set_defaults(c);
	return c;
}

struct w2w_config *w2w_config_free(struct w2w_config *c)
{
	if (!c)
		return NULL;
	secure_free(c->sec);
	ident_free(c->id);
	free_list(c->bootstrap, c->n_bootstrap);
	free(c);
	return NULL;
}

const char *w2w_config_error(const struct w2w_config *c)
{
	return c ? c->err : "no configuration";
}

/* Reads the swarm.key named by PSKFile; relative paths start at the config file's directory. */
static int load_psk_file(struct w2w_config *c)
{
	char full[2 * CFG_PATH_MAX];
	const char *slash = strrchr(c->path, '/');
	struct buf b;
	int rc;

	if (c->psk_file[0] != '/' && slash)
		snprintf(full, sizeof(full), "%.*s/%s", (int)(slash - c->path), c->path, c->psk_file);
	else
		snprintf(full, sizeof(full), "%s", c->psk_file);
	buf_init(&b, 0);
	rc = atomicfile_read(full, 4096, &b);
	if (rc < 0) {
		err_key(c, CK_P2P_PSKFILE, "cannot read '%s': %s", full,
		        rc == W2W_ELIMIT ? "too large for a swarm.key" : w2w_strerror(rc));
		rc = W2W_EPARSE; /* a configuration error: the message says why */
		goto out;
	}
	if (swarmkey_parse(c->sec->scratch, (const char *)b.data, b.len) < 0) {
		err_key(c, CK_P2P_PSKFILE,
		        "'%s' is not a swarm.key (/key/swarm/psk/1.0.0/, /base16/, 64 hex digits)", full);
		rc = W2W_EPARSE;
		goto out;
	}
	memcpy(c->sec->psk, c->sec->scratch, 32);
	c->has_psk = true;
	rc = 0;
out:
	secure_wipe(c->sec->scratch, sizeof(c->sec->scratch));
	buf_free_wipe(&b);
	return rc;
}

int w2w_config_check(struct w2w_config *c)
{
	char host[256], ip[64], net[64], a[64], b[64];
	unsigned bits = c->range.family == 4 ? 32 : 128;
	int rc;

	c->err[0] = 0;
	if (!c->node_name[0] || c->origin[CK_WG_NODENAME] == CO_DEFAULT) {
		/* Go w2wesher: NodeName defaults to os.Hostname(). */
		if (gethostname(host, sizeof(host)) < 0)
			host[0] = 0;
		host[sizeof(host) - 1] = 0;
		if (!valid_hostname(host, strlen(host))) {
			err_key(c, CK_WG_NODENAME, "the host name '%s' is not usable; set NodeName", host);
			return W2W_EPARSE;
		}
		copy_str(c->node_name, sizeof(c->node_name), host, strlen(host));
	}
	if (c->origin[CK_NODE_STATEDIR] == CO_DEFAULT || !c->state_dir[0])
		snprintf(c->state_dir, sizeof(c->state_dir), DEF_STATE_BASE "%s", c->ifname);
	if (c->origin[CK_NODE_CONTROLSOCKET] == CO_DEFAULT || !c->control_socket[0])
		snprintf(c->control_socket, sizeof(c->control_socket), DEF_SOCK_BASE "%s.sock", c->ifname);
	if (c->origin[CK_NODE_PEEREXPIRY] == CO_DEFAULT || !c->peer_expiry_ms) {
		c->peer_expiry_ms = mn_default_expiry_ms(c->announce_ms); /* the mesh's one default */
	} else if (c->peer_expiry_ms < 2 * c->announce_ms) {
		fmt_duration_ms(a, sizeof(a), c->announce_ms);
		fmt_duration_ms(b, sizeof(b), c->peer_expiry_ms);
		err_key(c, CK_NODE_PEEREXPIRY, "%s is less than twice AnnounceInterval (%s)", b, a);
		return W2W_EPARSE;
	}
	if (c->address_family) {
		ip_text(ip, sizeof(ip), c->address_family, c->address);
		ip_text(net, sizeof(net), c->range.family, c->range.addr);
		if (c->address_family != c->range.family || !in_prefix(&c->range, c->address)) {
			err_key(c, CK_WG_ADDRESS, "%s is outside NetworkRange %s/%u", ip, net, c->range.len);
			return W2W_EPARSE;
		}
		if (host_bits(c->address, bits, c->range.len, false) ||
		    (c->range.family == 4 && host_bits(c->address, bits, c->range.len, true))) {
			err_key(c, CK_WG_ADDRESS, "%s is the network or broadcast address of %s/%u", ip, net,
			        c->range.len);
			return W2W_EPARSE;
		}
	}
	if (c->psk_file[0]) {
		rc = load_psk_file(c);
		if (rc < 0)
			return rc;
	}
	return 0;
}

static void gen_missing(struct w2w_config *c, bool need[CK__COUNT])
{
	need[CK_P2P_PSK] = !c->has_psk && !c->psk_file[0];
	need[CK_P2P_PRIVATEKEY] = !c->id;
	need[CK_WG_PRIVATEKEY] = !c->has_wg_priv;
}

static int generate(struct w2w_config *c, const bool need[CK__COUNT])
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
	gen_missing(c, need);
	return generate(c, need);
}

/* Secret text of the generated lines, kept in guarded memory while the file is rebuilt. */
struct gen_text {
	char line[CK__COUNT][200];
	char add[SEC__COUNT][400];
	uint8_t pb[IDENT_PRIVPB_LEN];
};

struct edit {
	size_t off, end;
	const char *text;
};

/*
 * Rebuilds the file with the generated secrets: an empty "Key =" line is
 * replaced, a missing key goes after the last line of its section, a missing
 * section is appended. Every other byte stays as it was.
 */
static int write_back(struct w2w_config *c, const char *text, size_t len, bool existed,
                      const struct layout *lay, const bool need[CK__COUNT])
{
	static const int order[] = {CK_P2P_PSK, CK_P2P_PRIVATEKEY, CK_WG_PRIVATEKEY};
	struct gen_text *g = secure_alloc(sizeof(*g));
	struct edit ed[8];
	size_t ne = 0, total = len, at;
	char *out = NULL, b64[128];
	char tail[SEC__COUNT][512];
	bool ends_nl;
	int rc;
	/* Keep the file's line ends: CRLF if its first line has one. */
	const char *nl = memchr(text, '\n', len), *eol = nl && nl > text && nl[-1] == '\r' ? "\r\n" : "\n";

	if (!g)
		return -ENOMEM;
	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
		int k = order[i], s = keydefs[k].section;

		if (!need[k])
			continue;
		if (k == CK_P2P_PRIVATEKEY) {
			rc = ident_to_privkey_pb(c->id, g->pb, sizeof(g->pb));
			if (rc < 0)
				goto out;
			b64_encode(b64, sizeof(b64), g->pb, (size_t)rc);
		} else {
			b64_encode(b64, sizeof(b64), k == CK_P2P_PSK ? c->sec->psk : c->sec->wg_priv, 32);
		}
		snprintf(g->line[k], sizeof(g->line[k]), "%s = %s%s", keydefs[k].name, b64, eol);
		secure_wipe(b64, sizeof(b64));
		if (lay->empty_line[k]) {
			ed[ne++] = (struct edit){lay->line_off[k], lay->line_end[k], g->line[k]};
		} else {
			size_t used = strlen(g->add[s]);

			if (!used && lay->seen[s] && !lay->sect_end_nl[s])
				used += (size_t)snprintf(g->add[s], sizeof(g->add[s]), "%s", eol);
			snprintf(g->add[s] + used, sizeof(g->add[s]) - used, "%s", g->line[k]);
		}
	}
	for (int s = 0; s < SEC__COUNT; s++)
		if (g->add[s][0] && lay->seen[s])
			ed[ne++] = (struct edit){lay->sect_end[s], lay->sect_end[s], g->add[s]};
	/* Does the text before the end of the file end with a line break? Edits reaching the end add one. */
	ends_nl = !len || text[len - 1] == '\n';
	for (size_t i = 0; i < ne; i++)
		ends_nl = ends_nl || ed[i].end == len;
	for (int s = 0; s < SEC__COUNT; s++) {
		if (!g->add[s][0] || lay->seen[s])
			continue;
		/* A new section at the end of the file, after a blank line. */
		if (!existed && !ne)
			snprintf(
			    tail[s], sizeof(tail[s]),
			    "# w2wesher configuration (see docs/configuration.md).\n"
			    "# The secrets below were generated on first start: keep this file private.\n\n"
			    "[%s]\n",
			    sections[s]);
		else
			snprintf(tail[s], sizeof(tail[s]), "%s%s[%s]%s", ends_nl ? "" : eol, eol, sections[s],
			         eol);
		ends_nl = true;
		ed[ne++] = (struct edit){len, len, tail[s]};
		ed[ne++] = (struct edit){len, len, g->add[s]};
	}
	/* Stable insertion sort by offset (at most 8 edits, none overlapping). */
	for (size_t i = 1; i < ne; i++)
		for (size_t j = i; j > 0 && ed[j - 1].off > ed[j].off; j--) {
			struct edit t = ed[j];
			ed[j] = ed[j - 1];
			ed[j - 1] = t;
		}
	for (size_t i = 0; i < ne; i++)
		total += strlen(ed[i].text) - (ed[i].end - ed[i].off);
	out = secure_alloc(total + 1);
	if (!out) {
		rc = -ENOMEM;
		goto out;
	}
	at = 0;
	total = 0;
	for (size_t i = 0; i < ne; i++) {
		size_t tl = strlen(ed[i].text);

		memcpy(out + total, text + at, ed[i].off - at);
		total += ed[i].off - at;
		memcpy(out + total, ed[i].text, tl);
		total += tl;
		at = ed[i].end;
	}
	memcpy(out + total, text + at, len - at);
	total += len - at;
	rc = atomicfile_write(c->path, out, total, 0600);
	if (rc < 0)
		err_at(c, -1, CO_DEFAULT, 0, "%s: cannot write: %s", c->path, w2w_strerror(rc));
out:
	secure_free(out);
	secure_free(g);
	return rc;
}

int w2w_config_load(struct w2w_config *cfg, const char *path, unsigned flags)
{
	struct w2w_config *t = w2w_config_new(), tmp;
	struct layout lay;
	struct buf text;
	bool existed = true, need[CK__COUNT] = {0};
	int rc;

	buf_init(&text, 0);
	if (!t)
		return -ENOMEM;
	memset(&lay, 0, sizeof(lay));
	if (snprintf(t->path, sizeof(t->path), "%s", path) >= (int)sizeof(t->path)) {
		rc = -ENAMETOOLONG;
		err_at(t, -1, CO_DEFAULT, 0, "%s: path too long", path);
		goto out;
	}
	rc = atomicfile_read(path, CFG_MAX_FILE, &text);
	if (rc == -ENOENT && (flags & W2W_CONFIG_GENERATE)) {
		existed = false;
		rc = 0;
	}
	if (rc < 0) {
		err_at(t, -1, CO_DEFAULT, 0, "%s: cannot read: %s", path,
		       rc == W2W_ELIMIT ? "larger than 256 KiB" : w2w_strerror(rc));
		goto out;
	}
	rc = parse_file(t, text.data ? (const char *)text.data : "", text.len, &lay);
	if (rc < 0)
		goto out;
	if (flags & W2W_CONFIG_ENV) {
		rc = apply_env(t);
		if (rc < 0)
			goto out;
	}
	rc = w2w_config_check(t);
	if (rc < 0)
		goto out;
	if (flags & W2W_CONFIG_GENERATE) {
		gen_missing(t, need);
		if (need[CK_P2P_PSK] || need[CK_P2P_PRIVATEKEY] || need[CK_WG_PRIVATEKEY]) {
			rc = generate(t, need);
			if (rc < 0) {
				err_at(t, -1, CO_DEFAULT, 0, "cannot generate keys: %s", w2w_strerror(rc));
				goto out;
			}
			rc = write_back(t, text.data ? (const char *)text.data : "", text.len, existed, &lay,
			                need);
			if (rc < 0)
				goto out;
		}
	}
	/* Success: cfg takes the new values, t the old ones (freed below). */
	tmp = *cfg;
	*cfg = *t;
	*t = tmp;
	cfg->err[0] = 0;
	rc = 0;
out:
	if (rc < 0)
		snprintf(cfg->err, sizeof(cfg->err), "%s", t->err);
	buf_free_wipe(&text);
	w2w_config_free(t);
	return rc;
}

int config_parse_text(struct w2w_config *c, const char *name, const char *text, size_t len)
{
	struct layout lay;
	int rc;

	memset(&lay, 0, sizeof(lay));
	snprintf(c->path, sizeof(c->path), "%s", name);
	c->err[0] = 0;
	rc = parse_file(c, text, len, &lay);
	return rc < 0 ? rc : w2w_config_check(c);
}

/* ---- setters ---- */

int w2w_config_set(struct w2w_config *c, const char *section, const char *key, const char *value)
{
	int s, k;

	c->err[0] = 0;
	s = section ? find_section(section, strlen(section)) : -1;
	k = s >= 0 && key ? find_key(s, key, strlen(key)) : -1;
	if (k < 0) {
		err_at(c, -1, CO_SET, 0, "unknown key [%s] %s", section ? section : "", key ? key : "");
		return W2W_EPARSE;
	}
	return apply(c, k, value ? value : "", value ? strlen(value) : 0, CO_SET, 0);
}

static int set_text(struct w2w_config *c, int k, const char *v)
{
	c->err[0] = 0;
	return apply(c, k, v ? v : "", v ? strlen(v) : 0, CO_SET, 0);
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

int w2w_config_set_psk(struct w2w_config *c, const uint8_t *psk, size_t len)
{
	c->err[0] = 0;
	if (!psk || len != 32) {
		err_at(c, CK_P2P_PSK, CO_SET, 0, "a PSK is 32 bytes");
		return W2W_EPARSE;
	}
	c->psk_file[0] = 0;
	c->origin[CK_P2P_PSKFILE] = CO_DEFAULT;
	memcpy(c->sec->psk, psk, 32);
	c->has_psk = true;
	c->origin[CK_P2P_PSK] = CO_SET;
	return 0;
}

int w2w_config_set_p2p_private_key(struct w2w_config *c, const uint8_t *pb, size_t len)
{
	struct ident *id = NULL;

	c->err[0] = 0;
	if (!pb || ident_from_privkey_pb(&id, pb, len) < 0) {
		err_at(c, CK_P2P_PRIVATEKEY, CO_SET, 0, "not a libp2p Ed25519 PrivateKey protobuf");
		return W2W_EPARSE;
	}
	ident_free(c->id);
	c->id = id;
	c->origin[CK_P2P_PRIVATEKEY] = CO_SET;
	return 0;
}

int w2w_config_set_wg_private_key(struct w2w_config *c, const uint8_t *key, size_t len)
{
	c->err[0] = 0;
	if (!key || len != 32) {
		err_at(c, CK_WG_PRIVATEKEY, CO_SET, 0, "a WireGuard private key is 32 bytes");
		return W2W_EPARSE;
	}
	memcpy(c->sec->wg_priv, key, 32);
	c->has_wg_priv = true;
	c->origin[CK_WG_PRIVATEKEY] = CO_SET;
	return 0;
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
		err_at(c, CK_P2P_BOOTSTRAP, CO_SET, 0, "not a /…/tcp/<port>/p2p/<peer ID> multiaddr");
		return W2W_EPARSE;
	}
	if (c->n_bootstrap == CFG_MAX_BOOTSTRAP) {
		err_at(c, CK_P2P_BOOTSTRAP, CO_SET, 0, "more than %d addresses", CFG_MAX_BOOTSTRAP);
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

/* ---- getters ---- */

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

int w2w_config_log_level(const struct w2w_config *c)
{
	return c->log_level;
}

int w2w_config_peer_id(const struct w2w_config *c, char *out, size_t cap)
{
	if (!c->id)
		return W2W_ESTATE;
	return peerid_to_b58(out, cap, ident_peerid(c->id));
}

int w2w_config_wg_public_key(const struct w2w_config *c, char *out, size_t cap)
{
	uint8_t pub[WG_KEY_LEN];
	char text[WG_KEY_B64_LEN + 1];

	if (!c->has_wg_priv)
		return W2W_ESTATE;
	if (cap < sizeof(text))
		return W2W_ELIMIT;
	if (wgkey_public(pub, c->sec->wg_priv) < 0)
		return W2W_EPARSE;
	wgkey_to_b64(text, pub);
	memcpy(out, text, sizeof(text));
	return WG_KEY_B64_LEN;
}

/* ---- dump ---- */

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
	case CK_P2P_BOOTSTRAP:
		for (size_t i = 0; i < c->n_bootstrap; i++)
			buf_printf(b, "%s%s", i ? "," : "", c->bootstrap[i]);
		break;
	case CK_P2P_LISTENADDR:
		buf_printf(b, "%s", c->listen_addr);
		break;
	case CK_P2P_ANNOUNCE:
		fmt_duration_ms(t, sizeof(t), c->announce_ms);
		buf_printf(b, "%s", t);
		break;
	case CK_WG_INTERFACE:
		buf_printf(b, "%s", c->ifname);
		break;
	case CK_WG_LISTENPORT:
		buf_printf(b, "%u", c->listen_port);
		break;
	case CK_WG_RANGE:
		ip_text(t, sizeof(t), c->range.family, c->range.addr);
		buf_printf(b, "%s/%u", t, c->range.len);
		break;
	case CK_WG_NODENAME:
		buf_printf(b, "%s", c->node_name);
		break;
	case CK_WG_KEEPALIVE:
		if (c->keepalive_s < 0) {
			buf_printf(b, "-1");
		} else {
			fmt_duration_ms(t, sizeof(t), (uint64_t)c->keepalive_s * 1000);
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
			ip_text(t, sizeof(t), c->address_family, c->address);
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
		fmt_duration_ms(t, sizeof(t), c->peer_expiry_ms);
		buf_printf(b, "%s", c->peer_expiry_ms ? t : "");
		break;
	case CK_NODE_CONTROLSOCKET:
		buf_printf(b, "%s", c->control_socket);
		break;
	}
}

int w2w_config_dump(const struct w2w_config *c, char *out, size_t cap)
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
		buf_printf(&b, "%s[%s]\n", s ? "\n" : "", sections[s]);
		for (int k = 0; k < CK__COUNT; k++) {
			if (keydefs[k].section != s)
				continue;
			start = b.len;
			buf_printf(&b, "%s = ", keydefs[k].name);
			value_text(c, k, &b);
			origin_text(c, k, org, sizeof(org));
			if (k == CK_P2P_PSK && c->psk_file[0] && c->origin[k] == CO_DEFAULT)
				snprintf(org, sizeof(org), "from PSKFile");
			else if (keydefs[k].secret && c->origin[k] == CO_DEFAULT)
				snprintf(org, sizeof(org), "not set");
			if (b.len - start < 40)
				buf_printf(&b, "%*s", (int)(40 - (b.len - start)), "");
			rc = buf_printf(&b, " ; %s\n", org);
		}
	}
	if (rc < 0 || !b.data) {
		buf_free(&b);
		return rc < 0 ? rc : -ENOMEM;
	}
	if (cap) {
		size_t n = b.len < cap - 1 ? b.len : cap - 1;

		memcpy(out, b.data, n);
		out[n] = 0;
	}
	rc = b.len > INT32_MAX ? W2W_ELIMIT : (int)b.len;
	buf_free(&b);
	return rc;
}
