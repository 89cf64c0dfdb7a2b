/* SPDX-License-Identifier: MIT */
/* Non-blocking netlink engine (see nl.h). */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <linux/genetlink.h>
#include <linux/netlink.h>

#include "err.h"
#include "nl.h"
#include "osclock.h"

#ifndef NETLINK_EXT_ACK
#define NETLINK_EXT_ACK 11
#endif
#ifndef NETLINK_CAP_ACK
#define NETLINK_CAP_ACK 10
#endif
/* Replies to big SET messages are ACKs; with NETLINK_CAP_ACK they do not echo
 * the request, so a deep window of them fits easily. */
#define NL_RCVBUF (4 * 1024 * 1024)

struct nl_req {
	struct nl_req *prev, *next;
	struct nl_sock *nl;
	const struct nl_req_ops *ops;
	void *ud;
	struct rtimer timer;
	uint64_t timeout_us;
	uint32_t seq;
	bool sent, dump, intr;
	int err; /* first failure seen while draining (msg() or parse) */
	unsigned restarts;
	size_t len;
	uint8_t msg[];
};

struct nl_sock {
	struct reactor *r;
	const struct wlog *log;
	struct mnl_socket *mnl;
	int fd;
	uint32_t portid;
	uint32_t seq;
	nl_tx_fn tx;
	void *tx_ud;
	nl_sent_fn sent_hook;
	void *sent_ud;
	struct nl_req *head, *tail;
	size_t npending, ninflight;
	bool dump_running;
	bool want_write;
	int depth;    /* callbacks on the stack */
	bool closing; /* nl_close() called inside a callback */
	uint8_t *rbuf;
	struct nl_stats st;
};

static void pump(struct nl_sock *nl);

static void req_unlink(struct nl_sock *nl, struct nl_req *q)
{
	if (q->prev)
		q->prev->next = q->next;
	else
		nl->head = q->next;
	if (q->next)
		q->next->prev = q->prev;
	else
		nl->tail = q->prev;
	q->prev = q->next = NULL;
	nl->npending--;
	if (q->sent) {
		if (q->dump)
			nl->dump_running = false;
		else
			nl->ninflight--;
	}
	reactor_timer_disarm(nl->r, &q->timer);
}

/* Requests may carry keys (WG_CMD_SET_DEVICE): wipe before freeing. */
static void req_free(struct nl_req *q)
{
	explicit_bzero(q->msg, q->len);
	free(q);
}

/* Unlinks, frees and reports q. The callback may close the engine. */
static void req_finish(struct nl_sock *nl, struct nl_req *q, int err)
{
	const struct nl_req_ops *ops = q->ops;
	void *ud = q->ud;

	req_unlink(nl, q);
	req_free(q);
	if (ops && ops->done) {
		nl->depth++;
		ops->done(ud, err);
		nl->depth--;
	}
}

static struct nl_req *req_find(struct nl_sock *nl, uint32_t seq)
{
	for (struct nl_req *q = nl->head; q; q = q->next)
		if (q->sent && q->seq == seq)
			return q;
	return NULL;
}

static uint32_t next_seq(struct nl_sock *nl)
{
	if (++nl->seq == 0)
		nl->seq = 1;
	return nl->seq;
}

static void free_engine(struct nl_sock *nl)
{
	while (nl->head) {
		struct nl_req *q = nl->head;

		req_unlink(nl, q);
		req_free(q);
	}
	if (nl->fd >= 0)
		reactor_io_del(nl->r, nl->fd);
	if (nl->mnl)
		mnl_socket_close(nl->mnl);
	free(nl->rbuf);
	free(nl);
}

/* Leaving a callback-running section: honour a close requested inside it.
 * Returns true when the engine is gone. */
static bool maybe_free(struct nl_sock *nl)
{
	if (nl->depth == 0 && nl->closing) {
		free_engine(nl);
		return true;
	}
	return false;
}

static void on_timeout(void *ud, uint64_t now_us)
{
	struct nl_req *q = ud;
	struct nl_sock *nl = q->nl;

	int err = W2W_ETIMEDOUT;

	(void)now_us;
	if (!q->sent && q->err) {
		err = q->err; /* a send failure parked for reporting */
	} else {
		nl->st.timeouts++;
		log_warn(nl->log, "netlink: request seq %u timed out", q->seq);
	}
	nl->depth++;
	req_finish(nl, q, err);
	nl->depth--;
	if (maybe_free(nl))
		return;
	pump(nl);
}

