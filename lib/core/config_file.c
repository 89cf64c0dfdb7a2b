/* SPDX-License-Identifier: MIT */
/*
 * Configuration from outside the program (config_priv.h): the INI file
 * (codec/ini.c tokenizes), the W2WESHER_<SECTION>_<KEY> environment, the
 * PSKFile, and the line-preserving write-back of generated secrets.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "atomicfile.h"
#include "buf.h"
#include "config_priv.h"
#include "err.h"
#include "ident.h"
#include "ini.h"
#include "secmem.h"
#include "swarmkey.h"

extern char **environ;

#define MAX_ENV 100000u /* environment entries looked at */

/*
 * A name from the file (section or key) for an error message. Names are
 * short ASCII identifiers; anything else may be a secret that lost its
 * "Key =" (a value wrapped onto the next line: "PrivateKey =\n<key>=" parses
 * as a key named by 43 of the key's characters), so it is never echoed, only
 * described.
 */
const char *cfg_name_shown(char out[72], const char *v, size_t n)
{
	bool ident = n >= 1 && n <= CFG_NAME_SHOWN_MAX && isalpha((unsigned char)v[0]);

	for (size_t i = 0; ident && i < n; i++)
		ident = isalnum((unsigned char)v[i]) || v[i] == '_' || v[i] == '-' || v[i] == '.';
	if (ident)
		memcpy(out, v, n), out[n] = 0;
	else
		snprintf(out, 72, "<%zu characters, not shown: not a key name; a wrapped value?>", n);
	return out;
}

/* What the write-back needs to know about the file. */
struct layout {
	bool seen[SEC__COUNT];
	size_t sect_end[SEC__COUNT]; /* just past the last header/key line of the section */
	bool sect_end_nl[SEC__COUNT];
	bool empty_line[CK__COUNT]; /* key present with an empty value: replace that line */
	size_t line_off[CK__COUNT], line_end[CK__COUNT];
};

static int parse_file(struct w2w_config *c, const char *text, size_t len, struct layout *lay)
{
	struct ini p;
	struct ini_tok t;
	const char *why;
	char s[72];
	int rc, section = -1, k;
	unsigned guard = 0;

	ini_init(&p, text, len);
	while ((rc = ini_next(&p, &t, &why)) == 1 && ++guard <= INI_MAX_LINES) {
		if (t.kind == INI_SECTION) {
			section = cfg_find_section(t.name, t.name_len);
			if (section < 0) {
				cfg_err_at(c, -1, CO_FILE, t.line,
				       "unknown section [%s] (known, case-sensitive: [P2P], [Wireguard], "
				       "[Node])",
				       cfg_name_shown(s, t.name, t.name_len));
				return W2W_EPARSE;
			}
		} else if (t.kind == INI_KEY) {
			if (section < 0) {
				const char *q = cfg_name_shown(s, t.name, t.name_len)[0] == '<' ? "" : "'";

				cfg_err_at(c, -1, CO_FILE, t.line, "%s%s%s is outside any section", q, s, q);
				return W2W_EPARSE;
			}
			k = cfg_find_key(section, t.name, t.name_len);
			if (k < 0) {
				const char *hint = NULL;

				for (int i = 0; i < CK__COUNT; i++)
					if (cfg_keydefs[i].section == section &&
					    cfg_eq_ci(t.name, t.name_len, cfg_keydefs[i].name))
						hint = cfg_keydefs[i].name;
				const char *q = cfg_name_shown(s, t.name, t.name_len)[0] == '<' ? "" : "'";

				cfg_err_at(c, -1, CO_FILE, t.line, "unknown key %s%s%s in [%s]%s%s%s", q, s, q,
				       cfg_sections[section],
				       hint ? " (names are case-sensitive: did you mean '" : "",
				       hint ? hint : "", hint ? "'?)" : "");
				return W2W_EPARSE;
			}
			if (c->origin[k] == CO_FILE) {
				cfg_err_at(c, k, CO_FILE, t.line, "set twice (first on line %u)", c->line[k]);
				return W2W_EPARSE;
			}
			rc = cfg_apply(c, k, t.value, t.value_len, CO_FILE, t.line);
			if (rc < 0)
				return rc;
			lay->empty_line[k] = t.value_len == 0;
			lay->line_off[k] = t.off;
			lay->line_end[k] = t.end;
		} else {
			continue;
		}
		lay->seen[section] = true;
		lay->sect_end[section] = t.end;
		lay->sect_end_nl[section] = t.end > t.off + t.len;
	}
	if (rc < 0) {
		cfg_err_at(c, -1, CO_FILE, t.line, "%s", why);
		return W2W_EPARSE;
	}
	return 0;
}

