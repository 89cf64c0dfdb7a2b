/* SPDX-License-Identifier: MIT */
#include <arpa/inet.h>
#include <msgpack.h>
#include <stdio.h>
#include <string.h>

#include "announce.h"
#include "err.h"
#include "mpcheck.h"
#include "multiaddr.h"

bool ann_ip_eq(const struct ann_ip *a, const struct ann_ip *b)
{
	if (a->family != b->family)
		return false;
	return memcmp(a->ip, b->ip, a->family == 4 ? 4 : 16) == 0;
}

bool ann_ip_from_ma(const uint8_t *ma, size_t n, struct ann_ip *ip, uint16_t *port)
{
	struct ma_addr a;

	if (ma_decompose(ma, n, &a) < 0 || (a.kind != MA_KIND_IP4 && a.kind != MA_KIND_IP6))
		return false;
	memset(ip, 0, sizeof(*ip));
	ip->family = a.kind == MA_KIND_IP4 ? 4 : 6;
	memcpy(ip->ip, a.ip, a.kind == MA_KIND_IP4 ? 4 : 16);
	if (port)
		*port = a.port;
	return true;
}

bool ann_ip_unspecified(const struct ann_ip *ip)
{
	static const uint8_t zero[16];

	return memcmp(ip->ip, zero, ip->family == 4 ? 4 : 16) == 0;
}

void ann_add_endpoint(struct announce *a, const struct ann_ip *ip, uint16_t port)
{
	for (unsigned i = 0; i < a->n_eps; i++)
		if (ann_ip_eq(&a->eps[i].addr, ip))
			return;
	if (a->n_eps < ANN_MAX_ENDPOINTS) {
		a->eps[a->n_eps].addr = *ip;
		a->eps[a->n_eps].port = port;
		a->n_eps++;
	}
}

void ann_add_listen(struct announce *a, const struct ann_ip *ip, uint16_t tcp_port)
{
	uint8_t b[ANN_MA_MAX];
	int len = ma_from_ip(b, sizeof(b), ip->family, ip->ip, tcp_port, true, NULL);

	if (len < 0)
		return;
	for (unsigned i = 0; i < a->n_la; i++)
		if (a->la[i].len == len && !memcmp(a->la[i].b, b, (size_t)len))
			return;
	if (a->n_la < ANN_MAX_LISTEN) {
		memcpy(a->la[a->n_la].b, b, (size_t)len);
		a->la[a->n_la].len = (uint8_t)len;
		a->n_la++;
	}
}

void ann_build(struct announce *a, const struct ann_self *s)
{
	memset(a, 0, sizeof(*a));
	a->seq = s->seq;
	a->flags = s->flags;
	snprintf(a->name, sizeof(a->name), "%s", s->name ? s->name : "");
	memcpy(a->wg_pub, s->wg_pub, 32);
	a->wg_port = s->wg_port;
	if (s->claim) {
		a->claims[0] = *s->claim;
		a->n_claims = 1;
	}
	if (s->listen_ip && s->listen_ip->family && !ann_ip_unspecified(s->listen_ip)) {
		ann_add_endpoint(a, s->listen_ip, s->wg_port);
		ann_add_listen(a, s->listen_ip, s->listen_tcp);
	}
	for (size_t i = 0; i < s->n_observed; i++) {
		ann_add_endpoint(a, &s->observed[i], s->wg_port);
		ann_add_listen(a, &s->observed[i], s->listen_tcp);
	}
}

void ann_ip_str(const struct ann_ip *a, char *out, size_t cap)
{
	if (!inet_ntop(a->family == 4 ? AF_INET : AF_INET6, a->ip, out, (socklen_t)cap) && cap)
		out[0] = '\0';
}

static int buf_write_cb(void *data, const char *p, size_t n)
{
	return buf_append(data, p, n) < 0 ? -1 : 0;
}

static void pack_key(msgpack_packer *pk, const char *k)
{
	size_t n = strlen(k);

	msgpack_pack_str(pk, n);
	msgpack_pack_str_body(pk, k, n);
}

