/* SPDX-License-Identifier: MIT */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <cmocka.h>

#include "fake_uapi.h"
#include "loop_internal.h"

void fake_conn(void *ud, int fd, int revents, uint64_t now)
{
	struct fake *f = ud;
	struct reactor *r = loop_reactor(f->loop);

	if (revents & W2W_IO_READ) {
		char tmp[4096];
		ssize_t n = read(fd, tmp, sizeof(tmp));

		if (n <= 0) {
			reactor_io_del(r, fd);
			close(fd);
			f->cfd = -1;
			return;
		}
		assert_int_equal(buf_append(&f->in, tmp, (size_t)n), 0);
		if (f->in.len >= 2 && memcmp(f->in.data + f->in.len - 2, "\n\n", 2) == 0) {
			size_t c = f->in.len < sizeof(f->last_req) - 1 ? f->in.len : sizeof(f->last_req) - 1;

			memcpy(f->last_req, f->in.data, c);
			f->last_req[c] = '\0';
			buf_reset(&f->in);
			f->requests++;
			if (f->reply) {
				buf_reset(&f->out);
				assert_int_equal(buf_append(&f->out, f->reply, f->reply_len), 0);
				f->out_off = 0;
				reactor_io_events(r, fd, W2W_IO_WRITE);
			}
		}
	}
	if (revents & W2W_IO_WRITE) {
		ssize_t n = write(fd, f->out.data + f->out_off, f->out.len - f->out_off);

		if (n > 0)
			f->out_off += (size_t)n;
		if (f->out_off == f->out.len) {
			if (f->close_after) {
				reactor_io_del(r, fd);
				close(fd);
				f->cfd = -1;
			} else {
				reactor_io_events(r, fd, W2W_IO_READ);
			}
		}
	}
}

void fake_accept(void *ud, int fd, int revents, uint64_t now)
{
	struct fake *f = ud;
	int c = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

	if (c < 0)
		return;
	if (f->cfd >= 0) {
		reactor_io_del(loop_reactor(f->loop), f->cfd);
		close(f->cfd);
	}
	f->cfd = c;
	buf_reset(&f->in);
	reactor_io_set(loop_reactor(f->loop), c, W2W_IO_READ, f->serve, f);
}

void fake_start(struct fake *f, reactor_io_fn serve)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};

	memset(f, 0, sizeof(*f));
	f->cfd = -1;
	f->serve = serve ? serve : fake_conn;
	assert_int_equal(w2w_loop_new(&f->loop, NULL), 0);
	snprintf(f->dir, sizeof(f->dir), "/tmp/w2w-uapi-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/wgt0.sock", f->dir);
	f->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	assert_true(f->lfd >= 0);
	assert_int_equal(bind(f->lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(f->lfd, 8), 0);
	assert_int_equal(reactor_io_set(loop_reactor(f->loop), f->lfd, W2W_IO_READ, fake_accept, f), 0);
	buf_init(&f->in, 1 << 20);
	buf_init(&f->out, 0);
}

void fake_stop(struct fake *f)
{
	char p[128];

	if (f->cfd >= 0) {
		reactor_io_del(loop_reactor(f->loop), f->cfd);
		close(f->cfd);
	}
	reactor_io_del(loop_reactor(f->loop), f->lfd);
	close(f->lfd);
	snprintf(p, sizeof(p), "%s/wgt0.sock", f->dir);
	unlink(p);
	rmdir(f->dir);
	buf_free(&f->in);
	buf_free(&f->out);
	/* the backend left nothing registered */
	assert_int_equal(w2w_loop_get_watches(f->loop, NULL, 0), 0);
	assert_int_equal(w2w_loop_next_deadline(f->loop), -1);
	w2w_loop_free(f->loop);
}