/*
 * systemd's StateDirectory= and RuntimeDirectory= (systemd.exec(5)
 * "Environment variables in spawned processes"): $STATE_DIRECTORY and
 * $RUNTIME_DIRECTORY hold the absolute paths systemd created for the unit,
 * ':'-separated when there are several; the first is ours. They replace only
 * defaults: StateDir/ControlSocket from the file or W2WESHER_* stay. The
 * state directory is used as is (StateDirectory=w2wesher/%i already names
 * the interface); the socket is <Interface>.sock inside the runtime one.
 */
static int apply_systemd_dir(struct w2w_config *c, int k, const char *var, const char *suffix)
{
	const char *v = getenv(var), *end;
	char path[CFG_PATH_MAX];
	int w;

	if (!v || v[0] != '/' || c->origin[k] != CO_DEFAULT)
		return 0;
	end = strchr(v, ':');
	w = snprintf(path, sizeof(path), "%.*s%s%s%s", (int)(end ? (size_t)(end - v) : strlen(v)), v,
	             suffix ? "/" : "", suffix ? c->ifname : "", suffix ? suffix : "");
	if (w < 0 || (size_t)w >= sizeof(path) || cfg_apply(c, k, path, (size_t)w, CO_ENV, 0) < 0) {
		cfg_err_at(c, k, CO_ENV, 0, "environment %s: unusable for [Node] %s", var, cfg_keydefs[k].name);
		return W2W_EPARSE;
	}
	return 0;
}

static int apply_systemd_dirs(struct w2w_config *c)
{
	int r = apply_systemd_dir(c, CK_NODE_STATEDIR, "STATE_DIRECTORY", NULL);

	return r < 0 ? r : apply_systemd_dir(c, CK_NODE_CONTROLSOCKET, "RUNTIME_DIRECTORY", ".sock");
}

static int apply_env(struct w2w_config *c)
{
	char want[80], sec[32], key[32];

	for (size_t i = 0; environ && environ[i] && i < MAX_ENV; i++) {
		const char *e = environ[i], *eq = strchr(e, '='), *name = e + 9;
		size_t nlen;
		int hit = -1, sect = -1;

		if (strncmp(e, "W2WESHER_", 9) || !eq)
			continue;
		nlen = (size_t)(eq - name);
		for (int s = 0; s < SEC__COUNT; s++) {
			cfg_upper(sec, sizeof(sec), cfg_sections[s]);
			if (nlen > strlen(sec) && !strncmp(name, sec, strlen(sec)) &&
			    name[strlen(sec)] == '_')
				sect = s;
		}
		if (sect < 0)
			continue; /* not a configuration variable */
		for (int k = 0; k < CK__COUNT; k++) {
			cfg_upper(sec, sizeof(sec), cfg_sections[cfg_keydefs[k].section]);
			cfg_upper(key, sizeof(key), cfg_keydefs[k].name);
			snprintf(want, sizeof(want), "%s_%s", sec, key);
			if (strlen(want) == nlen && !strncmp(name, want, nlen))
				hit = k;
		}
		if (hit < 0) {
			cfg_err_at(c, -1, CO_ENV, 0, "environment %.*s: no such configuration key",
			       (int)(nlen + 9), e);
			return W2W_EPARSE;
		}
		if (cfg_apply(c, hit, eq + 1, strlen(eq + 1), CO_ENV, 0) < 0)
			return W2W_EPARSE;
	}
	return apply_systemd_dirs(c);
}

int cfg_check_secret_mode(struct w2w_config *c, int k, const char *path, const char *what)
{
	struct stat st;

	if (c->allow_open_secrets || stat(path, &st) != 0 || !(st.st_mode & (S_IROTH | S_IWOTH)))
		return 0;
	cfg_err_at(c, k, k < 0 ? CO_DEFAULT : c->origin[k], k < 0 ? 0 : c->line[k],
	           "%s: holds %s but every user may %s it (mode %04o); refusing: the secret may have leaked. "
	           "Run `chmod 600` on it (or 640 with the daemon's group); --allow-open-secrets overrides "
	           "(docs/configuration.md)",
	           path, what, st.st_mode & S_IROTH ? "read" : "write", (unsigned)(st.st_mode & 07777));
	return W2W_EPARSE;
}

