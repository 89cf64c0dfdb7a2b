/* SPDX-License-Identifier: MIT */
/*
 * A bounded DNS message codec (RFC 1035 section 4) with only what libp2p mDNS
 * discovery (RFC 6762, libp2p/specs discovery/mdns.md) needs: questions, and
 * PTR, TXT, A, AAAA and SRV records; every other type is kept as opaque rdata.
 *
 * Parsing reads through the bounded reader (util/rd.h). Names may use
 * compression pointers (RFC 1035 4.1.4); a pointer must point strictly before
 * the label that holds it (so no loop is possible), at most DNS_MAX_PTRS are
 * followed per name and a name is at most 255 bytes in wire form. Names are
 * kept decompressed in wire form (length-prefixed labels), compared
 * case-insensitively (RFC 1035 2.3.3). Records past DNS_MAX_RR are checked but
 * not stored (msg->dropped counts them).
 *
 * Building never compresses (what js-libp2p's dns-packet does too): the
 * messages mDNS discovery sends are a few hundred bytes.
 */
#ifndef W2W_P2P_DNSMSG_H
#define W2W_P2P_DNSMSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum {
	DNS_T_A = 1,
	DNS_T_PTR = 12,
	DNS_T_TXT = 16,
	DNS_T_AAAA = 28,
	DNS_T_SRV = 33,
	DNS_T_ANY = 255,
};
#define DNS_C_IN 1
#define DNS_CLASS_TOP                                                                                        \
	0x8000u /* mDNS: cache-flush (records) / unicast-response (questions), RFC 6762 10.2, 5.4 */
#define DNS_F_QR 0x8000u
#define DNS_F_AA 0x0400u
#define DNS_F_OPCODE 0x7800u
#define DNS_F_RCODE 0x000fu

#define DNS_NAME_MAX 255  /* wire form, with the root label */
#define DNS_TEXT_MAX 1010 /* text form with NUL: 255 bytes, each at worst "\ddd" */
#define DNS_MAX_PTRS 16   /* compression pointers followed per name */
#define DNS_MAX_Q 8
#define DNS_MAX_RR 48
#define DNS_MSG_MAX 9000 /* RFC 6762 17: mDNS messages up to 9000 bytes */

enum dns_section { DNS_AN = 1, DNS_NS = 2, DNS_AR = 3 };

struct dns_name {
	uint8_t len;             /* bytes used in b, including the final 0 */
	uint8_t b[DNS_NAME_MAX]; /* labels: len || bytes ..., then 0 */
};

struct dns_question {
	struct dns_name name;
	uint16_t type;
	uint16_t qclass; /* with the unicast-response bit */
};

struct dns_rr {
	struct dns_name name;
	uint16_t type;
	uint16_t rclass; /* with the cache-flush bit */
	uint32_t ttl;
	uint8_t section; /* enum dns_section */
	/* Raw rdata inside the parsed message (valid while it is): TXT strings,
	 * and the whole rdata of types this codec does not decode. */
	const uint8_t *rdata;
	uint16_t rdlen;
	union {
		struct dns_name target; /* PTR */
		uint8_t ip[16];         /* A (4 bytes), AAAA */
		struct {
			uint16_t prio, weight, port;
			struct dns_name target;
		} srv;
	} u;
};

struct dns_msg {
	uint16_t id, flags;
	uint16_t nq, nrr; /* stored */
	uint32_t dropped; /* valid records past DNS_MAX_RR, not stored */
	struct dns_question q[DNS_MAX_Q];
	struct dns_rr rr[DNS_MAX_RR];
};

/*
 * Parses a whole message. 0, or W2W_EPARSE (malformed: bad label, pointer
 * forward or looping, rdata length mismatch, trailing bytes, more than
 * DNS_MAX_Q questions). On error *m is unspecified.
 */
int dns_parse(struct dns_msg *m, const uint8_t *p, size_t n);

/* "a.b.local" (a trailing dot is optional) to wire form. 0 or W2W_EPARSE
 * (empty label, label > 63 bytes, name > 255 bytes). No escapes. */
int dns_name_from_text(struct dns_name *out, const char *s);
/* Wire form to text, bytes outside [!-~] and '.' '\\' inside labels as
 * "\ddd" (RFC 1035 5.1). Returns the length or -ENOSPC. */
int dns_name_to_text(char *out, size_t cap, const struct dns_name *n);
bool dns_name_eq(const struct dns_name *a, const struct dns_name *b);
/* Builds first || rest (first is one label of 1..63 bytes). 0 or W2W_EPARSE. */
int dns_name_prepend(struct dns_name *out, const uint8_t *label, size_t len, const struct dns_name *rest);
/* The first label of n and the rest of the name: true when n has a first label. */
bool dns_name_split(const struct dns_name *n, const uint8_t **label, size_t *len, struct dns_name *rest);

/*
 * TXT rdata iteration (RFC 1035 3.3.14: <character-string>+). *off starts
 * at 0. Returns 1 with *s and *len set, 0 at the end, W2W_EPARSE when a string
 * runs past the rdata.
 */
int dns_txt_next(const uint8_t *rdata, size_t rdlen, size_t *off, const uint8_t **s, size_t *len);

/* Builder: a failed write makes the writer sticky-failed; dnsw_finish says so. */
struct dnsw {
	uint8_t *p;
	size_t cap, len;
	int err;            /* 0, W2W_ELIMIT (full) or W2W_EPARSE (misuse) */
	uint16_t counts[4]; /* QD AN NS AR */
	uint8_t section;    /* 0 = questions, else enum dns_section */
};

void dnsw_init(struct dnsw *w, uint8_t *buf, size_t cap, uint16_t id, uint16_t flags);
/* Questions first, then records in section order (AN, NS, AR); out of order fails. */
void dnsw_question(struct dnsw *w, const struct dns_name *name, uint16_t type, uint16_t qclass);
void dnsw_ptr(struct dnsw *w, uint8_t section, const struct dns_name *name, uint16_t rclass, uint32_t ttl,
              const struct dns_name *target);
/* TXT with n strings (each <= 255 bytes; n == 0 writes the single empty string RFC 6763 6.1 asks for). */
void dnsw_txt(struct dnsw *w, uint8_t section, const struct dns_name *name, uint16_t rclass, uint32_t ttl,
              const uint8_t *const *strs, const size_t *lens, size_t n);
void dnsw_srv(struct dnsw *w, uint8_t section, const struct dns_name *name, uint16_t rclass, uint32_t ttl,
              uint16_t prio, uint16_t weight, uint16_t port, const struct dns_name *target);
/* Any record from its rdata as is (A, AAAA, or an opaque type). */
void dnsw_raw(struct dnsw *w, uint8_t section, const struct dns_name *name, uint16_t type, uint16_t rclass,
              uint32_t ttl, const uint8_t *rdata, size_t rdlen);
/* Re-encodes a parsed record (PTR/SRV targets uncompressed). */
void dnsw_rr(struct dnsw *w, const struct dns_rr *rr);
/* Writes the counts. The message length, or W2W_ELIMIT when it did not fit / W2W_EPARSE when misused. */
int dnsw_finish(struct dnsw *w);

#endif
