/* SPDX-License-Identifier: MIT */
/* Key subcommands: genkey, pubkey, genpsk, identity. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <w2wesher/w2wesher.h>

#include "cli.h"

#define IDENTITY_FILE_MAX 100 /* the legacy 100-byte PrivateKey form, the longest accepted */

/* Commands without options accept only --help. */
static int no_args(const struct cli_cmd *self, int argc, char **argv)
{
	if (argc > 1)
		return cli_usage(self, "unexpected argument '%s'", argv[1]);
	return CLI_OK;
}

static int run_genkey(const struct cli_cmd *self, int argc, char **argv)
{
	char key[W2W_WG_KEY_TEXT_MAX];
	int rc;

	if (cli_help_requested(self, argc, argv))
		return CLI_OK;
	if ((rc = no_args(self, argc, argv)) != CLI_OK)
		return rc;
	rc = w2w_wg_genkey(key, sizeof(key));
	if (rc < 0) {
		cli_err(self, "%s", w2w_strerror(rc));
		return CLI_FAIL;
	}
	printf("%s\n", key);
	w2w_wipe(key, sizeof(key));
	return fflush(stdout) == 0 ? CLI_OK : CLI_FAIL;
}

CLI_COMMAND(cmd_genkey) = {
    .name = "genkey",
    .args = "",
    .summary = "print a new WireGuard private key (base64), like `wg genkey`",
    .help = "Writes a random Curve25519 private key, clamped as wireguard-tools does, as one line of\n"
            "base64 on standard output. Keep it secret: `umask 077` before redirecting it to a file.\n",
    .run = run_genkey,
};

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

static int run_pubkey(const struct cli_cmd *self, int argc, char **argv)
{
	char in[256], out[W2W_WG_KEY_TEXT_MAX];
	long n;
	size_t len;
	int rc = CLI_FAIL;

	if (cli_help_requested(self, argc, argv))
		return CLI_OK;
	if ((rc = no_args(self, argc, argv)) != CLI_OK)
		return rc;
	rc = CLI_FAIL;
	n = cli_read_stdin(in, sizeof(in));
	if (n < 0) {
		cli_err(self, "key is not the correct length or format");
		goto out;
	}
	/* wg pubkey: the key first, then only whitespace (or NUL bytes). */
	len = (size_t)n;
	while (len && (is_space(in[len - 1]) || !in[len - 1]))
		len--;
	if (len >= sizeof(in))
		len = 0; /* too long to be a key: fails below */
	in[len] = 0;
	if (w2w_wg_pubkey(out, sizeof(out), in) < 0) {
		cli_err(self, "key is not the correct length or format");
		goto out;
	}
	printf("%s\n", out);
	rc = fflush(stdout) == 0 ? CLI_OK : CLI_FAIL;
out:
	w2w_wipe(in, sizeof(in));
	return rc;
}

CLI_COMMAND(cmd_pubkey) = {
    .name = "pubkey",
    .args = "< private-key",
    .summary = "read a WireGuard private key on stdin, print its public key, like `wg pubkey`",
    .help = "Reads a base64 private key (44 characters, trailing whitespace allowed) on standard input\n"
            "and writes the matching public key in base64 on standard output:\n"
            "    w2wesher genkey | tee privatekey | w2wesher pubkey > publickey\n",
    .run = run_pubkey,
};

static int write_new_file(const char *path, const unsigned char *p, size_t n);

static int run_genpsk(const struct cli_cmd *self, int argc, char **argv)
{
	char text[W2W_SWARM_KEY_TEXT_MAX];
	int rc;

	if (cli_help_requested(self, argc, argv))
		return CLI_OK;
	if (argc > 2)
		return cli_usage(self, "unexpected argument '%s'", argv[2]);
	if (argc == 2 && argv[1][0] == '-')
		return cli_usage(self, "unknown option '%s'", argv[1]);
	rc = w2w_swarm_key_generate(text, sizeof(text));
	if (rc < 0) {
		cli_err(self, "%s", w2w_strerror(rc));
		return CLI_FAIL;
	}
	if (argc == 2) {
		/* Mode 0600 whatever the umask; an existing file is never overwritten. */
		int r = write_new_file(argv[1], (const unsigned char *)text, (size_t)rc);

		w2w_wipe(text, sizeof(text));
		if (r < 0) {
			cli_err(self, "%s: %s", argv[1], r == -EEXIST ? "exists; not overwritten" : w2w_strerror(r));
			return CLI_FAIL;
		}
		return CLI_OK;
	}
	fwrite(text, 1, (size_t)rc, stdout);
	w2w_wipe(text, sizeof(text));
	return fflush(stdout) == 0 ? CLI_OK : CLI_FAIL;
}