/* Reads a swarm.key (PSKFile, NextPSKFile); relative paths start at the config file's directory. */
static int load_swarm_key(struct w2w_config *c, int k, const char *name, uint8_t *out, const char *what)
{
	char full[2 * CFG_PATH_MAX];
	const char *slash = strrchr(c->path, '/');
	struct buf b;
	int rc;

	if (name[0] != '/' && slash)
		snprintf(full, sizeof(full), "%.*s/%s", (int)(slash - c->path), c->path, name);
	else
		snprintf(full, sizeof(full), "%s", name);
	buf_init(&b, 0);
	rc = cfg_check_secret_mode(c, k, full, what);
	if (rc < 0)
		return rc;
	rc = atomicfile_read(full, 4096, &b);
	if (rc < 0) {
		cfg_err_key(c, k, "cannot read '%s': %s", full,
		        rc == W2W_ELIMIT ? "too large for a swarm.key" : w2w_strerror(rc));
		rc = W2W_EPARSE; /* a configuration error: the message says why */
		goto out;
	}
	if (swarmkey_parse(c->sec->scratch, (const char *)b.data, b.len) < 0) {
		cfg_err_key(c, k, "'%s' is not a swarm.key (/key/swarm/psk/1.0.0/, /base16/, 64 hex digits)", full);
		rc = W2W_EPARSE;
		goto out;
	}
	memcpy(out, c->sec->scratch, 32);
	rc = 0;
out:
	secure_wipe(c->sec->scratch, sizeof(c->sec->scratch));
	buf_free_wipe(&b);
	return rc;
}

int cfg_load_psk_file(struct w2w_config *c)
{
	int rc = load_swarm_key(c, CK_P2P_PSKFILE, c->psk_file, c->sec->psk, "the network PSK");

	if (rc == 0)
		c->has_psk = true;
	return rc;
}

int cfg_load_next_psk_file(struct w2w_config *c)
{
	int rc = load_swarm_key(c, CK_P2P_NEXTPSKFILE, c->next_psk_file, c->sec->next_psk, "the next network PSK");

	c->has_next_psk = rc == 0;
	return rc;
}

/*
 * Writes the rebuilt config. A symlink is followed: its target is replaced
 * atomically (the link stays a link). An existing file keeps its owner and
 * group (config init as root must not turn nobody:nogroup into root:root),
 * and a deliberate group read (0640, not world-readable) stays; otherwise
 * the mode is 0600.
 */
static int write_secret_file(struct w2w_config *c, const char *data, size_t len)
{
	char *target = NULL;
	const char *where = c->path;
	struct stat st, lst;
	uid_t uid = (uid_t)-1;
	gid_t gid = (gid_t)-1;
	mode_t mode = 0600;
	int rc;

	if (lstat(c->path, &lst) == 0) {
		if (stat(c->path, &st) != 0) {
			rc = -errno;
			cfg_err_at(c, -1, CO_DEFAULT, 0, "%s: a symlink to a missing file (%s)", c->path,
			           w2w_strerror(rc));
			return rc;
		}
		if (S_ISLNK(lst.st_mode)) {
			target = realpath(c->path, NULL);
			if (!target) {
				rc = -errno;
				cfg_err_at(c, -1, CO_DEFAULT, 0, "%s: cannot resolve the symlink: %s", c->path,
				           w2w_strerror(rc));
				return rc;
			}
			where = target;
		}
		uid = st.st_uid;
		gid = st.st_gid;
		if ((st.st_mode & S_IRGRP) && !(st.st_mode & S_IROTH))
			mode |= S_IRGRP;
	}
	rc = atomicfile_write_owned(where, data, len, mode, uid, gid);
	if (rc < 0)
		cfg_err_at(c, -1, CO_DEFAULT, 0, "%s: cannot write: %s%s", where, w2w_strerror(rc),
		           rc == -EPERM ? " (cannot keep the file's owner and group; run as its owner or root)" : "");
	free(target);
	return rc;
}

