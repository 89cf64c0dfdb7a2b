/* SPDX-License-Identifier: MIT */
#include <string.h>

#include "w2wesher/w2wesher.h"
#include "err.h"

const char *w2w_version(void)
{
	return W2W_VERSION_STRING;
}

const char *w2w_strerror(int err)
{
	if (err >= 0)
		return "success";
	if (err <= W2W_EBASE && err >= W2W_ELAST)
		return w2w_err_name(err);
	return strerror(-err);
}
