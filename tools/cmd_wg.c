/* SPDX-License-Identifier: MIT */
/* `w2wesher wg show|showconf|syncconf`: wg(8) look-alikes on the public WireGuard sync API. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <w2wesher/w2wesher.h>

#include "cli.h"

#define TIMEOUT_MS 30000
#define MAX_FILE (64L << 20)

struct wgopts {
	enum w2w_backend backend;
	int create;
	int json;
	int verbose;
	const char *uapi_dir;
	const char *wireguard_go;
	const char *pos[3];
	int npos;
};

static void log_stderr(void *ud, int level, const char *msg)
{
	fprintf(stderr, "w2wesher: wg: %s\n", msg);
}

static int parse_opts(const struct cli_cmd *self, int argc, char **argv, struct wgopts *o)
{
	memset(o, 0, sizeof(*o));
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "--json")) {
			o->json = 1;
		} else if (!strcmp(a, "--create")) {
			o->create = 1;
		} else if (!strcmp(a, "-v") || !strcmp(a, "--verbose")) {
			o->verbose = 1;
		} else if (!strcmp(a, "--backend") || !strcmp(a, "--uapi-dir") || !strcmp(a, "--wireguard-go")) {
			const char *v;

			if (i + 1 >= argc)
				return cli_usage(self, "%s needs a value", a);
			v = argv[++i];
			if (!strcmp(a, "--uapi-dir")) {
				o->uapi_dir = v;
			} else if (!strcmp(a, "--wireguard-go")) {
				o->wireguard_go = v;
			} else if (!strcmp(v, "auto")) {
				o->backend = W2W_BACKEND_AUTO;
			} else if (!strcmp(v, "kernel")) {
				o->backend = W2W_BACKEND_KERNEL;
			} else if (!strcmp(v, "userspace")) {
				o->backend = W2W_BACKEND_USERSPACE;
			} else {
				return cli_usage(self, "--backend is auto, kernel or userspace, not '%s'", v);
			}
		} else if (a[0] == '-' && a[1]) {
			return cli_usage(self, "unknown option '%s'", a);
		} else if (o->npos < 3) {
			o->pos[o->npos++] = a;
		} else {
			return cli_usage(self, "unexpected argument '%s'", a);
		}
	}
	return CLI_OK;
}

static int open_wg(const struct cli_cmd *self, struct w2w_loop **loop, struct w2w_wg **wg, const char *ifname,
		   const struct wgopts *o)
{
	struct w2w_wg_opts wo = {
		.version = W2W_WG_OPTS_VERSION,
		.backend = o->backend,
		.create = o->create,
		.uapi_dir = o->uapi_dir,
		.wireguard_go = o->wireguard_go,
	};
	int rc;

	if (w2w_loop_new(loop, NULL) < 0) {
		cli_err(self, "out of memory");
		return CLI_FAIL;
	}
	rc = w2w_wg_new(wg, *loop, ifname, &wo);
	if (rc < 0) {
		cli_err(self, "%s: %s", ifname, w2w_strerror(rc));
		w2w_loop_free(*loop);
		return CLI_FAIL;
	}
	w2w_wg_set_log(*wg, log_stderr, NULL, o->verbose ? W2W_LOG_DEBUG : W2W_LOG_WARNING);
	return CLI_OK;
}

static void close_wg(struct w2w_loop *loop, struct w2w_wg *wg)
{
	w2w_wg_free(wg);
	w2w_loop_free(loop);
}

/* A JSON string: Linux interface names may hold '"', '\\' and control bytes. */
static void json_str(const char *s)
{
	putchar('"');
	for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
		if (*c == '"' || *c == '\\')
			printf("\\%c", *c);
		else if (*c < 0x20 || *c == 0x7f)
			printf("\\u%04x", *c);
		else
			putchar(*c);
	}
	putchar('"');
}

static void print_ago(int64_t sec)
{
	time_t now = time(NULL);
	int64_t d = (int64_t)now - sec;
	static const struct {
		const char *name;
		int64_t secs;
	} units[] = {{"day", 86400}, {"hour", 3600}, {"minute", 60}, {"second", 1}};
	int printed = 0;

	if (d <= 0) {
		printf("Now");
		return;
	}
	for (size_t i = 0; i < sizeof(units) / sizeof(*units); i++) {
		int64_t n = d / units[i].secs;

		if (!n)
			continue;
		d -= n * units[i].secs;
		printf("%s%lld %s%s", printed ? ", " : "", (long long)n, units[i].name, n == 1 ? "" : "s");
		printed = 1;
	}
	printf(" ago");
}

