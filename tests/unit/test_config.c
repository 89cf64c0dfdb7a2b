/* SPDX-License-Identifier: MIT */
/*
 * Configuration: Go w2wesher files, defaults, errors with FILE:LINE, secret
 * write-back (kept lines, 0600, atomic, never on invalid files), environment
 * precedence, setters and the redacted dump.
 *
 * Independent expected values: the Ed25519 key and peer ID are the libp2p
 * specs' peer-ids.md test key (peer ID as printed by js-libp2p); the
 * WireGuard public key was computed by `wg pubkey` from wireguard-tools.
 */
#include <dirent.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* cmocka needs the headers above first. */
#include <cmocka.h>

#include "w2wesher/w2wesher.h"

#include "atomicfile.h"
#include "config.h"
#include "buf.h"

#define SPEC_KEY_B64                                                                                         \
	"CAESQH4IMGF8Sn3oOSXfsmlFVrEpNsR3oOH+suFI7J2mD+59HtHo+uLEoUS4vo/UtHvz07NLhxw8rPYBDw5C1HT84n4="
#define SPEC_PEER_ID "12D3KooWBtg3aaRMjxwedh83aGiUkwSxDwUZkzuJcfaqUmo7R3pq"
#define WG_PRIV "dwdtCnMYpX08FsFyUbJmRd9ML4frwJkqsbbn+qLlOyo="
#define WG_PUB "sre8SXZ9m51arBhHMxCxMCz+ZUbs3aElheX1F01S8iY="
#define PSK_B64 "c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0MTI="

/* As the Go w2wesher writes it (go-ini ReflectFrom + WriteTo, pretty format). */
static const char go_ini[] = "[P2P]\n"
                             "PSK              = " PSK_B64 "\n"
                             "PrivateKey       = " SPEC_KEY_B64 "\n"
                             "Bootstrap        = /ip4/192.0.2.1/tcp/10042/p2p/" SPEC_PEER_ID "\n"
                             "ListenAddr       = /ip4/0.0.0.0/udp/10042\n"
                             "AnnounceInterval = 1m0s\n"
                             "\n"
                             "[Wireguard]\n"
                             "Interface           = wesh0\n"
                             "PrivateKey          = " WG_PRIV "\n"
                             "ListenPort          = 10043\n"
                             "NetworkRange        = fd6d:142e:65e7:4cc1::/64\n"
                             "NodeName            = node1\n"
                             "PersistentKeepalive = 1m0s\n"
                             "\n";

static struct w2w_config *cfg_new(void)
{
	struct w2w_config *c = NULL;

	assert_int_equal(w2w_config_new(&c), 0);
	assert_non_null(c);
	return c;
}

/* The dump is allocated (w2w_free); copied here so tests can keep using it. */
static void dump_into(const struct w2w_config *c, char *out, size_t cap)
{
	char *text = NULL;
	int n = w2w_config_dump(c, &text);

	assert_true(n > 0);
	assert_non_null(text);
	assert_int_equal(strlen(text), (size_t)n);
	assert_true((size_t)n < cap);
	memcpy(out, text, (size_t)n + 1);
	w2w_free(text);
}

static char dir[256];
static char path[300];

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "%s/w2w-config-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (!mkdtemp(dir))
		return -1;
	snprintf(path, sizeof(path), "%s/w2wesher.ini", dir);
	return 0;
}

static int teardown(void **state)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char p[600];

	(void)state;
	while (d && (e = readdir(d)))
		if (e->d_name[0] != '.') {
			snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
			unlink(p);
		}
	if (d)
		closedir(d);
	return rmdir(dir);
}

static void write_file(const char *p, const char *text, mode_t mode)
{
	FILE *f = fopen(p, "w");

	assert_non_null(f);
	assert_int_equal(fwrite(text, 1, strlen(text), f), strlen(text));
	assert_int_equal(fclose(f), 0);
	assert_int_equal(chmod(p, mode), 0);
}

static char *read_all(const char *p)
{
	static char buf[65536];
	FILE *f = fopen(p, "r");
	size_t n;

	assert_non_null(f);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	return buf;
}

static size_t count_files(void)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	size_t n = 0;

	assert_non_null(d);
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

static void test_go_file(void **state)
{
	struct w2w_config *c = cfg_new();
	char id[W2W_PEER_ID_TEXT_MAX], pub[W2W_WG_KEY_TEXT_MAX], dump[8192];
	struct stat before, after;

	(void)state;
	write_file(path, go_ini, 0600);
	assert_int_equal(stat(path, &before), 0);
	assert_int_equal(w2w_config_load(c, path, W2W_CONFIG_GENERATE), 0);
	assert_int_equal(w2w_config_peer_id(c, id, sizeof(id)), strlen(SPEC_PEER_ID));
	assert_string_equal(id, SPEC_PEER_ID);
	assert_int_equal(w2w_config_wg_public_key(c, pub, sizeof(pub)), 44);
	assert_string_equal(pub, WG_PUB);
	assert_string_equal(w2w_config_interface(c), "wesh0");
	assert_int_equal(w2w_config_listen_port(c), 10043);
	assert_string_equal(w2w_config_node_name(c), "node1");
	/* The Go default /udp/ listen address never worked; it becomes TCP. */
	assert_string_equal(w2w_config_listen_addr(c), "/ip4/0.0.0.0/tcp/10042");
	assert_int_equal(w2w_config_bootstrap_count(c), 1);
	assert_string_equal(w2w_config_bootstrap(c, 0), "/ip4/192.0.2.1/tcp/10042/p2p/" SPEC_PEER_ID);
	assert_null(w2w_config_bootstrap(c, 1));
	/* Every secret present: never rewritten (same inode, same bytes). */
	assert_int_equal(stat(path, &after), 0);
	assert_int_equal(before.st_ino, after.st_ino);
	assert_string_equal(read_all(path), go_ini);

	dump_into(c, dump, sizeof(dump));
	assert_null(strstr(dump, PSK_B64));
	assert_null(strstr(dump, SPEC_KEY_B64));
	assert_null(strstr(dump, WG_PRIV));
	assert_null(strstr(dump, "CAESQ"));
	assert_non_null(strstr(dump, "PSK = <redacted>"));
	assert_non_null(strstr(dump, "PersistentKeepalive = 1m0s"));
	assert_non_null(strstr(dump, "ListenPort = 10043"));
	w2w_config_free(c);
}

