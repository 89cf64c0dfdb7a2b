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

struct ent {
	const char *key; /* label, then fqdn */
	const char *pid;
	size_t k;
};

static int cmp_label_pid(const void *a, const void *b)
{
	const struct ent *x = a, *y = b;
	int c = strcmp(x->key, y->key);

	return c ? c : strcmp(x->pid, y->pid);
}

static int cmp_key(const void *a, const void *b)
{
	return strcmp(((const struct ent *)a)->key, ((const struct ent *)b)->key);
}

/* O(n log n): a lookup or a peer event on a 4096-node table stays cheap. */
int dnsnames_compute(struct dnsnames *dn, size_t n, const char *const *names, const char *const *peer_ids,
                     const char *domain)
{
	char (*label)[DNS_LABEL_MAX + 1];
	struct ent *e;
	size_t m = 0;

	dn->peers = n ? n - 1 : 0;
	dn->name = calloc(n ? n : 1, sizeof(*dn->name));
	label = calloc(n ? n : 1, sizeof(*label));
	e = calloc(n ? n : 1, sizeof(*e));
	if (!dn->name || !label || !e) {
		free(dn->name);
		free(label);
		free(e);
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
		e[m++] = (struct ent){label[k], peer_ids[k] ? peer_ids[k] : "", k};
	}
	/* 2. Per label the lowest peer ID keeps it; the others derive <label>-<suffix>. */
	qsort(e, m, sizeof(*e), cmp_label_pid);
	for (size_t i = 0; i < m; i++) {
		struct dnsname *d = &dn->name[e[i].k];
		char buf[DNS_LABEL_MAX + 1];
		size_t plen;

		if (i == 0 || strcmp(e[i - 1].key, e[i].key) != 0) {
			snprintf(d->fqdn, sizeof(d->fqdn), "%s.%s", e[i].key, domain);
			continue;
		}
		plen = strlen(e[i].pid);
		snprintf(buf, sizeof(buf), "%.*s-%s", DNS_LABEL_MAX - SUFFIX_LEN - 1, e[i].key,
		         e[i].pid + (plen > SUFFIX_LEN ? plen - SUFFIX_LEN : 0));
		lower(buf);
		d->renamed = true;
		if (!dns_label_ok(buf, strlen(buf)) ||
		    snprintf(d->fqdn, sizeof(d->fqdn), "%s.%s", buf, domain) > DNS_NAME_MAX)
			d->clash = true;
	}
	/* 3. A derived name equal to any other name resolves for nobody (an attacker
	 * announcing "node2-abcdefgh" must not capture a collision loser's name). */
	m = 0;
	for (size_t k = 0; k < n; k++)
		if (dn->name[k].fqdn[0] && !dn->name[k].clash)
			e[m++] = (struct ent){dn->name[k].fqdn, "", k};
	qsort(e, m, sizeof(*e), cmp_key);
	for (size_t i = 0; i + 1 < m; i++)
		if (!strcmp(e[i].key, e[i + 1].key)) {
			dn->name[e[i].k].clash |= dn->name[e[i].k].renamed;
			dn->name[e[i + 1].k].clash |= dn->name[e[i + 1].k].renamed;
		}
	for (size_t k = 0; k < n; k++)
		if (dn->name[k].clash)
			dn->name[k].fqdn[0] = 0;
	free(label);
	free(e);
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
