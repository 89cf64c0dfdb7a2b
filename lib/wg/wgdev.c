/* SPDX-License-Identifier: MIT */
/* The WireGuard device data model: lists, copies, ordering, comparisons. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "secmem.h"
#include "wgdev.h"

struct wgdevice *wgdev_new(void)
{
	/* Guarded memory: the device holds the WireGuard private key. */
	return secure_alloc(sizeof(struct wgdevice));
}

void wgpeer_clear_allowedips(struct wgpeer *peer)
{
	struct wgallowedip *a = peer->first_allowedip, *n;

	for (; a; a = n) {
		n = a->next_allowedip;
		free(a);
	}
	peer->first_allowedip = peer->last_allowedip = NULL;
}

void wgpeer_free(struct wgpeer *peer)
{
	if (!peer)
		return;
	wgpeer_clear_allowedips(peer);
	explicit_bzero(peer->preshared_key, sizeof(peer->preshared_key));
	free(peer);
}

void wgdev_clear_peers(struct wgdevice *dev)
{
	struct wgpeer *p, *n;

	for (p = dev->first_peer; p; p = n) {
		n = p->next_peer;
		wgpeer_free(p);
	}
	dev->first_peer = dev->last_peer = NULL;
}

void wgdev_free(struct wgdevice *dev)
{
	if (!dev)
		return;
	wgdev_clear_peers(dev);
	secure_free(dev); /* wipes the private key */
}

int wgdev_set_name(struct wgdevice *dev, const char *name)
{
	size_t n = name ? strnlen(name, WGDEV_IFNAMSIZ) : 0;

	if (n == 0 || n >= WGDEV_IFNAMSIZ)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)name[i];

		if (c == '/' || c <= ' ' || c == 0x7f || c == ':')
			return -EINVAL;
	}
	if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		return -EINVAL;
	memcpy(dev->name, name, n);
	dev->name[n] = '\0';
	return 0;
}

/* Appends an already allocated peer (its next_peer is reset). */
static void wgdev_append_peer(struct wgdevice *dev, struct wgpeer *peer)
{
	peer->next_peer = NULL;
	if (dev->last_peer)
		dev->last_peer->next_peer = peer;
	else
		dev->first_peer = peer;
	dev->last_peer = peer;
}

struct wgpeer *wgdev_add_peer(struct wgdevice *dev)
{
	struct wgpeer *p = calloc(1, sizeof(*p));

	if (p)
		wgdev_append_peer(dev, p);
	return p;
}

struct wgallowedip *wgpeer_add_allowedip(struct wgpeer *peer)
{
	struct wgallowedip *a = calloc(1, sizeof(*a));

	if (!a)
		return NULL;
	if (peer->last_allowedip)
		peer->last_allowedip->next_allowedip = a;
	else
		peer->first_allowedip = a;
	peer->last_allowedip = a;
	return a;
}

static struct wgpeer *wgpeer_copy(const struct wgpeer *src)
{
	struct wgpeer *p = malloc(sizeof(*p));
	const struct wgallowedip *a;

	if (!p)
		return NULL;
	*p = *src;
	p->first_allowedip = p->last_allowedip = NULL;
	p->next_peer = NULL;
	wgpeer_for_each_allowedip(src, a)
	{
		struct wgallowedip *c = wgpeer_add_allowedip(p);

		if (!c) {
			wgpeer_free(p);
			return NULL;
		}
		*c = *a;
		c->next_allowedip = NULL;
	}
	return p;
}

struct wgdevice *wgdev_copy(const struct wgdevice *src)
{
	struct wgdevice *d = secure_alloc(sizeof(*d));
	const struct wgpeer *p;

	if (!d)
		return NULL;
	*d = *src;
	d->first_peer = d->last_peer = NULL;
	wgdev_for_each_peer(src, p)
	{
		struct wgpeer *c = wgpeer_copy(p);

		if (!c) {
			wgdev_free(d);
			return NULL;
		}
		wgdev_append_peer(d, c);
	}
	return d;
}

size_t wgdev_peer_count(const struct wgdevice *dev)
{
	size_t n = 0;
	const struct wgpeer *p;

	wgdev_for_each_peer(dev, p) n++;
	return n;
}