static void pack_ip(msgpack_packer *pk, const struct ann_ip *ip, const uint16_t *port)
{
	uint8_t b[18];
	size_t n = ip->family == 4 ? 4 : 16;

	memcpy(b, ip->ip, n);
	if (port) {
		b[n] = (uint8_t)(*port >> 8);
		b[n + 1] = (uint8_t)*port;
		n += 2;
	}
	msgpack_pack_bin(pk, n);
	msgpack_pack_bin_body(pk, b, n);
}

static bool valid_family(uint8_t f)
{
	return f == 4 || f == 6;
}

int ann_encode(const struct announce *a, struct buf *out)
{
	return ann_encode_ext(a, NULL, out);
}

int ann_encode_ext(const struct announce *a, const struct ann_adm *adm, struct buf *out)
{
	msgpack_packer pk;
	size_t start = out->len, namelen = strnlen(a->name, sizeof(a->name));
	int r = 0;

	if (a->n_claims > ANN_MAX_ADDRS || a->n_eps > ANN_MAX_ENDPOINTS || a->n_la > ANN_MAX_LISTEN || a->n_acks > ANN_MAX_ACKS ||
	    a->n_down > ANN_MAX_DOWN || namelen > ANN_NAME_MAX || a->n_pk > ANN_MAX_PK)
		return W2W_EPARSE;
	for (unsigned i = 0; i < a->n_la; i++)
		if (a->la[i].len > ANN_MA_MAX || ma_validate(a->la[i].b, a->la[i].len) < 0)
			return W2W_EPARSE;
	for (unsigned i = 0; i < a->n_claims; i++)
		if (!valid_family(a->claims[i].addr.family))
			return W2W_EPARSE;
	for (unsigned i = 0; i < a->n_eps; i++)
		if (!valid_family(a->eps[i].addr.family))
			return W2W_EPARSE;
	for (unsigned i = 0; i < a->n_down; i++)
		if (!a->down[i].len || a->down[i].len > ANN_ID_MAX)
			return W2W_EPARSE;
	if (a->n_rq > ANN_MAX_RQ || a->n_ry > ANN_MAX_RY || a->n_up > ANN_MAX_UP)
		return W2W_EPARSE;
	for (unsigned i = 0; i < a->n_ry; i++)
		if (!a->ry[i].pa || !a->ry[i].pb)
			return W2W_EPARSE;
	if (a->n_seen > ANN_MAX_SEEN || (a->has_wep && (!valid_family(a->wep.addr.family) || !a->wep.port)))
		return W2W_EPARSE;
	for (unsigned i = 0; i < a->n_seen; i++)
		if (!valid_family(a->seen[i].ep.addr.family) || !a->seen[i].ep.port)
			return W2W_EPARSE;

	msgpack_packer_init(&pk, out, buf_write_cb);
	if (adm && (adm->tok_len > ANN_BLOB_MAX || adm->n_rev > ANN_MAX_REVOKE))
		return W2W_EPARSE;
	msgpack_pack_map(&pk, 9 + (a->n_acks ? 1 : 0) + (a->n_down ? 1 : 0) + (a->n_pk ? 1 : 0) +
				      (a->members ? 1 : 0) + (adm && adm->tok_len ? 1 : 0) + (adm && adm->n_rev ? 1 : 0) +
				      (a->has_next ? 1 : 0) + (a->has_wep ? 1 : 0) + (a->n_seen ? 1 : 0) + (a->n_rq ? 1 : 0) +
				      (a->n_ry ? 1 : 0) + (a->n_up ? 1 : 0));
	pack_key(&pk, "v");
	msgpack_pack_uint32(&pk, ANN_VERSION);
	pack_key(&pk, "seq");
	msgpack_pack_uint64(&pk, a->seq);
	pack_key(&pk, "flags");
	msgpack_pack_uint32(&pk, a->flags);
	pack_key(&pk, "name");
	msgpack_pack_str(&pk, namelen);
	msgpack_pack_str_body(&pk, a->name, namelen);
	pack_key(&pk, "wg");
	msgpack_pack_bin(&pk, 32);
	msgpack_pack_bin_body(&pk, a->wg_pub, 32);
	pack_key(&pk, "port");
	msgpack_pack_uint16(&pk, a->wg_port);
	pack_key(&pk, "addrs");
	msgpack_pack_array(&pk, a->n_claims);
	for (unsigned i = 0; i < a->n_claims; i++) {
		msgpack_pack_map(&pk, 2);
		pack_key(&pk, "ip");
		pack_ip(&pk, &a->claims[i].addr, NULL);
		pack_key(&pk, "t");
		msgpack_pack_uint64(&pk, a->claims[i].claimed_ms);
	}
	pack_key(&pk, "eps");
	msgpack_pack_array(&pk, a->n_eps);
	for (unsigned i = 0; i < a->n_eps; i++)
		pack_ip(&pk, &a->eps[i].addr, &a->eps[i].port);
	pack_key(&pk, "la");
	msgpack_pack_array(&pk, a->n_la);
	for (unsigned i = 0; i < a->n_la; i++) {
		msgpack_pack_bin(&pk, a->la[i].len);
		msgpack_pack_bin_body(&pk, a->la[i].b, a->la[i].len);
	}
	if (a->n_acks) {
		pack_key(&pk, "ack");
		msgpack_pack_array(&pk, a->n_acks);
		for (unsigned i = 0; i < a->n_acks; i++) {
			msgpack_pack_bin(&pk, ANN_ACK_LEN);
			msgpack_pack_bin_body(&pk, a->acks[i], ANN_ACK_LEN);
		}
	}
	if (a->n_down) {
		pack_key(&pk, "dn");
		msgpack_pack_array(&pk, a->n_down);
		for (unsigned i = 0; i < a->n_down; i++) {
			msgpack_pack_map(&pk, 2);
			pack_key(&pk, "id");
			msgpack_pack_bin(&pk, a->down[i].len);
			msgpack_pack_bin_body(&pk, a->down[i].id, a->down[i].len);
			pack_key(&pk, "s");
			msgpack_pack_uint64(&pk, a->down[i].seq);
		}
	}
	if (a->has_wep) {
		pack_key(&pk, "wep");
		pack_ip(&pk, &a->wep.addr, &a->wep.port);
	}
	if (a->n_seen) {
		pack_key(&pk, "seen");
		msgpack_pack_array(&pk, a->n_seen);
		for (unsigned i = 0; i < a->n_seen; i++) {
			msgpack_pack_map(&pk, 2);
			pack_key(&pk, "k");
			msgpack_pack_bin(&pk, ANN_SEEN_KEY_LEN);
			msgpack_pack_bin_body(&pk, a->seen[i].key, ANN_SEEN_KEY_LEN);
			pack_key(&pk, "e");
			pack_ip(&pk, &a->seen[i].ep.addr, &a->seen[i].ep.port);
		}
	}
	if (a->n_rq) {
		pack_key(&pk, "rq");
		msgpack_pack_array(&pk, a->n_rq);
		for (unsigned i = 0; i < a->n_rq; i++) {
			msgpack_pack_bin(&pk, ANN_SEEN_KEY_LEN);
			msgpack_pack_bin_body(&pk, a->rq[i], ANN_SEEN_KEY_LEN);
		}
	}
	if (a->n_ry) {
		pack_key(&pk, "ry");
		msgpack_pack_array(&pk, a->n_ry);
		for (unsigned i = 0; i < a->n_ry; i++) {
			msgpack_pack_map(&pk, 4 + (a->ry[i].sa ? 1 : 0) + (a->ry[i].sb ? 1 : 0));
			pack_key(&pk, "a");
			msgpack_pack_bin(&pk, ANN_SEEN_KEY_LEN);
			msgpack_pack_bin_body(&pk, a->ry[i].a, ANN_SEEN_KEY_LEN);
			pack_key(&pk, "b");
			msgpack_pack_bin(&pk, ANN_SEEN_KEY_LEN);
			msgpack_pack_bin_body(&pk, a->ry[i].b, ANN_SEEN_KEY_LEN);
			pack_key(&pk, "pa");
			msgpack_pack_uint16(&pk, a->ry[i].pa);
			pack_key(&pk, "pb");
			msgpack_pack_uint16(&pk, a->ry[i].pb);
			if (a->ry[i].sa) {
				pack_key(&pk, "sa");
				msgpack_pack_uint16(&pk, a->ry[i].sa);
			}
			if (a->ry[i].sb) {
				pack_key(&pk, "sb");
				msgpack_pack_uint16(&pk, a->ry[i].sb);
			}
		}
	}
	if (a->n_up) {
		pack_key(&pk, "up");
		msgpack_pack_array(&pk, a->n_up);
		for (unsigned i = 0; i < a->n_up; i++) {
			msgpack_pack_map(&pk, 3);
			pack_key(&pk, "k");
			msgpack_pack_bin(&pk, ANN_SEEN_KEY_LEN);
			msgpack_pack_bin_body(&pk, a->up[i].key, ANN_SEEN_KEY_LEN);
			pack_key(&pk, "n");
			msgpack_pack_uint32(&pk, a->up[i].n);
			pack_key(&pk, "h");
			msgpack_pack_uint8(&pk, a->up[i].h);
		}
	}
	if (a->n_pk) {
		pack_key(&pk, "pk");
		msgpack_pack_array(&pk, a->n_pk);
		for (unsigned i = 0; i < a->n_pk; i++) {
			msgpack_pack_bin(&pk, ANN_PK_LEN);
			msgpack_pack_bin_body(&pk, a->pk[i], ANN_PK_LEN);
		}
	}
	if (adm && adm->tok_len) {
		pack_key(&pk, "at");
		msgpack_pack_bin(&pk, adm->tok_len);
		msgpack_pack_bin_body(&pk, adm->tok, adm->tok_len);
	}
	if (adm && adm->n_rev) {
		pack_key(&pk, "rv");
		msgpack_pack_array(&pk, adm->n_rev);
		for (unsigned i = 0; i < adm->n_rev; i++) {
			msgpack_pack_bin(&pk, adm->rev[i].len);
			msgpack_pack_bin_body(&pk, adm->rev[i].b, adm->rev[i].len);
		}
	}
	if (a->members) {
		pack_key(&pk, "nm");
		msgpack_pack_uint32(&pk, a->members);
	}
	if (a->has_next) {
		pack_key(&pk, "nwg");
		msgpack_pack_bin(&pk, 32);
		msgpack_pack_bin_body(&pk, a->wg_next, 32);
	}
	/* The packer swallows write errors; a short buffer shows as a bad size. */
	if (out->len - start > ANN_MAX_SIZE) {
		out->len = start;
		r = W2W_ELIMIT;
	}
	return r;
}

