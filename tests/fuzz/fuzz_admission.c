/* SPDX-License-Identifier: MIT */
/*
 * Admission tokens and revocations (lib/crypto/admission.h), the persisted
 * revocation set (lib/mesh/admit.h) and an announcement's admission fields:
 * the first byte picks the parser. An accepted token or revocation re-signs
 * to the same signed bytes' shape (same fields) and verifies only with the
 * key whose ID it names.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "admission.h"
#include "admit.h"
#include "announce.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The seed corpus is signed by the key of this seed (tests/fuzz/corpus/admission). */
static const uint8_t seed[32] = {1, 2, 3};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t keys[1][32], again[ADM_MAX_LEN];
	struct adm_obj o, o2;
	struct admit a;
	struct ann_adm x;
	const char *why;
	int n;

	if (!size)
		return 0;
	adm_pub_from_seed(keys[0], seed);
	switch (data[0] % 3) {
	case 0:
		if (adm_parse(data + 1, size - 1, &o) != 0)
			return 0;
		if (adm_verify(&o, (const uint8_t(*)[32])keys, 1) == 0) {
			/* a valid one: re-signing the parsed fields gives the same bytes */
			n = adm_sign(again, sizeof(again), seed, o.kind, &o.peer, o.name[0] ? o.name : NULL,
			             o.t_a, o.t_b);
			if (n != (int)size - 1 || memcmp(again, data + 1, (size_t)n - ADM_SIG_LEN) != 0)
				abort();
			if (adm_parse(again, (size_t)n, &o2) != 0 || !peerid_eq(&o.peer, &o2.peer))
				abort();
		}
		adm_check_token(data + 1, size - 1, &o.peer, o.t_a, (const uint8_t(*)[32])keys, 1, NULL,
		                &why);
		return 0;
	case 1:
		if (admit_init(&a, (const uint8_t(*)[32])keys, 1) != 0)
			abort();
		if (admit_load(&a, data + 1, size - 1) > 0 && !a.n_rev)
			abort();
		admit_fini(&a);
		return 0;
	default:
		if (ann_decode_adm(data + 1, size - 1, &x) == 0 &&
		    (x.tok_len > ANN_BLOB_MAX || x.n_rev > ANN_MAX_REVOKE))
			abort();
		return 0;
	}
}
