/* SPDX-License-Identifier: MIT */
/*
 * w2wesher — command-line tool for libw2wesher. Uses only the public API.
 * Exit codes: 0 success, 1 operation failed, 2 usage error.
 */
#include <stdio.h>
#include <string.h>

#include <w2wesher/w2wesher.h>

static void usage(FILE *f)
{
	fprintf(f,
		"usage: w2wesher [--version] [--help] <command> [args]\n"
		"\n"
		"commands:\n"
		"  (more arrive with each layer; see docs/cli.md)\n");
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "--version")) {
		printf("w2wesher %s\n", w2w_version());
		return 0;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		usage(stdout);
		return 0;
	}
	fprintf(stderr, "w2wesher: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return 2;
}
