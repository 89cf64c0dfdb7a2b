/* SPDX-License-Identifier: MIT */
/*
 * The NSS module's reply parser (tools/nss/nss_w2wesher.c): the bytes a
 * daemon's socket sends back are untrusted for the process that loaded the
 * module. Any input is refused or yields an answer that keeps the module's
 * promises: a valid host name, a v4 or v6 address, and for a name query the
 * very name asked (case aside); for an address query the very address asked.
 * The module is compiled into this target, so the parser tested is the one
 * shipped.
 */
#include "../../tools/nss/nss_w2wesher.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(const struct answer *q, const uint8_t *data, size_t size)
{
	struct answer a;
	char again[NAME_MAX_LEN + 1];

	memset(&a, 0, sizeof(a));
	if (!parse_reply((const char *)data, size, q, &a))
		return;
	if (!name_ok(a.name, again) || strcmp(a.name, again) != 0)
		abort();
	if (a.family != AF_INET && a.family != AF_INET6)
		abort();
	if (q->name[0] && strcasecmp(a.name, q->name) != 0)
		abort();
	if (!q->name[0] && (a.family != q->family || memcmp(a.addr, q->addr, a.family == AF_INET6 ? 16 : 4)))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct answer by_name = {.name = "node2.wesh0.w2w"};
	struct answer by_addr4 = {.family = AF_INET, .addr = {10, 42, 0, 7}};
	struct answer by_addr6 = {.family = AF_INET6, .addr = {0xfd, 0x6d, 0x14, 0x2e, [15] = 7}};

	check(&by_name, data, size);
	check(&by_addr4, data, size);
	check(&by_addr6, data, size);
	return 0;
}
