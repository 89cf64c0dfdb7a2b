/* SPDX-License-Identifier: MIT */
/*
 * The daemon's control socket protocol (docs/operations.md): a client sends
 * one line ("status", "status json", "join-info", "join-info json", "leave",
 * "join MULTIADDR", "resolve NAME", "resolve-addr IP") and reads the reply
 * until the daemon closes the connection. Replies are UTF-8 text or one JSON
 * object, except the two for the NSS module (tools/nss/): one line
 * "FQDN ADDRESS\n" when NAME is a live node's DNS name (dnsnames.h) or IP its
 * overlay address, else an empty reply.
 */
#ifndef W2W_TOOLS_CTLPROTO_H
#define W2W_TOOLS_CTLPROTO_H

#include <w2wesher/w2wesher.h>

/* malloc'ed replies (NULL on allocation failure). */
/* status json: each node's `dns` name under domain (dnsnames.h). */
char *ctl_snapshot_json(const struct w2w_snapshot *s, int join_info_only, const char *domain);
char *ctl_snapshot_text(const struct w2w_snapshot *s, int join_info_only);
char *ctl_error_json(const char *msg);

/* Client side: sends request to the socket at path, writes the reply to
 * stdout. Returns 0, or 1 with a message on stderr. */
int ctl_request(const char *path, const char *request);

#endif
