/* SPDX-License-Identifier: MIT */
/* Desired vs actual WireGuard device -> minimal set request (see wgdiff.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "wgdiff.h"

/* Peers of d sorted by key; -EINVAL on a keyless peer or (when unique) a duplicate key. */
static int sorted_peers(const struct wgdevice *d, const struct wgpeer ***out, size_t *outn, bool unique)
{
	struct wgpeer **v;
	size_t n;
	int ret = wgdev_sorted_peers(d, unique, &v, &n);

	if (ret < 0)
		return ret;
	for (size_t k = 0; k < n; k++) {
		if (!(v[k]->flags & WGPEER_HAS_PUBLIC_KEY) && wgdev_key_is_zero(v[k]->public_key)) {
			free(v);
			return -EINVAL;
		}
	}
	*out = (const struct wgpeer **)v;
	*outn = n;
	return 0;
}

static int copy_allowedips(struct wgpeer *dst, const struct wgpeer *src)
{
	const struct wgallowedip *a;

	wgpeer_for_each_allowedip(src, a)
	{
		struct wgallowedip *c;

		if (!wgallowedip_valid(a))
			return -EINVAL;
		c = wgpeer_add_allowedip(dst);
		if (!c)
			return -ENOMEM;
		*c = *a;
		c->next_allowedip = NULL;
	}
	return 0;
}

static bool psk_differs(const struct wgpeer *d, const struct wgpeer *a)
{
	static const uint8_t zero[WGDEV_KEY_LEN];
	const uint8_t *kd = (d->flags & WGPEER_HAS_PRESHARED_KEY) ? d->preshared_key : zero;
	const uint8_t *ka = (a->flags & WGPEER_HAS_PRESHARED_KEY) ? a->preshared_key : zero;

	return !wgdev_key_equal(kd, ka);
}

static bool keep_endpoint(const struct wgdiff_opts *o, const struct wgpeer *d, const struct wgpeer *a)
{
	if (a->endpoint.addr.sa_family == AF_UNSPEC || (d->flags & WGDIFF_PEER_FORCE_ENDPOINT))
		return false; /* nothing to keep, or told to overwrite */
	if (o->keep_endpoint)
		return o->keep_endpoint(o->ud, d, a, o->now_sec);
	if (!o->keep_roamed_secs || a->last_handshake_time.tv_sec <= 0)
		return false;
	return o->now_sec >= a->last_handshake_time.tv_sec &&
	       o->now_sec - a->last_handshake_time.tv_sec <= (int64_t)o->keep_roamed_secs;
}

/* No endpoint and never a handshake: re-creating it loses no session. */
static bool fresh(const struct wgpeer *a)
{
	return a->endpoint.addr.sa_family == AF_UNSPEC && a->last_handshake_time.tv_sec <= 0 &&
	       a->last_handshake_time.tv_nsec <= 0;
}

/* A punch (WGDIFF_PEER_FORCE_ENDPOINT, made once per public endpoint) to a
 * peer that never completed a handshake: re-create it, so an initiation
 * attempted in the last 5 s (to a closed NAT, a wrong endpoint, or none for an
 * application packet) does not rate-limit this one (nothing to lose: no
 * session). */
static bool punch_recreate(const struct wgpeer *d, const struct wgpeer *a)
{
	return (d->flags & WGDIFF_PEER_FORCE_ENDPOINT) && a->last_handshake_time.tv_sec <= 0 &&
	       a->last_handshake_time.tv_nsec <= 0 &&
	       (d->endpoint.addr.sa_family == AF_INET || d->endpoint.addr.sa_family == AF_INET6);
}

/* "remove" for the actual peer a. */
static int add_removal(struct wgdevice *upd, const struct wgpeer *a, struct wgdiff_stats *st)
{
	struct wgpeer *p = wgdev_add_peer(upd);

	if (!p)
		return -ENOMEM;
	memcpy(p->public_key, a->public_key, WGDEV_KEY_LEN);
	p->flags = WGPEER_HAS_PUBLIC_KEY | WGPEER_REMOVE_ME;
	st->removed++;
	return 0;
}

static int add_new_peer(struct wgdevice *upd, const struct wgpeer *d)
{
	struct wgpeer *p = wgdev_add_peer(upd);

	if (!p)
		return -ENOMEM;
	memcpy(p->public_key, d->public_key, WGDEV_KEY_LEN);
	p->flags = WGPEER_HAS_PUBLIC_KEY | WGPEER_REPLACE_ALLOWEDIPS;
	if ((d->flags & WGPEER_HAS_PRESHARED_KEY) && !wgdev_key_is_zero(d->preshared_key)) {
		memcpy(p->preshared_key, d->preshared_key, WGDEV_KEY_LEN);
		p->flags |= WGPEER_HAS_PRESHARED_KEY;
	}
	if (d->endpoint.addr.sa_family == AF_INET || d->endpoint.addr.sa_family == AF_INET6)
		p->endpoint = d->endpoint;
	if (d->persistent_keepalive_interval) {
		p->persistent_keepalive_interval = d->persistent_keepalive_interval;
		p->flags |= WGPEER_HAS_PERSISTENT_KEEPALIVE;
	}
	return copy_allowedips(p, d);
}

