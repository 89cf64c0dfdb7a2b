/* SPDX-License-Identifier: MIT */
/*
 * w2wesher admission genkey|pubkey|sign|revoke|publish (docs/cli.md,
 * docs/security.md "Admission mode"): the operator's offline tools, and
 * publishing a revocation through a running daemon's control socket.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <w2wesher/w2wesher.h>

#include "cli.h"
#include "ctlproto.h"

#define KEY_FILE_MAX 256

/* A whole small file (a key or a token), trailing whitespace dropped. */
static int read_small(const char *path, char *buf, size_t cap, bool secret, const struct cli_cmd *self)
{
	int fd = strcmp(path, "-") ? open(path, O_RDONLY | O_CLOEXEC) : STDIN_FILENO;
	struct stat st;
	size_t got = 0;

	if (fd < 0) {
		cli_err(self, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (secret && fd != STDIN_FILENO && fstat(fd, &st) == 0 && (st.st_mode & 0004))
		fprintf(stderr, "w2wesher: admission: warning: %s is readable by every user (chmod 600 it)\n", path);
	for (;;) {
		ssize_t n = read(fd, buf + got, cap - 1 - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			cli_err(self, "%s: %s", path, strerror(errno));
			goto fail;
		}
		if (n == 0)
			break;
		got += (size_t)n;
		if (got == cap - 1) {
			cli_err(self, "%s: too long", path);
			goto fail;
		}
	}
	if (fd != STDIN_FILENO)
		close(fd);
	while (got && isspace((unsigned char)buf[got - 1]))
		got--;
	buf[got] = 0;
	return 0;
fail:
	if (fd != STDIN_FILENO)
		close(fd);
	memset(buf, 0, cap);
	return -1;
}

/* Go-style duration with days: "720h", "30d", "1h30m", "90s". Seconds, -1 if malformed. */
static long long parse_duration(const char *s)
{
	long long total = 0;

	if (!*s)
		return -1;
	while (*s) {
		long long v = 0, mul;

		if (!isdigit((unsigned char)*s))
			return -1;
		while (isdigit((unsigned char)*s)) {
			if (v > 1000000000LL)
				return -1;
			v = v * 10 + (*s++ - '0');
		}
		switch (*s++) {
		case 's': mul = 1; break;
		case 'm': mul = 60; break;
		case 'h': mul = 3600; break;
		case 'd': mul = 86400; break;
		default: return -1;
		}
		total += v * mul;
		if (total > 100LL * 365 * 86400)
			return -1;
	}
	return total;
}

static int emit_text(const struct cli_cmd *self, int r, char *out, size_t cap)
{
	if (r < 0) {
		cli_err(self, "%s", w2w_strerror(r));
		w2w_wipe(out, cap);
		return CLI_FAIL;
	}
	printf("%s\n", out);
	w2w_wipe(out, cap);
	return fflush(stdout) == 0 ? CLI_OK : CLI_FAIL;
}

static int do_genkey(const struct cli_cmd *self, int argc, char **argv)
{
	char key[W2W_ADMISSION_KEY_TEXT_MAX];

	if (argc > 2)
		return cli_usage(self, "genkey takes no argument");
	return emit_text(self, w2w_admission_genkey(key, sizeof(key)), key, sizeof(key));
}

static int do_pubkey(const struct cli_cmd *self, int argc, char **argv)
{
	char in[KEY_FILE_MAX], out[W2W_ADMISSION_KEY_TEXT_MAX];
	int r;

	if (argc > 2)
		return cli_usage(self, "pubkey reads the key on standard input");
	if (read_small("-", in, sizeof(in), true, self) < 0)
		return CLI_FAIL;
	r = w2w_admission_pubkey(out, sizeof(out), in);
	w2w_wipe(in, sizeof(in));
	if (r == W2W_EPARSE) {
		cli_err(self, "standard input is not an admission key (w2wesher admission genkey makes one)");
		return CLI_FAIL;
	}
	return emit_text(self, r, out, sizeof(out));
}

/* sign and revoke: --key FILE --peer ID [--name NAME] [--expires DURATION] */
static int do_sign(const struct cli_cmd *self, int argc, char **argv, bool revoke)
{
	static const struct option opts[] = {
		{"key", required_argument, NULL, 'k'},     {"peer", required_argument, NULL, 'p'},
		{"name", required_argument, NULL, 'n'},    {"expires", required_argument, NULL, 'e'},
		{NULL, 0, NULL, 0},
	};
	const char *keyf = NULL, *peer = NULL, *name = NULL, *exp = NULL;
	char key[KEY_FILE_MAX], out[W2W_ADMISSION_TEXT_MAX];
	long long dur = 0;
	int64_t now = (int64_t)time(NULL);
	int c, r;

	optind = 2;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'k': keyf = optarg; break;
		case 'p': peer = optarg; break;
		case 'n': name = optarg; break;
		case 'e': exp = optarg; break;
		default: return cli_usage(self, "unknown option");
		}
	}
	if (optind < argc)
		return cli_usage(self, "unexpected operand '%s'", argv[optind]);
	if (!keyf || !peer)
		return cli_usage(self, "%s needs --key FILE and --peer PEERID", revoke ? "revoke" : "sign");
	if (revoke && (name || exp))
		return cli_usage(self, "revoke takes only --key and --peer");
	if (exp && (dur = parse_duration(exp)) <= 0)
		return cli_usage(self, "--expires '%s' is not a duration (e.g. 720h, 30d, 1h30m)", exp);
	if (read_small(keyf, key, sizeof(key), true, self) < 0)
		return CLI_FAIL;
	/* not-before: a little in the past, so a member whose clock lags still
	 * accepts a token made right now (the check allows ADM_SKEW too) */
	r = revoke ? w2w_admission_revoke(out, sizeof(out), key, peer, now)
	           : w2w_admission_sign(out, sizeof(out), key, peer, name, now, exp ? now + dur : 0);
	w2w_wipe(key, sizeof(key));
	if (r == W2W_EPARSE) {
		cli_err(self, "bad --key file, --peer ID or --name (printable ASCII, at most 64 bytes)");
		return CLI_FAIL;
	}
	return emit_text(self, r, out, sizeof(out));
}