/* Secret text of the generated lines, kept in guarded memory while the file is rebuilt. */
struct gen_text {
	char line[CK__COUNT][200];
	char add[SEC__COUNT][400];
	uint8_t pb[IDENT_PRIVPB_LEN];
};

struct edit {
	size_t off, end;
	const char *text;
};

/*
 * Rebuilds the file with the generated secrets: an empty "Key =" line is
 * replaced, a missing key goes after the last line of its section, a missing
 * section is appended. Every other byte stays as it was.
 */
static int write_back(struct w2w_config *c, const char *text, size_t len, bool existed,
                      const struct layout *lay, const bool need[CK__COUNT])
{
	static const int order[] = {CK_P2P_PSK, CK_P2P_PRIVATEKEY, CK_WG_PRIVATEKEY};
	struct gen_text *g = secure_alloc(sizeof(*g));
	struct edit ed[8];
	size_t ne = 0, total = len, at;
	char *out = NULL, b64[128];
	char tail[SEC__COUNT][512];
	bool ends_nl;
	int rc;
	/* Keep the file's line ends: CRLF if its first line has one. */
	const char *nl = memchr(text, '\n', len), *eol = nl && nl > text && nl[-1] == '\r' ? "\r\n" : "\n";

	if (!g)
		return -ENOMEM;
	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
		int k = order[i], s = cfg_keydefs[k].section;

		if (!need[k])
			continue;
		if (k == CK_P2P_PRIVATEKEY) {
			rc = ident_to_privkey_pb(c->id, g->pb, sizeof(g->pb));
			if (rc < 0)
				goto out;
			secret_to_b64(b64, sizeof(b64), g->pb, (size_t)rc);
		} else {
			secret_to_b64(b64, sizeof(b64), k == CK_P2P_PSK ? c->sec->psk : c->sec->wg_priv, 32);
		}
		snprintf(g->line[k], sizeof(g->line[k]), "%s = %s%s", cfg_keydefs[k].name, b64, eol);
		secure_wipe(b64, sizeof(b64));
		if (lay->empty_line[k]) {
			ed[ne++] = (struct edit){lay->line_off[k], lay->line_end[k], g->line[k]};
		} else {
			size_t used = strlen(g->add[s]);

			if (!used && lay->seen[s] && !lay->sect_end_nl[s])
				used += (size_t)snprintf(g->add[s], sizeof(g->add[s]), "%s", eol);
			snprintf(g->add[s] + used, sizeof(g->add[s]) - used, "%s", g->line[k]);
		}
	}
	for (int s = 0; s < SEC__COUNT; s++)
		if (g->add[s][0] && lay->seen[s])
			ed[ne++] = (struct edit){lay->sect_end[s], lay->sect_end[s], g->add[s]};
	/* Does the text before the end of the file end with a line break? Edits reaching the end add one. */
	ends_nl = !len || text[len - 1] == '\n';
	for (size_t i = 0; i < ne; i++)
		ends_nl = ends_nl || ed[i].end == len;
	for (int s = 0; s < SEC__COUNT; s++) {
		if (!g->add[s][0] || lay->seen[s])
			continue;
		/* A new section at the end of the file, after a blank line. */
		if (!existed && !ne)
			snprintf(
			    tail[s], sizeof(tail[s]),
			    "# w2wesher configuration (see docs/configuration.md).\n"
			    "# The secrets below were generated on first start: keep this file private.\n\n"
			    "[%s]\n",
			    cfg_sections[s]);
		else
			snprintf(tail[s], sizeof(tail[s]), "%s%s[%s]%s", ends_nl ? "" : eol, eol, cfg_sections[s],
			         eol);
		ends_nl = true;
		ed[ne++] = (struct edit){len, len, tail[s]};
		ed[ne++] = (struct edit){len, len, g->add[s]};
	}
	/* Stable insertion sort by offset (at most 8 edits, none overlapping). */
	for (size_t i = 1; i < ne; i++)
		for (size_t j = i; j > 0 && ed[j - 1].off > ed[j].off; j--) {
			struct edit t = ed[j];
			ed[j] = ed[j - 1];
			ed[j - 1] = t;
		}
	for (size_t i = 0; i < ne; i++)
		total += strlen(ed[i].text) - (ed[i].end - ed[i].off);
	out = secure_alloc(total + 1);
	if (!out) {
		rc = -ENOMEM;
		goto out;
	}
	at = 0;
	total = 0;
	for (size_t i = 0; i < ne; i++) {
		size_t tl = strlen(ed[i].text);

		memcpy(out + total, text + at, ed[i].off - at);
		total += ed[i].off - at;
		memcpy(out + total, ed[i].text, tl);
		total += tl;
		at = ed[i].end;
	}
	memcpy(out + total, text + at, len - at);
	total += len - at;
	rc = write_secret_file(c, out, total);
