/* SPDX-License-Identifier: MIT */
/* The in-memory OS under the WireGuard engine (fake_wgos.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "fake_wgos.h"

/* ---- deferred completions: every operation reports from a timer ---- */

struct fop {
	struct fop *next;
	struct fake_wgos *f;
	void *owner; /* the backend or link handle that queued it */
	void (*fire)(struct fop *op);
	int err;
	char name[16];
	uint32_t ifindex;
	unsigned mtu;
	bool up;
	struct rtnl_addr addr;
	struct wgdevice *dev;
	wgbackend_get_cb get;
	wgbackend_set_cb set;
	rtnl_link_cb link;
	rtnl_done_cb done;
	rtnl_addr_list_cb addrs;
	void *ud;
};

/* One queue per handle, so freeing a handle drops its operations. */
struct fqueue {
	struct fake_wgos *f;
	struct fop *head, *tail;
	struct rtimer t;
};

static void q_fire(void *ud, uint64_t now)
{
	struct fqueue *q = ud;
	struct fop *op = q->head;

	(void)now;
	if (!op)
		return;
	q->head = op->next;
	if (!q->head)
		q->tail = NULL;
	else
		reactor_timer_arm(q->f->r, &q->t, 0);
	q->f->pending--;
	op->fire(op); /* may free the handle (and q): nothing after this */
}

static void q_init(struct fqueue *q, struct fake_wgos *f)
{
	q->f = f;
	q->head = q->tail = NULL;
	rtimer_init(&q->t, q_fire, q);
}

static void fop_free(struct fop *op)
{
	wgdev_free(op->dev);
	free(op);
}

static void q_clear(struct fqueue *q)
{
	reactor_timer_disarm(q->f->r, &q->t);
	while (q->head) {
		struct fop *op = q->head;

		q->head = op->next;
		q->f->pending--;
		fop_free(op);
	}
	q->tail = NULL;
}

static struct fop *q_push(struct fqueue *q, void (*fire)(struct fop *), void *ud)
{
	struct fop *op = calloc(1, sizeof(*op));

	if (!op)
		return NULL;
	op->f = q->f;
	op->fire = fire;
	op->ud = ud;
	if (q->tail)
		q->tail->next = op;
	else
		q->head = op;
	q->tail = op;
	q->f->pending++;
	if (!rtimer_armed(&q->t))
		reactor_timer_arm(q->f->r, &q->t, 0);
	return op;
}

/* The injected failure, once. */
static int injected(struct fake_wgos *f, const char *op)
{
	if (f->fail_op && !strcmp(f->fail_op, op)) {
		f->fail_op = NULL;
		return f->fail_err;
	}
	return 0;
}

struct fake_wgos_link *fake_wgos_link(struct fake_wgos *f, const char *name)
{
	for (size_t i = 0; i < FAKE_WGOS_LINKS; i++)
		if (f->links[i].used && !strcmp(f->links[i].name, name))
			return &f->links[i];
	return NULL;
}

static struct fake_wgos_link *link_by_index(struct fake_wgos *f, uint32_t ifindex)
{
	for (size_t i = 0; i < FAKE_WGOS_LINKS; i++)
		if (f->links[i].used && f->links[i].ifindex == ifindex)
			return &f->links[i];
	return NULL;
}

struct fake_wgos_link *fake_wgos_add_link(struct fake_wgos *f, const char *name)
{
	struct fake_wgos_link *l = fake_wgos_link(f, name);

	if (l)
		return l;
	for (size_t i = 0; i < FAKE_WGOS_LINKS; i++) {
		l = &f->links[i];
		if (l->used)
			continue;
		memset(l, 0, sizeof(*l));
		l->dev = wgdev_new();
		if (!l->dev)
			return NULL;
		wgdev_set_name(l->dev, name);
		snprintf(l->name, sizeof(l->name), "%s", name);
		l->ifindex = ++f->next_ifindex;
		l->mtu = 1420;
		l->used = true;
		return l;
	}
	return NULL;
}

/* ---- the fake backends ---- */

struct fbe {
	struct wgbackend base;
	struct fake_wgos *f;
	bool kernel;
	struct fqueue q;
};

static bool kernel_gone(const struct fbe *b)
{
	return b->kernel && b->f->kernel_missing;
}

static void fire_get(struct fop *op)
{
	wgbackend_get_cb cb = op->get;
	struct wgdevice *d = op->dev;
	int err = op->err;
	void *ud = op->ud;

	op->dev = NULL;
	fop_free(op);
	cb(ud, err, err < 0 ? NULL : d);
	if (err < 0)
		wgdev_free(d);
}

static int fbe_get(struct wgbackend *be, const char *ifname, wgbackend_get_cb cb, void *ud)
{
	struct fbe *b = (struct fbe *)be;
	struct fake_wgos_link *l = fake_wgos_link(b->f, ifname);
	struct fop *op = q_push(&b->q, fire_get, ud);

	if (!op)
		return -ENOMEM;
	op->get = cb;
	b->f->gets++;
	op->err = kernel_gone(b) ? -EPROTONOSUPPORT : injected(b->f, "get");
	if (!op->err && !l)
		op->err = -ENODEV;
	if (!op->err && !(op->dev = wgdev_copy(l->dev)))
		op->err = -ENOMEM;
	return 0;
}

