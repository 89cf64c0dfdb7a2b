/* SPDX-License-Identifier: MIT */
/* Node names for the resolver: the rules are in dnsnames.h. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dnsnames.h"

#define SUFFIX_LEN 8

bool dns_label_ok(const char *s, size_t n)
{
	if (n == 0 || n > DNS_LABEL_MAX || s[0] == '-' || s[n - 1] == '-')
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (!(ch < 0x80 && (isalnum(ch) || ch == '-')))
			return false;
	}
	return true;
}

static size_t idx_of(const struct dnsnames *dn, size_t i)
{
	return i == W2W_SNAPSHOT_SELF ? dn->peers : i;
}

static size_t snap_of(const struct dnsnames *dn, size_t k)
{
	return k == dn->peers ? W2W_SNAPSHOT_SELF : k;
}

const struct dnsname *dnsnames_at(const struct dnsnames *dn, size_t i)
{
	size_t k = idx_of(dn, i);

	return k <= dn->peers ? &dn->name[k] : NULL;
}

static void lower(char *s)
{
	for (; *s; s++)
		*s = (char)tolower((unsigned char)*s);
}

int dnsnames_compute(struct dnsnames *dn, size_t n, const char *const *names, const char *const *peer_ids,
                     const char *domain)
{
	char (*label)[DNS_LABEL_MAX + 1];

	dn->peers = n ? n - 1 : 0;
	dn->name = calloc(n ? n : 1, sizeof(*dn->name));
	label = calloc(n ? n : 1, sizeof(*label));
	if (!dn->name || !label) {
		free(dn->name);
		free(label);
		dn->name = NULL;
		dn->peers = 0;
		return -ENOMEM;
	}
	/* 1. The label each node asks for: its name if that is a valid label. */
	for (size_t k = 0; k < n; k++) {
		const char *nm = names[k];
		size_t len = nm ? strlen(nm) : 0;

		if (!domain || !*domain || !dns_label_ok(nm, len) || len + 1 + strlen(domain) > DNS_NAME_MAX)
			continue;
		memcpy(label[k], nm, len + 1);
		lower(label[k]);
	}
	/* 2. Per label the lowest peer ID keeps it; the others derive <label>-<suffix>. */
	for (size_t k = 0; k < n; k++) {
		bool lost = false;
		char buf[DNS_LABEL_MAX + 1];

		if (!label[k][0])
			continue;
		for (size_t j = 0; j < n && !lost; j++)
			if (j != k && !strcmp(label[j], label[k]) && strcmp(peer_ids[j], peer_ids[k]) < 0)
				lost = true;
		if (!lost) {
			snprintf(dn->name[k].fqdn, sizeof(dn->name[k].fqdn), "%s.%s", label[k], domain);
			continue;
		}
		{
			size_t plen = strlen(peer_ids[k]);
			const char *suf = peer_ids[k] + (plen > SUFFIX_LEN ? plen - SUFFIX_LEN : 0);

			snprintf(buf, sizeof(buf), "%.*s-%s", DNS_LABEL_MAX - SUFFIX_LEN - 1, label[k], suf);
			lower(buf);
		}
		dn->name[k].renamed = true;
		if (!dns_label_ok(buf, strlen(buf)) ||
		    snprintf(dn->name[k].fqdn, sizeof(dn->name[k].fqdn), "%s.%s", buf, domain) > DNS_NAME_MAX)
			dn->name[k].clash = true;
	}
	/* 3. A derived name equal to any other name resolves for nobody (an attacker
	 * announcing "node2-abcdefgh" must not capture a collision loser's name). */
	for (size_t k = 0; k < n; k++) {
		if (!dn->name[k].renamed || !dn->name[k].fqdn[0])
			continue;
		for (size_t j = 0; j < n; j++)
			if (j != k && !strcmp(dn->name[j].fqdn, dn->name[k].fqdn))
				dn->name[k].clash = true;
	}
	for (size_t k = 0; k < n; k++)
		if (dn->name[k].clash)
			dn->name[k].fqdn[0] = 0;
	free(label);
	return 0;
}

int dnsnames_build(struct dnsnames *dn, const struct w2w_snapshot *s, const char *domain)
{
	size_t n = w2w_snapshot_peer_count(s) + 1;
	const char **names = calloc(n, sizeof(*names)), **pids = calloc(n, sizeof(*pids));
	int r = -ENOMEM;

	if (names && pids) {
		for (size_t k = 0; k < n; k++) {
			size_t i = k == n - 1 ? W2W_SNAPSHOT_SELF : k;

			names[k] = w2w_snapshot_name(s, i);
			pids[k] = w2w_snapshot_peer_id(s, i);
			if (!pids[k])
				pids[k] = "";
		}
		r = dnsnames_compute(dn, n, names, pids, domain);
	}
	free(names);
	free(pids);
	return r;
}

void dnsnames_free(struct dnsnames *dn)
{
	free(dn->name);
	dn->name = NULL;
	dn->peers = 0;
}

int dnsnames_find(const struct dnsnames *dn, const char *name, size_t *idx)
{
	size_t len = strlen(name);

	if (len && name[len - 1] == '.')
		len--;
	if (!len || len > DNS_NAME_MAX)
		return -1;
	for (size_t k = 0; k <= dn->peers; k++)
		if (dn->name[k].fqdn[0] && strlen(dn->name[k].fqdn) == len &&
		    !strncasecmp(dn->name[k].fqdn, name, len)) {
			*idx = snap_of(dn, k);
			return 0;
		}
	return -1;
}
