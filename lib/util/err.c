/* SPDX-License-Identifier: MIT */
#include <string.h>

#include "err.h"

const char *err_str(int err)
{
	if (err >= 0)
		return "success";
	switch (err) {
	case W2W_EPARSE: return "malformed input";
	case W2W_EPROTO: return "protocol violation by peer";
	case W2W_EAUTH: return "authentication failed";
	case W2W_ELIMIT: return "resource limit reached";
	case W2W_ESTATE: return "invalid in current state";
	case W2W_ETIMEDOUT: return "timed out";
	case W2W_ECLOSED: return "closed by peer";
	case W2W_EPSK: return "swarm key mismatch (private network)";
	default:
		break;
	}
	if (err <= W2W_EBASE && err >= W2W_ELAST)
		return "unknown error";
	return strerror(-err);
}
