/* SPDX-License-Identifier: MIT */
#include <string.h>

#include "err.h"

const char *w2w_err_str(int err)
{
	if (err <= W2W_EBASE && err >= W2W_ELAST)
		return w2w_err_name(err);
	return strerror(err < 0 ? -err : err);
}

const char *w2w_err_name(int err)
{
	switch (err) {
	case W2W_EPARSE: return "malformed input";
	case W2W_EPROTO: return "protocol violation by peer";
	case W2W_EAUTH: return "authentication failed";
	case W2W_ELIMIT: return "resource limit reached";
	case W2W_ESTATE: return "invalid in current state";
	case W2W_ETIMEDOUT: return "protocol deadline passed";
	case W2W_ECLOSED: return "closed by peer";
	default: return "unknown error";
	}
}
