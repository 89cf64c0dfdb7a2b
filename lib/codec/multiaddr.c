/* SPDX-License-Identifier: MIT */
#include "multiaddr.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "b58.h"
#include "err.h"
#include "rd.h"
#include "varint.h"

/* Value kinds: how a component's value looks in binary and in text. */
enum ma_val { MV_NONE, MV_IP4, MV_IP6, MV_PORT, MV_NAME, MV_PEER };

struct ma_proto {
	uint32_t code;
	const char *name;
	enum ma_val val;
};

/* Codes and names from multiformats/multiaddr protocols.csv. */
static const struct ma_proto ma_protos[] = {
	{MA_IP4, "ip4", MV_IP4},
	{MA_TCP, "tcp", MV_PORT},
	{MA_IP6, "ip6", MV_IP6},
	{MA_IP6ZONE, "ip6zone", MV_NAME},
	{MA_DNS, "dns", MV_NAME},
	{MA_DNS4, "dns4", MV_NAME},
	{MA_DNS6, "dns6", MV_NAME},
	{MA_DNSADDR, "dnsaddr", MV_NAME},
	{MA_UDP, "udp", MV_PORT},
	{MA_P2P, "p2p", MV_PEER},
	{290, "p2p-circuit", MV_NONE},
	{448, "tls", MV_NONE},
	{454, "noise", MV_NONE},
	{460, "quic", MV_NONE},
	{461, "quic-v1", MV_NONE},
	{465, "webtransport", MV_NONE},
	{477, "ws", MV_NONE},
	{478, "wss", MV_NONE},
};

#define MA_NAME_MAX 253 /* longest name value (a DNS name) we carry */

static const struct ma_proto *ma_by_code(uint64_t code)
{
	for (size_t i = 0; i < sizeof(ma_protos) / sizeof(ma_protos[0]); i++)
		if (ma_protos[i].code == code)
			return &ma_protos[i];
	return NULL;
}

static const struct ma_proto *ma_by_name(const char *s, size_t n)
{
	/* "ipfs" is the old name of p2p; still accepted on input. */
	if (n == 4 && memcmp(s, "ipfs", 4) == 0)
		return ma_by_code(MA_P2P);
	for (size_t i = 0; i < sizeof(ma_protos) / sizeof(ma_protos[0]); i++)
		if (strlen(ma_protos[i].name) == n && memcmp(ma_protos[i].name, s, n) == 0)
			return &ma_protos[i];
	return NULL;
}

/* One decoded component. */
struct ma_comp {
	const struct ma_proto *proto;
	const uint8_t *v;
	size_t len;
};

