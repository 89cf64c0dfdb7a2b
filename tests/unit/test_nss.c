/* SPDX-License-Identifier: MIT */
/*
 * The NSS module (tools/nss/nss_w2wesher.c), built into this test with its
 * socket directory in the build tree, against fake daemons on real Unix
 * sockets: answers, buffer rules (ERANGE, alignment), garbage replies,
 * names that must never be sent, hung daemons and the first-socket rule.
 * The real resolver path (glibc, nsswitch.conf) is tests/e2e/test_names.py.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <netdb.h>
#include <nss.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

enum nss_status _nss_w2wesher_gethostbyname4_r(const char *name, struct gaih_addrtuple **pat, char *buffer,
                                               size_t buflen, int *errnop, int *h_errnop, int32_t *ttlp);
enum nss_status _nss_w2wesher_gethostbyname3_r(const char *name, int af, struct hostent *result, char *buffer,
                                               size_t buflen, int *errnop, int *h_errnop, int32_t *ttlp,
                                               char **canonp);
enum nss_status _nss_w2wesher_gethostbyname_r(const char *name, struct hostent *result, char *buffer,
                                              size_t buflen, int *errnop, int *h_errnop);
enum nss_status _nss_w2wesher_gethostbyaddr2_r(const void *addr, socklen_t len, int af, struct hostent *result,
                                               char *buffer, size_t buflen, int *errnop, int *h_errnop,
                                               int32_t *ttlp);

struct fake {
	char path[108];
	const char *reply; /* NULL: read the request and never answer */
	int lfd;
	volatile int stop;
	int nreq;
	char last[512];
	pthread_t th;
};

static void *serve(void *arg)
{
	struct fake *f = arg;
	int held[64], nheld = 0;

	while (!f->stop) {
		struct pollfd p = {f->lfd, POLLIN, 0};
		int c;
		ssize_t n;

		if (poll(&p, 1, 20) <= 0)
			continue;
		c = accept(f->lfd, NULL, NULL);
		if (c < 0)
			continue;
		n = recv(c, f->last, sizeof(f->last) - 1, 0);
		f->last[n > 0 ? n : 0] = 0;
		f->nreq++;
		if (f->reply) {
			if (*f->reply)
				(void)!write(c, f->reply, strlen(f->reply));
			close(c);
		} else if (nheld < 64) {
			held[nheld++] = c;
		} else {
			close(c);
		}
	}
	while (nheld)
		close(held[--nheld]);
	return NULL;
}

static void fake_start(struct fake *f, const char *file, const char *reply)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};

	memset(f, 0, sizeof(*f));
	snprintf(f->path, sizeof(f->path), "%s/%s", W2W_NSS_SOCKET_DIR, file);
	f->reply = reply;
	unlink(f->path);
	strcpy(sa.sun_path, f->path);
	f->lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_true(f->lfd >= 0);
	assert_int_equal(bind(f->lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(f->lfd, 16), 0);
	assert_int_equal(pthread_create(&f->th, NULL, serve, f), 0);
}

static void fake_stop(struct fake *f)
{
	f->stop = 1;
	pthread_join(f->th, NULL);
	close(f->lfd);
	unlink(f->path);
}

static int setup(void **state)
{
	DIR *d;
	struct dirent *de;

	(void)state;
	if (strlen(W2W_NSS_SOCKET_DIR) > 90) {
		fprintf(stderr, "socket directory path too long for sun_path: %s\n", W2W_NSS_SOCKET_DIR);
		return -1;
	}
	mkdir(W2W_NSS_SOCKET_DIR, 0755);
	chmod(W2W_NSS_SOCKET_DIR, 0755);
	d = opendir(W2W_NSS_SOCKET_DIR);
	if (!d)
		return -1;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		/* relative to the open directory: no path buffer to size (and to truncate) */
		unlinkat(dirfd(d), de->d_name, 0);
	}
	closedir(d);
	return 0;
}

static enum nss_status lookup4(const char *name, struct gaih_addrtuple **pat, char *buf, size_t len, int *err,
                               int *herr)
{
	int32_t ttl = -1;
	enum nss_status st = _nss_w2wesher_gethostbyname4_r(name, pat, buf, len, err, herr, &ttl);

	if (st == NSS_STATUS_SUCCESS)
		assert_int_equal(ttl, 0);
	return st;
}