static bool key_is(const msgpack_object *k, const char *s)
{
	size_t n = strlen(s);

	return k->type == MSGPACK_OBJECT_STR && k->via.str.size == n && memcmp(k->via.str.ptr, s, n) == 0;
}

static bool get_uint(const msgpack_object *o, uint64_t max, uint64_t *v)
{
	if (o->type != MSGPACK_OBJECT_POSITIVE_INTEGER || o->via.u64 > max)
		return false;
	*v = o->via.u64;
	return true;
}

/* bin of 4 or 16 bytes (+2 for a port when with_port). */
static bool get_ip(const msgpack_object *o, bool with_port, struct ann_ip *ip, uint16_t *port)
{
	size_t extra = with_port ? 2 : 0, n;
	const uint8_t *b;

	if (o->type != MSGPACK_OBJECT_BIN)
		return false;
	n = o->via.bin.size;
	b = (const uint8_t *)o->via.bin.ptr;
	memset(ip, 0, sizeof(*ip));
	if (n == 4 + extra)
		ip->family = 4;
	else if (n == 16 + extra)
		ip->family = 6;
	else
		return false;
	memcpy(ip->ip, b, ip->family == 4 ? 4 : 16);
	if (with_port) {
		*port = (uint16_t)((b[n - 2] << 8) | b[n - 1]);
		if (*port == 0)
			return false;
	}
	return true;
}

