/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "ctlproto.h"
#include "dnsnames.h"
#include "json.h"
#include "strbuf.h"

static void sb_put(void *ud, const char *p, size_t n)
{
	strbuf_add(ud, "%.*s", (int)n, p);
}

static void sb_json_str(struct strbuf *b, const char *s)
{
	json_put_str(sb_put, b, s);
}

static void json_node(struct strbuf *b, const struct w2w_snapshot *s, size_t i, const struct dnsnames *dn)
{
	const struct dnsname *d = dnsnames_at(dn, i);

	strbuf_add(b, "{\"name\":");
	sb_json_str(b, w2w_snapshot_name(s, i));
	/* The name the resolver answers for (dnsnames.h), null when there is none. */
	strbuf_add(b, ",\"dns\":");
	if (d && d->fqdn[0])
		sb_json_str(b, d->fqdn);
	else
		strbuf_add(b, "null");
	strbuf_add(b, ",\"peerId\":");
	sb_json_str(b, w2w_snapshot_peer_id(s, i));
	strbuf_add(b, ",\"address\":");
	sb_json_str(b, w2w_snapshot_address(s, i));
	strbuf_add(b, ",\"wgPublicKey\":");
	sb_json_str(b, w2w_snapshot_wg_public_key(s, i));
	/* NAT traversal (docs/nat.md) */
	strbuf_add(b, ",\"nat\":%d,\"publicEndpoint\":", w2w_snapshot_nat(s, i));
	sb_json_str(b, w2w_snapshot_public_endpoint(s, i));
	if (i != W2W_SNAPSHOT_SELF) {
		strbuf_add(b, ",\"path\":");
		sb_json_str(b, w2w_snapshot_path(s, i));
		strbuf_add(b, ",\"via\":");
		sb_json_str(b, w2w_snapshot_via(s, i));
	}
	if (i != W2W_SNAPSHOT_SELF) {
		strbuf_add(b, ",\"endpoint\":");
		sb_json_str(b, w2w_snapshot_endpoint(s, i));
		strbuf_add(b, ",\"lastHandshake\":%lld,\"rxBytes\":%llu,\"txBytes\":%llu,\"connected\":%s",
		       (long long)w2w_snapshot_last_handshake(s, i), (unsigned long long)w2w_snapshot_rx_bytes(s, i),
		       (unsigned long long)w2w_snapshot_tx_bytes(s, i),
		       w2w_snapshot_connected(s, i) ? "true" : "false");
	}
	strbuf_add(b, "}");
}

char *ctl_snapshot_json(const struct w2w_snapshot *s, int join_info_only, const char *domain)
{
	struct strbuf b = {0};
	struct dnsnames dn = {0};
	size_t n;

	if (!join_info_only && dnsnames_build(&dn, s, domain) < 0)
		return NULL;
	strbuf_add(&b, "{");
	if (!join_info_only) {
		strbuf_add(&b, "\"self\":");
		json_node(&b, s, W2W_SNAPSHOT_SELF, &dn);
		strbuf_add(&b, ",\"peers\":[");
		n = w2w_snapshot_peer_count(s);
		for (size_t i = 0; i < n; i++) {
			if (i)
				strbuf_add(&b, ",");
			json_node(&b, s, i, &dn);
		}
		strbuf_add(&b, "],");
		dnsnames_free(&dn);
	}
	strbuf_add(&b, "\"joinAddrs\":[");
	n = w2w_snapshot_join_addr_count(s);
	for (size_t i = 0; i < n; i++) {
		if (i)
			strbuf_add(&b, ",");
		sb_json_str(&b, w2w_snapshot_join_addr(s, i));
	}
	strbuf_add(&b, "]}\n");
	return strbuf_done(&b);
}

static void ago(char *out, size_t cap, int64_t t)
{
	time_t now = time(NULL);

	if (t <= 0)
		snprintf(out, cap, "never");
	else if (now - t < 0)
		snprintf(out, cap, "now");
	else
		snprintf(out, cap, "%llds ago", (long long)(now - t));
}