static int raw_send(struct nl_sock *nl, const struct nlmsghdr *nlh)
{
	ssize_t n;

	if (nl->tx) {
		int r = nl->tx(nl->tx_ud, nlh);

		if (r == 0 && nl->sent_hook)
			nl->sent_hook(nl->sent_ud, nlh);
		return r;
	}
	do {
		n = mnl_socket_sendto(nl->mnl, nlh, nlh->nlmsg_len);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	if (nl->sent_hook)
		nl->sent_hook(nl->sent_ud, nlh);
	return 0;
}

static void set_write_interest(struct nl_sock *nl, bool on)
{
	if (nl->fd < 0 || nl->want_write == on)
		return;
	nl->want_write = on;
	reactor_io_events(nl->r, nl->fd, W2W_IO_READ | (on ? W2W_IO_WRITE : 0));
}

/* Sends queued requests in order while the window allows. */
static void pump(struct nl_sock *nl)
{
	struct nl_req *q = nl->head, *next;

	for (; q; q = next) {
		struct nlmsghdr *nlh = (struct nlmsghdr *)q->msg;
		int r;

		next = q->next;
		if (q->sent || q->err)
			continue;
		if (q->dump ? nl->dump_running : nl->ninflight >= NL_MAX_INFLIGHT)
			break; /* keep submission order */
		q->seq = next_seq(nl);
		nlh->nlmsg_seq = q->seq;
		nlh->nlmsg_pid = 0;
		r = raw_send(nl, nlh);
		if (r == -EAGAIN || r == -EWOULDBLOCK) {
			set_write_interest(nl, true);
			return;
		}
		if (r < 0) {
			log_warn(nl->log, "netlink: send failed: %s", err_str(r));
			nl->depth++;
			req_finish(nl, q, r);
			nl->depth--;
			if (maybe_free(nl))
				return;
			/* the callback may have changed the list: start over */
			next = nl->head;
			continue;
		}
		nl->st.tx_msgs++;
		nl->st.tx_bytes += nlh->nlmsg_len;
		q->sent = true;
		if (q->dump)
			nl->dump_running = true;
		else
			nl->ninflight++;
	}
	set_write_interest(nl, false);
}

static int req_resend(struct nl_sock *nl, struct nl_req *q)
{
	/* Put it back in the unsent state at its place; pump() re-sends it. */
	q->sent = false;
	q->intr = false;
	q->err = 0;
	if (q->dump)
		nl->dump_running = false;
	else
		nl->ninflight--;
	return 0;
}

/* Logs the extended-ACK text message of an error, if any (validated). */
static void log_ext_ack(struct nl_sock *nl, const struct nlmsghdr *nlh, int err)
{
	static const struct nl_policy pol[NLMSGERR_ATTR_MAX + 1] = {
	    [NLMSGERR_ATTR_MSG] = {.type = MNL_TYPE_NUL_STRING},
	};
	const struct nlattr *tb[NLMSGERR_ATTR_MAX + 1];
	const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);
	size_t off;

	if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS))
		return;
	off = sizeof(*e);
	if (!(nlh->nlmsg_flags & NLM_F_CAPPED))
		off += e->msg.nlmsg_len > sizeof(e->msg) ? e->msg.nlmsg_len - sizeof(e->msg) : 0;
	off = MNL_ALIGN(off);
	if (off >= mnl_nlmsg_get_payload_len(nlh))
		return;
	if (nl_attr_parse((const uint8_t *)e + off, mnl_nlmsg_get_payload_len(nlh) - off, pol,
	                  NLMSGERR_ATTR_MAX, tb) < 0 ||
	    !tb[NLMSGERR_ATTR_MSG])
		return;
	log_debug(nl->log, "netlink: kernel says: %s (%s)", mnl_attr_get_str(tb[NLMSGERR_ATTR_MSG]),
	          err_str(err));
}