static void test_answer(void **state)
{
	struct fake f;
	char buf[1024], ip[64];
	struct gaih_addrtuple *pat = NULL, mine;
	struct hostent he;
	int err = 0, herr = 0;
	char *canon = NULL;

	(void)state;
	fake_start(&f, "wesh0.sock", "node2.w.w2w fd00::2\n");
	errno = 1234;
	assert_int_equal(lookup4("NODE2.w.w2w.", &pat, buf, sizeof(buf), &err, &herr), NSS_STATUS_SUCCESS);
	assert_int_equal(errno, 1234);
	assert_string_equal(f.last, "resolve NODE2.w.w2w\n");
	assert_non_null(pat);
	assert_null(pat->next);
	assert_string_equal(pat->name, "node2.w.w2w");
	assert_int_equal(pat->family, AF_INET6);
	assert_string_equal(inet_ntop(AF_INET6, pat->addr, ip, sizeof(ip)), "fd00::2");
	/* a caller's tuple is filled in place */
	memset(&mine, 0, sizeof(mine));
	pat = &mine;
	assert_int_equal(lookup4("node2.w.w2w", &pat, buf, sizeof(buf), &err, &herr), NSS_STATUS_SUCCESS);
	assert_ptr_equal(pat, &mine);
	assert_int_equal(mine.family, AF_INET6);
	/* hostent: the right family, and the other family is "no data" */
	assert_int_equal(_nss_w2wesher_gethostbyname3_r("node2.w.w2w", AF_INET6, &he, buf, sizeof(buf), &err, &herr,
	                                                NULL, &canon),
	                 NSS_STATUS_SUCCESS);
	assert_string_equal(he.h_name, "node2.w.w2w");
	assert_ptr_equal(canon, he.h_name);
	assert_null(he.h_aliases[0]);
	assert_int_equal(he.h_length, 16);
	assert_string_equal(inet_ntop(AF_INET6, he.h_addr_list[0], ip, sizeof(ip)), "fd00::2");
	assert_null(he.h_addr_list[1]);
	assert_int_equal(_nss_w2wesher_gethostbyname_r("node2.w.w2w", &he, buf, sizeof(buf), &err, &herr),
	                 NSS_STATUS_NOTFOUND);
	assert_int_equal(herr, NO_DATA);
	fake_stop(&f);
}

static void test_buffers(void **state)
{
	struct fake f;
	struct gaih_addrtuple *pat;
	struct hostent he;
	int err, herr;
	size_t need4 = 0, need3 = 0;

	(void)state;
	fake_start(&f, "wesh0.sock", "n.w.w2w 10.1.2.3\n");
	/* every size up to the one that fits: TRYAGAIN/ERANGE, nothing written
	 * past the (exactly allocated, so ASan-checked) buffer; odd addresses too */
	for (size_t len = 0; len < 200 && !need4; len++) {
		char *b = malloc(len + 1);
		enum nss_status st;

		pat = NULL;
		st = lookup4("n.w.w2w", &pat, b + 1, len, &err, &herr);
		if (st == NSS_STATUS_SUCCESS) {
			need4 = len;
			assert_int_equal(pat->family, AF_INET);
			assert_memory_equal(pat->addr, "\x0a\x01\x02\x03", 4);
		} else {
			assert_int_equal(st, NSS_STATUS_TRYAGAIN);
			assert_int_equal(err, ERANGE);
			assert_int_equal(herr, NETDB_INTERNAL);
		}
		free(b);
	}
	for (size_t len = 0; len < 200 && !need3; len++) {
		char *b = malloc(len + 3);
		enum nss_status st = _nss_w2wesher_gethostbyname_r("n.w.w2w", &he, b + 3, len, &err, &herr);

		if (st == NSS_STATUS_SUCCESS) {
			need3 = len;
			assert_int_equal(he.h_length, 4);
			assert_memory_equal(he.h_addr_list[0], "\x0a\x01\x02\x03", 4);
		} else {
			assert_int_equal(st, NSS_STATUS_TRYAGAIN);
			assert_int_equal(err, ERANGE);
		}
		free(b);
	}
	assert_true(need4 > 0 && need3 > 0);
	fake_stop(&f);
}

static void test_garbage_replies(void **state)
{
	static const char *const replies[] = {
	    "",                                    /* not found */
	    "other.w.w2w fd00::2\n",               /* not the name asked */
	    "n.w.w2w not-an-ip\n",                 /* no address */
	    "n.w.w2w fd00::2\nn.w.w2w fd00::3\n",  /* two lines */
	    "n.w.w2w fd00::2",                     /* no newline */
	    "{\"error\":\"unknown request\"}\n",   /* an older daemon */
	    "n..w.w2w fd00::2\n",                  /* a bad name */
	};
	struct gaih_addrtuple *pat;
	char buf[1024];
	int err, herr;

	(void)state;
	for (size_t i = 0; i < sizeof(replies) / sizeof(replies[0]); i++) {
		struct fake f;

		fake_start(&f, "wesh0.sock", replies[i]);
		pat = NULL;
		assert_int_equal(lookup4("n.w.w2w", &pat, buf, sizeof(buf), &err, &herr), NSS_STATUS_NOTFOUND);
		assert_int_equal(herr, HOST_NOT_FOUND);
		assert_int_equal(f.nreq, 1);
		fake_stop(&f);
	}
	{
		/* a reply that never ends is cut at the module's cap */
		static char big[4096];
		struct fake f;

		memset(big, 'x', sizeof(big) - 1);
		fake_start(&f, "wesh0.sock", big);
		pat = NULL;
		assert_int_equal(lookup4("n.w.w2w", &pat, buf, sizeof(buf), &err, &herr), NSS_STATUS_NOTFOUND);
		fake_stop(&f);
	}
}