/* A name value must print back unambiguously: no '/', no NUL, not empty. */
static bool ma_name_ok(const uint8_t *v, size_t n)
{
	if (n == 0 || n > MA_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (v[i] == '/' || v[i] == '\0')
			return false;
	return true;
}

/* Reads the next component from r; false on anything unknown or malformed. */
static bool ma_next(struct rd *r, struct ma_comp *c)
{
	uint64_t code, len;
	struct peerid id;

	if (!rd_uvarint(r, &code))
		return false;
	c->proto = ma_by_code(code);
	if (!c->proto)
		return false;
	switch (c->proto->val) {
	case MV_NONE:
		len = 0;
		break;
	case MV_IP4:
		len = 4;
		break;
	case MV_IP6:
		len = 16;
		break;
	case MV_PORT:
		len = 2;
		break;
	default:
		if (!rd_uvarint(r, &len))
			return false;
		break;
	}
	if (len > rd_left(r))
		return false;
	c->len = (size_t)len;
	c->v = rd_take(r, c->len);
	if (!rd_ok(r))
		return false;
	if (c->proto->val == MV_NAME && !ma_name_ok(c->v, c->len))
		return false;
	if (c->proto->val == MV_PEER && peerid_from_bytes(&id, c->v, c->len) < 0)
		return false;
	return true;
}

int ma_validate(const uint8_t *p, size_t n)
{
	struct rd r;
	struct ma_comp c;

	if (n == 0 || n > MA_MAX_BIN)
		return W2W_EPARSE;
	rd_init(&r, p, n);
	while (!rd_eof(&r))
		if (!ma_next(&r, &c))
			return W2W_EPARSE;
	return 0;
}

/* Bounded text writer for ma_format. */
struct tw {
	char *out;
	size_t cap, len;
	bool over;
};

static void tw_put(struct tw *w, const char *s, size_t n)
{
	if (w->over || n >= w->cap - w->len) {
		w->over = true;
		return;
	}
	memcpy(w->out + w->len, s, n);
	w->len += n;
}

static void tw_str(struct tw *w, const char *s)
{
	tw_put(w, s, strlen(s));
}

int ma_format(char *out, size_t cap, const uint8_t *p, size_t n)
{
	/* Format into scratch space so out is written only on success. */
	char buf[MA_MAX_TEXT];
	struct tw w = {buf, cap < sizeof(buf) ? cap : sizeof(buf), 0, cap == 0};
	char tmp[PEERID_STR_MAX > INET6_ADDRSTRLEN ? PEERID_STR_MAX : INET6_ADDRSTRLEN];
	struct ma_comp c;
	struct peerid id;
	struct rd r;

	if (ma_validate(p, n) < 0)
		return W2W_EPARSE;
	rd_init(&r, p, n);
	while (!rd_eof(&r)) {
		ma_next(&r, &c); /* cannot fail: validated above */
		tw_put(&w, "/", 1);
		tw_str(&w, c.proto->name);
		if (c.proto->val == MV_NONE)
			continue;
		tw_put(&w, "/", 1);
		switch (c.proto->val) {
		case MV_IP4:
			inet_ntop(AF_INET, c.v, tmp, sizeof(tmp));
			tw_str(&w, tmp);
			break;
		case MV_IP6:
			inet_ntop(AF_INET6, c.v, tmp, sizeof(tmp));
			tw_str(&w, tmp);
			break;
		case MV_PORT: {
			unsigned port = (unsigned)c.v[0] << 8 | c.v[1];
			char d[6];
			int k = 5;
			d[5] = '\0';
			do {
				d[--k] = (char)('0' + port % 10);
				port /= 10;
			} while (port);
			tw_str(&w, d + k);
			break;
		}
		case MV_NAME:
			tw_put(&w, (const char *)c.v, c.len);
			break;
		case MV_PEER:
			peerid_from_bytes(&id, c.v, c.len);
			if (peerid_to_b58(tmp, sizeof(tmp), &id) < 0)
				return W2W_EPARSE;
			tw_str(&w, tmp);
			break;
		default:
			break;
		}
	}
	if (w.over)
		return W2W_ELIMIT;
	memcpy(out, buf, w.len);
	out[w.len] = '\0';
	return (int)w.len;
}

/* Bounded binary writer for ma_parse/ma_compose. */
struct bw {
	uint8_t *out;
	size_t cap, len;
	bool over;
};

static void bw_put(struct bw *w, const void *p, size_t n)
{
	if (w->over || n > w->cap - w->len) {
		w->over = true;
		return;
	}
	if (n)
		memcpy(w->out + w->len, p, n);
	w->len += n;
}

static void bw_varint(struct bw *w, uint64_t v)
{
	uint8_t tmp[UVARINT_BUF_LEN];

	bw_put(w, tmp, uvarint_encode(tmp, v));
}

static void bw_port(struct bw *w, uint32_t code, uint16_t port)
{
	uint8_t be[2] = {(uint8_t)(port >> 8), (uint8_t)port};

	bw_varint(w, code);
	bw_put(w, be, 2);
}

static void bw_peer(struct bw *w, const struct peerid *id)
{
	bw_varint(w, MA_P2P);
	bw_varint(w, id->len);
	bw_put(w, id->b, id->len);
}

static int ma_parse_port(const char *s, size_t n, uint16_t *port)
{
	uint32_t v = 0;

	if (n == 0 || n > 5)
		return W2W_EPARSE;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return W2W_EPARSE;
		v = v * 10 + (uint32_t)(s[i] - '0');
	}
	if (v > 65535)
		return W2W_EPARSE;
	*port = (uint16_t)v;
	return 0;
}

