/* SPDX-License-Identifier: MIT */
/*
 * One client connection of a libuv server that answers once and hangs up:
 * w2wesherd's control and lookup sockets (a pipe) and the metrics endpoint
 * (TCP, dops.c). The life cycle they share:
 *   accept -> (owner reads the request) -> uvreply_send(answer) -> shutdown
 *   -> drain the client's leftovers until it hangs up -> close both handles
 *   (the stream and the deadline timer) -> on_closed(ud) once both close
 *   callbacks have run, never while a handle still points into the client.
 * The deadline timer bounds the whole of it, from accept to the last byte.
 */
#ifndef W2W_TOOLS_UVREPLY_H
#define W2W_TOOLS_UVREPLY_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

struct uvreply {
	union {
		uv_handle_t handle;
		uv_stream_t stream;
		uv_tcp_t tcp;
		uv_pipe_t pipe;
	} io;
	uv_timer_t deadline;
	uv_shutdown_t shutdown;
	uv_write_t write;
	char *out;     /* the answer being written (owned, freed once written) */
	char *scratch; /* where the leftovers go: the request buffer, done with */
	size_t scratch_len;
	int open_handles;
	void (*on_closed)(void *ud);
	void *ud;
};

/*
 * Initialises r's stream (a pipe with pipe != 0, else TCP) and its deadline
 * timer, started now for deadline_ms. Both handles' data is ud (the owner's
 * read callbacks find their client there); on_closed(ud) runs once both
 * handles are closed: the owner unlinks and frees ud there (r with it).
 * Accept into uvreply_stream(r) afterwards.
 */
void uvreply_init(struct uvreply *r, uv_loop_t *uv, int pipe, uint64_t deadline_ms, char *scratch,
                  size_t scratch_len, void (*on_closed)(void *ud), void *ud);
static inline uv_stream_t *uvreply_stream(struct uvreply *r)
{
	return &r->io.stream;
}
/* Writes the len bytes of out (malloc'd; r owns it from now, also on
 * failure), then shuts down, drains and closes. Call once per client. */
void uvreply_send(struct uvreply *r, char *out, size_t len);
/* Closes both handles (idempotent); on_closed follows from the loop. */
void uvreply_close(struct uvreply *r);

#endif
