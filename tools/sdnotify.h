/* SPDX-License-Identifier: MIT */
/*
 * The systemd notification protocol, spoken directly (sd_notify(3),
 * "Notes": one AF_UNIX datagram of newline-separated VAR=VALUE lines to
 * $NOTIFY_SOCKET, a path or, with a leading '@', an abstract name). Written
 * here rather than linking libsystemd: it is ~100 lines, and the daemon then
 * runs the same under any service manager (s6, runit, a test) without it.
 */
#ifndef W2W_TOOLS_SDNOTIFY_H
#define W2W_TOOLS_SDNOTIFY_H

#include <stdint.h>

struct sdnotify {
	int fd;           /* -1: not under a notifying manager */
	uint64_t wd_usec; /* WatchdogSec= for this process (0: none) */
	char addr[112];   /* struct sockaddr_un storage */
	unsigned addr_len;
};

/*
 * Reads $NOTIFY_SOCKET, $WATCHDOG_USEC and $WATCHDOG_PID (the watchdog is
 * ours only when WATCHDOG_PID is unset or our PID, sd_watchdog_enabled(3)),
 * then unsets all three so that children (wireguard-go) do not talk to the
 * manager as if they were the service. Returns 0, or -errno for an unusable
 * NOTIFY_SOCKET (sn->fd stays -1: the daemon runs without notifications).
 */
int sdnotify_init(struct sdnotify *sn);
/* Sends msg ("READY=1\nSTATUS=..."); 0, or -errno. A no-op without a socket. */
int sdnotify_send(const struct sdnotify *sn, const char *msg);
/* printf-style; messages longer than 1 KiB are cut (STATUS= text only). */
int sdnotify_sendf(const struct sdnotify *sn, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void sdnotify_close(struct sdnotify *sn);

#endif
