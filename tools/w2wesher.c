/* SPDX-License-Identifier: MIT */
/*
 * w2wesher -- command-line tool for libw2wesher. Uses only the public API.
 * Subcommands register themselves (tools/cli.h); this file finds and runs them.
 * Exit codes: 0 success, 1 operation failed, 2 usage error.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <w2wesher/w2wesher.h>

#include "cli.h"

/* Bounds of the command section, defined by the linker (GNU ld, lld, gold). */
extern const struct cli_cmd *const __start_w2w_cli_cmds[];
extern const struct cli_cmd *const __stop_w2w_cli_cmds[];

#define MAX_CMDS 64

static size_t commands(const struct cli_cmd **out)
{
	size_t n = 0;

	for (const struct cli_cmd *const *p = __start_w2w_cli_cmds; p < __stop_w2w_cli_cmds && n < MAX_CMDS;
	     p++)
		out[n++] = *p;
	/* Insertion sort by name: the section order is the link order. */
	for (size_t i = 1; i < n; i++)
		for (size_t j = i; j > 0 && strcmp(out[j - 1]->name, out[j]->name) > 0; j--) {
			const struct cli_cmd *t = out[j];
			out[j] = out[j - 1];
			out[j - 1] = t;
		}
	return n;
}

void cli_err(const struct cli_cmd *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "w2wesher: %s%s", cmd ? cmd->name : "", cmd ? ": " : "");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int cli_usage(const struct cli_cmd *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "w2wesher: %s: ", cmd->name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nusage: w2wesher %s%s%s\n(see w2wesher %s --help)\n", cmd->name,
	        *cmd->args ? " " : "", cmd->args, cmd->name);
	return CLI_USAGE;
}

void cli_help(const struct cli_cmd *cmd, FILE *f)
{
	fprintf(f, "usage: w2wesher %s%s%s\n\n%s\n\n%s", cmd->name, *cmd->args ? " " : "", cmd->args,
	        cmd->summary, cmd->help);
}

bool cli_help_requested(const struct cli_cmd *cmd, int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--"))
			break;
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			cli_help(cmd, stdout);
			return true;
		}
	}
	return false;
}

long cli_read_stdin(char *buf, size_t cap)
{
	size_t got = 0;

	for (;;) {
		ssize_t n = read(STDIN_FILENO, buf + got, cap - got);

		if (n < 0)
			return -1;
		if (n == 0)
			return (long)got;
		got += (size_t)n;
		if (got == cap) {
			char extra;

			return read(STDIN_FILENO, &extra, 1) == 0 ? (long)got : -1;
		}
	}
}

static void usage(FILE *f)
{
	const struct cli_cmd *cmds[MAX_CMDS];
	size_t n = commands(cmds);

	fprintf(f, "usage: w2wesher [--version] [--help] <command> [args]\n"
	           "\n"
	           "commands:\n");
	for (size_t i = 0; i < n; i++)
		fprintf(f, "  %-10s %s\n", cmds[i]->name, cmds[i]->summary);
	fprintf(f, "\n'w2wesher <command> --help' describes a command (docs/cli.md).\n"
	           "Exit status: 0 success, 1 failure, 2 usage error.\n");
}

int main(int argc, char **argv)
{
	const struct cli_cmd *cmds[MAX_CMDS];
	size_t n = commands(cmds);
	const char *name;

	if (argc < 2) {
		usage(stderr);
		return CLI_USAGE;
	}
	name = argv[1];
	if (!strcmp(name, "--version") || !strcmp(name, "-V")) {
		printf("w2wesher %s\n", w2w_version());
		return CLI_OK;
	}
	if (!strcmp(name, "--help") || !strcmp(name, "-h")) {
		usage(stdout);
		return CLI_OK;
	}
	if (!strcmp(name, "help") && argc >= 3)
		name = argv[2];
	else if (!strcmp(name, "help")) {
		usage(stdout);
		return CLI_OK;
	}
	for (size_t i = 0; i < n; i++) {
		if (strcmp(cmds[i]->name, name))
			continue;
		if (name != argv[1]) { /* help <command> */
			cli_help(cmds[i], stdout);
			return CLI_OK;
		}
		return cmds[i]->run(cmds[i], argc - 1, argv + 1);
	}
	fprintf(stderr, "w2wesher: unknown command '%s'\n\n", name);
	usage(stderr);
	return CLI_USAGE;
}
