/* SPDX-License-Identifier: MIT */
/*
 * Configuration keys (config_priv.h): the table of every key the file, the
 * environment and w2w_config_set() know, each key's parser with its error
 * messages, and applying one value with its origin. Go durations are
 * codec/godur.c.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "admission.h"
#include "b64.h"
#include "config_priv.h"
#include "err.h"
#include "godur.h"
#include "ident.h"
#include "ini.h"
#include "multiaddr.h"
#include "relay.h"
#include "secmem.h"
#include "wgkey.h"

#define DEF_LISTEN_PORT 10042
#define DEF_LISTEN_ADDR "/ip4/0.0.0.0/tcp/10042"
#define DEF_INTERFACE "wesh0"
#define DEF_RANGE "fd6d:142e:65e7:4cc1::/64"
/* PersistentKeepalive default: off. A keepalive is a per-peer periodic cost
 * (never flat in N) and liveness does not need it (docs/mesh.md "Liveness");
 * a peer behind NAT needs it (configuration.md). */
#define DEF_KEEPALIVE_S 0
#define DEF_MTU 1420
#define DEF_LOG_LEVEL 6
#define DEF_MDNS false /* docs/configuration.md "MDNS": opt-in */
#define DEF_MDNS_INTERVAL_MS 10000u /* js-libp2p @libp2p/mdns's default */

#define NS_PER_MS 1000000LL
#define NS_PER_S 1000000000LL

const char *const cfg_sections[SEC__COUNT] = {"P2P", "Wireguard", "Node"};

/* ---- small helpers ---- */

void cfg_why(char *why, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, CFG_WHY_MAX, fmt, ap);
	va_end(ap);
}

/* Adds a remark cfg_shown by w2w_config_dump() (one per line). */
void cfg_note(struct w2w_config *c, const char *fmt, ...)
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
const char *cfg_shown(char out[72], const char *v, size_t n)
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

int cfg_copy_str(char *dst, size_t cap, const char *v, size_t n)
{
	if (n >= cap || memchr(v, 0, n))
		return -1;
	memcpy(dst, v, n);
	dst[n] = 0;
	return 0;
}

bool cfg_eq_ci(const char *v, size_t n, const char *lit)
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

/* A positive duration in [min_ms, max_ms] as milliseconds; 0 ("0") gives *ms = 0. */
static int parse_duration_ms(const char *v, size_t n, uint64_t min_ms, uint64_t max_ms, uint64_t *ms,
                             char *why)
{
	char s[72], lo[64], hi[64];
	long long ns, dummy;
	int rc = godur_parse(v, n, &ns);

	if (rc < 0) {
		if (parse_int(v, n, &dummy) == 0)
			cfg_why(why, "'%s' has no unit (write e.g. 30s, 1m or 1h30m)", cfg_shown(s, v, n));
		else if (rc == GODUR_EUNIT)
			cfg_why(why, "'%s' has an unknown unit (use ms, s, m or h)", cfg_shown(s, v, n));
		else if (rc == GODUR_ERANGE)
			cfg_why(why, "'%s' is too long a duration", cfg_shown(s, v, n));
		else
			cfg_why(why, "'%s' is not a duration (write e.g. 30s, 1m or 1h30m)", cfg_shown(s, v, n));
		return -1;
	}
	if (ns == 0) {
		*ms = 0;
		return 0;
	}
	godur_format_ms(lo, sizeof(lo), min_ms);
	godur_format_ms(hi, sizeof(hi), max_ms);
	if (ns < 0 || (uint64_t)ns / NS_PER_MS < min_ms || (uint64_t)ns / NS_PER_MS > max_ms) {
		cfg_why(why, "'%s' is out of range (%s to %s)", cfg_shown(s, v, n), lo, hi);
		return -1;
	}
	*ms = (uint64_t)ns / NS_PER_MS;
	return 0;
}

/* RFC 1123 host name: dot-separated labels of letters, digits and '-'. */
bool cfg_valid_hostname(const char *v, size_t n)
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

	if (cfg_copy_str(tmp, sizeof(tmp), v, n) < 0)
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

void cfg_ip_text(char *out, size_t cap, int family, const uint8_t *addr)
{
	if (!inet_ntop(family == 4 ? AF_INET : AF_INET6, addr, out, (socklen_t)cap))
		snprintf(out, cap, "?");
}

