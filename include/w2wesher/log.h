/* SPDX-License-Identifier: MIT */
/*
 * Log levels and the one log-callback shape shared by every object (node,
 * libp2p host, WireGuard device). Levels use syslog's numbering, so a host
 * can hand them to syslog()/sd_journal_print() unchanged; a message is
 * delivered when its level <= the max_level given with the callback.
 *
 * The library never prints; it logs only through these callbacks. Messages
 * never contain secrets. Each line is rate-limited per place in the code
 * that logs it: at most 20 lines per 10 s, then one summary line
 * "<message pattern> ... (N more suppressed)" when the interval ends, so a
 * remote peer cannot flood the log (docs/security.md "Hostile input").
 */
#ifndef W2WESHER_LOG_H
#define W2WESHER_LOG_H

#ifdef __cplusplus
extern "C" {
#endif

enum {
	W2W_LOG_ERR = 3,
	W2W_LOG_WARNING = 4,
	W2W_LOG_NOTICE = 5,
	W2W_LOG_INFO = 6,
	W2W_LOG_DEBUG = 7,
};

/* msg: one line without a trailing newline, valid during the call only. */
typedef void (*w2w_log_fn)(void *ud, int level, const char *msg);

#ifdef __cplusplus
}
#endif
#endif