out:
	secure_free(out);
	secure_free(g);
	return rc;
}

int w2w_config_load(struct w2w_config *cfg, const char *path, unsigned flags)
{
	struct w2w_config *t = NULL, tmp;
	struct layout lay;
	struct buf text;
	bool existed = true, need[CK__COUNT] = {0};
	int rc;

	buf_init(&text, 0);
	if (w2w_config_new(&t) < 0)
		return -ENOMEM;
	memset(&lay, 0, sizeof(lay));
	t->allow_open_secrets = (flags & W2W_CONFIG_ALLOW_OPEN_SECRETS) != 0;
	if (snprintf(t->path, sizeof(t->path), "%s", path) >= (int)sizeof(t->path)) {
		rc = -ENAMETOOLONG;
		cfg_err_at(t, -1, CO_DEFAULT, 0, "%s: path too long", path);
		goto out;
	}
	rc = atomicfile_read(path, CFG_MAX_FILE, &text);
	if (rc == -ENOENT && (flags & W2W_CONFIG_GENERATE)) {
		existed = false;
		rc = 0;
	}
	if (rc < 0) {
		cfg_err_at(t, -1, CO_DEFAULT, 0, "%s: cannot read: %s", path,
		       rc == W2W_ELIMIT ? "larger than 256 KiB" : w2w_strerror(rc));
		goto out;
	}
	rc = parse_file(t, text.data ? (const char *)text.data : "", text.len, &lay);
	if (rc < 0)
		goto out;
	/* Checked before anything is generated or written: a secret already in an
	 * open file has leaked, and rewriting the file 0600 would hide that. */
	if (existed && ((t->has_psk && t->origin[CK_P2P_PSK] == CO_FILE) ||
	                (t->id && t->origin[CK_P2P_PRIVATEKEY] == CO_FILE) ||
	                (t->has_wg_priv && t->origin[CK_WG_PRIVATEKEY] == CO_FILE))) {
		rc = cfg_check_secret_mode(t, -1, path, "secrets (PSK or a PrivateKey)");
		if (rc < 0)
			goto out;
	}
	if (flags & W2W_CONFIG_ENV) {
		rc = apply_env(t);
		if (rc < 0)
			goto out;
	}
	rc = w2w_config_check(t);
	if (rc < 0)
		goto out;
	if (flags & W2W_CONFIG_GENERATE) {
		cfg_gen_missing(t, need);
		if (need[CK_P2P_PSK] || need[CK_P2P_PRIVATEKEY] || need[CK_WG_PRIVATEKEY]) {
			rc = cfg_generate(t, need);
			if (rc < 0) {
				cfg_err_at(t, -1, CO_DEFAULT, 0, "cannot cfg_generate keys: %s", w2w_strerror(rc));
				goto out;
			}
			rc = write_back(t, text.data ? (const char *)text.data : "", text.len, existed, &lay,
			                need);
			if (rc < 0)
				goto out;
		}
	}
	/* Success: cfg takes the new values, t the old ones (freed below). */
	tmp = *cfg;
	*cfg = *t;
	*t = tmp;
	cfg->err[0] = 0;
	rc = 0;
out:
	if (rc < 0)
		snprintf(cfg->err, sizeof(cfg->err), "%s", t->err);
	buf_free_wipe(&text);
	w2w_config_free(t);
	return rc;
}

int config_parse_text(struct w2w_config *c, const char *name, const char *text, size_t len)
{
	struct layout lay;
	int rc;

	memset(&lay, 0, sizeof(lay));
	snprintf(c->path, sizeof(c->path), "%s", name);
	c->err[0] = 0;
	rc = parse_file(c, text, len, &lay);
	return rc < 0 ? rc : w2w_config_check(c);
}