/* inet_pton needs a NUL-terminated copy. */
static int ma_parse_ip(int af, const char *s, size_t n, uint8_t *out)
{
	char tmp[INET6_ADDRSTRLEN + 1];

	if (n == 0 || n >= sizeof(tmp) || memchr(s, '\0', n))
		return W2W_EPARSE; /* an embedded NUL would hide trailing garbage from inet_pton */
	memcpy(tmp, s, n);
	tmp[n] = '\0';
	return inet_pton(af, tmp, out) == 1 ? 0 : W2W_EPARSE;
}

int ma_parse(uint8_t *out, size_t cap, const char *s, size_t len)
{
	uint8_t tmp[MA_MAX_BIN];
	struct bw w = {tmp, sizeof(tmp), 0, false};
	size_t i = 0;

	/* Text is "/name[/value]" repeated; one trailing '/' is tolerated like go-multiaddr. */
	if (len > 0 && s[len - 1] == '/')
		len--;
	if (len == 0 || s[0] != '/')
		return W2W_EPARSE;
	while (i < len) {
		const struct ma_proto *pr;
		const char *name, *val;
		size_t nlen, vlen;

		i++; /* the '/' */
		name = s + i;
		while (i < len && s[i] != '/')
			i++;
		nlen = (size_t)(s + i - name);
		pr = ma_by_name(name, nlen);
		if (!pr)
			return W2W_EPARSE;
		bw_varint(&w, pr->code);
		if (pr->val == MV_NONE)
			continue;
		if (i == len)
			return W2W_EPARSE; /* value missing */
		i++;
		val = s + i;
		while (i < len && s[i] != '/')
			i++;
		vlen = (size_t)(s + i - val);
		switch (pr->val) {
		case MV_IP4: {
			uint8_t ip[4];
			if (ma_parse_ip(AF_INET, val, vlen, ip) < 0)
				return W2W_EPARSE;
			bw_put(&w, ip, 4);
			break;
		}
		case MV_IP6: {
			uint8_t ip[16];
			if (ma_parse_ip(AF_INET6, val, vlen, ip) < 0)
				return W2W_EPARSE;
			bw_put(&w, ip, 16);
			break;
		}
		case MV_PORT: {
			uint16_t port;
			uint8_t be[2];
			if (ma_parse_port(val, vlen, &port) < 0)
				return W2W_EPARSE;
			be[0] = (uint8_t)(port >> 8);
			be[1] = (uint8_t)port;
			bw_put(&w, be, 2);
			break;
		}
		case MV_NAME:
			if (!ma_name_ok((const uint8_t *)val, vlen))
				return W2W_EPARSE;
			bw_varint(&w, vlen);
			bw_put(&w, val, vlen);
			break;
		case MV_PEER: {
			struct peerid id;
			if (peerid_parse(&id, val, vlen) < 0)
				return W2W_EPARSE;
			bw_varint(&w, id.len);
			bw_put(&w, id.b, id.len);
			break;
		}
		default:
			return W2W_EPARSE;
		}
		if (w.over)
			return W2W_ELIMIT;
	}
	if (w.over)
		return W2W_ELIMIT;
	if (w.len > cap)
		return W2W_ELIMIT;
	memcpy(out, tmp, w.len);
	return (int)w.len;
}

