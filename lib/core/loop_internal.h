/* SPDX-License-Identifier: MIT */
/* What other core objects need from a w2w_loop. */
#ifndef W2W_CORE_LOOP_INTERNAL_H
#define W2W_CORE_LOOP_INTERNAL_H

#include "reactor.h"
#include "w2wesher/loop.h"

struct reactor *loop_reactor(struct w2w_loop *loop);
/* Marks entry/exit of library callbacks so re-entrant process calls get -EBUSY. */
void loop_enter_cb(struct w2w_loop *loop);
void loop_leave_cb(struct w2w_loop *loop);

#endif