static void test_names_never_sent(void **state)
{
	char huge[300], buf[1024];
	const char *names[] = {"node2", "a\nleave.w", "a..b.w", ".w", "a.w..", "-a.w", "a-.w", "a b.w", "\x01.w",
	                       huge, ""};
	struct gaih_addrtuple *pat;
	struct fake f;
	int err, herr;

	(void)state;
	memset(huge, 'a', sizeof(huge) - 1);
	huge[sizeof(huge) - 1] = 0;
	huge[100] = '.';
	fake_start(&f, "wesh0.sock", "n.w.w2w fd00::2\n");
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		pat = NULL;
		assert_int_equal(lookup4(names[i], &pat, buf, sizeof(buf), &err, &herr), NSS_STATUS_NOTFOUND);
	}
	assert_int_equal(f.nreq, 0);
	fake_stop(&f);
}

static void test_daemons(void **state)
{
	struct fake a, b, c;
	struct gaih_addrtuple *pat;
	char buf[1024], ip[64];
	int err, herr;

	(void)state;
	/* none at all */
	pat = NULL;
	assert_int_equal(lookup4("n.w.w2w", &pat, buf, sizeof(buf), &err, &herr), NSS_STATUS_NOTFOUND);
	/* a stale socket (no listener) */
	fake_start(&a, "a.sock", "");
	close(a.lfd);
	a.lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_int_equal(lookup4("n.w.w2w", &pat, buf, sizeof(buf), &err, &herr), NSS_STATUS_NOTFOUND);
	fake_stop(&a);
	/* only a hung daemon: not found once the deadline passes */
	fake_start(&a, "a.sock", NULL);
	assert_int_equal(lookup4("n.w.w2w", &pat, buf, sizeof(buf), &err, &herr), NSS_STATUS_NOTFOUND);
	assert_int_equal(a.nreq, 1);
	/* a hung daemon first in order, then two that answer: the first of those wins */
	fake_start(&b, "b.sock", "n.w.w2w fd00::b\n");
	fake_start(&c, "c.sock", "n.w.w2w fd00::c\n");
	pat = NULL;
	assert_int_equal(lookup4("n.w.w2w", &pat, buf, sizeof(buf), &err, &herr), NSS_STATUS_SUCCESS);
	assert_string_equal(inet_ntop(AF_INET6, pat->addr, ip, sizeof(ip)), "fd00::b");
	fake_stop(&a);
	/* b does not know the name, c does */
	fake_stop(&b);
	fake_start(&b, "b.sock", "");
	pat = NULL;
	assert_int_equal(lookup4("n.w.w2w", &pat, buf, sizeof(buf), &err, &herr), NSS_STATUS_SUCCESS);
	assert_string_equal(inet_ntop(AF_INET6, pat->addr, ip, sizeof(ip)), "fd00::c");
	fake_stop(&b);
	fake_stop(&c);
	/* a world-writable directory is not trusted */
	fake_start(&c, "c.sock", "n.w.w2w fd00::c\n");
	chmod(W2W_NSS_SOCKET_DIR, 0777);
	pat = NULL;
	assert_int_equal(lookup4("n.w.w2w", &pat, buf, sizeof(buf), &err, &herr), NSS_STATUS_NOTFOUND);
	chmod(W2W_NSS_SOCKET_DIR, 0755);
	assert_int_equal(c.nreq, 0);
	fake_stop(&c);
}

/* A daemon's lookup socket X.names.sock is asked instead of its control
 * socket X.sock (that one only when there is no lookup socket), and order
 * follows the daemons (stems), not the file names. */
