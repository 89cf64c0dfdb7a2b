/* SPDX-License-Identifier: MIT */
#include "swarmkey.h"

#include <sodium.h>
#include <string.h>

#include "err.h"
#include "secmem.h"

static const char swarmkey_hdr[] = "/key/swarm/psk/1.0.0/";

/* Next line of text[*off..len): start and length without the CR/LF. */
static bool next_line(const char *text, size_t len, size_t *off, const char **line, size_t *n)
{
	size_t i = *off;

	if (i >= len)
		return false;
	*line = text + i;
	while (i < len && text[i] != '\n')
		i++;
	*n = (size_t)(text + i - *line);
	if (*n && (*line)[*n - 1] == '\r')
		(*n)--;
	*off = i < len ? i + 1 : i;
	return true;
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static bool eq_nocase(const char *a, size_t n, const char *b)
{
	if (strlen(b) != n)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = a[i];
		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		if (c != b[i])
			return false;
	}
	return true;
}

int swarmkey_parse(uint8_t key[SWARMKEY_LEN], const char *text, size_t len)
{
	uint8_t tmp[SWARMKEY_LEN];
	const char *line, *val;
	size_t off = 0, n, vlen;
	int rc = W2W_EPARSE;

	/* Line 1: the codec path (pnet/Private-Networks-PSK-V1.md). */
	if (!next_line(text, len, &off, &line, &n))
		goto out;
	while (n && is_space(line[n - 1]))
		n--;
	if (n != sizeof(swarmkey_hdr) - 1 || memcmp(line, swarmkey_hdr, n) != 0)
		goto out;
	/* Line 2: the value encoding (go-libp2p accepts any case of the name). */
	if (!next_line(text, len, &off, &line, &n))
		goto out;
	while (n && is_space(line[n - 1]))
		n--;
	/* Line 3 and everything after it: the key, then only whitespace. */
	val = text + off;
	vlen = len - off;
	while (vlen && is_space(val[vlen - 1]))
		vlen--;
	if (eq_nocase(line, n, "/base16/")) {
		if (vlen != 2 * SWARMKEY_LEN || secret_from_hex(tmp, sizeof(tmp), val, vlen) != SWARMKEY_LEN)
			goto out;
	} else if (eq_nocase(line, n, "/base64/")) {
		if (secret_from_b64(tmp, sizeof(tmp), val, vlen) != SWARMKEY_LEN)
			goto out;
	} else {
		goto out;
	}
	memcpy(key, tmp, SWARMKEY_LEN);
	rc = 0;
out:
	secure_wipe(tmp, sizeof(tmp));
	return rc;
}

int swarmkey_parse_any(uint8_t key[SWARMKEY_LEN], const char *text, size_t len)
{
	uint8_t tmp[SWARMKEY_LEN];
	int rc = W2W_EPARSE;

	if (len >= sizeof(swarmkey_hdr) - 1 && !memcmp(text, swarmkey_hdr, sizeof(swarmkey_hdr) - 1))
		return swarmkey_parse(key, text, len);
	if (secret_from_b64(tmp, sizeof(tmp), text, len) == SWARMKEY_LEN) {
		memcpy(key, tmp, SWARMKEY_LEN);
		rc = 0;
	}
	secure_wipe(tmp, sizeof(tmp));
	return rc;
}

int swarmkey_format(char *out, size_t cap, const uint8_t key[SWARMKEY_LEN])
{
	static const char hdr[] = "/key/swarm/psk/1.0.0/\n/base16/\n";

	if (cap < SWARMKEY_TEXT_LEN + 1)
		return W2W_ELIMIT;
	memcpy(out, hdr, sizeof(hdr) - 1);
	/* sodium_bin2hex: constant time, lowercase (js-libp2p reads only lowercase). */
	sodium_bin2hex(out + sizeof(hdr) - 1, 2 * SWARMKEY_LEN + 1, key, SWARMKEY_LEN);
	out[SWARMKEY_TEXT_LEN - 1] = '\n';
	out[SWARMKEY_TEXT_LEN] = '\0';
	return SWARMKEY_TEXT_LEN;
}
