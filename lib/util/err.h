/* SPDX-License-Identifier: MIT */
/* Error codes shared by every layer: the public W2W_E* band plus negative errno. */
#ifndef W2W_UTIL_ERR_H
#define W2W_UTIL_ERR_H

#include <errno.h>

#include "w2wesher/w2wesher.h"

/* Static description of a W2W_E* code ("unknown error" otherwise). */
const char *w2w_err_name(int err);
/* Either band: W2W_E* names, strerror() for negative errno. */
const char *w2w_err_str(int err);

#endif