static void fire_set(struct fop *op)
{
	wgbackend_set_cb cb = op->set;
	int err = op->err;
	void *ud = op->ud;

	fop_free(op);
	cb(ud, err);
}

static int fbe_set(struct wgbackend *be, const struct wgdevice *dev, wgbackend_set_cb cb, void *ud)
{
	struct fbe *b = (struct fbe *)be;
	struct fake_wgos_link *l = fake_wgos_link(b->f, dev->name);
	struct fop *op = q_push(&b->q, fire_set, ud);

	if (!op)
		return -ENOMEM;
	op->set = cb;
	b->f->sets++;
	op->err = kernel_gone(b) ? -EPROTONOSUPPORT : injected(b->f, "set");
	if (!op->err && !l)
		op->err = -ENODEV;
	/* Applied at once (the request is copied by contract); reported later. */
	if (!op->err)
		op->err = wgdiff_apply(l->dev, dev);
	return 0;
}

static int fbe_create(struct wgbackend *be, const char *ifname, wgbackend_set_cb cb, void *ud)
{
	struct fbe *b = (struct fbe *)be;
	struct fop *op = q_push(&b->q, fire_set, ud);

	if (!op)
		return -ENOMEM;
	op->set = cb;
	b->f->creates++;
	op->err = kernel_gone(b) ? -EPROTONOSUPPORT : injected(b->f, "create");
	if (!op->err && !fake_wgos_add_link(b->f, ifname))
		op->err = -ENOSPC;
	return 0;
}

static void fbe_forget(struct wgbackend *be, const char *ifname)
{
	(void)ifname;
	((struct fbe *)be)->f->forgets++;
}

static void fbe_free(struct wgbackend *be)
{
	struct fbe *b = (struct fbe *)be;

	q_clear(&b->q);
	free(b);
}

static const struct wgbackend_ops fake_kernel_ops = {
	.name = "kernel",
	.get_device = fbe_get,
	.set_device = fbe_set,
	.create_device = fbe_create,
	.free = fbe_free,
};

static const struct wgbackend_ops fake_userspace_ops = {
	.name = "userspace",
	.get_device = fbe_get,
	.set_device = fbe_set,
	.create_device = fbe_create,
	.forget_device = fbe_forget,
	.free = fbe_free,
};

static int f_backend_new(void *ctx, enum w2w_backend kind, struct reactor *r, const struct wlog *log,
			 const struct wgsync_config *cfg, struct wgbackend **out)
{
	struct fake_wgos *f = ctx;
	struct fbe *b = calloc(1, sizeof(*b));

	(void)cfg;
	if (!b)
		return -ENOMEM;
	b->kernel = kind == W2W_BACKEND_KERNEL;
	b->base.ops = b->kernel ? &fake_kernel_ops : &fake_userspace_ops;
	b->base.r = r;
	b->base.log = log;
	b->base.child_pid = -1;
	b->f = f;
	q_init(&b->q, f);
	*out = &b->base;
	return 0;
}

static bool f_userspace_running(void *ctx, const struct wgsync_config *cfg)
{
	(void)cfg;
	return ((struct fake_wgos *)ctx)->userspace_running;
}

/* ---- the fake rtnetlink ---- */

struct flink {
	struct fake_wgos *f;
	struct fqueue q;
};

static int f_link_open(void *ctx, struct reactor *r, const struct wlog *log, void **out)
{
	struct flink *h = calloc(1, sizeof(*h));

	(void)r;
	(void)log;
	if (!h)
		return -ENOMEM;
	h->f = ctx;
	q_init(&h->q, h->f);
	*out = h;
	return 0;
}

static void f_link_close(void *lk)
{
	struct flink *h = lk;

	q_clear(&h->q);
	free(h);
}

static void fire_link(struct fop *op)
{
	struct fake_wgos_link *l = op->err ? NULL : fake_wgos_link(op->f, op->name);
	rtnl_link_cb cb = op->link;
	struct rtnl_link rl;
	int err = op->err;
	void *ud = op->ud;

	if (!err && !l)
		err = -ENODEV;
	memset(&rl, 0, sizeof(rl));
	if (l) {
		rl.ifindex = l->ifindex;
		rl.mtu = l->mtu;
		rl.flags = l->up ? 1u : 0u; /* IFF_UP */
		snprintf(rl.name, sizeof(rl.name), "%s", l->name);
	}
	fop_free(op);
	cb(ud, err, err < 0 ? NULL : &rl);
}

static int f_link_get(void *lk, const char *ifname, rtnl_link_cb cb, void *ud)
{
	struct flink *h = lk;
	struct fop *op = q_push(&h->q, fire_link, ud);

	if (!op)
		return -ENOMEM;
	op->link = cb;
	snprintf(op->name, sizeof(op->name), "%s", ifname);
	op->err = injected(h->f, "link_get");
	return 0;
}