size_t wgpeer_allowedip_count(const struct wgpeer *peer)
{
	size_t n = 0;
	const struct wgallowedip *a;

	wgpeer_for_each_allowedip(peer, a) n++;
	return n;
}

struct wgpeer *wgdev_find_peer(const struct wgdevice *dev, const uint8_t key[WGDEV_KEY_LEN])
{
	struct wgpeer *p;

	wgdev_for_each_peer(dev, p)
	{
		if (memcmp(p->public_key, key, WGDEV_KEY_LEN) == 0)
			return p;
	}
	return NULL;
}

static void mask_bytes(uint8_t *b, size_t len, unsigned cidr)
{
	for (size_t i = 0; i < len; i++) {
		unsigned bit = (unsigned)i * 8;

		if (cidr >= bit + 8)
			continue;
		b[i] &= cidr <= bit ? 0 : (uint8_t)(0xff << (8 - (cidr - bit)));
	}
}

void wgallowedip_canon(struct wgallowedip *a)
{
	if (a->family == AF_INET)
		mask_bytes((uint8_t *)&a->ip4, 4, a->cidr);
	else if (a->family == AF_INET6)
		mask_bytes(a->ip6.s6_addr, 16, a->cidr);
}

bool wgallowedip_valid(const struct wgallowedip *a)
{
	return (a->family == AF_INET && a->cidr <= 32) || (a->family == AF_INET6 && a->cidr <= 128);
}

int wgallowedip_cmp(const struct wgallowedip *a, const struct wgallowedip *b)
{
	int c;

	if (a->family != b->family)
		return a->family < b->family ? -1 : 1;
	if (a->family == AF_INET)
		c = memcmp(&a->ip4, &b->ip4, 4);
	else if (a->family == AF_INET6)
		c = memcmp(&a->ip6, &b->ip6, 16);
	else
		c = 0;
	if (c)
		return c < 0 ? -1 : 1;
	if (a->cidr != b->cidr)
		return a->cidr < b->cidr ? -1 : 1;
	return 0;
}

int wgpeer_cmp(const struct wgpeer *a, const struct wgpeer *b)
{
	int c = memcmp(a->public_key, b->public_key, WGDEV_KEY_LEN);

	return c < 0 ? -1 : c > 0;
}

static int cmp_aip_ptr(const void *x, const void *y)
{
	return wgallowedip_cmp(*(struct wgallowedip *const *)x, *(struct wgallowedip *const *)y);
}

static int cmp_aip_val(const void *x, const void *y)
{
	return wgallowedip_cmp(x, y);
}

static int cmp_peer_ptr(const void *x, const void *y)
{
	return wgpeer_cmp(*(struct wgpeer *const *)x, *(struct wgpeer *const *)y);
}

static int wgpeer_sort_allowedips(struct wgpeer *peer)
{
	size_t n = wgpeer_allowedip_count(peer), k = 0, i;
	struct wgallowedip **v, *a;

	if (n < 1)
		return 0;
	v = malloc(n * sizeof(*v));
	if (!v)
		return -ENOMEM;
	wgpeer_for_each_allowedip(peer, a)
	{
		wgallowedip_canon(a);
		v[k++] = a;
	}
	qsort(v, n, sizeof(*v), cmp_aip_ptr);
	peer->first_allowedip = v[0];
	peer->last_allowedip = v[0];
	for (i = 1; i < n; i++) {
		if (wgallowedip_cmp(peer->last_allowedip, v[i]) == 0) {
			free(v[i]);
			continue;
		}
		peer->last_allowedip->next_allowedip = v[i];
		peer->last_allowedip = v[i];
	}
	peer->last_allowedip->next_allowedip = NULL;
	free(v);
	return 0;
}