/* Handles one message. Returns false when the engine was freed. */
static bool handle_msg(struct nl_sock *nl, const struct nlmsghdr *nlh)
{
	struct nl_req *q;

	nl->st.rx_msgs++;
	q = req_find(nl, nlh->nlmsg_seq);
	if (!q) {
		/* A reply to a request that timed out or was cancelled. */
		nl->st.unknown_seq++;
		return true;
	}
	if (nlh->nlmsg_type == NLMSG_ERROR) {
		const struct nlmsgerr *e;
		int err;

		if (mnl_nlmsg_get_payload_len(nlh) < sizeof(struct nlmsgerr)) {
			err = W2W_EPARSE;
		} else {
			e = mnl_nlmsg_get_payload(nlh);
			err = e->error > 0 ? -e->error : e->error;
			if (err)
				log_ext_ack(nl, nlh, err);
		}
		if (q->dump && err == 0)
			return true; /* an ACK to a dump request (NLM_F_ACK): DONE ends it */
		if (q->err)
			err = q->err;
		nl->depth++;
		req_finish(nl, q, err);
		nl->depth--;
		return !maybe_free(nl);
	}
	if (nlh->nlmsg_type == NLMSG_DONE) {
		int err = q->err;

		if (!q->dump)
			return true; /* not ours to end */
		if (!err && mnl_nlmsg_get_payload_len(nlh) >= sizeof(int)) {
			int v;

			memcpy(&v, mnl_nlmsg_get_payload(nlh), sizeof(v));
			if (v < 0)
				err = v;
		}
		if (!err && (q->intr || (nlh->nlmsg_flags & NLM_F_DUMP_INTR))) {
			if (q->restarts < NL_MAX_DUMP_RESTARTS && q->ops && q->ops->restart) {
				q->restarts++;
				nl->st.dump_restarts++;
				log_debug(nl->log, "netlink: dump interrupted, restarting (%u)", q->restarts);
				req_resend(nl, q);
				nl->depth++;
				q->ops->restart(q->ud);
				nl->depth--;
				return !maybe_free(nl);
			}
			err = -EINTR;
		}
		nl->depth++;
		req_finish(nl, q, err);
		nl->depth--;
		return !maybe_free(nl);
	}
	if (nlh->nlmsg_type == NLMSG_NOOP || nlh->nlmsg_type == NLMSG_OVERRUN)
		return true;
	if (nlh->nlmsg_flags & NLM_F_DUMP_INTR)
		q->intr = true;
	if (q->err || q->intr)
		return true; /* draining */
	if (q->ops && q->ops->msg) {
		int r;

		nl->depth++;
		r = q->ops->msg(q->ud, nlh);
		nl->depth--;
		if (maybe_free(nl))
			return false;
		/* msg() may have cancelled q; look it up again */
		if (r < 0 && (q = req_find(nl, nlh->nlmsg_seq)) != NULL && !q->err)
			q->err = r;
	}
	return true;
}

/* Returns false when the engine was freed (nl_close() from a callback). */
static bool feed(struct nl_sock *nl, const void *buf, size_t len)
{
	const struct nlmsghdr *nlh = buf;
	int left = len > (size_t)NL_MAX_MSG * 4 ? NL_MAX_MSG * 4 : (int)len;

	nl->st.rx_bytes += len;
	nl->depth++;
	while (nl_msg_ok(nlh, left)) {
		handle_msg(nl, nlh);
		if (nl->closing)
			break;
		nlh = mnl_nlmsg_next(nlh, &left);
	}
	nl->depth--;
	if (left > 0 && !nl->closing)
		log_debug(nl->log, "netlink: %d trailing bytes in datagram dropped", left);
	if (maybe_free(nl))
		return false;
	pump(nl);
	return true;
}

void nl_feed(struct nl_sock *nl, const void *buf, size_t len, uint64_t now_us)
{
	(void)now_us;
	feed(nl, buf, len);
}

/* The kernel dropped replies: fail what waits for an ACK, restart the dump. */
static void on_enobufs(struct nl_sock *nl)
{
	struct nl_req *q, *next;

	nl->st.enobufs++;
	log_warn(nl->log, "netlink: receive buffer overrun (ENOBUFS), failing in-flight requests");
	nl->depth++;
	for (q = nl->head; q && !nl->closing; q = next) {
		next = q->next;
		if (!q->sent)
			continue;
		if (q->dump) {
			q->intr = true;
			continue;
		}
		req_finish(nl, q, -ENOBUFS);
		next = nl->head; /* the list may have changed */
	}
	nl->depth--;
}