static void test_defaults(void **state)
{
	struct w2w_config *c = cfg_new();
	char dump[8192], host[256];

	(void)state;
	write_file(path, "# nothing\n", 0644);
	assert_int_equal(w2w_config_load(c, path, 0), 0);
	assert_string_equal(w2w_config_interface(c), "wesh0");
	assert_int_equal(w2w_config_listen_port(c), 10042);
	assert_string_equal(w2w_config_listen_addr(c), "/ip4/0.0.0.0/tcp/10042");
	assert_int_equal(w2w_config_mtu(c), 1420);
	assert_int_equal(w2w_config_backend(c), W2W_BACKEND_AUTO);
	assert_int_equal(w2w_config_log_level(c), 6);
	if (geteuid() == 0) { /* other users: XDG paths (docs/configuration.md "Directories") */
		assert_string_equal(w2w_config_state_dir(c), "/var/lib/w2wesher/wesh0");
		assert_string_equal(w2w_config_control_socket(c), "/run/w2wesher/wesh0.sock");
	}
	assert_int_equal(gethostname(host, sizeof(host)), 0);
	assert_string_equal(w2w_config_node_name(c), host);
	dump_into(c, dump, sizeof(dump));
	assert_non_null(strstr(dump, "NetworkRange = fd6d:142e:65e7:4cc1::/64"));
	assert_non_null(strstr(dump, "AnnounceInterval = 1m0s"));
	assert_non_null(strstr(dump, "PeerExpiry = 3m30s"));
	/* announce on change + a rare refresh; no keepalive (docs/mesh.md "Liveness") */
	assert_non_null(strstr(dump, "RefreshInterval = 1h0m0s"));
	assert_non_null(strstr(dump, "PersistentKeepalive = 0s"));
	/* No secrets, and load without GENERATE does not invent them. */
	assert_int_equal(w2w_config_peer_id(c, host, sizeof(host)), W2W_ESTATE);
	assert_int_equal(w2w_config_wg_public_key(c, host, sizeof(host)), W2W_ESTATE);
	assert_string_equal(read_all(path), "# nothing\n");
	w2w_config_free(c);
}

static void test_values(void **state)
{
	struct w2w_config *c = cfg_new();
	char dump[8192];

	(void)state;
	write_file(path,
	           "[P2P]\n"
	           "AnnounceInterval = 1h30m\n"
	           "Bootstrap = /ip6/2001:db8::1/tcp/4001/p2p/" SPEC_PEER_ID
	           " , /dns4/example.com/tcp/1/p2p/" SPEC_PEER_ID ",\n"
	           "[Wireguard]\n"
	           "PersistentKeepalive = -1\n"
	           "NetworkRange = 10.42.0.0/16\n"
	           "Address = 10.42.7.9\n"
	           "MTU = 1380\n"
	           "Backend = Userspace\n"
	           "Interface = wg-mesh\n"
	           "[Node]\n"
	           "LogLevel = DEBUG\n"
	           "PeerExpiry = 4h\n"
	           "StateDir = /srv/w2w\n",
	           0600);
	assert_int_equal(w2w_config_load(c, path, 0), 0);
	assert_int_equal(w2w_config_bootstrap_count(c), 2);
	assert_string_equal(w2w_config_bootstrap(c, 1), "/dns4/example.com/tcp/1/p2p/" SPEC_PEER_ID);
	assert_int_equal(w2w_config_mtu(c), 1380);
	assert_int_equal(w2w_config_backend(c), W2W_BACKEND_USERSPACE);
	assert_int_equal(w2w_config_log_level(c), 7);
	assert_string_equal(w2w_config_state_dir(c), "/srv/w2w");
	if (geteuid() == 0)
		assert_string_equal(w2w_config_control_socket(c), "/run/w2wesher/wg-mesh.sock");
	dump_into(c, dump, sizeof(dump));
	assert_non_null(strstr(dump, "AnnounceInterval = 1h30m0s"));
	assert_non_null(strstr(dump, "PersistentKeepalive = -1"));
	assert_non_null(strstr(dump, "Address = 10.42.7.9"));
	assert_non_null(strstr(dump, "PeerExpiry = 4h0m0s"));
	assert_non_null(strstr(dump, "; file line 8"));
	w2w_config_free(c);
}

struct bad {
	const char *text;
	unsigned line;
	const char *frag;
};

