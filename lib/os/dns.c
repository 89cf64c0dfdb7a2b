/* SPDX-License-Identifier: MIT */
/* c-ares on the reactor (see dns.h for the why). */
#include <ares.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "dns.h"
#include "reactor.h"
#include "w2wesher/error.h"

#define DNS_HOST_MAX 253 /* RFC 1035 2.3.4, in text form without the root dot */

struct dns_query {
	struct dns *d;
	dns_done_fn fn; /* NULL once cancelled */
	void *ud;
	uint16_t port;
	int family;
	int err;
	struct sock_ip ips[DNS_MAX_ADDRS];
	size_t n;
	bool running;            /* c-ares still holds it */
	struct dns_query *next;  /* done list */
};

struct dns {
	struct reactor *r;
	struct dns_config cfg;
	char *servers;
	ares_channel ch;
	bool have_ch;
	bool destroying;
	size_t running;
	struct dns_query *done, **done_tail;
	struct rtimer timeout; /* c-ares retry/timeout processing */
	struct rtimer deliver; /* finished lookups to their callbacks */
};

static void arm_timeout(struct dns *d, uint64_t now)
{
	struct timeval tv;

	/* c-ares rounds what is left down to whole milliseconds (0 when less than
	 * 1 ms is left, though the lookup has not timed out yet): one more
	 * millisecond, or the loop would spin on a timer that does nothing. */
	if (d->have_ch && ares_timeout(d->ch, NULL, &tv))
		reactor_timer_arm(d->r, &d->timeout,
				  now + (uint64_t)tv.tv_sec * 1000000u + (uint64_t)tv.tv_usec + 1000u);
	else
		reactor_timer_disarm(d->r, &d->timeout);
}

static void on_io(void *ud, int fd, int revents, uint64_t now)
{
	struct dns *d = ud;
	ares_socket_t rfd = revents & (W2W_IO_READ | W2W_IO_ERROR) ? fd : ARES_SOCKET_BAD;
	ares_socket_t wfd = revents & W2W_IO_WRITE ? fd : ARES_SOCKET_BAD;

	ares_process_fd(d->ch, rfd, wfd);
	arm_timeout(d, now);
}