int wgdev_sorted_peers(const struct wgdevice *dev, bool unique, struct wgpeer ***out, size_t *n)
{
	size_t cnt = dev ? wgdev_peer_count(dev) : 0, k = 0;
	struct wgpeer **v, *p;

	v = malloc((cnt ? cnt : 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	if (dev)
		wgdev_for_each_peer(dev, p) v[k++] = p;
	qsort(v, cnt, sizeof(*v), cmp_peer_ptr);
	for (k = 1; unique && k < cnt; k++) {
		if (wgpeer_cmp(v[k - 1], v[k]) == 0) {
			free(v);
			return -EINVAL;
		}
	}
	*out = v;
	*n = cnt;
	return 0;
}

int wgdev_sort(struct wgdevice *dev)
{
	struct wgpeer **v, *p;
	size_t n, k;
	int ret;

	ret = wgdev_sorted_peers(dev, false, &v, &n);
	if (ret < 0)
		return ret;
	dev->first_peer = dev->last_peer = NULL;
	for (k = 0; k < n; k++)
		wgdev_append_peer(dev, v[k]);
	free(v);
	wgdev_for_each_peer(dev, p)
	{
		ret = wgpeer_sort_allowedips(p);
		if (ret < 0)
			break;
	}
	return ret;
}

/* Sorted, canonical, deduplicated copy of a peer's allowed IPs as an array. */
static int aip_vector(const struct wgpeer *p, struct wgallowedip **out, size_t *outn)
{
	size_t n = wgpeer_allowedip_count(p), k = 0, w = 0;
	struct wgallowedip *v;
	const struct wgallowedip *a;

	v = malloc((n ? n : 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	wgpeer_for_each_allowedip(p, a)
	{
		v[k] = *a;
		wgallowedip_canon(&v[k]);
		k++;
	}
	qsort(v, n, sizeof(*v), cmp_aip_val);
	for (k = 0; k < n; k++) {
		if (w && wgallowedip_cmp(&v[w - 1], &v[k]) == 0)
			continue;
		v[w++] = v[k];
	}
	*out = v;
	*outn = w;
	return 0;
}

static int allowedips_equal(const struct wgpeer *a, const struct wgpeer *b)
{
	struct wgallowedip *va = NULL, *vb = NULL;
	size_t na, nb;
	int ret;

	ret = aip_vector(a, &va, &na);
	if (ret < 0)
		goto out;
	ret = aip_vector(b, &vb, &nb);
	if (ret < 0)
		goto out;
	ret = na == nb;
	for (size_t i = 0; ret && i < na; i++)
		ret = wgallowedip_cmp(&va[i], &vb[i]) == 0;
out:
	free(va);
	free(vb);
	return ret;
}

bool wgpeer_allowedips_equal(const struct wgpeer *a, const struct wgpeer *b)
{
	/* Allocation failure reads as "different": the caller then re-sends
	 * the set, which is safe. */
	return allowedips_equal(a, b) == 1;
}

bool wgendpoint_equal(const union wgendpoint *a, const union wgendpoint *b)
{
	if (a->addr.sa_family != b->addr.sa_family)
		return false;
	switch (a->addr.sa_family) {
	case AF_INET:
		return a->addr4.sin_port == b->addr4.sin_port &&
		       a->addr4.sin_addr.s_addr == b->addr4.sin_addr.s_addr;
	case AF_INET6:
		return a->addr6.sin6_port == b->addr6.sin6_port &&
		       memcmp(&a->addr6.sin6_addr, &b->addr6.sin6_addr, 16) == 0 &&
		       a->addr6.sin6_scope_id == b->addr6.sin6_scope_id;
	default:
		return true;
	}
}

bool wgdev_key_is_zero(const uint8_t key[WGDEV_KEY_LEN])
{
	return ct_is_zero(key, WGDEV_KEY_LEN);
}

bool wgdev_key_equal(const uint8_t a[WGDEV_KEY_LEN], const uint8_t b[WGDEV_KEY_LEN])
{
	return ct_eq(a, b, WGDEV_KEY_LEN);
}

static void effective_key(uint8_t out[WGDEV_KEY_LEN], const uint8_t *k, bool has)
{
	if (has)
		memcpy(out, k, WGDEV_KEY_LEN);
	else
		memset(out, 0, WGDEV_KEY_LEN);
}

static bool peer_config_equal(const struct wgpeer *a, const struct wgpeer *b, int *err)
{
	uint8_t ka[WGDEV_KEY_LEN], kb[WGDEV_KEY_LEN];
	bool eq;
	int r;

	effective_key(ka, a->preshared_key, a->flags & WGPEER_HAS_PRESHARED_KEY);
	effective_key(kb, b->preshared_key, b->flags & WGPEER_HAS_PRESHARED_KEY);
	eq = wgdev_key_equal(ka, kb);
	explicit_bzero(ka, sizeof(ka));
	explicit_bzero(kb, sizeof(kb));
	if (!eq || !wgendpoint_equal(&a->endpoint, &b->endpoint))
		return false;
	if (a->persistent_keepalive_interval != b->persistent_keepalive_interval)
		return false;
	r = allowedips_equal(a, b);
	if (r < 0)
		*err = r;
	return r == 1;
}

int wgdev_config_equal(const struct wgdevice *a, const struct wgdevice *b)
{
	uint8_t ka[WGDEV_KEY_LEN], kb[WGDEV_KEY_LEN];
	const struct wgpeer *p;
	bool eq;
	int err = 0;

	effective_key(ka, a->private_key, a->flags & WGDEVICE_HAS_PRIVATE_KEY);
	effective_key(kb, b->private_key, b->flags & WGDEVICE_HAS_PRIVATE_KEY);
	eq = wgdev_key_equal(ka, kb);
	explicit_bzero(ka, sizeof(ka));
	explicit_bzero(kb, sizeof(kb));
	if (!eq)
		return 0;
	if (((a->flags & WGDEVICE_HAS_LISTEN_PORT) ? a->listen_port : 0) !=
	    ((b->flags & WGDEVICE_HAS_LISTEN_PORT) ? b->listen_port : 0))
		return 0;
	if (((a->flags & WGDEVICE_HAS_FWMARK) ? a->fwmark : 0) != ((b->flags & WGDEVICE_HAS_FWMARK) ? b->fwmark : 0))
		return 0;
	if (wgdev_peer_count(a) != wgdev_peer_count(b))
		return 0;
	/* O(n^2) lookup is fine for the comparison helper (tests, tools). */
	wgdev_for_each_peer(a, p)
	{
		const struct wgpeer *q = wgdev_find_peer(b, p->public_key);

		if (!q || !peer_config_equal(p, q, &err))
			return err ? err : 0;
	}
	return 1;
}

bool wgdev_parse_num(uint64_t *out, const char *v, size_t n, uint64_t max, bool hex_ok)
{
	uint64_t x = 0;
	unsigned base = 10;
	size_t i = 0;

	if (hex_ok && n > 2 && v[0] == '0' && (v[1] == 'x' || v[1] == 'X')) {
		base = 16;
		i = 2;
	}
	if (n == i || n - i > 20)
		return false;
	for (; i < n; i++) {
		unsigned d;

		if (v[i] >= '0' && v[i] <= '9')
			d = (unsigned)(v[i] - '0');
		else if (base == 16 && v[i] >= 'a' && v[i] <= 'f')
			d = (unsigned)(v[i] - 'a' + 10);
		else if (base == 16 && v[i] >= 'A' && v[i] <= 'F')
			d = (unsigned)(v[i] - 'A' + 10);
		else
			return false;
		if (x > (UINT64_MAX - d) / base)
			return false;
		x = x * base + d;
	}
	if (x > max)
		return false;
	*out = x;
	return true;
}

bool wgdev_parse_u64(uint64_t *out, const char *v, size_t n, uint64_t max)
{
	return wgdev_parse_num(out, v, n, max, false);
}

bool wgendpoint_parse(union wgendpoint *ep, const char *v, size_t n)
{
	char host[INET6_ADDRSTRLEN];
	const char *port = NULL, *zone = NULL;
	size_t hl;
	uint64_t p, z = 0;

	memset(ep, 0, sizeof(*ep));
	if (n > 0 && v[0] == '[') {
		const char *rb = memchr(v, ']', n);

		if (!rb || rb + 1 >= v + n || rb[1] != ':')
			return false;
		hl = (size_t)(rb - v - 1);
		zone = memchr(v + 1, '%', hl);
		if (zone) {
			if (!wgdev_parse_u64(&z, zone + 1, (size_t)(rb - zone - 1), UINT32_MAX))
				return false;
			hl = (size_t)(zone - v - 1);
		}
		if (hl == 0 || hl >= sizeof(host))
			return false;
		memcpy(host, v + 1, hl);
		host[hl] = '\0';
		port = rb + 2;
		if (!wgdev_parse_u64(&p, port, (size_t)(v + n - port), 65535))
			return false;
		if (inet_pton(AF_INET6, host, &ep->addr6.sin6_addr) != 1)
			return false;
		ep->addr6.sin6_family = AF_INET6;
		ep->addr6.sin6_port = htons((uint16_t)p);
		ep->addr6.sin6_scope_id = (uint32_t)z;
		return true;
	}
	for (size_t i = n; i > 0; i--) {
		if (v[i - 1] == ':') {
			port = v + i;
			break;
		}
	}
	if (!port)
		return false;
	hl = (size_t)(port - 1 - v);
	if (hl == 0 || hl >= sizeof(host))
		return false;
	memcpy(host, v, hl);
	host[hl] = '\0';
	if (!wgdev_parse_u64(&p, port, (size_t)(v + n - port), 65535))
		return false;
	if (inet_pton(AF_INET, host, &ep->addr4.sin_addr) != 1) {
		memset(ep, 0, sizeof(*ep));
		return false;
	}
	ep->addr4.sin_family = AF_INET;
	ep->addr4.sin_port = htons((uint16_t)p);
	return true;
}

int wgendpoint_format(char *out, size_t cap, const union wgendpoint *ep)
{
	char ip[INET6_ADDRSTRLEN];
	int n;

	if (ep->addr.sa_family == AF_INET) {
		if (!inet_ntop(AF_INET, &ep->addr4.sin_addr, ip, sizeof(ip)))
			return -EINVAL;
		n = snprintf(out, cap, "%s:%u", ip, ntohs(ep->addr4.sin_port));
	} else if (ep->addr.sa_family == AF_INET6) {
		if (!inet_ntop(AF_INET6, &ep->addr6.sin6_addr, ip, sizeof(ip)))
			return -EINVAL;
		if (ep->addr6.sin6_scope_id)
			n = snprintf(out, cap, "[%s%%%u]:%u", ip, ep->addr6.sin6_scope_id, ntohs(ep->addr6.sin6_port));
		else
			n = snprintf(out, cap, "[%s]:%u", ip, ntohs(ep->addr6.sin6_port));
	} else {
		return -EINVAL;
	}
	if (n < 0 || (size_t)n >= cap)
		return -ENOSPC;
	return n;
}

bool wgallowedip_parse(struct wgallowedip *a, const char *v, size_t n)
{
	char host[INET6_ADDRSTRLEN];
	const char *slash = memchr(v, '/', n);
	uint64_t cidr;
	size_t hl;

	if (!slash)
		return false;
	hl = (size_t)(slash - v);
	if (hl == 0 || hl >= sizeof(host))
		return false;
	memcpy(host, v, hl);
	host[hl] = '\0';
	if (!wgdev_parse_u64(&cidr, slash + 1, (size_t)(v + n - slash - 1), 128))
		return false;
	if (memchr(host, ':', hl)) {
		if (inet_pton(AF_INET6, host, &a->ip6) != 1)
			return false;
		a->family = AF_INET6;
	} else {
		if (cidr > 32 || inet_pton(AF_INET, host, &a->ip4) != 1)
			return false;
		a->family = AF_INET;
	}
	a->cidr = (uint8_t)cidr;
	return true;
}

int wgallowedip_format(char *out, size_t cap, const struct wgallowedip *a)
{
	char ip[INET6_ADDRSTRLEN];
	int n;

	if (!wgallowedip_valid(a) ||
	    !inet_ntop(a->family, a->family == AF_INET ? (const void *)&a->ip4 : (const void *)&a->ip6, ip, sizeof(ip)))
		return -EINVAL;
	n = snprintf(out, cap, "%s/%u", ip, a->cidr);
	if (n < 0 || (size_t)n >= cap)
		return -ENOSPC;
	return n;
}
