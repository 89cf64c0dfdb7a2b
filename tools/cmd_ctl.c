/* SPDX-License-Identifier: MIT */
/*
 * Talking to a running w2wesherd over its control socket (tools/ctlproto.h):
 * status, join-info, join, leave. The socket is found, in order, from
 * --socket PATH, --config FILE (its [Node] ControlSocket), or --interface
 * IFACE (default wesh0) as /run/w2wesher/IFACE.sock.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include <w2wesher/w2wesher.h>

#include "cli.h"
#include "ctlproto.h"

#define SOCK_OPTS "[--socket PATH | --config FILE | --interface IFACE]"
#define SOCK_HELP                                                                                          \
	"  --socket PATH      the daemon's control socket\n"                                                   \
	"  --config FILE      read the socket path from FILE ([Node] ControlSocket)\n"                         \
	"  --interface IFACE  use /run/w2wesher/IFACE.sock (default: wesh0)\n"

/* The socket: --socket PATH, else --config FILE's [Node] ControlSocket, else
 * /run/w2wesher/IFACE.sock (see the top of this file). */
int cli_ctl_socket(const struct cli_cmd *self, const char *sock, const char *config, const char *iface, char *path,
		   size_t cap, const char **out)
{
	if (!sock && config) {
		struct w2w_config *cfg = NULL;

		if (w2w_config_new(&cfg) < 0 || w2w_config_load(cfg, config, W2W_CONFIG_ENV | W2W_CONFIG_ALLOW_OPEN_SECRETS) < 0) {
			cli_err(self, "%s", cfg ? w2w_config_error(cfg) : "out of memory");
			w2w_config_free(cfg);
			return CLI_FAIL;
		}
		snprintf(path, cap, "%s", w2w_config_control_socket(cfg));
		w2w_config_free(cfg);
		sock = path;
	} else if (!sock) {
		if (strchr(iface, '/') || strlen(iface) > 15)
			return cli_usage(self, "bad interface name '%s'", iface);
		snprintf(path, cap, "/run/w2wesher/%s.sock", iface);
		sock = path;
	}
	*out = sock;
	return CLI_OK;
}

static int run_ctl(const struct cli_cmd *self, int argc, char **argv, const char *req, int allow_json,
		   int want_operand)
{
	static const struct option opts[] = {
		{"socket", required_argument, NULL, 's'}, {"config", required_argument, NULL, 'c'},
		{"interface", required_argument, NULL, 'i'}, {"json", no_argument, NULL, 'j'},
		{NULL, 0, NULL, 0},
	};
	const char *sock = NULL, *config = NULL, *iface = "wesh0";
	char path[512], line[1024];
	int json = 0, c, rc;

	if (cli_help_requested(self, argc, argv))
		return CLI_OK;
	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 's': sock = optarg; break;
		case 'c': config = optarg; break;
		case 'i': iface = optarg; break;
		case 'j':
			if (!allow_json)
				return cli_usage(self, "--json is not an option of %s", self->name);
			json = 1;
			break;
		default: return cli_usage(self, "unknown option");
		}
	}
	if (want_operand != (argc - optind))
		return cli_usage(self, want_operand ? "expected one MULTIADDR" : "unexpected operand '%s'",
				 optind < argc ? argv[optind] : "");
	c = cli_ctl_socket(self, sock, config, iface, path, sizeof(path), &sock);
	if (c != CLI_OK)
		return c;
	if (want_operand) {
		if (strchr(argv[optind], '\n'))
			return cli_usage(self, "bad MULTIADDR");
		snprintf(line, sizeof(line), "%s %s", req, argv[optind]);
	} else {
		snprintf(line, sizeof(line), "%s%s", req, json ? " json" : "");
	}
	rc = ctl_request(sock, line);
	return rc ? CLI_FAIL : CLI_OK;
}

static int run_status(const struct cli_cmd *self, int argc, char **argv)
{
	return run_ctl(self, argc, argv, "status", 1, 0);
}

static int run_join_info(const struct cli_cmd *self, int argc, char **argv)
{
	return run_ctl(self, argc, argv, "join-info", 1, 0);
}

static int run_leave(const struct cli_cmd *self, int argc, char **argv)
{
	return run_ctl(self, argc, argv, "leave", 0, 0);
}

static int run_rotate_key(const struct cli_cmd *self, int argc, char **argv)
{
	return run_ctl(self, argc, argv, "rotate-key", 0, 0);
}

static int run_join(const struct cli_cmd *self, int argc, char **argv)
{
	return run_ctl(self, argc, argv, "join", 0, 1);
}

CLI_COMMAND(cmd_status) = {
	"status", "[--json] " SOCK_OPTS, "show the running node and its peers",
	"Prints the node (name, peer ID, overlay address, WireGuard key) and, per peer:\n"
	"name, peer ID, overlay IP, endpoint, last handshake, rx/tx bytes and whether a\n"
	"libp2p connection is up.\n\n"
	"  --json             one JSON object instead of the table\n" SOCK_HELP,
	run_status,
};

CLI_COMMAND(cmd_join_info) = {
	"join-info", "[--json] " SOCK_OPTS, "print the multiaddrs another node should bootstrap from",
	"Prints one /ip4|ip6/…/tcp/…/p2p/… multiaddr per line: put one of them in another\n"
	"node's [P2P] Bootstrap.\n\n"
	"  --json             one JSON object instead of lines\n" SOCK_HELP,
	run_join_info,
};

CLI_COMMAND(cmd_leave) = {
	"leave", SOCK_OPTS, "announce that the node leaves the mesh, remove its interface, stop",
	"Every other node removes this one from its WireGuard at once. Stopping the\n"
	"daemon with SIGTERM instead keeps the interface for a seamless restart.\n\n" SOCK_HELP,
	run_leave,
};

CLI_COMMAND(cmd_join) = {
	"join", SOCK_OPTS " MULTIADDR", "add a bootstrap peer to the running node and dial it",
	"MULTIADDR is /ip4|ip6|dns4|dns6/…/tcp/PORT/p2p/PEERID.\n\n" SOCK_HELP,
	run_join,
};

CLI_COMMAND(cmd_rotate_key) = {
	"rotate-key", SOCK_OPTS, "rotate the node's WireGuard key now, without losing traffic",
	"Generates a new WireGuard key, saves it in the state directory (StateDir/wgkey)\n"
	"before using it, announces it, and switches to it about 2 s later, once the\n"
	"peers have it configured (docs/mesh.md \"Key rotation\"). Prints the new public\n"
	"key when the switch is done. The libp2p identity (peer ID) stays.\n\n" SOCK_HELP,
	run_rotate_key,
};