/* Host bits of addr under a prefix of len bits are all zero (or all one with ones). */
bool cfg_host_bits(const uint8_t *addr, unsigned bits, unsigned len, bool ones)
{
	for (unsigned i = len; i < bits; i++) {
		bool set = addr[i / 8] & (0x80 >> (i % 8));

		if (set != ones)
			return false;
	}
	return true;
}

bool cfg_in_prefix(const struct cfg_prefix *p, const uint8_t *addr)
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
	len = n > 64 ? W2W_ELIMIT : secret_from_b64(c->sec->scratch, sizeof(c->sec->scratch), v, n);
	if (len != 32) {
		if (len == W2W_EPARSE)
			cfg_why(why, "not valid base64 (a PSK is the standard base64 of 32 random bytes)");
		else if (len < 0)
			cfg_why(why, "a PSK is 32 bytes; this is longer");
		else
			cfg_why(why, "a PSK is 32 bytes; this is %d", len);
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
	if (cfg_copy_str(c->psk_file, sizeof(c->psk_file), v, n) < 0) {
		cfg_why(why, "path too long");
		return -1;
	}
	return 0;
}

static int p_next_pskfile(struct w2w_config *c, const char *v, size_t n, char *why)
{
	if (cfg_copy_str(c->next_psk_file, sizeof(c->next_psk_file), v, n) < 0) {
		cfg_why(why, "path too long");
		return -1;
	}
	if (!n) {
		c->has_next_psk = false;
		secure_wipe(c->sec->next_psk, sizeof(c->sec->next_psk));
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
	len = n > 200 ? W2W_ELIMIT : secret_from_b64(c->sec->scratch, sizeof(c->sec->scratch), v, n);
	if (len < 0) {
		cfg_why(why, "%s", len == W2W_EPARSE ? "not valid base64" : "too long for an Ed25519 key");
		goto out;
	}
	if (ident_from_privkey_pb(&id, c->sec->scratch, (size_t)len) < 0) {
		cfg_why(why,
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
		cfg_why(why, "not a WireGuard key (44 base64 characters, as `wg genkey` prints)");
		secure_wipe(c->sec->scratch, sizeof(c->sec->scratch));
		return -1;
	}
	memcpy(c->sec->wg_priv, c->sec->scratch, 32);
	secure_wipe(c->sec->scratch, sizeof(c->sec->scratch));
	c->has_wg_priv = true;
	return 0;
}

void cfg_free_list(char **list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(list[i]);
}

/*
 * The lists (Bootstrap, MdnsInterfaces, AdmissionKey) as go-ini's key.Strings
 * reads them: split on ',', each item trimmed, empty items skipped. Returns
 * true with the next item in *item and *len (from *pos on, which it advances).
 */
static bool next_item(const char *v, size_t n, size_t *pos, const char **item, size_t *len)
{
	while (*pos <= n) {
		const char *it = v + *pos, *comma = memchr(it, ',', n - *pos);
		size_t l = comma ? (size_t)(comma - it) : n - *pos;

		*pos += l + 1;
		while (l && isspace((unsigned char)it[0])) {
			it++;
			l--;
		}
		while (l && isspace((unsigned char)it[l - 1]))
			l--;
		if (l) {
			*item = it;
			*len = l;
			return true;
		}
	}
	return false;
}

static int p_bootstrap(struct w2w_config *c, const char *v, size_t n, char *why)
{
	char *list[CFG_MAX_BOOTSTRAP];
	size_t count = 0, skipped = 0, pos = 0;
	uint8_t bin[MA_MAX_BIN];
	char text[MA_MAX_TEXT], s[72];
	const char *item;
	size_t len;
	int rc = -1;

	while (next_item(v, n, &pos, &item, &len)) {
		struct ma_addr a;
		struct peerid peer;
		int blen;

		blen = ma_parse(bin, sizeof(bin), item, len);
		if (blen < 0) {
			cfg_why(why, "'%s' is not a multiaddr", cfg_shown(s, item, len));
			goto out;
		}
		if (ma_peer(bin, (size_t)blen, &peer) < 0) {
			cfg_why(why, "'%s' has no /p2p/<peer ID> part", cfg_shown(s, item, len));
			goto out;
		}
		/* The Go node learned addresses of every transport; we dial TCP only. */
		if (ma_decompose(bin, (size_t)blen, &a) < 0 || !a.tcp) {
			skipped++;
			continue;
		}
		if (count == CFG_MAX_BOOTSTRAP) {
			cfg_why(why, "more than %d addresses", CFG_MAX_BOOTSTRAP);
			goto out;
		}
		if (ma_format(text, sizeof(text), bin, (size_t)blen) < 0 || !(list[count] = strdup(text))) {
			cfg_why(why, "out of memory");
			goto out;
		}
		count++;
	}
	cfg_free_list(c->bootstrap, c->n_bootstrap);
	memcpy(c->bootstrap, list, count * sizeof(list[0]));
	c->n_bootstrap = count;
	count = 0;
	if (skipped)
		cfg_note(c, "%zu Bootstrap address(es) skipped: only /tcp/ is dialled", skipped);
	rc = 0;
out:
	cfg_free_list(list, count);
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
		cfg_why(why, "'%s' is not an /ip4/<addr>/tcp/<port> or /ip6/<addr>/tcp/<port> multiaddr",
		        cfg_shown(s, v, n));
		return -1;
	}
	if (!a.tcp) {
		/*
		 * The Go default /ip4/0.0.0.0/udp/10042 names no transport
		 * go-libp2p can listen on with a PSK; the control plane is TCP.
		 */
		cfg_note(c, "ListenAddr '%s' uses /udp/: listening on TCP port %u instead", cfg_shown(s, v, n),
		         a.port);
		a.tcp = true;
	}
	blen = ma_from_ip(bin, sizeof(bin), a.kind == MA_KIND_IP4 ? 4 : 6, a.ip, a.port, true, NULL);
	if (blen < 0 || ma_format(text, sizeof(text), bin, (size_t)blen) < 0) {
		cfg_why(why, "cannot encode '%s'", cfg_shown(s, v, n));
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

/* The kernel's dev_valid_name(): 1 to IFNAMSIZ - 1 bytes, not "." or "..", no '/', ':' or whitespace. */
static bool valid_ifname(const char *v, size_t n)
{
	if (!n || n >= 16 || cfg_eq_ci(v, n, ".") || cfg_eq_ci(v, n, ".."))
		return false;
	for (size_t i = 0; i < n; i++)
		if (v[i] == '/' || v[i] == ':' || !isgraph((unsigned char)v[i]))
			return false;
	return true;
}

/* go-ini's Key.Bool(): the spellings strconv.ParseBool and go-ini accept. */
static int parse_bool(const char *v, size_t n, bool *out)
{
	static const char *const yes[] = {"true", "t", "yes", "y", "on", "1"};
	static const char *const no[] = {"false", "f", "no", "n", "off", "0"};

	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (cfg_eq_ci(v, n, yes[i])) {
			*out = true;
			return 0;
		}
		if (cfg_eq_ci(v, n, no[i])) {
			*out = false;
			return 0;
		}
	}
	return -1;
}

static int p_mdns(struct w2w_config *c, const char *v, size_t n, char *why)
{
	char s[72];
	bool on = DEF_MDNS;

	if (n && parse_bool(v, n, &on) < 0) {
		cfg_why(why, "'%s' is not true or false", cfg_shown(s, v, n));
		return -1;
	}
	c->mdns = on;
	return 0;
}

static int p_relay(struct w2w_config *c, const char *v, size_t n, char *why)
{
	char s[72];
	bool on = false; /* docs/nat.md: relaying is opt-in, a member's bandwidth is its own */

	if (n && parse_bool(v, n, &on) < 0) {
		cfg_why(why, "'%s' is not true or false", cfg_shown(s, v, n));
		return -1;
	}
	c->relay = on;
	return 0;
}

static int p_relay_max_pairs(struct w2w_config *c, const char *v, size_t n, char *why)
{
	long long x;
	char s[72];

	if (!n) {
		c->relay_max_pairs = RELAY_DEFAULT_PAIRS;
		return 0;
	}
	if (parse_int(v, n, &x) < 0 || x < 1 || x > RELAY_MAX_PAIRS) {
		cfg_why(why, "'%s' is not a pair count from 1 to %d", cfg_shown(s, v, n), RELAY_MAX_PAIRS);
		return -1;
	}
	c->relay_max_pairs = (unsigned)x;
	return 0;
}

/* A byte rate: an integer with an optional unit B, kB/KB, KiB, MB, MiB, GB or
 * GiB (k, M, G decimal; Ki, Mi, Gi binary), optionally followed by "/s". */
static int parse_rate(const char *v, size_t n, uint64_t *out)
{
	static const struct {
		const char *u;
		uint64_t mul;
	} units[] = {{"", 1}, {"B", 1}, {"kB", 1000}, {"KB", 1000}, {"KiB", 1024}, {"MB", 1000000}, {"MiB", 1 << 20},
		     {"GB", 1000000000}, {"GiB", 1 << 30}};
	uint64_t x = 0;
	size_t i = 0, ul;

	while (n && (v[n - 1] == ' ' || v[n - 1] == '\t'))
		n--;
	if (n >= 2 && v[n - 2] == '/' && v[n - 1] == 's')
		n -= 2;
	for (; i < n && v[i] >= '0' && v[i] <= '9'; i++) {
		if (x > (UINT64_MAX - 9) / 10)
			return -1;
		x = x * 10 + (uint64_t)(v[i] - '0');
	}
	if (!i)
		return -1;
	while (i < n && v[i] == ' ')
		i++;
	ul = n - i;
	for (size_t k = 0; k < sizeof(units) / sizeof(units[0]); k++)
		if (strlen(units[k].u) == ul && !memcmp(units[k].u, v + i, ul)) {
			if (x > UINT64_MAX / units[k].mul)
				return -1;
			*out = x * units[k].mul;
			return 0;
		}
	return -1;
}

static int p_relay_rate(struct w2w_config *c, const char *v, size_t n, char *why)
{
	uint64_t x;
	char s[72];

	if (!n) {
		c->relay_rate = RELAY_DEFAULT_RATE;
		return 0;
	}
	if (parse_rate(v, n, &x) < 0) {
		cfg_why(why, "'%s' is not a rate (e.g. 4MiB, 500kB, 1048576)", cfg_shown(s, v, n));
		return -1;
	}
	if (x < RELAY_MIN_RATE || x > RELAY_MAX_RATE) {
		cfg_why(why, "%s is out of range (64KiB to 1GiB per second)", cfg_shown(s, v, n));
		return -1;
	}
	c->relay_rate = x;
	return 0;
}

static int p_pair_psk(struct w2w_config *c, const char *v, size_t n, char *why)
{
	char s[72];
	bool on = true; /* docs/security.md: on unless a reason against it */

	if (n && parse_bool(v, n, &on) < 0) {
		cfg_why(why, "'%s' is not true or false", cfg_shown(s, v, n));
		return -1;
	}
	c->pair_psk = on;
	return 0;
}

static int p_mdns_ifaces(struct w2w_config *c, const char *v, size_t n, char *why)
{
	char list[CFG_MAX_MDNS_IFACES][16], s[72];
	size_t count = 0, pos = 0, used = 0, len;
	const char *item;

	while (next_item(v, n, &pos, &item, &len)) {
		if (!valid_ifname(item, len)) {
			cfg_why(why, "'%s' is not an interface name (1 to 15 characters, no '/', ':' or spaces)",
			        cfg_shown(s, item, len));
			return -1;
		}
		for (size_t i = 0; i < count; i++) {
			if (strlen(list[i]) == len && !memcmp(list[i], item, len)) {
				cfg_why(why, "'%s' is listed twice", cfg_shown(s, item, len));
				return -1;
			}
		}
		if (count == CFG_MAX_MDNS_IFACES) {
			cfg_why(why, "more than %d interfaces", CFG_MAX_MDNS_IFACES);
			return -1;
		}
		cfg_copy_str(list[count++], sizeof(list[0]), item, len);
	}
	memcpy(c->mdns_ifaces, list, count * sizeof(list[0]));
	c->n_mdns_ifaces = count;
	c->mdns_ifaces_text[0] = 0;
	for (size_t i = 0; i < count; i++)
		used += (size_t)snprintf(c->mdns_ifaces_text + used, sizeof(c->mdns_ifaces_text) - used, "%s%s",
		                         i ? "," : "", list[i]);
	return 0;
}

static int p_mdns_interval(struct w2w_config *c, const char *v, size_t n, char *why)
{
	uint64_t ms = 0;

	/* At least 1 s: the engine's floor (MDNS_MIN_INTERVAL_US), and RFC 6762 5.2's spirit. */
	if (n && parse_duration_ms(v, n, 1000, 3600000u, &ms, why) < 0)
		return -1;
	c->mdns_interval_ms = ms ? ms : DEF_MDNS_INTERVAL_MS;
	return 0;
}

static int p_interface(struct w2w_config *c, const char *v, size_t n, char *why)
{
	char s[72];

	if (!n) {
		snprintf(c->ifname, sizeof(c->ifname), "%s", DEF_INTERFACE);
		return 0;
	}
	if (!valid_ifname(v, n)) {
		cfg_why(why, "'%s' is not an interface name (1 to 15 characters, no '/', ':' or spaces)",
		        cfg_shown(s, v, n));
		return -1;
	}
	cfg_copy_str(c->ifname, sizeof(c->ifname), v, n);
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
		cfg_why(why, "'%s' is not a port number", cfg_shown(s, v, n));
		return -1;
	}
	if (x < 0 || x > 65535) {
		cfg_why(why, "port %s out of range (1 to 65535)", cfg_shown(s, v, n));
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
		cfg_why(why,
		        "'%s' is not a network prefix (write e.g. fd6d:142e:65e7:4cc1::/64 or 10.42.0.0/16)",
		        cfg_shown(s, v, n));
		return -1;
	}
	bits = p.family == 4 ? 32 : 128;
	/* Room for at least two nodes besides the network (and broadcast) address. */
	if (len < 1 || len > (long long)bits - 2) {
		cfg_why(why, "prefix length /%lld out of range for IPv%d (1 to %u)", len, p.family, bits - 2);
		return -1;
	}
	p.len = (unsigned)len;
	if (!cfg_host_bits(p.addr, bits, p.len, false)) {
		struct cfg_prefix m = p;

		for (unsigned i = p.len; i < bits; i++)
			m.addr[i / 8] &= (uint8_t) ~(0x80 >> (i % 8));
		cfg_ip_text(net, sizeof(net), p.family, m.addr);
		cfg_why(why, "'%s' is not a network: host bits are set (the network is %s/%u)",
		        cfg_shown(s, v, n), net, p.len);
		return -1;
	}
	c->range = p;
	return 0;
}

static int p_node_name(struct w2w_config *c, const char *v, size_t n, char *why)
{
	char s[72];

	if (n && !cfg_valid_hostname(v, n)) {
		cfg_why(why, "'%s' is not a host name (letters, digits, '-' and '.')", cfg_shown(s, v, n));
		return -1;
	}
	cfg_copy_str(c->node_name, sizeof(c->node_name), v, n);
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
			cfg_why(why, "'%s' has no unit (write e.g. 25s; -1 disables)", cfg_shown(s, v, n));
			return -1;
		}
		c->keepalive_s = x < 0 ? -1 : DEF_KEEPALIVE_S;
		return 0;
	}
	rc = godur_parse(v, n, &ns);
	if (rc < 0) {
		cfg_why(why, "'%s' is not a duration (write e.g. 25s or 1m; -1 disables)", cfg_shown(s, v, n));
		return -1;
	}
	if (ns <= 0) {
		c->keepalive_s = ns < 0 ? -1 : DEF_KEEPALIVE_S;
		return 0;
	}
	if (ns % NS_PER_S || ns / NS_PER_S > 65535) {
		cfg_why(why, "'%s' must be whole seconds from 1s to 65535s (-1 disables)", cfg_shown(s, v, n));
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
		cfg_why(why, "'%s' is not an MTU from 1280 to 9000", cfg_shown(s, v, n));
		return -1;
	}
	c->mtu = (unsigned)x;
	return 0;
}