static bool get_claim(const msgpack_object *o, struct ann_claim *c)
{
	bool have_ip = false, have_t = false;

	if (o->type != MSGPACK_OBJECT_MAP)
		return false;
	for (uint32_t i = 0; i < o->via.map.size; i++) {
		const msgpack_object_kv *kv = &o->via.map.ptr[i];

		if (key_is(&kv->key, "ip")) {
			if (have_ip || !get_ip(&kv->val, false, &c->addr, NULL))
				return false;
			have_ip = true;
		} else if (key_is(&kv->key, "t")) {
			if (have_t || !get_uint(&kv->val, UINT64_MAX, &c->claimed_ms))
				return false;
			have_t = true;
		}
	}
	return have_ip && have_t;
}

static bool get_down(const msgpack_object *o, struct ann_down *d)
{
	bool have_id = false, have_s = false;

	if (o->type != MSGPACK_OBJECT_MAP)
		return false;
	for (uint32_t i = 0; i < o->via.map.size; i++) {
		const msgpack_object_kv *kv = &o->via.map.ptr[i];

		if (key_is(&kv->key, "id")) {
			if (have_id || kv->val.type != MSGPACK_OBJECT_BIN || !kv->val.via.bin.size ||
			    kv->val.via.bin.size > ANN_ID_MAX)
				return false;
			memcpy(d->id, kv->val.via.bin.ptr, kv->val.via.bin.size);
			d->len = (uint8_t)kv->val.via.bin.size;
			have_id = true;
		} else if (key_is(&kv->key, "s")) {
			if (have_s || !get_uint(&kv->val, UINT64_MAX, &d->seq))
				return false;
			have_s = true;
		}
	}
	return have_id && have_s;
}