static void on_io(void *ud, int fd, int revents, uint64_t now_us)
{
	struct nl_sock *nl = ud;
	/* Bounded: at most this many datagrams per wakeup, the loop calls again. */
	int budget = 256;

	(void)fd;
	if (revents & W2W_IO_WRITE) {
		pump(nl);
	}
	if (!(revents & (W2W_IO_READ | W2W_IO_ERROR)))
		return;
	while (budget-- > 0) {
		struct sockaddr_nl sa;
		struct iovec iov = {nl->rbuf, NL_RECV_BUF};
		struct msghdr mh = {
		    .msg_name = &sa,
		    .msg_namelen = sizeof(sa),
		    .msg_iov = &iov,
		    .msg_iovlen = 1,
		};
		ssize_t n = recvmsg(nl->fd, &mh, MSG_DONTWAIT);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			if (errno == ENOBUFS) {
				on_enobufs(nl);
				if (maybe_free(nl))
					return;
				continue;
			}
			log_warn(nl->log, "netlink: recv: %s", err_str(-errno));
			break;
		}
		if (mh.msg_flags & MSG_TRUNC) {
			/* Cannot happen with a 64 KiB buffer; treat like lost replies. */
			on_enobufs(nl);
			if (maybe_free(nl))
				return;
			continue;
		}
		if (sa.nl_pid != 0)
			continue; /* only the kernel talks to us */
		if (!feed(nl, nl->rbuf, (size_t)n))
			return;
	}
	pump(nl);
}

static struct nl_sock *engine_new(struct reactor *r, const struct wlog *log)
{
	struct nl_sock *nl = calloc(1, sizeof(*nl));

	if (!nl)
		return NULL;
	nl->r = r;
	nl->log = log;
	nl->fd = -1;
	return nl;
}

int nl_open(struct reactor *r, const struct wlog *log, int bus, struct nl_sock **out)
{
	struct nl_sock *nl = engine_new(r, log);
	int one = 1, rcv = NL_RCVBUF, ret;

	if (!nl)
		return -ENOMEM;
	nl->rbuf = malloc(NL_RECV_BUF);
	if (!nl->rbuf) {
		ret = -ENOMEM;
		goto fail;
	}
	nl->mnl = mnl_socket_open2(bus, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (!nl->mnl) {
		ret = -errno;
		goto fail;
	}
	if (mnl_socket_bind(nl->mnl, 0, MNL_SOCKET_AUTOPID) < 0) {
		ret = -errno;
		goto fail;
	}
	nl->fd = mnl_socket_get_fd(nl->mnl);
	nl->portid = mnl_socket_get_portid(nl->mnl);
	/* Best effort: a bigger buffer (FORCE needs CAP_NET_ADMIN, which we
	 * have whenever we can configure WireGuard at all). */
	if (setsockopt(nl->fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcv, sizeof(rcv)) < 0)
		setsockopt(nl->fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof(rcv));
	setsockopt(nl->fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof(one));
	setsockopt(nl->fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one));
	ret = reactor_io_set(r, nl->fd, W2W_IO_READ, on_io, nl);
	if (ret < 0) {
		nl->fd = -1;
		goto fail;
	}
	*out = nl;
	return 0;
fail:
	free_engine(nl);
	return ret;
}

int nl_open_fake(struct reactor *r, const struct wlog *log, nl_tx_fn tx, void *tx_ud, struct nl_sock **out)
{
	struct nl_sock *nl;

	if (!tx)
		return -EINVAL;
	nl = engine_new(r, log);
	if (!nl)
		return -ENOMEM;
	nl->tx = tx;
	nl->tx_ud = tx_ud;
	nl->portid = 0x7e57;
	*out = nl;
	return 0;
}

void nl_set_sent_hook(struct nl_sock *nl, nl_sent_fn fn, void *ud)
{
	nl->sent_hook = fn;
	nl->sent_ud = ud;
}

