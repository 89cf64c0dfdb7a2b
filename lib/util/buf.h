/* SPDX-License-Identifier: MIT */
/*
 * Growable byte buffer with a hard cap. Every buffer that holds bytes from the
 * network has a cap, so memory stays bounded whatever a peer sends.
 */
#ifndef W2W_UTIL_BUF_H
#define W2W_UTIL_BUF_H

#include <stddef.h>
#include <stdint.h>

struct buf {
	uint8_t *data;
	size_t len;   /* bytes in use, starting at data[0] */
	size_t cap;   /* bytes allocated */
	size_t max;   /* hard limit on len; 0 = SIZE_MAX */
};

void buf_init(struct buf *b, size_t max);
/* Frees storage; the buffer can be reused after buf_init. Does not wipe. */
void buf_free(struct buf *b);
/* Wipes the contents (explicit_bzero) and frees. For buffers that held secrets. */
void buf_free_wipe(struct buf *b);
/* Ensures room for `extra` more bytes. -ENOMEM, or W2W_ELIMIT past max. */
int buf_reserve(struct buf *b, size_t extra);
int buf_append(struct buf *b, const void *p, size_t n);
int buf_append_u8(struct buf *b, uint8_t v);
int buf_append_be16(struct buf *b, uint16_t v);
int buf_append_be32(struct buf *b, uint32_t v);
int buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Appends n uninitialised bytes and returns a pointer to them (NULL on error). */
uint8_t *buf_extend(struct buf *b, size_t n);
/* Drops the first n bytes (n > len drops all). */
void buf_consume(struct buf *b, size_t n);
void buf_reset(struct buf *b);
/* A NUL-terminated heap copy of the n bytes at p, which need not hold a NUL
 * (a slice of a received message); free() it. NULL when out of memory. Not
 * strndup: that may scan p past n for a NUL (and ASan's strict string checks
 * report it). */
char *mem_strdup(const void *p, size_t n);
static inline size_t buf_room(const struct buf *b)
{
	return (b->max ? b->max : (size_t)-1) - b->len;
}

#endif