/* Adds an update entry for a peer present on both sides, if anything differs. 1 added, 0 none. */
static int update_peer(struct wgdevice *upd, const struct wgpeer *d, const struct wgpeer *a,
		       const struct wgdiff_opts *o, struct wgdiff_stats *st)
{
	struct wgpeer tmp;
	bool changed = false;
	uint16_t ka = (d->flags & WGPEER_HAS_PERSISTENT_KEEPALIVE) ? d->persistent_keepalive_interval : 0;
	uint16_t kb = (a->flags & WGPEER_HAS_PERSISTENT_KEEPALIVE) ? a->persistent_keepalive_interval : 0;
	struct wgpeer *p;
	int ret = 0;

	memset(&tmp, 0, sizeof(tmp));
	memcpy(tmp.public_key, d->public_key, WGDEV_KEY_LEN);
	tmp.flags = WGPEER_HAS_PUBLIC_KEY;
	if (psk_differs(d, a)) {
		/* All zero with the flag set removes the PSK. */
		if (d->flags & WGPEER_HAS_PRESHARED_KEY)
			memcpy(tmp.preshared_key, d->preshared_key, WGDEV_KEY_LEN);
		tmp.flags |= WGPEER_HAS_PRESHARED_KEY;
		changed = true;
	}
	if ((d->endpoint.addr.sa_family == AF_INET || d->endpoint.addr.sa_family == AF_INET6) &&
	    !wgendpoint_equal(&d->endpoint, &a->endpoint)) {
		if (keep_endpoint(o, d, a)) {
			st->endpoints_kept++;
		} else {
			tmp.endpoint = d->endpoint;
			changed = true;
		}
	}
	if (ka != kb) {
		tmp.persistent_keepalive_interval = ka;
		tmp.flags |= WGPEER_HAS_PERSISTENT_KEEPALIVE;
		changed = true;
	}
	if (!wgpeer_allowedips_equal(d, a)) {
		tmp.flags |= WGPEER_REPLACE_ALLOWEDIPS;
		changed = true;
		st->allowedips_replaced++;
	}
	if (!changed)
		goto out;
	p = wgdev_add_peer(upd);
	if (!p) {
		ret = -ENOMEM;
		goto out;
	}
	*p = tmp;
	p->next_peer = NULL;
	if (tmp.flags & WGPEER_REPLACE_ALLOWEDIPS)
		ret = copy_allowedips(p, d);
	if (ret == 0)
		ret = 1;
out:
	explicit_bzero(&tmp, sizeof(tmp));
	return ret;
}

static int cmp_aip(const void *a, const void *b)
{
	return wgallowedip_cmp(a, b);
}

/* Every allowed IP of the desired peers (removals excluded), canonical, sorted. */
static int desired_ips(const struct wgpeer **dv, size_t dn, struct wgallowedip **out, size_t *n)
{
	const struct wgallowedip *a;
	struct wgallowedip *v;
	size_t cnt = 0, k = 0;

	for (size_t i = 0; i < dn; i++)
		if (!(dv[i]->flags & WGDIFF_PEER_REMOVE))
			cnt += wgpeer_allowedip_count(dv[i]);
	v = calloc(cnt ? cnt : 1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < dn; i++) {
		if (dv[i]->flags & WGDIFF_PEER_REMOVE)
			continue;
		wgpeer_for_each_allowedip(dv[i], a)
		{
			v[k] = *a;
			v[k].next_allowedip = NULL;
			wgallowedip_canon(&v[k++]);
		}
	}
	qsort(v, k, sizeof(*v), cmp_aip);
	*out = v;
	*n = k;
	return 0;
}

/* keep_unlisted keeps a peer the desired device does not list, unless it is
 * superseded: it has allowed IPs and every one of them is now another
 * (desired) peer's. That is an old key of a node that rotated it (or a node
 * whose address another node took): with its addresses gone it carries no
 * traffic, and it would otherwise linger until the restart grace ends
 * (docs/mesh.md "Key rotation"). */
static bool superseded(const struct wgpeer *p, const struct wgallowedip *dips, size_t n)
{
	const struct wgallowedip *a;

	if (!p->first_allowedip)
		return false;
	wgpeer_for_each_allowedip(p, a)
	{
		struct wgallowedip c = *a;

		c.next_allowedip = NULL;
		wgallowedip_canon(&c);
		if (!n || !bsearch(&c, dips, n, sizeof(*dips), cmp_aip))
			return false;
	}
	return true;
}

