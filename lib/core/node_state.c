/* SPDX-License-Identifier: MIT */
/* The node's state file (docs/mesh.md, "State directory"): what a restart
 * resumes from. Written atomically (os/atomicfile.h), so a kill at any
 * moment leaves the old file or the new one; a damaged file is ignored. */
#include <errno.h>

#include "atomicfile.h"
#include "buf.h"
#include "err.h"
#include "node_internal.h"

void node_load_state(struct w2w_node *n)
{
	struct nodestate *st = mn_state(n->mesh);
	struct buf b;
	int r;

	buf_init(&b, 0);
	r = atomicfile_read(n->state_path, NODESTATE_MAX_SIZE, &b);
	if (r == 0) {
		struct nodestate tmp;

		nodestate_init(&tmp);
		r = nodestate_decode(b.data, b.len, &tmp);
		if (r < 0) {
			log_warn(&n->log, "%s is damaged (%s): ignoring it; the mesh will tell us again",
				 n->state_path, err_str(r));
		} else {
			/* merged with the configured bootstrap addresses already there */
			for (size_t i = 0; i < tmp.n_peers; i++)
				nodestate_add_peer(st, tmp.peers[i]);
			st->has_claim = tmp.has_claim;
			st->claim = tmp.claim;
			st->seq_floor = tmp.seq_floor;
			log_info(&n->log, "state: %zu known peer address(es)%s", tmp.n_peers,
				 tmp.has_claim ? ", a persisted address claim" : "");
		}
		nodestate_free(&tmp);
	} else if (r != -ENOENT) {
		log_warn(&n->log, "cannot read %s: %s", n->state_path, err_str(r));
	}
	buf_free(&b);
}

void node_save_state(void *ud, const struct nodestate *st)
{
	struct w2w_node *n = ud;
	struct buf b;
	int r;

	if (!n->state_path[0])
		return;
	buf_init(&b, NODESTATE_MAX_SIZE);
	r = nodestate_encode(st, &b);
	if (r == 0)
		r = atomicfile_write(n->state_path, b.data, b.len, 0600);
	if (r < 0)
		log_warn(&n->log, "cannot write %s: %s", n->state_path, err_str(r));
	*(r < 0 ? &n->cnt.state_write_errors : &n->cnt.state_writes) += 1;
	buf_free(&b);
}