CLI_COMMAND(cmd_genpsk) = {
    .name = "genpsk",
    .args = "[FILE]",
    .summary = "write a new private-network key as a swarm.key file",
    .help = "Makes a random 32-byte PSK in the libp2p swarm.key format (/key/swarm/psk/1.0.0/,\n"
            "/base16/, 64 hex digits), readable by go-libp2p, js-libp2p and [P2P] PSKFile.\n"
            "With FILE: creates FILE with mode 0600 (an existing FILE is never overwritten):\n"
            "    w2wesher genpsk /etc/w2wesher/swarm.key\n"
            "Without: prints it (a shell redirection creates the file with the umask's mode,\n"
            "usually 0644, which the daemon refuses; use FILE or `umask 077` first).\n",
    .run = run_genpsk,
};

/* Reads a key file of at most cap bytes; -errno or the length. */
static long read_file(const char *path, unsigned char *buf, size_t cap)
{
	size_t got = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	for (;;) {
		ssize_t n = read(fd, buf + got, cap - got);

		if (n < 0) {
			n = -errno;
			close(fd);
			return n;
		}
		got += (size_t)n;
		if (n == 0 || got == cap)
			break;
	}
	close(fd);
	return got == cap ? -EFBIG : (long)got;
}

/* Creates path with mode 0600; fails if it exists (never overwrites a key). */
static int write_new_file(const char *path, const unsigned char *p, size_t n)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	int rc = 0;

	if (fd < 0)
		return -errno;
	if (fchmod(fd, 0600) < 0 || write(fd, p, n) != (ssize_t)n || fsync(fd) < 0)
		rc = errno ? -errno : -EIO;
	if (close(fd) < 0 && !rc)
		rc = -errno;
	if (rc)
		unlink(path);
	return rc;
}

static int run_identity(const struct cli_cmd *self, int argc, char **argv)
{
	/* The file holds the raw protobuf (as go-libp2p and js-libp2p write it); the
	 * API takes its base64. One byte more than the longest form detects longer files. */
	unsigned char pb[IDENTITY_FILE_MAX + 1];
	char id[W2W_PEER_ID_TEXT_MAX], b64[W2W_IDENTITY_TEXT_MAX];
	const char *path = NULL;
	long n;
	int rc = CLI_FAIL, r;

	if (cli_help_requested(self, argc, argv))
		return CLI_OK;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--key") && i + 1 < argc)
			path = argv[++i];
		else if (!strncmp(argv[i], "--key=", 6))
			path = argv[i] + 6;
		else
			return cli_usage(self, "unexpected argument '%s'", argv[i]);
	}
	if (!path) {
		r = w2w_identity_generate(b64, sizeof(b64));
		if (r < 0 || w2w_identity_peer_id(id, sizeof(id), b64) < 0) {
			cli_err(self, "cannot generate an identity");
			goto out;
		}
		printf("%s\n%s\n", b64, id);
		rc = CLI_OK;
		goto out;
	}
	n = read_file(path, pb, sizeof(pb));
	if (n == -ENOENT) {
		r = w2w_identity_generate(b64, sizeof(b64));
		if (r >= 0)
			r = w2w_identity_peer_id(id, sizeof(id), b64);
		if (r >= 0)
			r = w2w_base64_decode(pb, sizeof(pb), b64);
		if (r < 0) {
			cli_err(self, "cannot generate an identity");
			goto out;
		}
		r = write_new_file(path, pb, (size_t)r);
		if (r < 0) {
			cli_err(self, "%s: %s", path, w2w_strerror(r));
			goto out;
		}
		fprintf(stderr, "w2wesher: identity: created %s\n", path);
	} else if (n < 0) {
		cli_err(self, "%s: %s", path,
		        n == -EFBIG ? "too large for a key file" : w2w_strerror((int)n));
		goto out;
	} else if (n > IDENTITY_FILE_MAX || w2w_base64_encode(b64, sizeof(b64), pb, (size_t)n) < 0 ||
		   w2w_identity_peer_id(id, sizeof(id), b64) < 0) {
		cli_err(self, "%s: not a libp2p Ed25519 private key (the PrivateKey protobuf, 68 bytes)",
		        path);
		goto out;
	}
	printf("%s\n", id);
	rc = CLI_OK;
out:
	w2w_wipe(pb, sizeof(pb));
	w2w_wipe(b64, sizeof(b64));
	if (rc == CLI_OK && fflush(stdout) != 0)
		rc = CLI_FAIL;
	return rc;
}

CLI_COMMAND(cmd_identity) = {
    .name = "identity",
    .args = "[--key FILE]",
    .summary = "create or read a libp2p Ed25519 identity and print its peer ID",
    .help = "With --key FILE: if FILE exists it must hold a libp2p PrivateKey protobuf (the raw\n"
            "68 bytes go-libp2p and js-libp2p write); its peer ID is printed. If FILE does not\n"
            "exist, a new identity is written to it (mode 0600) and its peer ID printed.\n"
            "Without --key: a new identity is printed as two lines, the base64 protobuf (the\n"
            "value of [P2P] PrivateKey in a config file) and then the peer ID.\n",
    .run = run_identity,
};