int wgdiff(const struct wgdevice *desired, const struct wgdevice *actual, const struct wgdiff_opts *opts,
	   struct wgdevice **out, struct wgdiff_stats *stp)
{
	struct wgallowedip *dips = NULL;
	size_t ndips = 0;
	static const struct wgdiff_opts defaults;
	const struct wgdiff_opts *o = opts ? opts : &defaults;
	const struct wgpeer **dv = NULL, **av = NULL;
	struct wgdiff_stats st = {0};
	struct wgdevice *upd = wgdev_new();
	size_t dn = 0, an = 0, i, j;
	int ret;

	if (!upd)
		return -ENOMEM;
	ret = sorted_peers(desired, &dv, &dn, true);
	if (ret < 0)
		goto out;
	ret = sorted_peers(actual, &av, &an, false);
	if (ret < 0)
		goto out;
	memcpy(upd->name, desired->name[0] ? desired->name : actual->name, sizeof(upd->name));
	upd->ifindex = actual->ifindex;

	if (desired->flags & WGDEVICE_HAS_PRIVATE_KEY) {
		static const uint8_t zero[WGDEV_KEY_LEN];
		const uint8_t *cur = (actual->flags & WGDEVICE_HAS_PRIVATE_KEY) ? actual->private_key : zero;

		if (!wgdev_key_equal(desired->private_key, cur)) {
			memcpy(upd->private_key, desired->private_key, WGDEV_KEY_LEN);
			upd->flags |= WGDEVICE_HAS_PRIVATE_KEY;
		}
	}
	if ((desired->flags & WGDEVICE_HAS_LISTEN_PORT) && desired->listen_port &&
	    desired->listen_port != ((actual->flags & WGDEVICE_HAS_LISTEN_PORT) ? actual->listen_port : 0)) {
		upd->listen_port = desired->listen_port;
		upd->flags |= WGDEVICE_HAS_LISTEN_PORT;
	}
	if ((desired->flags & WGDEVICE_HAS_FWMARK) &&
	    desired->fwmark != ((actual->flags & WGDEVICE_HAS_FWMARK) ? actual->fwmark : 0)) {
		upd->fwmark = desired->fwmark;
		upd->flags |= WGDEVICE_HAS_FWMARK;
	}
	st.device_changed = upd->flags != 0;

	if (o->keep_unlisted) {
		ret = desired_ips(dv, dn, &dips, &ndips);
		if (ret < 0)
			goto out;
	}
	/* Pass 1: removals (they free allowed IPs first). */
	for (i = 0, j = 0; j < an;) {
		int c = i < dn ? wgpeer_cmp(dv[i], av[j]) : 1;

		if (c < 0) {
			i++;
		} else if (c == 0) {
			i++;
			j++;
		} else if (o->keep_unlisted && !superseded(av[j], dips, ndips)) {
			j++;
		} else {
			/* Several actual entries with one key cannot exist; skip duplicates anyway. */
			if (j == 0 || wgpeer_cmp(av[j - 1], av[j]) != 0) {
				ret = add_removal(upd, av[j], &st);
				if (ret < 0)
					goto out;
			}
			j++;
		}
	}
	/* Pass 2: additions and updates in key order. */
	for (i = 0, j = 0; i < dn;) {
		int c = j < an ? wgpeer_cmp(dv[i], av[j]) : -1;

		if (c > 0) {
			j++;
		} else if (dv[i]->flags & WGDIFF_PEER_REMOVE) {
			if (c == 0) {
				ret = add_removal(upd, av[j], &st);
				if (ret < 0)
					goto out;
				j++;
			}
			i++;
		} else if (c < 0) {
			ret = add_new_peer(upd, dv[i]);
			if (ret < 0)
				goto out;
			st.added++;
			i++;
		} else if (((dv[i]->flags & WGDIFF_PEER_RECREATE) && fresh(av[j])) || punch_recreate(dv[i], av[j])) {
			struct wgpeer *p = wgdev_add_peer(upd);

			if (!p) {
				ret = -ENOMEM;
				goto out;
			}
			memcpy(p->public_key, av[j]->public_key, WGDEV_KEY_LEN);
			p->flags = WGPEER_HAS_PUBLIC_KEY | WGPEER_REMOVE_ME;
			ret = add_new_peer(upd, dv[i]);
			if (ret < 0)
				goto out;
			st.updated++;
			st.recreated++;
			i++;
			j++;
		} else {
			ret = update_peer(upd, dv[i], av[j], o, &st);
			if (ret < 0)
				goto out;
			if (ret)
				st.updated++;
			else
				st.unchanged++;
			i++;
			j++;
		}
	}
	*out = upd;
	upd = NULL;
	if (stp)
		*stp = st;
	ret = 0;
out:
	free(dips);
	free(dv);
	free(av);
	wgdev_free(upd);
	return ret;
}

