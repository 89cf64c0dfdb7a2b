/* SPDX-License-Identifier: MIT */
/* See uvreply.h. */
#include "uvreply.h"

#include <stdlib.h>

/* The handles' data belongs to the owner: find r from the handle itself. */
#define from_field(p, field) ((struct uvreply *)(void *)((char *)(p) - offsetof(struct uvreply, field)))

static void on_handle_closed(uv_handle_t *h)
{
	struct uvreply *r = h->type == UV_TIMER ? from_field(h, deadline) : from_field(h, io);

	if (--r->open_handles > 0)
		return;
	free(r->out);
	r->out = NULL;
	r->on_closed(r->ud);
}

void uvreply_close(struct uvreply *r)
{
	if (!uv_is_closing(&r->io.handle))
		uv_close(&r->io.handle, on_handle_closed);
	if (!uv_is_closing((uv_handle_t *)&r->deadline))
		uv_close((uv_handle_t *)&r->deadline, on_handle_closed);
}

static void on_deadline(uv_timer_t *t)
{
	uvreply_close(from_field(t, deadline));
}

void uvreply_init(struct uvreply *r, uv_loop_t *uv, int pipe, uint64_t deadline_ms, char *scratch,
                  size_t scratch_len, void (*on_closed)(void *ud), void *ud)
{
	if (pipe)
		uv_pipe_init(uv, &r->io.pipe, 0);
	else
		uv_tcp_init(uv, &r->io.tcp);
	uv_timer_init(uv, &r->deadline);
	r->io.handle.data = r->deadline.data = ud;
	r->open_handles = 2;
	r->out = NULL;
	r->scratch = scratch;
	r->scratch_len = scratch_len;
	r->on_closed = on_closed;
	r->ud = ud;
	uv_timer_start(&r->deadline, on_deadline, deadline_ms, 0);
}

/*
 * After the answer: shut down our side and read the client's leftovers until
 * it hangs up. Closing with unread bytes queued would make the kernel reset
 * the connection (ECONNRESET instead of EOF at the client, under the answer,
 * for an oversized or unread request); the deadline timer still bounds the wait.
 */
static void on_drain_alloc(uv_handle_t *h, size_t hint, uv_buf_t *b)
{
	struct uvreply *r = from_field(h, io);

	(void)hint;
	*b = uv_buf_init(r->scratch, (unsigned)r->scratch_len);
}

static void on_drain(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
	(void)b;
	if (n < 0)
		uvreply_close(from_field(s, io));
}

static void on_shutdown(uv_shutdown_t *req, int status)
{
	struct uvreply *r = req->data;

	if (status < 0 || uv_is_closing(&r->io.handle) ||
	    uv_read_start(&r->io.stream, on_drain_alloc, on_drain) != 0)
		uvreply_close(r);
}

static void on_written(uv_write_t *w, int status)
{
	struct uvreply *r = w->data;

	free(r->out);
	r->out = NULL;
	if (status < 0 || uv_is_closing(&r->io.handle)) {
		uvreply_close(r);
		return;
	}
	r->shutdown.data = r;
	if (uv_shutdown(&r->shutdown, &r->io.stream, on_shutdown) != 0)
		uvreply_close(r);
}

void uvreply_send(struct uvreply *r, char *out, size_t len)
{
	uv_buf_t b = uv_buf_init(out, (unsigned)len);

	r->out = out;
	r->write.data = r;
	if (uv_write(&r->write, &r->io.stream, &b, 1, on_written) != 0)
		uvreply_close(r); /* out is freed with the last handle */
}
