/* SPDX-License-Identifier: MIT */
/*
 * A stand-in for wireguard-go's UAPI socket in unit tests: a unix socket in a
 * scratch directory ("<dir>/wgt0.sock") on its own w2w_loop that records each
 * request and answers it with a canned reply. Shared by test_uapi and test_wg.
 */
#ifndef W2W_TESTS_FAKE_UAPI_H
#define W2W_TESTS_FAKE_UAPI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "reactor.h"
#include "w2wesher/loop.h"

struct fake {
	struct w2w_loop *loop;
	int lfd, cfd;
	char dir[64];
	struct buf in, out;
	size_t out_off;
	const char *reply; /* NULL: never answer */
	size_t reply_len;
	bool close_after;
	int requests;
	char last_req[4096];
	reactor_io_fn serve; /* each accepted connection's callback */
};

/* Reactor callbacks (tests that serve differently chain to them). */
void fake_conn(void *ud, int fd, int revents, uint64_t now);
void fake_accept(void *ud, int fd, int revents, uint64_t now);
/* Creates the loop, the directory and the listening socket; serve handles
 * each accepted connection (NULL: fake_conn; a test that answers differently
 * chains to fake_conn). */
void fake_start(struct fake *f, reactor_io_fn serve);
/* Tears everything down and checks that nothing is left registered on the loop. */
void fake_stop(struct fake *f);

#endif