static void test_errors(void **state)
{
	static const struct bad cases[] = {
	    {"[P2P]\nPsk = x\n", 2, "did you mean 'PSK'"},
	    {"[P2P]\nFoo = 1\n", 2, "unknown key 'Foo' in [P2P]"},
	    {"[p2p]\n", 1, "unknown section [p2p]"},
	    {"[P2P]\n\nRelay = sometimes\n", 3, "[P2P] Relay: 'sometimes' is not true or false"},
	    {"PSK = 1\n", 1, "outside any section"},
	    {"[P2P]\nPSK = not*base64\n", 2, "not valid base64"},
	    {"[P2P]\nPSK = c2hvcnQ=\n", 2, "a PSK is 32 bytes; this is 5"},
	    {"[P2P]\nPrivateKey = " PSK_B64 "\n", 2, "not a libp2p Ed25519 PrivateKey"},
	    {"[P2P]\nBootstrap = /ip4/1.2.3.4/tcp/1\n", 2, "no /p2p/"},
	    {"[P2P]\nBootstrap = hello\n", 2, "not a multiaddr"},
	    {"[P2P]\nListenAddr = /dns4/x/tcp/1\n", 2, "ListenAddr"},
	    {"[P2P]\nAnnounceInterval = 60\n", 2, "no unit"},
	    {"[P2P]\nAnnounceInterval = 1y\n", 2, "unknown unit"},
	    {"[P2P]\nAnnounceInterval = 500ms\n", 2, "out of range"},
	    {"[Node]\nRefreshInterval = 500ms\n", 2, "out of range"},
	    {"[Node]\nRefreshInterval = 25h\n", 2, "out of range"},
	    {"\n[Wireguard]\nListenPort = 65536\n", 3, "out of range"},
	    {"[Wireguard]\nListenPort = 12ab\n", 2, "not a port"},
	    {"[Wireguard]\nNetworkRange = fd6d:142e:65e7:4cc1::1/64\n", 2,
	     "host bits are set (the network is fd6d:142e:65e7:4cc1::/64)"},
	    {"[Wireguard]\nNetworkRange = 10.0.0.0/31\n", 2, "out of range"},
	    {"[Wireguard]\nNetworkRange = banana\n", 2, "not a network prefix"},
	    {"[Wireguard]\nPrivateKey = abc\n", 2, "not a WireGuard key"},
	    {"[Wireguard]\nInterface = averyveryverylongname\n", 2, "interface name"},
	    {"[Wireguard]\nNodeName = bad_name\n", 2, "not a host name"},
	    {"[Wireguard]\nPersistentKeepalive = 2.5s\n", 2, "whole seconds"},
	    {"[Wireguard]\nMTU = 100\n", 2, "MTU"},
	    {"[Wireguard]\nBackend = dpdk\n", 2, "auto, kernel or userspace"},
	    {"[Wireguard]\nAddress = 10.0.0.1\n", 2, "outside NetworkRange"},
	    {"[Wireguard]\nNetworkRange = 10.9.0.0/16\nAddress = 10.9.255.255\n", 3, "broadcast"},
	    {"[Node]\nStateDir = relative\n", 2, "absolute"},
	    {"[Node]\nLogLevel = loud\n", 2, "error, warn, info or debug"},
	    {"[P2P]\nPSK = " PSK_B64 "\nPSKFile = /x\n", 3, "both set"},
	    {"[P2P]\nPSKFile = missing.key\n", 2, "cannot read"},
	    {"[Wireguard]\nMTU = 1400\nMTU = 1500\n", 3, "set twice (first on line 2)"},
	    {"[Node]\nLogLevel = info\n[Node\n", 3, "']'"},
	    /* A key wrapped onto its own line: its characters are never echoed (issue 15). */
	    {"[P2P]\nPSK =\n" PSK_B64 "\n", 3, "unknown key <43 characters, not shown"},
	    {"[Wireguard]\nFoo_Bar-baz.x = 1\n", 2, "unknown key 'Foo_Bar-baz.x' in [Wireguard]"},
	    {"[Wireguard]\nAbcdefghijklmnopqrstuvwxyz0123456 = 1\n", 2, "unknown key <33 characters"},
	    {PSK_B64 "\n[P2P]\n", 1, "<43 characters, not shown"},
	};
	char want[400];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct w2w_config *c = cfg_new();
		const char *err;

		write_file(path, cases[i].text, 0644);
		assert_int_equal(w2w_config_load(c, path, W2W_CONFIG_GENERATE), W2W_EPARSE);
		err = w2w_config_error(c);
		snprintf(want, sizeof(want), "%s:%u: ", path, cases[i].line);
		if (strncmp(err, want, strlen(want)) || !strstr(err, cases[i].frag))
			fail_msg("case %zu: got '%s', want '%s...%s'", i, err, want, cases[i].frag);
		/* No secret text in any message: not even a 16-character piece of the key. */
		for (size_t o = 0; o + 16 <= strlen(PSK_B64); o++)
			if (memmem(err, strlen(err), &PSK_B64[o], 16))
				fail_msg("case %zu: the error echoes the key: '%s'", i, err);
		/* Nothing written: same bytes, same mode, no temp file left. */
		assert_string_equal(read_all(path), cases[i].text);
		w2w_config_free(c);
	}
	assert_int_equal(count_files(), 1);
}