static void print_bytes(uint64_t b)
{
	if (b < 1024)
		printf("%llu B", (unsigned long long)b);
	else if (b < 1024ull * 1024)
		printf("%.2f KiB", (double)b / 1024);
	else if (b < 1024ull * 1024 * 1024)
		printf("%.2f MiB", (double)b / (1024 * 1024));
	else
		printf("%.2f GiB", (double)b / (1024.0 * 1024 * 1024));
}

static void show_text(const struct w2w_wg_device *d, const char *backend)
{
	char k[W2W_WG_KEY_TEXT_MAX], ip[64];
	size_t n = w2w_wg_device_peer_count(d);

	printf("interface: %s\n", w2w_wg_device_name(d));
	if (w2w_wg_device_public_key(d, k, sizeof(k)) > 0) {
		printf("  public key: %s\n  private key: (hidden)\n", k);
	}
	if (w2w_wg_device_listen_port(d))
		printf("  listening port: %u\n", w2w_wg_device_listen_port(d));
	if (w2w_wg_device_fwmark(d))
		printf("  fwmark: 0x%x\n", w2w_wg_device_fwmark(d));
	printf("  backend: %s\n", backend);
	for (size_t i = 0; i < n; i++) {
		struct w2w_wg_peer_info p = {.size = sizeof(p)};

		if (w2w_wg_device_peer(d, i, &p) < 0)
			continue;
		printf("\npeer: %s\n", p.public_key);
		if (p.has_preshared_key)
			printf("  preshared key: (hidden)\n");
		if (p.endpoint[0])
			printf("  endpoint: %s\n", p.endpoint);
		printf("  allowed ips: ");
		if (!p.n_allowed_ips)
			printf("(none)");
		for (size_t j = 0; j < p.n_allowed_ips; j++)
			if (w2w_wg_device_allowed_ip(d, i, j, ip, sizeof(ip)) > 0)
				printf("%s%s", j ? ", " : "", ip);
		printf("\n");
		if (p.last_handshake_sec) {
			printf("  latest handshake: ");
			print_ago(p.last_handshake_sec);
			printf("\n");
		}
		if (p.rx_bytes || p.tx_bytes) {
			printf("  transfer: ");
			print_bytes(p.rx_bytes);
			printf(" received, ");
			print_bytes(p.tx_bytes);
			printf(" sent\n");
		}
		if (p.persistent_keepalive)
			printf("  persistent keepalive: every %u seconds\n", p.persistent_keepalive);
	}
}

static void show_json(const struct w2w_wg_device *d, const char *backend)
{
	char k[W2W_WG_KEY_TEXT_MAX], ip[64];
	size_t n = w2w_wg_device_peer_count(d);

	/* Keys (base64), addresses and backend names need no escaping; names may. */
	printf("{\"interface\":");
	json_str(w2w_wg_device_name(d));
	printf(",\"backend\":\"%s\"", backend);
	if (w2w_wg_device_public_key(d, k, sizeof(k)) > 0) {
		printf(",\"public_key\":\"%s\"", k);
	}
	printf(",\"listen_port\":%u,\"fwmark\":%u,\"peers\":[", w2w_wg_device_listen_port(d),
	       w2w_wg_device_fwmark(d));
	for (size_t i = 0; i < n; i++) {
		struct w2w_wg_peer_info p = {.size = sizeof(p)};

		if (w2w_wg_device_peer(d, i, &p) < 0)
			continue;
		printf("%s{\"public_key\":\"%s\",\"preshared_key\":%s", i ? "," : "", p.public_key,
		       p.has_preshared_key ? "true" : "false");
		if (p.endpoint[0])
			printf(",\"endpoint\":\"%s\"", p.endpoint);
		else
			printf(",\"endpoint\":null");
		printf(",\"allowed_ips\":[");
		for (size_t j = 0; j < p.n_allowed_ips; j++)
			if (w2w_wg_device_allowed_ip(d, i, j, ip, sizeof(ip)) > 0)
				printf("%s\"%s\"", j ? "," : "", ip);
		printf("],\"latest_handshake\":%lld,\"latest_handshake_nsec\":%lld,\"rx_bytes\":%llu,"
		       "\"tx_bytes\":%llu,\"persistent_keepalive\":%u}",
		       (long long)p.last_handshake_sec, (long long)p.last_handshake_nsec,
		       (unsigned long long)p.rx_bytes, (unsigned long long)p.tx_bytes, p.persistent_keepalive);
	}
	printf("]}");
}

