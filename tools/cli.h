/* SPDX-License-Identifier: MIT */
/*
 * Subcommands of the w2wesher tool. Each lives in a tools/cmd_*.c file and
 * registers itself with CLI_COMMAND(); tools/w2wesher.c finds every
 * registered command through the linker section, sorts them by name and
 * dispatches. Adding a subcommand is a new file plus its line in
 * tools/meson.build (cli_sources). Tools use only the public API.
 *
 * Exit codes: 0 success, 1 the operation failed, 2 usage error.
 */
#ifndef W2W_TOOLS_CLI_H
#define W2W_TOOLS_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

enum { CLI_OK = 0, CLI_FAIL = 1, CLI_USAGE = 2 };

struct cli_cmd {
	const char *name;    /* "genkey" */
	const char *args;    /* synopsis after the name: "[--key FILE]" */
	const char *summary; /* one line for `w2wesher --help` */
	const char *help;    /* the rest of `w2wesher NAME --help` */
	/* argv[0] is the command name; options and operands follow. */
	int (*run)(const struct cli_cmd *self, int argc, char **argv);
};

#define CLI_SECTION "w2w_cli_cmds"
/* Registers the command `var` (a static const struct cli_cmd defined right after). */
#define CLI_COMMAND(var)                                                                                     \
	static const struct cli_cmd var;                                                                     \
	__attribute__((used, section(CLI_SECTION))) static const struct cli_cmd *const var##_entry = &var;   \
	static const struct cli_cmd var

/* Prints "w2wesher: <cmd>: <message>" to stderr (printf-style). */
void cli_err(const struct cli_cmd *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prints the error and the command's usage line to stderr; returns CLI_USAGE. */
int cli_usage(const struct cli_cmd *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prints the command's full help to f. */
void cli_help(const struct cli_cmd *cmd, FILE *f);
/* True (and help printed to stdout) if argv[1..] holds -h or --help. */
bool cli_help_requested(const struct cli_cmd *cmd, int argc, char **argv);
/* The daemon's control socket (cmd_ctl.c): sock (--socket) if set, else the
 * [Node] ControlSocket of config (--config), else /run/w2wesher/IFACE.sock;
 * path (cap bytes) holds it where needed. Sets *out and returns CLI_OK, or
 * returns CLI_FAIL / CLI_USAGE with the message printed. */
int cli_ctl_socket(const struct cli_cmd *self, const char *sock, const char *config, const char *iface, char *path,
		   size_t cap, const char **out);
/* Reads all of stdin, up to cap bytes; -1 if there is more or on error. */
long cli_read_stdin(char *buf, size_t cap);

#endif
