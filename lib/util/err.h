/* SPDX-License-Identifier: MIT */
/* Error codes shared by every layer: the public W2W_E* band plus negative errno. */
#ifndef W2W_UTIL_ERR_H
#define W2W_UTIL_ERR_H

#include <errno.h>

#include "w2wesher/error.h"

/* The one description of a return code, for logs at every layer: "success"
 * for >= 0, the W2W_E* text, or strerror() of a negative errno. Static
 * strings; w2w_strerror() is this function. Never strerror(-err) directly:
 * it prints library codes as "Unknown error 1006". */
const char *err_str(int err);

#endif