static bool get_seen(const msgpack_object *o, struct ann_seen *s)
{
	bool have_k = false, have_e = false;

	if (o->type != MSGPACK_OBJECT_MAP)
		return false;
	for (uint32_t i = 0; i < o->via.map.size; i++) {
		const msgpack_object_kv *kv = &o->via.map.ptr[i];

		if (key_is(&kv->key, "k")) {
			if (have_k || kv->val.type != MSGPACK_OBJECT_BIN || kv->val.via.bin.size != ANN_SEEN_KEY_LEN)
				return false;
			memcpy(s->key, kv->val.via.bin.ptr, ANN_SEEN_KEY_LEN);
			have_k = true;
		} else if (key_is(&kv->key, "e")) {
			if (have_e || !get_ip(&kv->val, true, &s->ep.addr, &s->ep.port))
				return false;
			have_e = true;
		}
	}
	return have_k && have_e;
}

static bool get_key8(const msgpack_object *o, uint8_t *out)
{
	if (o->type != MSGPACK_OBJECT_BIN || o->via.bin.size != ANN_SEEN_KEY_LEN)
		return false;
	memcpy(out, o->via.bin.ptr, ANN_SEEN_KEY_LEN);
	return true;
}

static bool get_relay(const msgpack_object *o, struct ann_relay *r)
{
	unsigned have = 0;
	uint64_t v;

	if (o->type != MSGPACK_OBJECT_MAP)
		return false;
	for (uint32_t i = 0; i < o->via.map.size; i++) {
		const msgpack_object_kv *kv = &o->via.map.ptr[i];

		if (key_is(&kv->key, "a")) {
			if ((have & 1) || !get_key8(&kv->val, r->a))
				return false;
			have |= 1;
		} else if (key_is(&kv->key, "b")) {
			if ((have & 2) || !get_key8(&kv->val, r->b))
				return false;
			have |= 2;
		} else if (key_is(&kv->key, "pa")) {
			if ((have & 4) || !get_uint(&kv->val, 65535, &v) || !v)
				return false;
			r->pa = (uint16_t)v;
			have |= 4;
		} else if (key_is(&kv->key, "pb")) {
			if ((have & 8) || !get_uint(&kv->val, 65535, &v) || !v)
				return false;
			r->pb = (uint16_t)v;
			have |= 8;
		} else if (key_is(&kv->key, "sa")) {
			if ((have & 16) || !get_uint(&kv->val, 65535, &v))
				return false;
			r->sa = (uint16_t)v;
			have |= 16;
		} else if (key_is(&kv->key, "sb")) {
			if ((have & 32) || !get_uint(&kv->val, 65535, &v))
				return false;
			r->sb = (uint16_t)v;
			have |= 32;
		}
	}
	return (have & 15) == 15;
}

