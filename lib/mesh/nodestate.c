/* SPDX-License-Identifier: MIT */
#include <msgpack.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "mpcheck.h"
#include "nodestate.h"

void nodestate_init(struct nodestate *s)
{
	memset(s, 0, sizeof(*s));
}

void nodestate_free(struct nodestate *s)
{
	free(s->peers);
	nodestate_init(s);
}

int nodestate_add_peer(struct nodestate *s, const char *ma)
{
	size_t len = strlen(ma);
	void *np;

	if (len == 0 || len >= NODESTATE_ADDR_MAX)
		return W2W_EPARSE;
	for (size_t i = 0; i < s->n_peers; i++)
		if (!strcmp(s->peers[i], ma))
			return 0;
	if (s->n_peers == NODESTATE_MAX_PEERS) {
		memmove(s->peers[0], s->peers[1], (s->n_peers - 1) * sizeof(s->peers[0]));
		s->n_peers--;
	}
	np = realloc(s->peers, (s->n_peers + 1) * sizeof(s->peers[0]));
	if (!np)
		return -ENOMEM;
	s->peers = np;
	memcpy(s->peers[s->n_peers], ma, len + 1);
	s->n_peers++;
	return 1;
}

static int wr(void *data, const char *p, size_t n)
{
	return buf_append(data, p, n) < 0 ? -1 : 0;
}

static void key(msgpack_packer *pk, const char *k)
{
	msgpack_pack_str(pk, strlen(k));
	msgpack_pack_str_body(pk, k, strlen(k));
}

int nodestate_encode(const struct nodestate *s, struct buf *out)
{
	msgpack_packer pk;
	size_t start = out->len;

	msgpack_packer_init(&pk, out, wr);
	msgpack_pack_map(&pk, 2 + (s->has_claim ? 1 : 0) + (s->seq_floor ? 1 : 0));
	key(&pk, "v");
	msgpack_pack_uint8(&pk, 1);
	if (s->seq_floor) {
		key(&pk, "seq");
		msgpack_pack_uint64(&pk, s->seq_floor);
	}
	if (s->has_claim) {
		size_t n = s->claim.addr.family == 4 ? 4 : 16;

		key(&pk, "addr");
		msgpack_pack_map(&pk, 2);
		key(&pk, "ip");
		msgpack_pack_bin(&pk, n);
		msgpack_pack_bin_body(&pk, s->claim.addr.ip, n);
		key(&pk, "t");
		msgpack_pack_uint64(&pk, s->claim.claimed_ms);
	}
	key(&pk, "peers");
	msgpack_pack_array(&pk, s->n_peers);
	for (size_t i = 0; i < s->n_peers; i++) {
		msgpack_pack_str(&pk, strlen(s->peers[i]));
		msgpack_pack_str_body(&pk, s->peers[i], strlen(s->peers[i]));
	}
	if (out->len - start > NODESTATE_MAX_SIZE) {
		out->len = start;
		return W2W_ELIMIT;
	}
	return 0;
}

static bool is_key(const msgpack_object *k, const char *s)
{
	return k->type == MSGPACK_OBJECT_STR && k->via.str.size == strlen(s) &&
	       !memcmp(k->via.str.ptr, s, k->via.str.size);
}

int nodestate_decode(const uint8_t *p, size_t n, struct nodestate *out)
{
	msgpack_unpacked up;
	struct nodestate s;
	size_t off = 0;
	int r = W2W_EPARSE;
	bool have_v = false;

	if (n > NODESTATE_MAX_SIZE)
		return W2W_ELIMIT;
	if (!mp_check(p, n, 4))
		return W2W_EPARSE;
	nodestate_init(&s);
	msgpack_unpacked_init(&up);
	if (msgpack_unpack_next(&up, (const char *)p, n, &off) != MSGPACK_UNPACK_SUCCESS || off != n ||
	    up.data.type != MSGPACK_OBJECT_MAP)
		goto out;
	for (uint32_t i = 0; i < up.data.via.map.size; i++) {
		const msgpack_object *k = &up.data.via.map.ptr[i].key, *v = &up.data.via.map.ptr[i].val;

		if (is_key(k, "v")) {
			if (v->type != MSGPACK_OBJECT_POSITIVE_INTEGER || v->via.u64 != 1)
				goto out;
			have_v = true;
		} else if (is_key(k, "addr")) {
			bool ip = false, t = false;

			if (v->type != MSGPACK_OBJECT_MAP)
				goto out;
			memset(&s.claim, 0, sizeof(s.claim));
			for (uint32_t j = 0; j < v->via.map.size; j++) {
				const msgpack_object *kk = &v->via.map.ptr[j].key, *vv = &v->via.map.ptr[j].val;

				if (is_key(kk, "ip")) {
					if (vv->type != MSGPACK_OBJECT_BIN ||
					    (vv->via.bin.size != 4 && vv->via.bin.size != 16))
						goto out;
					s.claim.addr.family = vv->via.bin.size == 4 ? 4 : 6;
					memcpy(s.claim.addr.ip, vv->via.bin.ptr, vv->via.bin.size);
					ip = true;
				} else if (is_key(kk, "t")) {
					if (vv->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
						goto out;
					s.claim.claimed_ms = vv->via.u64;
					t = true;
				}
			}
			if (!ip || !t)
				goto out;
			s.has_claim = true;
		} else if (is_key(k, "seq")) {
			if (v->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
				goto out;
			s.seq_floor = v->via.u64;
		} else if (is_key(k, "peers")) {
			if (v->type != MSGPACK_OBJECT_ARRAY || v->via.array.size > NODESTATE_MAX_PEERS)
				goto out;
			for (uint32_t j = 0; j < v->via.array.size; j++) {
				const msgpack_object *e = &v->via.array.ptr[j];
				char tmp[NODESTATE_ADDR_MAX];

				if (e->type != MSGPACK_OBJECT_STR || e->via.str.size == 0 ||
				    e->via.str.size >= sizeof(tmp) || memchr(e->via.str.ptr, 0, e->via.str.size))
					goto out;
				memcpy(tmp, e->via.str.ptr, e->via.str.size);
				tmp[e->via.str.size] = '\0';
				if (nodestate_add_peer(&s, tmp) < 0)
					goto out;
			}
		}
	}
	if (!have_v)
		goto out;
	nodestate_free(out);
	*out = s;
	nodestate_init(&s);
	r = 0;
out:
	nodestate_free(&s);
	msgpack_unpacked_destroy(&up);
	return r;
}