char *ctl_snapshot_text(const struct w2w_snapshot *s, int join_info_only)
{
	struct strbuf b = {0};
	size_t n = w2w_snapshot_peer_count(s), nj = w2w_snapshot_join_addr_count(s);

	if (join_info_only) {
		for (size_t i = 0; i < nj; i++)
			strbuf_add(&b, "%s\n", w2w_snapshot_join_addr(s, i));
		if (!nj)
			strbuf_add(&b, "%s", "");
		return strbuf_done(&b);
	}
	strbuf_add(&b, "node %s  peer %s\n  address %s  wireguard %s\n", w2w_snapshot_name(s, W2W_SNAPSHOT_SELF),
	       w2w_snapshot_peer_id(s, W2W_SNAPSHOT_SELF), w2w_snapshot_address(s, W2W_SNAPSHOT_SELF),
	       w2w_snapshot_wg_public_key(s, W2W_SNAPSHOT_SELF));
	if (w2w_snapshot_nat(s, W2W_SNAPSHOT_SELF))
		strbuf_add(&b, "  behind a %sNAT, public WireGuard endpoint %s\n",
		       w2w_snapshot_nat(s, W2W_SNAPSHOT_SELF) == 2 ? "symmetric " : "",
		       w2w_snapshot_public_endpoint(s, W2W_SNAPSHOT_SELF)[0]
			       ? w2w_snapshot_public_endpoint(s, W2W_SNAPSHOT_SELF)
			       : "not learned yet");
	strbuf_add(&b, "\n%-16s %-28s %-40s %-24s %-12s %10s %10s %-4s %s\n", "NAME", "PEER", "OVERLAY", "ENDPOINT",
	       "HANDSHAKE", "RX", "TX", "P2P", "PATH");
	for (size_t i = 0; i < n; i++) {
		char hs[32], pid[29], path[96];

		ago(hs, sizeof(hs), w2w_snapshot_last_handshake(s, i));
		snprintf(pid, sizeof(pid), "%s", w2w_snapshot_peer_id(s, i));
		/* "relayed via NAME" (docs/nat.md) */
		snprintf(path, sizeof(path), "%s%s%s", w2w_snapshot_path(s, i),
			 w2w_snapshot_via(s, i)[0] ? " via " : "", w2w_snapshot_via(s, i));
		strbuf_add(&b, "%-16s %-28s %-40s %-24s %-12s %10llu %10llu %-4s %s\n", w2w_snapshot_name(s, i), pid,
		       w2w_snapshot_address(s, i), w2w_snapshot_endpoint(s, i)[0] ? w2w_snapshot_endpoint(s, i) : "-",
		       hs, (unsigned long long)w2w_snapshot_rx_bytes(s, i),
		       (unsigned long long)w2w_snapshot_tx_bytes(s, i), w2w_snapshot_connected(s, i) ? "yes" : "no",
		       path);
	}
	return strbuf_done(&b);
}

char *ctl_error_json(const char *msg)
{
	struct strbuf b = {0};

	strbuf_add(&b, "{\"error\":");
	sb_json_str(&b, msg);
	strbuf_add(&b, "}\n");
	return strbuf_done(&b);
}

int ctl_request(const char *path, const char *request)
{
	struct sockaddr_un sa;
	char buf[4096], head[10];
	size_t got = 0, hlen = 0;
	ssize_t n;
	int fd, rc = 0;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "w2wesher: control socket path too long: %s\n", path);
		return 1;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		fprintf(stderr, "w2wesher: cannot reach the daemon at %s: %s (is w2wesherd running?)\n", path,
			strerror(errno));
		if (fd >= 0)
			close(fd);
		return 1;
	}
	{
		size_t len = strlen(request);
		char *line = malloc(len + 2);

		if (!line) {
			close(fd);
			return 1;
		}
		memcpy(line, request, len);
		line[len] = '\n';
		/* MSG_NOSIGNAL: a daemon that already hung up (e.g. busy) is an error
		 * reported below, not a SIGPIPE death. A failed send is not final:
		 * the daemon may have answered before closing, so read anyway. */
		if (send(fd, line, len + 1, MSG_NOSIGNAL) != (ssize_t)(len + 1))
			rc = 1;
		free(line);
	}
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		if (hlen < sizeof(head)) {
			size_t k = sizeof(head) - hlen < (size_t)n ? sizeof(head) - hlen : (size_t)n;

			memcpy(head + hlen, buf, k);
			hlen += k;
		}
		got += (size_t)n;
		if (hlen >= 9 && !strncmp(head, "{\"error\":", 9)) {
			/* An error answer goes to stderr: stdout carries only results. */
			rc = 2;
			fputs("w2wesher: the daemon answered: ", stderr);
			fwrite(buf, 1, (size_t)n, stderr);
		} else {
			fwrite(buf, 1, (size_t)n, stdout);
		}
	}
	if (n < 0 && got == 0) {
		fprintf(stderr, "w2wesher: reading from the daemon at %s: %s\n", path, strerror(errno));
		rc = 1;
	} else if (got == 0) {
		fprintf(stderr, "w2wesher: the daemon at %s closed the connection without an answer\n", path);
		rc = 1;
	} else if (rc == 2) {
		rc = 1;
	} else {
		rc = 0;
	}
	close(fd);
	return rc;
}