void nl_close(struct nl_sock *nl)
{
	if (!nl)
		return;
	if (nl->depth > 0) {
		/* Inside one of our callbacks: drop requests now, free on unwind. */
		while (nl->head) {
			struct nl_req *q = nl->head;

			req_unlink(nl, q);
			req_free(q);
		}
		nl->closing = true;
		return;
	}
	free_engine(nl);
}

int nl_submit(struct nl_sock *nl, const struct nlmsghdr *nlh, const struct nl_req_ops *ops, void *ud,
              uint64_t timeout_us, uint32_t *seq)
{
	struct nl_req *q;
	int ret;

	if (!nl || !nlh || nl->closing)
		return -EINVAL;
	if (nlh->nlmsg_len < sizeof(*nlh))
		return -EINVAL;
	if (nlh->nlmsg_len > NL_MAX_MSG)
		return -EMSGSIZE;
	q = calloc(1, sizeof(*q) + nlh->nlmsg_len);
	if (!q)
		return -ENOMEM;
	memcpy(q->msg, nlh, nlh->nlmsg_len);
	q->len = nlh->nlmsg_len;
	q->nl = nl;
	q->ops = ops;
	q->ud = ud;
	q->dump = (nlh->nlmsg_flags & NLM_F_DUMP) == NLM_F_DUMP;
	((struct nlmsghdr *)q->msg)->nlmsg_flags |= NLM_F_REQUEST | (q->dump ? 0 : NLM_F_ACK);
	q->timeout_us = timeout_us ? timeout_us : NL_DEFAULT_TIMEOUT_US;
	rtimer_init(&q->timer, on_timeout, q);
	ret = reactor_timer_arm(nl->r, &q->timer, os_now_us() + q->timeout_us);
	if (ret < 0) {
		free(q);
		return ret;
	}
	q->prev = nl->tail;
	if (nl->tail)
		nl->tail->next = q;
	else
		nl->head = q;
	nl->tail = q;
	nl->npending++;
	if (nl->depth == 0) {
		/* Send now if the window allows; a send error is reported from
		 * the reactor, never from inside nl_submit. */
		struct nl_req *p;

		for (p = nl->head; p && p->sent; p = p->next)
			;
		if (p == q && (q->dump ? !nl->dump_running : nl->ninflight < NL_MAX_INFLIGHT)) {
			struct nlmsghdr *h = (struct nlmsghdr *)q->msg;
			int r;

			q->seq = next_seq(nl);
			h->nlmsg_seq = q->seq;
			r = raw_send(nl, h);
			if (r == 0) {
				nl->st.tx_msgs++;
				nl->st.tx_bytes += h->nlmsg_len;
				q->sent = true;
				if (q->dump)
					nl->dump_running = true;
				else
					nl->ninflight++;
			} else if (r == -EAGAIN || r == -EWOULDBLOCK) {
				set_write_interest(nl, true);
			} else {
				/* Reported from the reactor, never from nl_submit. */
				q->err = r;
				reactor_timer_arm(nl->r, &q->timer, 0);
			}
		}
	}
	if (seq)
		*seq = q->seq;
	return 0;
}

void nl_cancel(struct nl_sock *nl, void *ud)
{
	struct nl_req *q, *next;

	if (!nl)
		return;
	for (q = nl->head; q; q = next) {
		next = q->next;
		if (q->ud != ud)
			continue;
		if (q->sent && q->dump) {
			/* The kernel keeps dumping and refuses another dump on this
			 * socket until this one ends: keep it as a silent zombie that
			 * drains to its DONE (or its timeout). */
			q->ops = NULL;
			q->ud = NULL;
			continue;
		}
		req_unlink(nl, q);
		req_free(q);
	}
	if (nl->depth == 0)
		pump(nl);
}

size_t nl_pending(const struct nl_sock *nl)
{
	return nl ? nl->npending : 0;
}

const struct nl_stats *nl_get_stats(const struct nl_sock *nl)
{
	return &nl->st;
}

int nl_fd(const struct nl_sock *nl)
{
	return nl->fd;
}

struct reactor *nl_reactor(const struct nl_sock *nl)
{
	return nl->r;
}

const struct wlog *nl_log(const struct nl_sock *nl)
{
	return nl->log;
}
