/* SPDX-License-Identifier: MIT */
/*
 * Test driver for the netns tier, on the public API only: syncs one
 * WireGuard interface to a `wg setconf` file plus interface addresses and MTU
 * (userspace backend, wireguard-go started when missing), then prints what
 * the sync did as key=value lines:
 *
 *   wg_apply IFACE FILE [--addr CIDR]... [--mtu N] [--keep-roamed SECS]
 *            [--wireguard-go PATH] [--create 0|1] [--backend auto|kernel|userspace]
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <w2wesher/w2wesher.h>

static void log_stderr(void *ud, int level, const char *msg)
{
	fprintf(stderr, "wg_apply: %s\n", msg);
}

int main(int argc, char **argv)
{
	struct w2w_wg_opts o = {.version = W2W_WG_OPTS_VERSION, .backend = W2W_BACKEND_USERSPACE, .create = 1};
	struct w2w_wg_config *cfg = NULL;
	struct w2w_wg_sync_stats st = {.size = sizeof(st)};
	struct w2w_loop *loop = NULL;
	struct w2w_wg *wg = NULL;
	static char text[1 << 20];
	char err[160];
	size_t len;
	FILE *f;
	int rc = 1, r;

	if (argc < 3) {
		fprintf(stderr, "usage: wg_apply IFACE FILE [--addr CIDR]... [--mtu N] [--keep-roamed S]\n");
		return 2;
	}
	f = fopen(argv[2], "r");
	if (!f) {
		perror(argv[2]);
		return 1;
	}
	len = fread(text, 1, sizeof(text), f);
	fclose(f);
	r = w2w_wg_config_parse(&cfg, text, len, err, sizeof(err));
	w2w_wipe(text, len);
	if (r < 0) {
		fprintf(stderr, "wg_apply: %s:%s\n", argv[2], err);
		return 1;
	}
	for (int i = 3; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--addr"))
			r = w2w_wg_config_add_address(cfg, argv[i + 1]);
		else if (!strcmp(argv[i], "--mtu"))
			r = w2w_wg_config_set_mtu(cfg, (unsigned)atoi(argv[i + 1]));
		else if (!strcmp(argv[i], "--keep-roamed"))
			o.keep_roamed_secs = (unsigned)atoi(argv[i + 1]), r = 0;
		else if (!strcmp(argv[i], "--backend"))
			o.backend = !strcmp(argv[i + 1], "kernel")	 ? W2W_BACKEND_KERNEL
				    : !strcmp(argv[i + 1], "auto") ? W2W_BACKEND_AUTO
								   : W2W_BACKEND_USERSPACE,
			r = 0;
		else if (!strcmp(argv[i], "--create"))
			o.create = atoi(argv[i + 1]), r = 0;
		else if (!strcmp(argv[i], "--wireguard-go"))
			o.wireguard_go = argv[i + 1], r = 0;
		else
			r = -EINVAL;
		if (r < 0) {
			fprintf(stderr, "wg_apply: %s %s: %s\n", argv[i], argv[i + 1], w2w_strerror(r));
			goto out;
		}
	}
	if (w2w_loop_new(&loop, NULL) < 0)
		goto out;
	r = w2w_wg_new(&wg, loop, argv[1], &o);
	if (r < 0) {
		fprintf(stderr, "wg_apply: open %s: %s\n", argv[1], w2w_strerror(r));
		goto out;
	}
	w2w_wg_set_log(wg, log_stderr, NULL, W2W_LOG_WARNING);
	r = w2w_wg_sync_run(wg, cfg, 20000);
	if (w2w_wg_userspace_pid(wg) > 0)
		printf("pid=%d\n", w2w_wg_userspace_pid(wg));
	if (r < 0) {
		fprintf(stderr, "wg_apply: sync %s: %s\n", argv[1], w2w_strerror(r));
		goto out;
	}
	w2w_wg_last_sync_stats(wg, &st);
	printf("backend=%s\nadded=%zu\nremoved=%zu\nupdated=%zu\nunchanged=%zu\nendpoints_kept=%zu\n"
	       "applied=%d\nbytes_sent=%llu\n",
	       w2w_wg_backend_name(wg), st.added, st.removed, st.updated, st.unchanged, st.endpoints_kept,
	       st.applied, (unsigned long long)st.bytes_sent);
	rc = 0;
out:
	w2w_wg_free(wg);
	w2w_loop_free(loop);
	w2w_wg_config_free(cfg);
	return rc;
}
