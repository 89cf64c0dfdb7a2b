/* SPDX-License-Identifier: MIT */
/* `w2wesher config check|init FILE`. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <w2wesher/w2wesher.h>

#include "cli.h"

/* Prints the node's identity lines and the redacted effective configuration. */
static int show(struct w2w_config *cfg)
{
	char id[W2W_PEER_ID_TEXT_MAX], pub[W2W_WG_KEY_TEXT_MAX];
	char *text = NULL;

	if (w2w_config_peer_id(cfg, id, sizeof(id)) < 0)
		snprintf(id, sizeof(id), "(none: no [P2P] PrivateKey yet)");
	if (w2w_config_wg_public_key(cfg, pub, sizeof(pub)) < 0)
		snprintf(pub, sizeof(pub), "(none: no key yet)");
	printf("peer-id: %s\nwireguard-public-key: %s\n\n", id, pub);
	if (w2w_config_dump(cfg, &text) < 0)
		return CLI_FAIL;
	fputs(text, stdout);
	w2w_free(text);
	return fflush(stdout) == 0 ? CLI_OK : CLI_FAIL;
}

static int run_config(const struct cli_cmd *self, int argc, char **argv)
{
	struct w2w_config *cfg = NULL;
	const char *sub, *path = NULL;
	unsigned flags = W2W_CONFIG_ENV;
	struct stat before, after;
	bool existed;
	int rc;

	if (cli_help_requested(self, argc, argv))
		return CLI_OK;
	if (argc < 2)
		return cli_usage(self, "missing subcommand");
	sub = argv[1];
	if (strcmp(sub, "check") && strcmp(sub, "init"))
		return cli_usage(self, "unknown subcommand '%s'", sub);
	for (int i = 2; i < argc; i++) {
		if (!strcmp(argv[i], "--no-env"))
			flags &= ~(unsigned)W2W_CONFIG_ENV;
		else if (!strcmp(argv[i], "--allow-open-secrets"))
			flags |= W2W_CONFIG_ALLOW_OPEN_SECRETS;
		else if (argv[i][0] == '-' && argv[i][1])
			return cli_usage(self, "unknown option '%s'", argv[i]);
		else if (path)
			return cli_usage(self, "more than one FILE");
		else
			path = argv[i];
	}
	if (!path)
		return cli_usage(self, "missing FILE");
	if (!strcmp(sub, "init"))
		flags |= W2W_CONFIG_GENERATE;
	if (w2w_config_new(&cfg) < 0) {
		cli_err(self, "out of memory");
		return CLI_FAIL;
	}
	existed = stat(path, &before) == 0;
	rc = w2w_config_load(cfg, path, flags);
	if (rc < 0) {
		/* Already "FILE:LINE: what is wrong". */
		fprintf(stderr, "%s\n", w2w_config_error(cfg));
		rc = CLI_FAIL;
		goto out;
	}
	if (!strcmp(sub, "init")) {
		bool wrote = stat(path, &after) == 0 &&
		             (!existed || after.st_ino != before.st_ino || after.st_dev != before.st_dev);

		printf("%s: %s\n", path,
		       !existed ? "created with new secrets"
		       : wrote  ? "missing secrets generated and written"
		                : "all secrets present, file unchanged");
		rc = show(cfg);
	} else {
		printf("%s: OK\n", path);
		rc = show(cfg);
	}
out:
	w2w_config_free(cfg);
	return rc;
}

CLI_COMMAND(cmd_config) = {
    .name = "config",
    .args = "check|init [--no-env] [--allow-open-secrets] FILE",
    .summary = "validate a configuration file, or add its missing secrets",
    .help = "config check FILE\n"
            "    Validates FILE and prints the node's peer ID, its WireGuard public key and the\n"
            "    effective configuration (defaults and W2WESHER_* environment overrides applied,\n"
            "    secrets shown as <redacted>). On error prints 'FILE:LINE: message' and exits 1.\n"
            "    Missing secrets are not an error: the daemon generates them on first start.\n"
            "config init FILE\n"
            "    Does what the daemon does on first start: generates the missing secrets (PSK\n"
            "    unless PSKFile is set, both private keys) and writes them into FILE, keeping\n"
            "    every other line; creates FILE if needed. Atomic replace, owner and group\n"
            "    kept, a symlink's target replaced; mode 0600 (0640 if it was 0640). A file\n"
            "    that already holds every secret, or that is invalid, is left untouched.\n"
            "--no-env\n"
            "    Ignore W2WESHER_<SECTION>_<KEY> environment variables.\n"
            "--allow-open-secrets\n"
            "    Accept a FILE or PSKFile holding secrets that every user may read (refused\n"
            "    otherwise, like the daemon does).\n",
    .run = run_config,
};