bool wgdiff_is_empty(const struct wgdevice *u)
{
	return !(u->flags & ~(uint32_t)WGDEVICE_HAS_PUBLIC_KEY) && !u->first_peer;
}

/* --- The set semantics model --- */

static void unlink_peer(struct wgdevice *dev, struct wgpeer *victim)
{
	struct wgpeer *p, *prev = NULL;

	for (p = dev->first_peer; p; prev = p, p = p->next_peer) {
		if (p != victim)
			continue;
		if (prev)
			prev->next_peer = p->next_peer;
		else
			dev->first_peer = p->next_peer;
		if (dev->last_peer == p)
			dev->last_peer = prev;
		p->next_peer = NULL;
		return;
	}
}

static void remove_aip(struct wgpeer *peer, const struct wgallowedip *x)
{
	struct wgallowedip *a, *prev = NULL, *n;

	for (a = peer->first_allowedip; a; a = n) {
		n = a->next_allowedip;
		if (wgallowedip_cmp(a, x) == 0) {
			if (prev)
				prev->next_allowedip = n;
			else
				peer->first_allowedip = n;
			if (peer->last_allowedip == a)
				peer->last_allowedip = prev;
			free(a);
			continue;
		}
		prev = a;
	}
}

/* The key as the update gives it; an all-zero key is no key, so its flag goes. */
static void set_key(uint8_t dst[WGDEV_KEY_LEN], uint32_t *flags, uint32_t has, const uint8_t src[WGDEV_KEY_LEN])
{
	memcpy(dst, src, WGDEV_KEY_LEN);
	if (wgdev_key_is_zero(src))
		*flags &= ~has;
	else
		*flags |= has;
}

int wgdiff_apply(struct wgdevice *dev, const struct wgdevice *u)
{
	const struct wgpeer *up;

	if (u->flags & WGDEVICE_HAS_PRIVATE_KEY)
		set_key(dev->private_key, &dev->flags, WGDEVICE_HAS_PRIVATE_KEY, u->private_key);
	if (u->flags & WGDEVICE_HAS_LISTEN_PORT) {
		dev->listen_port = u->listen_port;
		dev->flags |= WGDEVICE_HAS_LISTEN_PORT;
	}
	if (u->flags & WGDEVICE_HAS_FWMARK) {
		dev->fwmark = u->fwmark;
		dev->flags |= WGDEVICE_HAS_FWMARK;
	}
	if (u->flags & WGDEVICE_REPLACE_PEERS)
		wgdev_clear_peers(dev);
	wgdev_for_each_peer(u, up)
	{
		struct wgpeer *p = wgdev_find_peer(dev, up->public_key);
		const struct wgallowedip *a;

		if (up->flags & WGPEER_REMOVE_ME) {
			if (p) {
				unlink_peer(dev, p);
				wgpeer_free(p);
			}
			continue;
		}
		if (!p) {
			if (up->flags & WGPEER_UPDATE_ONLY)
				continue;
			p = wgdev_add_peer(dev);
			if (!p)
				return -ENOMEM;
			memcpy(p->public_key, up->public_key, WGDEV_KEY_LEN);
			p->flags = WGPEER_HAS_PUBLIC_KEY;
		}
		if (up->flags & WGPEER_HAS_PRESHARED_KEY)
			set_key(p->preshared_key, &p->flags, WGPEER_HAS_PRESHARED_KEY, up->preshared_key);
		if (up->endpoint.addr.sa_family == AF_INET || up->endpoint.addr.sa_family == AF_INET6)
			p->endpoint = up->endpoint;
		if (up->flags & WGPEER_HAS_PERSISTENT_KEEPALIVE) {
			p->persistent_keepalive_interval = up->persistent_keepalive_interval;
			p->flags |= WGPEER_HAS_PERSISTENT_KEEPALIVE;
		}
		if (up->flags & WGPEER_REPLACE_ALLOWEDIPS)
			wgpeer_clear_allowedips(p);
		wgpeer_for_each_allowedip(up, a)
		{
			struct wgallowedip c = *a, *na;
			struct wgpeer *q;

			wgallowedip_canon(&c);
			/* A prefix belongs to one peer: the last one to claim it. */
			wgdev_for_each_peer(dev, q) remove_aip(q, &c);
			na = wgpeer_add_allowedip(p);
			if (!na)
				return -ENOMEM;
			c.next_allowedip = NULL;
			*na = c;
		}
	}
	return 0;
}