static void fire_done(struct fop *op)
{
	rtnl_done_cb cb = op->done;
	int err = op->err;
	void *ud = op->ud;

	fop_free(op);
	cb(ud, err);
}

static int f_link_set(void *lk, uint32_t ifindex, uint32_t mtu, bool up, rtnl_done_cb cb, void *ud)
{
	struct flink *h = lk;
	struct fake_wgos_link *l = link_by_index(h->f, ifindex);
	struct fop *op = q_push(&h->q, fire_done, ud);

	if (!op)
		return -ENOMEM;
	op->done = cb;
	h->f->link_sets++;
	op->err = injected(h->f, "link_set");
	if (!op->err && !l)
		op->err = -ENODEV;
	if (!op->err) {
		if (mtu)
			l->mtu = mtu;
		l->up = up;
	}
	return 0;
}

static int f_link_del(void *lk, const char *ifname, rtnl_done_cb cb, void *ud)
{
	struct flink *h = lk;
	struct fake_wgos_link *l = fake_wgos_link(h->f, ifname);
	struct fop *op = q_push(&h->q, fire_done, ud);

	if (!op)
		return -ENOMEM;
	op->done = cb;
	h->f->link_dels++;
	op->err = injected(h->f, "link_del");
	if (!op->err && l) { /* absent is success */
		wgdev_free(l->dev);
		memset(l, 0, sizeof(*l));
	}
	return 0;
}

static void fire_addrs(struct fop *op)
{
	struct fake_wgos_link *l = op->err ? NULL : link_by_index(op->f, op->ifindex);
	struct rtnl_addr a[FAKE_WGOS_ADDRS];
	rtnl_addr_list_cb cb = op->addrs;
	size_t n = l ? l->naddrs : 0;
	int err = op->err;
	void *ud = op->ud;

	if (!err && !l)
		err = -ENODEV;
	if (n)
		memcpy(a, l->addrs, n * sizeof(*a));
	fop_free(op);
	cb(ud, err, a, n);
}

static int f_addr_list(void *lk, uint32_t ifindex, rtnl_addr_list_cb cb, void *ud)
{
	struct flink *h = lk;
	struct fop *op = q_push(&h->q, fire_addrs, ud);

	if (!op)
		return -ENOMEM;
	op->addrs = cb;
	op->ifindex = ifindex;
	op->err = injected(h->f, "addr_list");
	return 0;
}

static bool same_addr(const struct rtnl_addr *a, const struct rtnl_addr *b)
{
	return a->family == b->family && a->prefixlen == b->prefixlen &&
	       !memcmp(a->addr, b->addr, a->family == AF_INET ? 4 : 16);
}

static int f_addr_op(struct flink *h, const struct rtnl_addr *a, bool add, rtnl_done_cb cb, void *ud)
{
	struct fake_wgos_link *l = link_by_index(h->f, a->ifindex);
	struct fop *op = q_push(&h->q, fire_done, ud);
	size_t i;

	if (!op)
		return -ENOMEM;
	op->done = cb;
	op->err = injected(h->f, add ? "addr_add" : "addr_del");
	if (add)
		h->f->addr_adds++;
	else
		h->f->addr_dels++;
	if (!op->err && !l)
		op->err = -ENODEV;
	if (op->err)
		return 0;
	for (i = 0; i < l->naddrs && !same_addr(&l->addrs[i], a); i++)
		;
	if (add && i == l->naddrs) { /* present already is success */
		if (l->naddrs == FAKE_WGOS_ADDRS)
			op->err = -ENOSPC;
		else
			l->addrs[l->naddrs++] = *a;
	} else if (!add && i < l->naddrs) { /* absent is success */
		l->addrs[i] = l->addrs[--l->naddrs];
	}
	return 0;
}

static int f_addr_add(void *lk, const struct rtnl_addr *a, rtnl_done_cb cb, void *ud)
{
	return f_addr_op(lk, a, true, cb, ud);
}

static int f_addr_del(void *lk, const struct rtnl_addr *a, rtnl_done_cb cb, void *ud)
{
	return f_addr_op(lk, a, false, cb, ud);
}

static uint64_t f_wall_ms(void *ctx)
{
	return ((struct fake_wgos *)ctx)->wall_ms;
}

void fake_wgos_init(struct fake_wgos *f, struct reactor *r)
{
	memset(f, 0, sizeof(*f));
	f->r = r;
	f->wall_ms = 1700000000000ull;
	f->os.ctx = f;
	f->os.backend_new = f_backend_new;
	f->os.userspace_running = f_userspace_running;
	f->os.link_open = f_link_open;
	f->os.link_close = f_link_close;
	f->os.link_get = f_link_get;
	f->os.link_set = f_link_set;
	f->os.link_del = f_link_del;
	f->os.addr_list = f_addr_list;
	f->os.addr_add = f_addr_add;
	f->os.addr_del = f_addr_del;
	f->os.wall_ms = f_wall_ms;
}

void fake_wgos_clear(struct fake_wgos *f)
{
	for (size_t i = 0; i < FAKE_WGOS_LINKS; i++)
		if (f->links[i].used)
			wgdev_free(f->links[i].dev);
	memset(f->links, 0, sizeof(f->links));
}