/* index: how many interfaces were shown before (separators). */
static int show_one(const struct cli_cmd *self, const char *ifname, const struct wgopts *o, int index)
{
	struct w2w_loop *loop;
	struct w2w_wg *wg;
	struct w2w_wg_device *d = NULL;
	int rc = open_wg(self, &loop, &wg, ifname, o);

	if (rc != CLI_OK)
		return rc;
	rc = w2w_wg_read_run(wg, &d, TIMEOUT_MS);
	if (rc < 0) {
		cli_err(self, "unable to access interface %s: %s", ifname, w2w_strerror(rc));
		close_wg(loop, wg);
		return CLI_FAIL;
	}
	if (o->json) {
		if (index)
			printf(",");
		show_json(d, w2w_wg_backend_name(wg));
	} else {
		if (index)
			printf("\n");
		show_text(d, w2w_wg_backend_name(wg));
	}
	w2w_wg_device_free(d);
	close_wg(loop, wg);
	return CLI_OK;
}

static int cmd_show(const struct cli_cmd *self, const struct wgopts *o)
{
	struct w2w_loop *loop;
	struct w2w_wg *wg;
	char *names = NULL;
	int rc, i = 0;

	if (o->npos > 2)
		return cli_usage(self, "show takes at most one interface");
	if (o->npos == 2) {
		rc = show_one(self, o->pos[1], o, 0);
		if (rc == CLI_OK && o->json)
			printf("\n");
		return rc;
	}
	/* All interfaces the userspace backend sees (the kernel backend cannot list). */
	{
		struct wgopts lo = *o;

		lo.backend = W2W_BACKEND_USERSPACE;
		rc = open_wg(self, &loop, &wg, "list", &lo);
		if (rc != CLI_OK)
			return rc;
		rc = w2w_wg_list(wg, &names);
		close_wg(loop, wg);
		if (rc < 0) {
			cli_err(self, "cannot list interfaces: %s", w2w_strerror(rc));
			return CLI_FAIL;
		}
	}
	if (o->json)
		printf("[");
	rc = CLI_OK;
	for (const char *n = names; *n; n += strlen(n) + 1) {
		if (show_one(self, n, o, i) != CLI_OK)
			rc = CLI_FAIL;
		else
			i++;
	}
	if (o->json)
		printf("]\n");
	w2w_free(names);
	return rc;
}

static int cmd_showconf(const struct cli_cmd *self, const struct wgopts *o)
{
	struct w2w_loop *loop;
	struct w2w_wg *wg;
	struct w2w_wg_device *d = NULL;
	char *text = NULL;
	size_t len = 0;
	int rc;

	if (o->npos != 2)
		return cli_usage(self, "showconf needs exactly one interface");
	rc = open_wg(self, &loop, &wg, o->pos[1], o);
	if (rc != CLI_OK)
		return rc;
	rc = w2w_wg_read_run(wg, &d, TIMEOUT_MS);
	if (rc >= 0)
		rc = w2w_wg_device_showconf(d, &text, &len);
	if (rc < 0) {
		cli_err(self, "unable to access interface %s: %s", o->pos[1], w2w_strerror(rc));
		rc = CLI_FAIL;
	} else {
		/* The user asked for the configuration, private key included. */
		rc = fwrite(text, 1, len, stdout) == len && fflush(stdout) == 0 ? CLI_OK : CLI_FAIL;
	}
	if (text) {
		w2w_wipe(text, len);
		w2w_free(text);
	}
	w2w_wg_device_free(d);
	close_wg(loop, wg);
	return rc;
}

static char *read_file(const struct cli_cmd *self, const char *path, size_t *len)
{
	int fd = strcmp(path, "-") ? open(path, O_RDONLY | O_CLOEXEC) : dup(0);
	size_t cap = 4096, n = 0;
	char *buf = NULL;

	if (fd < 0) {
		cli_err(self, "%s: %s", path, strerror(errno));
		return NULL;
	}
	buf = malloc(cap);
	while (buf) {
		ssize_t r;

		if (n == cap) {
			char *nb;

			if (cap >= (size_t)MAX_FILE) {
				cli_err(self, "%s: larger than %ld bytes", path, MAX_FILE);
				w2w_wipe(buf, n);
				free(buf);
				buf = NULL;
				break;
			}
			nb = malloc(cap * 2);
			if (nb)
				memcpy(nb, buf, n);
			w2w_wipe(buf, n);
			free(buf);
			buf = nb;
			cap *= 2;
			continue;
		}
		r = read(fd, buf + n, cap - n);
		if (r < 0) {
			cli_err(self, "%s: %s", path, strerror(errno));
			w2w_wipe(buf, n);
			free(buf);
			buf = NULL;
			break;
		}
		if (r == 0) {
			*len = n;
			break;
		}
		n += (size_t)r;
	}
	close(fd);
	return buf;
}