static bool get_probe(const msgpack_object *o, struct ann_probe *r)
{
	unsigned have = 0;
	uint64_t v;

	if (o->type != MSGPACK_OBJECT_MAP)
		return false;
	for (uint32_t i = 0; i < o->via.map.size; i++) {
		const msgpack_object_kv *kv = &o->via.map.ptr[i];

		if (key_is(&kv->key, "k")) {
			if ((have & 1) || !get_key8(&kv->val, r->key))
				return false;
			have |= 1;
		} else if (key_is(&kv->key, "n")) {
			if ((have & 2) || !get_uint(&kv->val, UINT32_MAX, &v))
				return false;
			r->n = (uint32_t)v;
			have |= 2;
		} else if (key_is(&kv->key, "h")) {
			if ((have & 4) || !get_uint(&kv->val, 255, &v))
				return false;
			r->h = (uint8_t)v;
			have |= 4;
		}
	}
	return have == 7;
}

static bool name_ok(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)p[i] < 0x20 || p[i] == 0x7f)
			return false;
	return true;
}

int ann_decode(const uint8_t *p, size_t n, struct announce *out)
{
	enum { H_V = 1, H_SEQ = 2, H_WG = 4, H_PORT = 8 };
	msgpack_unpacked up;
	struct announce a;
	size_t off = 0;
	unsigned have = 0;
	int r = W2W_EPARSE;
	uint64_t v;

	if (n > ANN_MAX_SIZE)
		return W2W_ELIMIT;
	if (!mp_check(p, n, 4))
		return W2W_EPARSE;
	memset(&a, 0, sizeof(a));
	msgpack_unpacked_init(&up);
	if (msgpack_unpack_next(&up, (const char *)p, n, &off) != MSGPACK_UNPACK_SUCCESS || off != n)
		goto out;
	if (up.data.type != MSGPACK_OBJECT_MAP)
		goto out;
	for (uint32_t i = 0; i < up.data.via.map.size; i++) {
		const msgpack_object *k = &up.data.via.map.ptr[i].key, *val = &up.data.via.map.ptr[i].val;

		if (key_is(k, "v")) {
			if (!get_uint(val, UINT32_MAX, &v) || v != ANN_VERSION)
				goto out;
			have |= H_V;
		} else if (key_is(k, "seq")) {
			if (!get_uint(val, UINT64_MAX, &a.seq))
				goto out;
			have |= H_SEQ;
		} else if (key_is(k, "flags")) {
			if (!get_uint(val, UINT32_MAX, &v))
				goto out;
			a.flags = (uint32_t)v;
		} else if (key_is(k, "name")) {
			if (val->type != MSGPACK_OBJECT_STR || val->via.str.size > ANN_NAME_MAX ||
			    !name_ok(val->via.str.ptr, val->via.str.size))
				goto out;
			memcpy(a.name, val->via.str.ptr, val->via.str.size);
			a.name[val->via.str.size] = '\0';
		} else if (key_is(k, "wg")) {
			if (val->type != MSGPACK_OBJECT_BIN || val->via.bin.size != 32)
				goto out;
			memcpy(a.wg_pub, val->via.bin.ptr, 32);
			have |= H_WG;
		} else if (key_is(k, "port")) {
			if (!get_uint(val, 65535, &v) || v == 0)
				goto out;
			a.wg_port = (uint16_t)v;
			have |= H_PORT;
		} else if (key_is(k, "addrs")) {
			if (val->type != MSGPACK_OBJECT_ARRAY || val->via.array.size > ANN_MAX_ADDRS)
				goto out;
			for (uint32_t j = 0; j < val->via.array.size; j++)
				if (!get_claim(&val->via.array.ptr[j], &a.claims[j]))
					goto out;
			a.n_claims = (uint8_t)val->via.array.size;
		} else if (key_is(k, "eps")) {
			if (val->type != MSGPACK_OBJECT_ARRAY || val->via.array.size > ANN_MAX_ENDPOINTS)
				goto out;
			for (uint32_t j = 0; j < val->via.array.size; j++)
				if (!get_ip(&val->via.array.ptr[j], true, &a.eps[j].addr, &a.eps[j].port))
					goto out;
			a.n_eps = (uint8_t)val->via.array.size;
		} else if (key_is(k, "ack")) {
			if (val->type != MSGPACK_OBJECT_ARRAY || val->via.array.size > ANN_MAX_ACKS)
				goto out;
			for (uint32_t j = 0; j < val->via.array.size; j++) {
				const msgpack_object *m = &val->via.array.ptr[j];

				if (m->type != MSGPACK_OBJECT_BIN || m->via.bin.size != ANN_ACK_LEN)
					goto out;
				memcpy(a.acks[j], m->via.bin.ptr, ANN_ACK_LEN);
			}
			a.n_acks = (uint8_t)val->via.array.size;
		} else if (key_is(k, "pk")) {
			if (val->type != MSGPACK_OBJECT_ARRAY || val->via.array.size > ANN_MAX_PK)
				goto out;
			for (uint32_t j = 0; j < val->via.array.size; j++) {
				const msgpack_object *m = &val->via.array.ptr[j];

				if (m->type != MSGPACK_OBJECT_BIN || m->via.bin.size != ANN_PK_LEN)
					goto out;
				memcpy(a.pk[j], m->via.bin.ptr, ANN_PK_LEN);
			}
			a.n_pk = (uint8_t)val->via.array.size;
		} else if (key_is(k, "dn")) {
			if (val->type != MSGPACK_OBJECT_ARRAY || val->via.array.size > ANN_MAX_DOWN)
				goto out;
			for (uint32_t j = 0; j < val->via.array.size; j++)
				if (!get_down(&val->via.array.ptr[j], &a.down[j]))
					goto out;
			a.n_down = (uint8_t)val->via.array.size;
		} else if (key_is(k, "nm")) {
			if (!get_uint(val, UINT32_MAX, &v))
				goto out;
			a.members = (uint32_t)v;
		} else if (key_is(k, "nwg")) {
			if (a.has_next || val->type != MSGPACK_OBJECT_BIN || val->via.bin.size != 32)
				goto out;
			memcpy(a.wg_next, val->via.bin.ptr, 32);
			a.has_next = true;
		} else if (key_is(k, "la")) {
			if (val->type != MSGPACK_OBJECT_ARRAY || val->via.array.size > ANN_MAX_LISTEN)
				goto out;
			for (uint32_t j = 0; j < val->via.array.size; j++) {
				const msgpack_object *m = &val->via.array.ptr[j];

				if (m->type != MSGPACK_OBJECT_BIN || m->via.bin.size > ANN_MA_MAX ||
				    ma_validate((const uint8_t *)m->via.bin.ptr, m->via.bin.size) < 0)
					goto out;
				memcpy(a.la[j].b, m->via.bin.ptr, m->via.bin.size);
				a.la[j].len = (uint8_t)m->via.bin.size;
			}
			a.n_la = (uint8_t)val->via.array.size;
		} else if (key_is(k, "wep")) {
			if (!get_ip(val, true, &a.wep.addr, &a.wep.port))
				goto out;
			a.has_wep = true;
		} else if (key_is(k, "seen")) {
			if (val->type != MSGPACK_OBJECT_ARRAY || val->via.array.size > ANN_MAX_SEEN)
				goto out;
			for (uint32_t j = 0; j < val->via.array.size; j++)
				if (!get_seen(&val->via.array.ptr[j], &a.seen[j]))
					goto out;
			a.n_seen = (uint8_t)val->via.array.size;
		} else if (key_is(k, "rq")) {
			if (val->type != MSGPACK_OBJECT_ARRAY || val->via.array.size > ANN_MAX_RQ)
				goto out;
			for (uint32_t j = 0; j < val->via.array.size; j++)
				if (!get_key8(&val->via.array.ptr[j], a.rq[j]))
					goto out;
			a.n_rq = (uint8_t)val->via.array.size;
		} else if (key_is(k, "ry")) {
			if (val->type != MSGPACK_OBJECT_ARRAY || val->via.array.size > ANN_MAX_RY)
				goto out;
			for (uint32_t j = 0; j < val->via.array.size; j++)
				if (!get_relay(&val->via.array.ptr[j], &a.ry[j]))
					goto out;
			a.n_ry = (uint8_t)val->via.array.size;
		} else if (key_is(k, "up")) {
			if (val->type != MSGPACK_OBJECT_ARRAY || val->via.array.size > ANN_MAX_UP)
				goto out;
			for (uint32_t j = 0; j < val->via.array.size; j++)
				if (!get_probe(&val->via.array.ptr[j], &a.up[j]))
					goto out;
			a.n_up = (uint8_t)val->via.array.size;
		}
		/* Unknown keys: ignored (forward compatibility within version 1). */
	}
	if (have != (H_V | H_SEQ | H_WG | H_PORT))
		goto out;
	*out = a;
	r = 0;
out:
	msgpack_unpacked_destroy(&up);
	return r;
}