int ma_decompose(const uint8_t *p, size_t n, struct ma_addr *out)
{
	struct ma_addr a;
	struct ma_comp c[3];
	size_t nc = 0;
	struct rd r;

	if (n == 0 || n > MA_MAX_BIN)
		return W2W_EPARSE;
	rd_init(&r, p, n);
	while (!rd_eof(&r)) {
		if (nc == 3 || !ma_next(&r, &c[nc]))
			return W2W_EPARSE;
		nc++;
	}
	if (nc < 2)
		return W2W_EPARSE;
	memset(&a, 0, sizeof(a));
	switch (c[0].proto->code) {
	case MA_IP4:
		a.kind = MA_KIND_IP4;
		memcpy(a.ip, c[0].v, 4);
		inet_ntop(AF_INET, a.ip, a.host, sizeof(a.host));
		break;
	case MA_IP6:
		a.kind = MA_KIND_IP6;
		memcpy(a.ip, c[0].v, 16);
		inet_ntop(AF_INET6, a.ip, a.host, sizeof(a.host));
		break;
	case MA_DNS4:
	case MA_DNS6:
		a.kind = c[0].proto->code == MA_DNS4 ? MA_KIND_DNS4 : MA_KIND_DNS6;
		memcpy(a.host, c[0].v, c[0].len); /* <= 253 bytes, checked by ma_next */
		break;
	default:
		return W2W_EPARSE;
	}
	if (c[1].proto->code != MA_TCP && c[1].proto->code != MA_UDP)
		return W2W_EPARSE;
	a.tcp = c[1].proto->code == MA_TCP;
	a.port = (uint16_t)(c[1].v[0] << 8 | c[1].v[1]);
	if (nc == 3) {
		if (c[2].proto->code != MA_P2P || peerid_from_bytes(&a.peer, c[2].v, c[2].len) < 0)
			return W2W_EPARSE;
		a.has_peer = true;
	}
	*out = a;
	return 0;
}

int ma_compose(uint8_t *out, size_t cap, const struct ma_addr *a)
{
	uint8_t tmp[MA_MAX_BIN];
	struct bw w = {tmp, sizeof(tmp), 0, false};
	size_t hl;

	switch (a->kind) {
	case MA_KIND_IP4:
		bw_varint(&w, MA_IP4);
		bw_put(&w, a->ip, 4);
		break;
	case MA_KIND_IP6:
		bw_varint(&w, MA_IP6);
		bw_put(&w, a->ip, 16);
		break;
	case MA_KIND_DNS4:
	case MA_KIND_DNS6:
		hl = strnlen(a->host, sizeof(a->host));
		if (!ma_name_ok((const uint8_t *)a->host, hl))
			return W2W_EPARSE;
		bw_varint(&w, a->kind == MA_KIND_DNS4 ? MA_DNS4 : MA_DNS6);
		bw_varint(&w, hl);
		bw_put(&w, a->host, hl);
		break;
	default:
		return W2W_EPARSE;
	}
	bw_port(&w, a->tcp ? MA_TCP : MA_UDP, a->port);
	if (a->has_peer) {
		if (a->peer.len == 0 || a->peer.len > PEERID_MAX_LEN)
			return W2W_EPARSE;
		bw_peer(&w, &a->peer);
	}
	if (w.over || w.len > cap)
		return W2W_ELIMIT;
	memcpy(out, tmp, w.len);
	return (int)w.len;
}

int ma_from_ip(uint8_t *out, size_t cap, int family, const uint8_t *ip, uint16_t port, bool tcp,
	       const struct peerid *peer)
{
	struct ma_addr a;

	memset(&a, 0, sizeof(a));
	if (family == 4) {
		a.kind = MA_KIND_IP4;
		memcpy(a.ip, ip, 4);
	} else if (family == 6) {
		a.kind = MA_KIND_IP6;
		memcpy(a.ip, ip, 16);
	} else {
		return W2W_EPARSE;
	}
	a.port = port;
	a.tcp = tcp;
	if (peer) {
		a.has_peer = true;
		a.peer = *peer;
	}
	return ma_compose(out, cap, &a);
}

int ma_peer(const uint8_t *p, size_t n, struct peerid *peer)
{
	struct ma_comp c = {0};
	struct rd r;

	if (ma_validate(p, n) < 0)
		return W2W_EPARSE;
	rd_init(&r, p, n);
	while (!rd_eof(&r))
		ma_next(&r, &c);
	if (!c.proto || c.proto->code != MA_P2P)
		return W2W_EPARSE;
	return peerid_from_bytes(peer, c.v, c.len);
}