static int cmd_syncconf(const struct cli_cmd *self, const struct wgopts *o)
{
	struct w2w_loop *loop;
	struct w2w_wg *wg;
	struct w2w_wg_config *cfg = NULL;
	struct w2w_wg_sync_stats st = {.size = sizeof(st)};
	char err[160];
	size_t len = 0;
	char *text;
	int rc;

	if (o->npos != 3)
		return cli_usage(self, "syncconf needs an interface and a file");
	text = read_file(self, o->pos[2], &len);
	if (!text)
		return CLI_FAIL;
	rc = w2w_wg_config_parse(&cfg, text, len, err, sizeof(err));
	w2w_wipe(text, len);
	free(text);
	if (rc < 0) {
		cli_err(self, "%s:%s", o->pos[2], err);
		return CLI_FAIL;
	}
	rc = open_wg(self, &loop, &wg, o->pos[1], o);
	if (rc != CLI_OK) {
		w2w_wg_config_free(cfg);
		return rc;
	}
	rc = w2w_wg_sync_run(wg, cfg, TIMEOUT_MS);
	w2w_wg_config_free(cfg);
	if (rc < 0) {
		cli_err(self, "%s: %s", o->pos[1], w2w_strerror(rc));
		close_wg(loop, wg);
		return CLI_FAIL;
	}
	w2w_wg_last_sync_stats(wg, &st);
	if (o->verbose)
		fprintf(stderr,
			"w2wesher: wg: %s (%s): %zu added, %zu removed, %zu updated, %zu unchanged, %zu roamed "
			"endpoints kept%s; %llu bytes sent, %llu received\n",
			o->pos[1], w2w_wg_backend_name(wg), st.added, st.removed, st.updated, st.unchanged,
			st.endpoints_kept, st.applied ? "" : " (nothing to do)", (unsigned long long)st.bytes_sent,
			(unsigned long long)st.bytes_recv);
	close_wg(loop, wg);
	return CLI_OK;
}

static int run_wg(const struct cli_cmd *self, int argc, char **argv)
{
	struct wgopts o;
	int rc;

	if (cli_help_requested(self, argc, argv))
		return CLI_OK;
	rc = parse_opts(self, argc, argv, &o);
	if (rc != CLI_OK)
		return rc;
	if (o.npos == 0)
		return cli_usage(self, "missing subcommand (show, showconf, syncconf)");
	if (!strcmp(o.pos[0], "show"))
		return cmd_show(self, &o);
	if (!strcmp(o.pos[0], "showconf"))
		return cmd_showconf(self, &o);
	if (!strcmp(o.pos[0], "syncconf"))
		return cmd_syncconf(self, &o);
	return cli_usage(self, "unknown subcommand '%s'", o.pos[0]);
}

CLI_COMMAND(cmd_wg) = {
	.name = "wg",
	.args = "show [IFACE] [--json] | showconf IFACE | syncconf IFACE FILE  [--backend auto|kernel|userspace]",
	.summary = "inspect and configure WireGuard interfaces, like wg(8) show/showconf/syncconf",
	.help = "  show [IFACE] [--json]  the interface (or every userspace one), peers, handshakes, transfer\n"
		"  showconf IFACE         the configuration in `wg showconf` format (private key included)\n"
		"  syncconf IFACE FILE    make the device exactly what FILE (`wg setconf` format, '-' for\n"
		"                         stdin) says, changing only what differs, like `wg syncconf`\n"
		"                         (unlike it, a PresharedKey/PersistentKeepalive the file omits is\n"
		"                         removed from an existing peer)\n"
		"Options:\n"
		"  --backend B            auto (default: userspace if its socket exists, else kernel if\n"
		"                         loaded, else userspace), kernel, userspace\n"
		"  --create               syncconf: create the interface (kernel link, or start wireguard-go)\n"
		"  --uapi-dir DIR         userspace sockets directory (default /var/run/wireguard)\n"
		"  --wireguard-go PATH    userspace implementation to start with --create\n"
		"  -v, --verbose          syncconf: print what changed\n",
	.run = run_wg,
};