static int p_backend(struct w2w_config *c, const char *v, size_t n, char *why)
{
	char s[72];

	if (!n || cfg_eq_ci(v, n, "auto"))
		c->backend = W2W_BACKEND_AUTO;
	else if (cfg_eq_ci(v, n, "kernel"))
		c->backend = W2W_BACKEND_KERNEL;
	else if (cfg_eq_ci(v, n, "userspace"))
		c->backend = W2W_BACKEND_USERSPACE;
	else {
		cfg_why(why, "'%s' is not auto, kernel or userspace", cfg_shown(s, v, n));
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
		cfg_why(why, "'%s' is not an IPv4 or IPv6 address", cfg_shown(s, v, n));
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
		cfg_why(why, "'%s' is not an absolute path", cfg_shown(s, v, n));
		return -1;
	}
	if (cfg_copy_str(dst, cap, v, n) < 0) {
		cfg_why(why, "path longer than %zu characters", cap - 1);
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

/* [Node] DNSDomain (docs/operations.md "Node names"): LDH labels, stored in lower case. */
static int p_dns_domain(struct w2w_config *c, const char *v, size_t n, char *why)
{
	char s[72];

	if (n && (n > CFG_DOMAIN_MAX || !cfg_valid_hostname(v, n))) {
		cfg_why(why, "'%s' is not a domain name (letters, digits, '-' and inner '.', at most %d bytes)",
		        cfg_shown(s, v, n), CFG_DOMAIN_MAX);
		return -1;
	}
	for (size_t i = 0; i < n; i++)
		c->dns_domain[i] = (char)tolower((unsigned char)v[i]);
	c->dns_domain[n] = 0;
	return 0;
}

/* [Node] MetricsAddr (docs/operations.md "Metrics"): "" (off), IPv4:PORT or
 * [IPv6]:PORT. An IP literal only: the daemon binds exactly this address, and
 * a name could resolve to a public interface. */
static int p_metrics_addr(struct w2w_config *c, const char *v, size_t n, char *why)
{
	char s[72], host[INET6_ADDRSTRLEN + 2];
	uint8_t ip[16];
	const char *colon;
	size_t hl;
	unsigned long port = 0;
	int fam;

	c->metrics_addr[0] = 0;
	if (!n)
		return 0;
	colon = memrchr(v, ':', n);
	if (!colon || n >= sizeof(c->metrics_addr))
		goto bad;
	hl = (size_t)(colon - v);
	if (hl >= 2 && v[0] == '[' && v[hl - 1] == ']') {
		fam = AF_INET6;
		memcpy(host, v + 1, hl - 2);
		host[hl - 2] = 0;
	} else if (hl && hl < sizeof(host) && !memchr(v, ':', hl)) {
		fam = AF_INET;
		memcpy(host, v, hl);
		host[hl] = 0;
	} else {
		goto bad;
	}
	if (colon + 1 == v + n || colon + 6 < v + n || inet_pton(fam, host, ip) != 1)
		goto bad;
	for (const char *p = colon + 1; p < v + n; p++) {
		if (*p < '0' || *p > '9')
			goto bad;
		port = port * 10 + (unsigned long)(*p - '0');
	}
	if (port == 0 || port > 65535)
		goto bad;
	memcpy(c->metrics_addr, v, n);
	c->metrics_addr[n] = 0;
	return 0;
bad:
	cfg_why(why, "'%s' is not IP:PORT (e.g. 127.0.0.1:9586 or [::1]:9586; an IP address, port 1-65535)",
	        cfg_shown(s, v, n));
	return -1;
}

static int p_log_level(struct w2w_config *c, const char *v, size_t n, char *why)
{
	char s[72];

	if (!n || cfg_eq_ci(v, n, "info"))
		c->log_level = 6;
	else if (cfg_eq_ci(v, n, "error"))
		c->log_level = 3;
	else if (cfg_eq_ci(v, n, "warn") || cfg_eq_ci(v, n, "warning"))
		c->log_level = 4;
	else if (cfg_eq_ci(v, n, "debug"))
		c->log_level = 7;
	else {
		cfg_why(why, "'%s' is not error, warn, info or debug", cfg_shown(s, v, n));
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

static int p_refresh(struct w2w_config *c, const char *v, size_t n, char *why)
{
	uint64_t ms = 0;

	if (n && parse_duration_ms(v, n, 1000, 24 * 3600000u, &ms, why) < 0)
		return -1;
	c->refresh_ms = ms ? ms : DEF_REFRESH_MS;
	return 0;
}

/* AdmissionKey: operator public keys, comma-separated like Bootstrap (several
 * during an operator key rotation). Empty: open mode. */
static int p_adm_key(struct w2w_config *c, const char *v, size_t n, char *why)
{
	uint8_t keys[ADM_MAX_KEYS][32];
	size_t count = 0, pos = 0, len;
	const char *item;
	char s[72];

	while (next_item(v, n, &pos, &item, &len)) {
		if (count == ADM_MAX_KEYS) {
			cfg_why(why, "more than %d keys", ADM_MAX_KEYS);
			return -1;
		}
		if (len != 44 || b64_decode(keys[count], 32, item, len) != 32) {
			cfg_why(why, "'%s' is not an admission public key (`w2wesher admission pubkey` prints one)",
			        cfg_shown(s, item, len));
			return -1;
		}
		count++;
	}
	memcpy(c->adm_keys, keys, count * 32);
	c->n_adm_keys = count;
	return 0;
}

/* AdmissionToken: checked for form here; its signature, peer and expiry by
 * the node (a config may carry a token before its key is configured). */
static int p_adm_token(struct w2w_config *c, const char *v, size_t n, char *why)
{
	uint8_t raw[ADM_MAX_LEN + 3];
	struct adm_obj o;
	int len;

	while (n && isspace((unsigned char)v[0])) {
		v++;
		n--;
	}
	while (n && isspace((unsigned char)v[n - 1]))
		n--;
	if (!n) {
		c->adm_token[0] = 0;
		return 0;
	}
	len = n < sizeof(c->adm_token) ? b64_decode(raw, sizeof(raw), v, n) : -1;
	if (len < 0 || adm_parse(raw, (size_t)len, &o) < 0 || o.kind != ADM_KIND_TOKEN) {
		cfg_why(why, "not an admission token (`w2wesher admission sign` prints one)");
		return -1;
	}
	cfg_copy_str(c->adm_token, sizeof(c->adm_token), v, n);
	return 0;
}

/* WireguardKeyRotation (docs/configuration.md): a Go duration or "off" (the
 * default). At least ROT_MIN_INTERVAL_MS (a rotation needs its lead time). */
static int p_key_rotation(struct w2w_config *c, const char *v, size_t n, char *why)
{
	uint64_t ms = 0;

	if (n && !cfg_eq_ci(v, n, "off") &&
	    parse_duration_ms(v, n, 3000, 365 * 24 * 3600000ull, &ms, why) < 0)
		return -1;
	c->key_rotation_ms = ms; /* "0": off, as go-ini's zero duration */
	return 0;
}

const struct cfg_keydef cfg_keydefs[CK__COUNT] = {
    [CK_P2P_PSK] = {SEC_P2P, "PSK", p_psk, true},
    [CK_P2P_PSKFILE] = {SEC_P2P, "PSKFile", p_pskfile, false},
    [CK_P2P_NEXTPSKFILE] = {SEC_P2P, "NextPSKFile", p_next_pskfile, false},
    [CK_P2P_PRIVATEKEY] = {SEC_P2P, "PrivateKey", p_p2p_key, true},
    [CK_P2P_BOOTSTRAP] = {SEC_P2P, "Bootstrap", p_bootstrap, false},
    [CK_P2P_LISTENADDR] = {SEC_P2P, "ListenAddr", p_listen_addr, false},
    [CK_P2P_ANNOUNCE] = {SEC_P2P, "AnnounceInterval", p_announce, false},
    [CK_P2P_MDNS] = {SEC_P2P, "MDNS", p_mdns, false},
    [CK_P2P_MDNSIFACES] = {SEC_P2P, "MDNSInterfaces", p_mdns_ifaces, false},
    [CK_P2P_MDNSINTERVAL] = {SEC_P2P, "MDNSInterval", p_mdns_interval, false},
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
    [CK_NODE_REFRESH] = {SEC_NODE, "RefreshInterval", p_refresh, false},
    [CK_NODE_CONTROLSOCKET] = {SEC_NODE, "ControlSocket", p_control_socket, false},
    [CK_NODE_DNSDOMAIN] = {SEC_NODE, "DNSDomain", p_dns_domain, false},
    [CK_P2P_RELAY] = {SEC_P2P, "Relay", p_relay, false},
    [CK_NODE_PAIRPSK] = {SEC_NODE, "PairPSK", p_pair_psk, false},
    [CK_NODE_METRICSADDR] = {SEC_NODE, "MetricsAddr", p_metrics_addr, false},
    [CK_P2P_ADMISSIONKEY] = {SEC_P2P, "AdmissionKey", p_adm_key, false},
    [CK_P2P_ADMISSIONTOKEN] = {SEC_P2P, "AdmissionToken", p_adm_token, false},
    [CK_NODE_KEYROTATION] = {SEC_NODE, "WireguardKeyRotation", p_key_rotation, false},
    [CK_P2P_RELAYMAXPAIRS] = {SEC_P2P, "RelayMaxPairs", p_relay_max_pairs, false},
    [CK_P2P_RELAYRATE] = {SEC_P2P, "RelayRate", p_relay_rate, false},
};

/* ---- errors ---- */

void cfg_upper(char *out, size_t cap, const char *s)
{
	size_t i;

	for (i = 0; s[i] && i + 1 < cap; i++)
		out[i] = (char)toupper((unsigned char)s[i]);
	out[i] = 0;
}

/* Formats "<where>[Section] Key: msg" for key k (k < 0: no key) at origin o. */
void cfg_err_at(struct w2w_config *c, int k, int o, unsigned line, const char *fmt, ...)
{
	char sec[32], key[32];
	size_t len = 0;
	va_list ap;

	c->err[0] = 0;
	if (o == CO_FILE)
		len = (size_t)snprintf(c->err, sizeof(c->err), "%s:%u: ", c->path, line);
	else if (o == CO_ENV && k >= 0) {
		cfg_upper(sec, sizeof(sec), cfg_sections[cfg_keydefs[k].section]);
		cfg_upper(key, sizeof(key), cfg_keydefs[k].name);
		len = (size_t)snprintf(c->err, sizeof(c->err), "environment W2WESHER_%s_%s: ", sec, key);
	}
	if (k >= 0 && len < sizeof(c->err))
		len += (size_t)snprintf(c->err + len, sizeof(c->err) - len,
		                        "[%s] %s: ", cfg_sections[cfg_keydefs[k].section], cfg_keydefs[k].name);
	if (len < sizeof(c->err)) {
		va_start(ap, fmt);
		vsnprintf(c->err + len, sizeof(c->err) - len, fmt, ap);
		va_end(ap);
	}
}

/* ---- applying values ---- */

static bool psk_side_set(const struct w2w_config *c, int k)
{
	return k == CK_P2P_PSK ? c->has_psk : c->psk_file[0] != 0;
}

int cfg_apply(struct w2w_config *c, int k, const char *v, size_t n, int o, unsigned line)
{
	char why[CFG_WHY_MAX] = "";

	if (n > INI_MAX_LINE) {
		cfg_err_at(c, k, o, line, "value too long");
		return W2W_EPARSE;
	}
	/* PSK and PSKFile are two ways to give one key: a stronger source replaces the other. */
	if ((k == CK_P2P_PSK || k == CK_P2P_PSKFILE) && n) {
		int other = k == CK_P2P_PSK ? CK_P2P_PSKFILE : CK_P2P_PSK;

		if (psk_side_set(c, other)) {
			if (c->origin[other] >= o) {
				cfg_err_at(c, k, o, line, "PSK and PSKFile both set; keep one");
				return W2W_EPARSE;
			}
			if (other == CK_P2P_PSK)
				p_psk(c, "", 0, why);
			else
				c->psk_file[0] = 0;
			c->origin[other] = CO_DEFAULT;
		}
	}
	if (cfg_keydefs[k].parse(c, v, n, why) < 0) {
		cfg_err_at(c, k, o, line, "%s", why);
		return W2W_EPARSE;
	}
	c->origin[k] = (uint8_t)o;
	c->line[k] = line;
	return 0;
}

int cfg_find_key(int section, const char *name, size_t n)
{
	for (int k = 0; k < CK__COUNT; k++)
		if (cfg_keydefs[k].section == section && strlen(cfg_keydefs[k].name) == n &&
		    !memcmp(cfg_keydefs[k].name, name, n))
			return k;
	return -1;
}

int cfg_find_section(const char *name, size_t n)
{
	for (int s = 0; s < SEC__COUNT; s++)
		if (strlen(cfg_sections[s]) == n && !memcmp(cfg_sections[s], name, n))
			return s;
	return -1;
}