static void on_timeout(void *ud, uint64_t now)
{
	struct dns *d = ud;

	if (d->have_ch)
		ares_process_fd(d->ch, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
	arm_timeout(d, now);
}

/* c-ares opens, changes and closes (after 0, 0) its sockets through this. */
static void sock_state(void *data, ares_socket_t fd, int readable, int writable)
{
	struct dns *d = data;
	int ev = (readable ? W2W_IO_READ : 0) | (writable ? W2W_IO_WRITE : 0);

	if (ev)
		/* Without memory for the registration the lookup times out instead. */
		(void)reactor_io_set(d->r, fd, ev, on_io, d);
	else
		reactor_io_del(d->r, fd);
}

static void on_deliver(void *ud, uint64_t now)
{
	struct dns *d = ud;

	while (d->done) {
		struct dns_query *q = d->done;

		d->done = q->next;
		if (!d->done)
			d->done_tail = &d->done;
		if (q->fn)
			q->fn(q->ud, q->err, q->ips, q->n, now);
		free(q);
	}
}

static int map_status(int status)
{
	switch (status) {
	case ARES_ENOTFOUND:
	case ARES_ENODATA:
	case ARES_ENONAME:
		return -ENOENT;
	case ARES_ETIMEOUT:
		return -ETIMEDOUT;
	case ARES_ENOMEM:
		return -ENOMEM;
	default:
		return -EIO;
	}
}

/* Runs inside ares_getaddrinfo (hosts file hits, immediate failures),
 * ares_process_fd or ares_destroy: only records the result. */
static void on_addrinfo(void *arg, int status, int timeouts, struct ares_addrinfo *res)
{
	struct dns_query *q = arg;
	struct dns *d = q->d;

	(void)timeouts;
	q->running = false;
	d->running--;
	if (status == ARES_SUCCESS && res) {
		for (struct ares_addrinfo_node *n = res->nodes; n && q->n < DNS_MAX_ADDRS; n = n->ai_next) {
			struct sock_ip a;

			if (sock_ip_from_sockaddr(&a, n->ai_addr, n->ai_addrlen) < 0)
				continue;
			if (q->family != AF_UNSPEC && a.family != q->family)
				continue; /* a v4-mapped AAAA reads as IPv4: not what dns6 asked for */
			a.port = q->port;
			q->ips[q->n++] = a;
		}
		q->err = q->n ? 0 : -ENOENT;
	} else {
		q->err = map_status(status);
	}
	if (res)
		ares_freeaddrinfo(res);
	if (d->destroying || !q->fn) {
		free(q);
		return;
	}
	q->next = NULL;
	*d->done_tail = q;
	d->done_tail = &q->next;
	/* Due at once: runs from the loop, after the call that got here returned. */
	reactor_timer_arm(d->r, &d->deliver, 0);
}

static void channel_destroy(struct dns *d)
{
	if (!d->have_ch)
		return;
	d->destroying = true;
	ares_destroy(d->ch); /* ends running lookups (on_addrinfo frees them) and closes the sockets */
	d->destroying = false;
	d->have_ch = false;
	reactor_timer_disarm(d->r, &d->timeout);
}

static int channel_make(struct dns *d)
{
	struct ares_options o;
	int mask = ARES_OPT_SOCK_STATE_CB | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES | ARES_OPT_LOOKUPS;
	char lookups[3];
	int r;

	/* Only Win32 needs ares_library_init; on Linux c-ares reports itself
	 * initialised, and calling it would touch process-wide state. */
	if (ares_library_initialized() != ARES_SUCCESS)
		return -EIO;
	memset(&o, 0, sizeof(o));
	o.sock_state_cb = sock_state;
	o.sock_state_cb_data = d;
	o.timeout = (int)(d->cfg.timeout_ms ? d->cfg.timeout_ms : DNS_DEFAULT_TIMEOUT_MS);
	o.tries = (int)(d->cfg.tries ? d->cfg.tries : DNS_DEFAULT_TRIES);
	/* "f"ile (hosts), then "b"ind (DNS). */
	strcpy(lookups, d->cfg.no_hosts_file ? "b" : "fb");
	o.lookups = lookups;
	r = ares_init_options(&d->ch, &o, mask);
	if (r != ARES_SUCCESS)
		return r == ARES_ENOMEM ? -ENOMEM : -EIO;
	if (d->servers && ares_set_servers_ports_csv(d->ch, d->servers) != ARES_SUCCESS) {
		ares_destroy(d->ch);
		return -EIO;
	}
	d->have_ch = true;
	return 0;
}

int dns_new(struct dns **ret, struct reactor *r, const struct dns_config *cfg)
{
	struct dns *d = calloc(1, sizeof(*d));

	if (!d)
		return -ENOMEM;
	d->r = r;
	if (cfg) {
		d->cfg = *cfg;
		if (cfg->servers && !(d->servers = strdup(cfg->servers))) {
			free(d);
			return -ENOMEM;
		}
	}
	d->cfg.servers = NULL;
	d->done_tail = &d->done;
	rtimer_init(&d->timeout, on_timeout, d);
	rtimer_init(&d->deliver, on_deliver, d);
	*ret = d;
	return 0;
}

struct dns *dns_free(struct dns *d)
{
	if (!d)
		return NULL;
	channel_destroy(d);
	while (d->done) {
		struct dns_query *q = d->done;

		d->done = q->next;
		free(q);
	}
	reactor_timer_disarm(d->r, &d->deliver);
	free(d->servers);
	free(d);
	return NULL;
}

int dns_resolve(struct dns *d, const char *host, int family, uint16_t port, uint64_t now, dns_done_fn fn,
		void *ud, struct dns_query **ret)
{
	struct ares_addrinfo_hints hints;
	struct dns_query *q;
	size_t hl = strnlen(host, DNS_HOST_MAX + 1);
	int r;

	if ((family != AF_INET && family != AF_INET6 && family != AF_UNSPEC) || hl == 0 || hl > DNS_HOST_MAX ||
	    !fn)
		return -EINVAL;
	if (d->running >= DNS_MAX_QUERIES)
		return W2W_ELIMIT;
	/* An idle channel is made afresh: it rereads resolv.conf. */
	if (d->have_ch && !d->running)
		channel_destroy(d);
	if (!d->have_ch) {
		r = channel_make(d);
		if (r < 0)
			return r;
	}
	q = calloc(1, sizeof(*q));
	if (!q)
		return -ENOMEM;
	q->d = d;
	q->fn = fn;
	q->ud = ud;
	q->port = port;
	q->family = family;
	q->running = true;
	d->running++;
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = family;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_protocol = IPPROTO_TCP;
	/* c-ares' RFC 6724 sort connects a UDP socket per answer: the first
	 * answer of the family asked for is what we dial anyway. */
	hints.ai_flags = ARES_AI_NOSORT;
	*ret = q;
	/* May finish at once (hosts file, bad name): on_addrinfo then queues the
	 * result for the deliver timer, so fn never runs inside this call. */
	ares_getaddrinfo(d->ch, host, NULL, &hints, on_addrinfo, q);
	arm_timeout(d, now);
	return 0;
}

void dns_cancel(struct dns_query *q)
{
	if (q)
		q->fn = NULL; /* freed by on_addrinfo or on_deliver, whichever holds it */
}

size_t dns_running(const struct dns *d)
{
	return d->running;
}