static void test_lookup_sockets(void **state)
{
	struct fake ctl, names, other, dotted;
	struct gaih_addrtuple *pat;
	char buf[1024], ip[64];
	int err, herr;

	(void)state;
	fake_start(&ctl, "a.sock", "n.w.w2w fd00::1\n");
	fake_start(&names, "a.names.sock", "n.w.w2w fd00::2\n");
	fake_start(&other, "b.sock", "m.w.w2w fd00::3\n");
	pat = NULL;
	assert_int_equal(lookup4("n.w.w2w", &pat, buf, sizeof(buf), &err, &herr), NSS_STATUS_SUCCESS);
	assert_string_equal(inet_ntop(AF_INET6, pat->addr, ip, sizeof(ip)), "fd00::2");
	assert_int_equal(ctl.nreq, 0);
	assert_int_equal(names.nreq, 1);
	assert_string_equal(names.last, "resolve n.w.w2w\n");
	/* a daemon with only its control socket is still asked */
	pat = NULL;
	assert_int_equal(lookup4("m.w.w2w", &pat, buf, sizeof(buf), &err, &herr), NSS_STATUS_SUCCESS);
	assert_string_equal(inet_ntop(AF_INET6, pat->addr, ip, sizeof(ip)), "fd00::3");
	assert_int_equal(ctl.nreq, 0);
	/* stem "a.m" sorts after stem "a" although "a.m.sock" < "a.names.sock" */
	fake_start(&dotted, "a.m.sock", "n.w.w2w fd00::4\n");
	pat = NULL;
	assert_int_equal(lookup4("n.w.w2w", &pat, buf, sizeof(buf), &err, &herr), NSS_STATUS_SUCCESS);
	assert_string_equal(inet_ntop(AF_INET6, pat->addr, ip, sizeof(ip)), "fd00::2");
	fake_stop(&dotted);
	/* a stale lookup socket (a killed daemon's: the file, no listener): the
	 * control socket answers */
	fake_stop(&names);
	{
		struct sockaddr_un sa = {.sun_family = AF_UNIX};
		int fd = socket(AF_UNIX, SOCK_STREAM, 0);

		strcpy(sa.sun_path, names.path);
		assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
		close(fd);
	}
	pat = NULL;
	assert_int_equal(lookup4("n.w.w2w", &pat, buf, sizeof(buf), &err, &herr), NSS_STATUS_SUCCESS);
	assert_string_equal(inet_ntop(AF_INET6, pat->addr, ip, sizeof(ip)), "fd00::1");
	assert_int_equal(ctl.nreq, 1);
	/* without the lookup socket, the control socket answers */
	unlink(names.path);
	pat = NULL;
	assert_int_equal(lookup4("n.w.w2w", &pat, buf, sizeof(buf), &err, &herr), NSS_STATUS_SUCCESS);
	assert_string_equal(inet_ntop(AF_INET6, pat->addr, ip, sizeof(ip)), "fd00::1");
	fake_stop(&ctl);
	fake_stop(&other);
}

static void test_reverse(void **state)
{
	struct fake f;
	struct hostent he;
	uint8_t a6[16], other[16];
	char buf[512];
	int err, herr;
	int32_t ttl = -1;

	(void)state;
	inet_pton(AF_INET6, "fd00::2", a6);
	inet_pton(AF_INET6, "fd00::3", other);
	fake_start(&f, "wesh0.sock", "node2.w.w2w fd00::2\n");
	assert_int_equal(_nss_w2wesher_gethostbyaddr2_r(a6, 16, AF_INET6, &he, buf, sizeof(buf), &err, &herr, &ttl),
	                 NSS_STATUS_SUCCESS);
	assert_string_equal(f.last, "resolve-addr fd00::2\n");
	assert_string_equal(he.h_name, "node2.w.w2w");
	assert_int_equal(ttl, 0);
	assert_memory_equal(he.h_addr_list[0], a6, 16);
	/* an answer for another address is no answer */
	assert_int_equal(_nss_w2wesher_gethostbyaddr2_r(other, 16, AF_INET6, &he, buf, sizeof(buf), &err, &herr,
	                                                NULL),
	                 NSS_STATUS_NOTFOUND);
	assert_int_equal(_nss_w2wesher_gethostbyaddr2_r(a6, 4, AF_INET6, &he, buf, sizeof(buf), &err, &herr, NULL),
	                 NSS_STATUS_UNAVAIL);
	assert_int_equal(_nss_w2wesher_gethostbyaddr2_r(a6, 16, AF_INET6, &he, buf, 8, &err, &herr, NULL),
	                 NSS_STATUS_TRYAGAIN);
	assert_int_equal(err, ERANGE);
	fake_stop(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup(test_answer, setup),
	    cmocka_unit_test_setup(test_buffers, setup),
	    cmocka_unit_test_setup(test_garbage_replies, setup),
	    cmocka_unit_test_setup(test_names_never_sent, setup),
	    cmocka_unit_test_setup(test_daemons, setup),
	    cmocka_unit_test_setup(test_lookup_sockets, setup),
	    cmocka_unit_test_setup(test_reverse, setup),
	};
	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
