/* SPDX-License-Identifier: MIT */
#include <stdlib.h>

#include "w2wesher/w2wesher.h"
#include "err.h"

const char *w2w_version(void)
{
	return W2W_VERSION_STRING;
}

const char *w2w_strerror(int err)
{
	return err_str(err);
}

void w2w_free(void *p)
{
	free(p);
}