int ann_decode_adm(const uint8_t *p, size_t n, struct ann_adm *out)
{
	msgpack_unpacked up;
	struct ann_adm a;
	size_t off = 0;
	int r = W2W_EPARSE;

	if (n > ANN_MAX_SIZE)
		return W2W_ELIMIT;
	if (!mp_check(p, n, 4))
		return W2W_EPARSE;
	a.tok_len = 0;
	a.n_rev = 0;
	msgpack_unpacked_init(&up);
	if (msgpack_unpack_next(&up, (const char *)p, n, &off) != MSGPACK_UNPACK_SUCCESS || off != n ||
	    up.data.type != MSGPACK_OBJECT_MAP)
		goto out;
	for (uint32_t i = 0; i < up.data.via.map.size; i++) {
		const msgpack_object *k = &up.data.via.map.ptr[i].key, *val = &up.data.via.map.ptr[i].val;

		if (key_is(k, "at")) {
			if (val->type != MSGPACK_OBJECT_BIN || val->via.bin.size > ANN_BLOB_MAX)
				goto out;
			memcpy(a.tok, val->via.bin.ptr, val->via.bin.size);
			a.tok_len = (uint16_t)val->via.bin.size;
		} else if (key_is(k, "rv")) {
			if (val->type != MSGPACK_OBJECT_ARRAY || val->via.array.size > ANN_MAX_REVOKE)
				goto out;
			for (uint32_t j = 0; j < val->via.array.size; j++) {
				const msgpack_object *m = &val->via.array.ptr[j];

				if (m->type != MSGPACK_OBJECT_BIN || m->via.bin.size > ANN_BLOB_MAX)
					goto out;
				memcpy(a.rev[j].b, m->via.bin.ptr, m->via.bin.size);
				a.rev[j].len = (uint8_t)m->via.bin.size;
			}
			a.n_rev = (uint8_t)val->via.array.size;
		}
	}
	memcpy(out, &a, sizeof(a));
	r = 0;
out:
	msgpack_unpacked_destroy(&up);
	return r;
}