static void test_generate_keeps_lines(void **state)
{
	static const char text[] = "# my node\n"
	                           "[P2P]\n"
	                           "; keep me\n"
	                           "PSK =\n"
	                           "Bootstrap =\n"
	                           "# comment after the section\n"
	                           "\n"
	                           "[Node]\n"
	                           "LogLevel = debug   ; inline\n";
	struct w2w_config *c = cfg_new(), *again = cfg_new();
	char id1[W2W_PEER_ID_TEXT_MAX], id2[W2W_PEER_ID_TEXT_MAX], pub1[64], pub2[64];
	struct stat st, st2;
	const char *out, *p;

	(void)state;
	write_file(path, text, 0644);
	assert_int_equal(w2w_config_load(c, path, W2W_CONFIG_GENERATE), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(count_files(), 1); /* no temp file left */
	out = read_all(path);
	/* Every original line is still there, in order. */
	p = out;
	for (const char *line = text; *line;) {
		const char *nl = strchr(line, '\n');
		char one[128];

		snprintf(one, sizeof(one), "%.*s", (int)(nl - line + 1), line);
		if (!strcmp(one, "PSK =\n")) { /* the empty PSK line is replaced in place */
			assert_memory_equal(p, "PSK = ", 6);
			p = strchr(p, '\n') + 1;
		} else {
			p = strstr(p, one);
			assert_non_null(p);
			p += strlen(one);
		}
		line = nl + 1;
	}
	/* The missing P2P key goes into [P2P], before the trailing comment; [Wireguard] is appended. */
	assert_true(strstr(out, "\nPrivateKey = CAESQ") < strstr(out, "# comment after the section"));
	assert_non_null(strstr(out, "\n[Wireguard]\nPrivateKey = "));

	/* Reloading gives the same identity and rewrites nothing. */
	assert_int_equal(w2w_config_load(again, path, W2W_CONFIG_GENERATE), 0);
	assert_int_equal(stat(path, &st2), 0);
	assert_int_equal(st.st_ino, st2.st_ino);
	assert_true(w2w_config_peer_id(c, id1, sizeof(id1)) > 0);
	assert_true(w2w_config_peer_id(again, id2, sizeof(id2)) > 0);
	assert_string_equal(id1, id2);
	assert_true(w2w_config_wg_public_key(c, pub1, sizeof(pub1)) > 0);
	assert_true(w2w_config_wg_public_key(again, pub2, sizeof(pub2)) > 0);
	assert_string_equal(pub1, pub2);
	assert_int_equal(strncmp(id1, "12D3KooW", 8), 0);
	w2w_config_free(c);
	w2w_config_free(again);
}

static void test_generate_new_file(void **state)
{
	struct w2w_config *c = cfg_new();
	struct stat st;
	const char *out;

	(void)state;
	assert_int_equal(w2w_config_load(c, path, 0), -ENOENT);
	assert_non_null(strstr(w2w_config_error(c), "cannot read"));
	assert_int_equal(w2w_config_load(c, path, W2W_CONFIG_GENERATE), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	out = read_all(path);
	assert_non_null(strstr(out, "[P2P]\nPSK = "));
	assert_non_null(strstr(out, "\nPrivateKey = CAESQ"));
	assert_non_null(strstr(out, "[Wireguard]\nPrivateKey = "));
	w2w_config_free(c);
}

static void test_generate_edge_cases(void **state)
{
	struct w2w_config *c = cfg_new();
	char bad[600], *big;
	const char *out;

	(void)state;
	/* Last line without a line break: the key is added on a line of its own. */
	write_file(path, "[Wireguard]\nMTU=1400", 0600);
	assert_int_equal(w2w_config_load(c, path, W2W_CONFIG_GENERATE), 0);
	out = read_all(path);
	assert_memory_equal(out, "[Wireguard]\nMTU=1400\nPrivateKey = ", 34);
	assert_non_null(strstr(out, "=\n\n[P2P]\nPSK = "));

	/* CRLF files get CRLF lines. */
	write_file(path, "; windows\r\n[P2P]\r\nPSK =\r\n", 0600);
	assert_int_equal(w2w_config_load(c, path, W2W_CONFIG_GENERATE), 0);
	out = read_all(path);
	assert_memory_equal(out, "; windows\r\n[P2P]\r\nPSK = ", 24);
	assert_non_null(strstr(out, "=\r\nPrivateKey = CAESQ"));
	assert_non_null(strstr(out, "=\r\n\r\n[Wireguard]\r\nPrivateKey = "));
	assert_null(strstr(out, "=\n"));

	/* The directory does not exist: nothing can be written, the error says so. */
	snprintf(bad, sizeof(bad), "%s/missing-dir/w2wesher.ini", dir);
	assert_int_equal(w2w_config_load(c, bad, W2W_CONFIG_GENERATE), -ENOENT);
	assert_non_null(strstr(w2w_config_error(c), "cannot write"));

	/* Larger than the 256 KiB cap: refused before parsing. */
	big = malloc(300000);
	assert_non_null(big);
	memset(big, '#', 299999);
	big[299999] = 0;
	write_file(path, big, 0600);
	free(big);
	assert_int_equal(w2w_config_load(c, path, W2W_CONFIG_GENERATE), W2W_ELIMIT);
	assert_non_null(strstr(w2w_config_error(c), "larger than 256 KiB"));
	assert_int_equal(count_files(), 1);
	w2w_config_free(c);
}

static void test_atomicfile(void **state)
{
	struct buf b;
	struct stat st;
	mode_t old = umask(0);

	(void)state;
	/* The mode is exactly what was asked, whatever the umask. */
	assert_int_equal(atomicfile_write(path, "abc", 3, 0640), 0);
	umask(old);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0640);
	assert_int_equal(atomicfile_write(path, "hello\n", 6, 0600), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(count_files(), 1);

	buf_init(&b, 0);
	assert_int_equal(atomicfile_read(path, 6, &b), 0);
	assert_int_equal(b.len, 6);
	assert_memory_equal(b.data, "hello\n", 7); /* NUL kept after the data */
	buf_free_wipe(&b);
	assert_int_equal(atomicfile_read(path, 5, &b), W2W_ELIMIT);
	assert_int_equal(b.len, 0);
	assert_int_equal(atomicfile_read(dir, 100, &b), -EISDIR);
	assert_int_equal(atomicfile_read("/dev/null", 100, &b), -EINVAL);
	buf_free(&b);
	/* A directory that does not exist: nothing is left behind. */
	snprintf(path, sizeof(path), "%s/nodir/x", dir);
	assert_int_equal(atomicfile_write(path, "x", 1, 0600), -ENOENT);
	assert_int_equal(count_files(), 1);
}

static void test_psk_file_and_env(void **state)
{
	struct w2w_config *c = cfg_new();
	char key[600], dump[8192];
	const char *out;

	(void)state;
	snprintf(key, sizeof(key), "%s/swarm.key", dir);
	write_file(key,
	           "/key/swarm/psk/1.0.0/\n/base16/\n"
	           "0102030405060708091011121314151617181920212223242526272829303132\n",
	           0600);
	/* Relative PSKFile: next to the config file. No PSK is generated into the file. */
	write_file(path, "[P2P]\nPSKFile = swarm.key\n", 0600);
	assert_int_equal(w2w_config_load(c, path, W2W_CONFIG_GENERATE), 0);
	out = read_all(path);
	assert_null(strstr(out, "PSK ="));
	assert_non_null(strstr(out, "PSKFile = swarm.key\n"));
	dump_into(c, dump, sizeof(dump));
	assert_non_null(strstr(dump, "PSK = <redacted>"));
	assert_non_null(strstr(dump, "; from PSKFile"));

	/* Environment beats the file; a PSK from the environment replaces the file's PSKFile. */
	setenv("W2WESHER_WIREGUARD_LISTENPORT", "51820", 1);
	setenv("W2WESHER_P2P_PSK", PSK_B64, 1);
	assert_int_equal(w2w_config_load(c, path, W2W_CONFIG_ENV), 0);
	assert_int_equal(w2w_config_listen_port(c), 51820);
	dump_into(c, dump, sizeof(dump));
	assert_non_null(strstr(dump, "; environment"));
	assert_non_null(strstr(dump, "PSKFile =  "));
	/* Without the flag the environment is ignored. */
	assert_int_equal(w2w_config_load(c, path, 0), 0);
	assert_int_equal(w2w_config_listen_port(c), 10042);

	setenv("W2WESHER_WIREGUARD_LISTENPORT", "0x10", 1);
	assert_int_equal(w2w_config_load(c, path, W2W_CONFIG_ENV), W2W_EPARSE);
	assert_non_null(strstr(w2w_config_error(c),
	                       "environment W2WESHER_WIREGUARD_LISTENPORT: [Wireguard] ListenPort: "));
	/* On failure the previous values stay. */
	assert_int_equal(w2w_config_listen_port(c), 10042);
	unsetenv("W2WESHER_WIREGUARD_LISTENPORT");
	setenv("W2WESHER_NODE_LOGLEVL", "debug", 1);
	assert_int_equal(w2w_config_load(c, path, W2W_CONFIG_ENV), W2W_EPARSE);
	assert_non_null(strstr(w2w_config_error(c), "W2WESHER_NODE_LOGLEVL"));
	unsetenv("W2WESHER_NODE_LOGLEVL");
	unsetenv("W2WESHER_P2P_PSK");

	/* A bad swarm.key is reported on the PSKFile line. */
	write_file(key, "/key/swarm/psk/1.0.0/\n/base16/\nzz\n", 0600);
	assert_int_equal(w2w_config_load(c, path, 0), W2W_EPARSE);
	assert_non_null(strstr(w2w_config_error(c), ":2: [P2P] PSKFile: "));
	w2w_config_free(c);
}

/* Issue 11: [P2P] NextPSKFile (a rotation's next key) and [Node] PairPSK. */
static void test_next_psk_and_pair_psk(void **state)
{
	struct w2w_config *c = cfg_new();
	char key[600], want[1400], dump[8192];

	(void)state;
	snprintf(key, sizeof(key), "%s/next.key", dir);
	write_file(key,
	           "/key/swarm/psk/1.0.0/\n/base16/\n"
	           "a102030405060708091011121314151617181920212223242526272829303132\n",
	           0600);
	write_file(path, "[P2P]\nPSK = " PSK_B64 "\nNextPSKFile = next.key\n", 0600);
	assert_int_equal(w2w_config_load(c, path, 0), 0);
	assert_true(c->has_psk && c->has_next_psk);
	assert_int_equal(c->sec->next_psk[0], 0xa1);
	assert_true(c->pair_psk); /* on by default */
	dump_into(c, dump, sizeof(dump));
	assert_non_null(strstr(dump, "NextPSKFile = next.key"));
	assert_non_null(strstr(dump, "PairPSK = true"));
	assert_null(strstr(dump, "a10203")); /* never the key itself */
	/* Open, missing, not a swarm.key: an error on its line, nothing loaded. */
	chmod(key, 0644);
	assert_int_equal(w2w_config_load(c, path, 0), W2W_EPARSE);
	snprintf(want, sizeof(want), "%s:3: [P2P] NextPSKFile: %s: holds the next network PSK but every user may read",
	         path, key);
	assert_non_null(strstr(w2w_config_error(c), want));
	write_file(key, "/key/swarm/psk/1.0.0/\n/base16/\nzz\n", 0600);
	assert_int_equal(w2w_config_load(c, path, 0), W2W_EPARSE);
	assert_non_null(strstr(w2w_config_error(c), ":3: [P2P] NextPSKFile: "));
	unlink(key);
	assert_int_equal(w2w_config_load(c, path, 0), W2W_EPARSE);
	assert_non_null(strstr(w2w_config_error(c), "cannot read"));
	/* Removing the key ends the rotation; PairPSK takes booleans only. */
	write_file(path, "[P2P]\nPSK = " PSK_B64 "\n[Node]\nPairPSK = false\n", 0600);
	assert_int_equal(w2w_config_load(c, path, 0), 0);
	assert_false(c->has_next_psk);
	assert_false(c->pair_psk);
	write_file(path, "[P2P]\nPSK = " PSK_B64 "\n[Node]\nPairPSK = maybe\n", 0600);
	assert_int_equal(w2w_config_load(c, path, 0), W2W_EPARSE);
	assert_non_null(strstr(w2w_config_error(c), ":4: [Node] PairPSK: 'maybe' is not true or false"));
	w2w_config_free(c);
}

/* Issue 15: a secret in a file every user may read is refused, with FILE, unless overridden. */
static void test_open_secrets(void **state)
{
	struct w2w_config *c = cfg_new();
	char key[600], want[1400];
	const char *text = "[P2P]\nPSK = " PSK_B64 "\n";

	(void)state;
	write_file(path, text, 0644);
	assert_int_equal(w2w_config_load(c, path, W2W_CONFIG_GENERATE), W2W_EPARSE);
	snprintf(want, sizeof(want), "%s: holds secrets (PSK or a PrivateKey) but every user may read it (mode 0644)",
	         path);
	assert_non_null(strstr(w2w_config_error(c), want));
	assert_non_null(strstr(w2w_config_error(c), "--allow-open-secrets"));
	assert_string_equal(read_all(path), text); /* nothing generated, mode kept */
	write_file(path, text, 0604);
	assert_int_equal(w2w_config_load(c, path, 0), W2W_EPARSE);
	assert_non_null(strstr(w2w_config_error(c), "every user may read it (mode 0604)"));
	write_file(path, text, 0642); /* world-writable: anyone could swap the key */
	assert_int_equal(w2w_config_load(c, path, 0), W2W_EPARSE);
	assert_non_null(strstr(w2w_config_error(c), "every user may write it (mode 0642)"));
	/* Group access is fine (a service group); the override accepts anything. */
	write_file(path, text, 0640);
	assert_int_equal(w2w_config_load(c, path, 0), 0);
	write_file(path, text, 0644);
	assert_int_equal(w2w_config_load(c, path, W2W_CONFIG_ALLOW_OPEN_SECRETS), 0);
	/* An open file without secrets is not a leak (they are generated into it, 0600). */
	write_file(path, "[P2P]\nPSK =\n", 0644);
	assert_int_equal(w2w_config_load(c, path, 0), 0);

	/* An open PSKFile, reported on the PSKFile line. */
	snprintf(key, sizeof(key), "%s/swarm.key", dir);
	write_file(key,
	           "/key/swarm/psk/1.0.0/\n/base16/\n"
	           "0102030405060708091011121314151617181920212223242526272829303132\n",
	           0644);
	write_file(path, "\n[P2P]\nPSKFile = swarm.key\n", 0600);
	assert_int_equal(w2w_config_load(c, path, 0), W2W_EPARSE);
	snprintf(want, sizeof(want), "%s:3: [P2P] PSKFile: %s: holds the network PSK but every user may read it", path,
	         key);
	assert_non_null(strstr(w2w_config_error(c), want));
	assert_int_equal(w2w_config_load(c, path, W2W_CONFIG_ALLOW_OPEN_SECRETS), 0);
	chmod(key, 0600);
	assert_int_equal(w2w_config_load(c, path, 0), 0);
	unlink(key);
	w2w_config_free(c);
}

static void test_setters(void **state)
{
	struct w2w_config *c = cfg_new();
	char pub[64], id[W2W_PEER_ID_TEXT_MAX], dump[8192];

	(void)state;
	assert_int_equal(w2w_config_set_listen_port(c, 70000), W2W_EPARSE);
	assert_non_null(strstr(w2w_config_error(c), "[Wireguard] ListenPort: port 70000 out of range"));
	assert_int_equal(w2w_config_set_listen_port(c, 51820), 0);
	assert_int_equal(w2w_config_listen_port(c), 51820);
	assert_int_equal(w2w_config_set(c, "Wireguard", "MTU", "1300"), 0);
	assert_int_equal(w2w_config_mtu(c), 1300);
	assert_int_equal(w2w_config_set(c, "Wireguard", "Nope", "1"), W2W_EPARSE);
	/* Keys are text, as in the file: 31 bytes, a stray space, or a non-canonical
	 * last character (unused bits set) are refused with the file's messages. */
	assert_int_equal(w2w_config_set_psk(c, "AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=="), W2W_EPARSE);
	assert_non_null(strstr(w2w_config_error(c), "a PSK is 32 bytes; this is 31"));
	assert_int_equal(w2w_config_set_psk(c, "AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA= "), W2W_EPARSE);
	assert_int_equal(w2w_config_set_psk(c, "AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB="), W2W_EPARSE);
	assert_int_equal(w2w_config_set_psk(c, "AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="), 0);
	assert_int_equal(w2w_config_set_wg_private_key(c, "dwdtCnMYpX08FsFyUbJmRd9ML4frwJkqsbbn+qLlOyo"), W2W_EPARSE);
	assert_int_equal(w2w_config_set_p2p_private_key(c, "AAAA"), W2W_EPARSE);
	assert_non_null(strstr(w2w_config_error(c), "not a libp2p Ed25519 PrivateKey protobuf"));
	/* the public key must match what `wg pubkey` printed */
	assert_int_equal(w2w_config_set_wg_private_key(c, WG_PRIV), 0);
	assert_int_equal(w2w_config_wg_public_key(c, pub, sizeof(pub)), 44);
	assert_string_equal(pub, WG_PUB);
	assert_int_equal(w2w_config_set_keepalive_s(c, -1), 0);
	assert_int_equal(w2w_config_set_announce_interval_ms(c, 30000), 0);
	assert_int_equal(w2w_config_set_peer_expiry_ms(c, 45000), 0);
	/* accepted now: probes, not announcements, bound the expiry (docs/mesh.md "Liveness") */
	assert_int_equal(w2w_config_check(c), 0);
	assert_int_equal(w2w_config_set_peer_expiry_ms(c, 120000), 0);
	assert_int_equal(w2w_config_set_network_range(c, "10.1.0.0/24"), 0);
	assert_int_equal(w2w_config_set_address(c, "10.1.0.5"), 0);
	assert_int_equal(w2w_config_set_backend(c, W2W_BACKEND_KERNEL), 0);
	assert_int_equal(w2w_config_add_bootstrap(c, "/ip4/192.0.2.7/tcp/10042/p2p/" SPEC_PEER_ID), 0);
	assert_int_equal(w2w_config_add_bootstrap(c, "/ip4/192.0.2.7/tcp/10042"), W2W_EPARSE);
	assert_int_equal(w2w_config_check(c), 0);
	assert_int_equal(w2w_config_generate_secrets(c), 0);
	assert_true(w2w_config_peer_id(c, id, sizeof(id)) > 0);
	assert_int_equal(w2w_config_peer_id(c, id, 10), -ENOSPC);
	assert_int_equal(w2w_config_wg_public_key(c, pub, 44), -ENOSPC);
	/* Generation keeps the keys that were set. */
	assert_int_equal(w2w_config_wg_public_key(c, pub, sizeof(pub)), 44);
	assert_string_equal(pub, WG_PUB);
	dump_into(c, dump, sizeof(dump));
	assert_non_null(strstr(dump, "Backend = kernel"));
	assert_non_null(strstr(dump, "PersistentKeepalive = -1"));
	assert_non_null(strstr(dump, "; set by the program"));
	assert_non_null(strstr(dump, "; generated"));
	assert_null(w2w_config_bootstrap(c, 1)); /* past the end */
	assert_int_equal(w2w_config_new(NULL), -EINVAL);
	w2w_config_free(c);
	assert_null(w2w_config_free(NULL));
}

/* [P2P] MDNS, MDNSInterfaces, MDNSInterval: defaults, file values, errors with FILE:LINE, the
 * environment, setters and the dump. */
static void test_mdns_keys(void **state)
{
	static const struct bad cases[] = {
	    {"[P2P]\nMDNS = maybe\n", 2, "[P2P] MDNS: 'maybe' is not true or false"},
	    {"[P2P]\n\nMDNS =  2\n", 3, "not true or false"},
	    {"[P2P]\nMDNSInterfaces = eth0,eth/1\n", 2, "[P2P] MDNSInterfaces: 'eth/1' is not an interface name"},
	    {"[P2P]\nMDNSInterfaces = averyveryverylongname\n", 2, "not an interface name"},
	    {"[P2P]\nMDNSInterfaces = eth0, eth0\n", 2, "'eth0' is listed twice"},
	    {"[P2P]\nMDNSInterfaces = a,b,c,d,e,f,g,h,i,j,k,l,m,n,o,p,q\n", 2, "more than 16 interfaces"},
	    {"[P2P]\nMDNSInterval = 10\n", 2, "[P2P] MDNSInterval: '10' has no unit"},
	    {"[P2P]\nMDNSInterval = 500ms\n", 2, "out of range (1s to 1h0m0s)"},
	    {"[P2P]\nMDNSInterval = 2h\n", 2, "out of range"},
	};
	struct w2w_config *c = cfg_new();
	char want[400], dump[8192];

	(void)state;
	/* Defaults: off, every suitable interface, 10 s. */
	assert_int_equal(w2w_config_mdns(c), 0);
	assert_string_equal(w2w_config_mdns_interfaces(c), "");
	assert_int_equal(w2w_config_mdns_interval_ms(c), 10000);
	dump_into(c, dump, sizeof(dump));
	assert_non_null(strstr(dump, "MDNS = false"));
	assert_non_null(strstr(dump, "MDNSInterval = 10s"));
	/* [P2P] Relay (docs/nat.md): off unless asked for */
	assert_non_null(strstr(dump, "Relay = false"));
	w2w_config_free(c);

	c = cfg_new();
	write_file(path,
	           "[P2P]\nMDNS = TRUE\nMDNSInterfaces =  eth0 , br-lan,,\nMDNSInterval = 2.5s\nRelay = On\n"
	           "[Wireguard]\nNodeName = n1\n",
	           0600);
	assert_int_equal(w2w_config_load(c, path, 0), 0);
	assert_int_equal(w2w_config_mdns(c), 1);
	assert_string_equal(w2w_config_mdns_interfaces(c), "eth0,br-lan");
	assert_int_equal(w2w_config_mdns_interval_ms(c), 2500);
	dump_into(c, dump, sizeof(dump));
	assert_non_null(strstr(dump, "Relay = true"));
	dump_into(c, dump, sizeof(dump));
	assert_non_null(strstr(dump, "MDNS = true"));
	assert_non_null(strstr(dump, "MDNSInterfaces = eth0,br-lan"));
	assert_non_null(strstr(dump, "MDNSInterval = 2.5s"));
	assert_non_null(strstr(dump, "; file line 4"));
	/* The environment overrides the file; "0" is the default interval, as for AnnounceInterval. */
	setenv("W2WESHER_P2P_MDNS", "off", 1);
	setenv("W2WESHER_P2P_MDNSINTERVAL", "0", 1);
	assert_int_equal(w2w_config_load(c, path, W2W_CONFIG_ENV), 0);
	assert_int_equal(w2w_config_mdns(c), 0);
	assert_int_equal(w2w_config_mdns_interval_ms(c), 10000);
	setenv("W2WESHER_P2P_MDNS", "sometimes", 1);
	assert_int_equal(w2w_config_load(c, path, W2W_CONFIG_ENV), W2W_EPARSE);
	assert_non_null(strstr(w2w_config_error(c), "environment W2WESHER_P2P_MDNS: [P2P] MDNS: 'sometimes'"));
	unsetenv("W2WESHER_P2P_MDNS");
	unsetenv("W2WESHER_P2P_MDNSINTERVAL");
	/* Setters validate like the file and leave the value alone on error. */
	assert_int_equal(w2w_config_set_mdns(c, 1), 0);
	assert_int_equal(w2w_config_mdns(c), 1);
	assert_int_equal(w2w_config_set_mdns_interval_ms(c, 999), W2W_EPARSE);
	assert_non_null(strstr(w2w_config_error(c), "[P2P] MDNSInterval: '999ms' is out of range"));
	assert_int_equal(w2w_config_mdns_interval_ms(c), 10000); /* the last load's value stays */
	assert_int_equal(w2w_config_set_mdns_interval_ms(c, 3600000), 0);
	assert_int_equal(w2w_config_mdns_interval_ms(c), 3600000);
	assert_int_equal(w2w_config_set_mdns_interfaces(c, "wlan0"), 0);
	assert_string_equal(w2w_config_mdns_interfaces(c), "wlan0");
	assert_int_equal(w2w_config_set_mdns_interfaces(c, "a b"), W2W_EPARSE);
	assert_string_equal(w2w_config_mdns_interfaces(c), "wlan0");
	assert_int_equal(w2w_config_set_mdns_interfaces(c, NULL), 0);
	assert_string_equal(w2w_config_mdns_interfaces(c), "");
	assert_int_equal(w2w_config_set(c, "P2P", "MDNS", "no"), 0);
	assert_int_equal(w2w_config_mdns(c), 0);
	w2w_config_free(c);

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *err;

		c = cfg_new();
		write_file(path, cases[i].text, 0644);
		assert_int_equal(w2w_config_load(c, path, 0), W2W_EPARSE);
		err = w2w_config_error(c);
		snprintf(want, sizeof(want), "%s:%u: ", path, cases[i].line);
		if (strncmp(err, want, strlen(want)) || !strstr(err, cases[i].frag))
			fail_msg("case %zu: got '%s', want '%s...%s'", i, err, want, cases[i].frag);
		w2w_config_free(c);
	}
}

static void test_keys_api(void **state)
{
	char k[W2W_WG_KEY_TEXT_MAX], pub[W2W_WG_KEY_TEXT_MAX], text[W2W_SWARM_KEY_TEXT_MAX];
	char id[W2W_PEER_ID_TEXT_MAX], key[W2W_IDENTITY_TEXT_MAX];
	uint8_t pb[100];
	int n;

	(void)state;
	assert_int_equal(w2w_wg_pubkey(pub, sizeof(pub), WG_PRIV), 44);
	assert_string_equal(pub, WG_PUB);
	assert_int_equal(w2w_wg_pubkey(pub, sizeof(pub), WG_PRIV "\n"), W2W_EPARSE);
	assert_int_equal(w2w_wg_pubkey(pub, 44, WG_PRIV), -ENOSPC);
	assert_int_equal(w2w_wg_genkey(k, sizeof(k)), 44);
	assert_int_equal(w2w_wg_genkey(k, 44), -ENOSPC);
	n = w2w_swarm_key_generate(text, sizeof(text));
	assert_int_equal(n, 96);
	assert_int_equal(strncmp(text, "/key/swarm/psk/1.0.0/\n/base16/\n", 31), 0);
	assert_int_equal(w2w_swarm_key_generate(text, 96), -ENOSPC);
	/* The identity in the config file's form: base64 of the 68-byte protobuf. */
	assert_int_equal(w2w_identity_generate(key, sizeof(key)), 92);
	assert_int_equal(w2w_identity_generate(key, 92), -ENOSPC);
	assert_int_equal(w2w_identity_generate(key, sizeof(key)), 92);
	assert_int_equal(w2w_identity_peer_id(id, sizeof(id), key), 52);
	assert_int_equal(w2w_identity_peer_id(id, 10, key), -ENOSPC);
	assert_int_equal(w2w_identity_peer_id(id, sizeof(id), SPEC_KEY_B64), 52);
	assert_string_equal(id, SPEC_PEER_ID);
	/* base64 round trip through the exported codec */
	n = w2w_base64_decode(pb, sizeof(pb), key);
	assert_int_equal(n, 68);
	assert_int_equal(w2w_base64_decode(pb, 67, key), -ENOSPC);
	assert_int_equal(w2w_base64_decode(pb, sizeof(pb), "AQ"), W2W_EPARSE);   /* no padding */
	assert_int_equal(w2w_base64_decode(pb, sizeof(pb), "AR=="), W2W_EPARSE); /* unused bits set */
	assert_int_equal(w2w_base64_decode(pb, sizeof(pb), "AQ=="), 1);
	n = w2w_base64_decode(pb, sizeof(pb), key);
	pb[40] ^= 1; /* public half no longer matches the seed */
	assert_int_equal(w2w_base64_encode(key, sizeof(key), pb, (size_t)n), 92);
	assert_int_equal(w2w_base64_encode(key, 92, pb, (size_t)n), -ENOSPC);
	assert_int_equal(w2w_identity_peer_id(id, sizeof(id), key), W2W_EPARSE);
	w2w_wipe(key, sizeof(key));
	w2w_wipe(pb, sizeof(pb));
}

/* [Node] DNSDomain (docs/operations.md "Node names"): follows Interface by
 * default, is stored in lower case, and refuses what is no domain name. */
static void test_dns_domain(void **state)
{
	struct w2w_config *c = cfg_new();
	char dump[8192];

	(void)state;
	write_file(path, "[Wireguard]\nInterface = Mesh-1\n", 0644);
	assert_int_equal(w2w_config_load(c, path, 0), 0);
	assert_string_equal(w2w_config_dns_domain(c), "mesh-1.w2w");
	assert_int_equal(w2w_config_set_dns_domain(c, "Corp.Example"), 0);
	assert_int_equal(w2w_config_check(c), 0);
	assert_string_equal(w2w_config_dns_domain(c), "corp.example");
	dump_into(c, dump, sizeof(dump));
	assert_non_null(strstr(dump, "DNSDomain = corp.example"));
	{
		static const char *const bad[] = {"a..b", "trail.", ".lead", "-x.w2w", "sp ace", "a\nb", "x_y", ""};
		char big[191];

		memset(big, 'a', sizeof(big) - 1);
		big[sizeof(big) - 1] = 0;
		for (size_t i = 0; bad[i][0]; i++) {
			assert_int_equal(w2w_config_set_dns_domain(c, bad[i]), W2W_EPARSE);
			assert_non_null(strstr(w2w_config_error(c), "[Node] DNSDomain: "));
			assert_string_equal(w2w_config_dns_domain(c), "corp.example"); /* unchanged */
		}
		for (size_t i = 60; i < sizeof(big) - 1; i += 61)
			big[i] = '.';
		assert_int_equal(w2w_config_set_dns_domain(c, big), W2W_EPARSE); /* 190 bytes */
		big[189] = 0;
		assert_int_equal(w2w_config_set_dns_domain(c, big), 0);
	}
	/* "" restores the default; an interface that is no DNS label gives none */
	assert_int_equal(w2w_config_set_dns_domain(c, ""), 0);
	assert_int_equal(w2w_config_set_interface(c, "wg_0"), 0);
	assert_int_equal(w2w_config_check(c), 0);
	assert_string_equal(w2w_config_dns_domain(c), "");
	dump_into(c, dump, sizeof(dump));
	assert_non_null(strstr(dump, "set [Node] DNSDomain"));
	w2w_config_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_go_file, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_defaults, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_values, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_errors, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_generate_keeps_lines, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_generate_new_file, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_generate_edge_cases, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_atomicfile, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_psk_file_and_env, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_next_psk_and_pair_psk, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_open_secrets, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_setters, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_mdns_keys, setup, teardown),
	    cmocka_unit_test(test_keys_api),
	    cmocka_unit_test_setup_teardown(test_dns_domain, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