static int do_publish(const struct cli_cmd *self, int argc, char **argv)
{
	static const struct option opts[] = {
		{"socket", required_argument, NULL, 's'}, {"config", required_argument, NULL, 'c'},
		{"interface", required_argument, NULL, 'i'}, {NULL, 0, NULL, 0},
	};
	const char *sock = NULL, *config = NULL, *iface = "wesh0";
	char path[512], text[W2W_ADMISSION_TEXT_MAX + 8], line[W2W_ADMISSION_TEXT_MAX + 32], peer[128];
	int kind = 0, c;
	int64_t nb, ex;

	optind = 2;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 's': sock = optarg; break;
		case 'c': config = optarg; break;
		case 'i': iface = optarg; break;
		default: return cli_usage(self, "unknown option");
		}
	}
	if (argc - optind != 1)
		return cli_usage(self, "publish needs one FILE (a revocation; - for standard input)");
	if (read_small(argv[optind], text, sizeof(text), false, self) < 0)
		return CLI_FAIL;
	if (w2w_admission_inspect(text, &kind, peer, sizeof(peer), &nb, &ex) < 0 || kind != 2) {
		cli_err(self, "%s: not a revocation (w2wesher admission revoke makes one)", argv[optind]);
		return CLI_FAIL;
	}
	c = cli_ctl_socket(self, sock, config, iface, path, sizeof(path), &sock);
	if (c != CLI_OK)
		return c;
	snprintf(line, sizeof(line), "admission-publish %s", text);
	return ctl_request(sock, line) ? CLI_FAIL : CLI_OK;
}

static int run_admission(const struct cli_cmd *self, int argc, char **argv)
{
	const char *verb = argc > 1 ? argv[1] : "";

	if (cli_help_requested(self, argc, argv))
		return CLI_OK;
	if (!strcmp(verb, "genkey"))
		return do_genkey(self, argc, argv);
	if (!strcmp(verb, "pubkey"))
		return do_pubkey(self, argc, argv);
	if (!strcmp(verb, "sign"))
		return do_sign(self, argc, argv, false);
	if (!strcmp(verb, "revoke"))
		return do_sign(self, argc, argv, true);
	if (!strcmp(verb, "publish"))
		return do_publish(self, argc, argv);
	return cli_usage(self, "expected genkey, pubkey, sign, revoke or publish");
}

CLI_COMMAND(cmd_admission) = {
	"admission",
	"genkey | pubkey | sign --key FILE --peer PEERID [--name NAME] [--expires DURATION] |\n"
	"       revoke --key FILE --peer PEERID | publish [--socket PATH | --config FILE | --interface IFACE] FILE",
	"operator keys, admission tokens and revocations (admission mode)",
	"In admission mode ([P2P] AdmissionKey set) a node accepts only peers presenting a\n"
	"token signed by an operator key (docs/security.md \"Admission mode\").\n\n"
	"  genkey             print a new operator private key (base64; keep it offline, 0600)\n"
	"  pubkey             read an operator private key on standard input, print its public\n"
	"                     key: the value of [P2P] AdmissionKey\n"
	"  sign               print a token admitting PEERID (the value of its [P2P] AdmissionToken)\n"
	"    --key FILE       the operator private key file\n"
	"    --peer PEERID    the node's peer ID (w2wesher identity, or status on that node)\n"
	"    --name NAME      informative name carried in the token\n"
	"    --expires DUR    validity from now (720h, 30d, 1h30m); default: no expiry\n"
	"  revoke             print a revocation of PEERID (--key, --peer)\n"
	"  publish FILE       hand a revocation to the running daemon, which enforces it and\n"
	"                     gossips it to the mesh (control socket options as for status)\n",
	run_admission,
};
