/* SPDX-License-Identifier: MIT */
/*
 * libp2p private-network key file, swarm.key (libp2p/specs
 * pnet/Private-Networks-PSK-V1.md):
 *	/key/swarm/psk/1.0.0/
 *	/base16/
 *	<64 hex digits>
 * Reading tolerates CRLF line ends, trailing whitespace/newlines and either
 * hex case (as go-libp2p does), and also accepts the /base64/ encoding.
 * Writing always uses lowercase hex (js-libp2p accepts only lowercase) and a
 * final newline.
 */
#ifndef W2W_CRYPTO_SWARMKEY_H
#define W2W_CRYPTO_SWARMKEY_H

#include <stddef.h>
#include <stdint.h>

#define SWARMKEY_LEN 32
/* "/key/swarm/psk/1.0.0/\n/base16/\n" + 64 hex + "\n" */
#define SWARMKEY_TEXT_LEN (22 + 9 + 64 + 1)

/* Parses the file contents. 0 with key set, or W2W_EPARSE. Intermediate copies are wiped. */
int swarmkey_parse(uint8_t key[SWARMKEY_LEN], const char *text, size_t len);
/* Either form a user may hold a PSK in: the text of a swarm.key file, or the
 * standard base64 of the 32 bytes (the config file's [P2P] PSK). 0 or W2W_EPARSE. */
int swarmkey_parse_any(uint8_t key[SWARMKEY_LEN], const char *text, size_t len);
/* Writes the file contents and a NUL (cap >= SWARMKEY_TEXT_LEN + 1). Returns the length or W2W_ELIMIT. */
int swarmkey_format(char *out, size_t cap, const uint8_t key[SWARMKEY_LEN]);

#endif
