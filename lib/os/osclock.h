/* SPDX-License-Identifier: MIT */
/* Clock and poll(): the only places the library reads time or waits. */
#ifndef W2W_OS_CLOCK_H
#define W2W_OS_CLOCK_H

#include <stddef.h>
#include <stdint.h>

#include "w2wesher/loop.h"

uint64_t os_now_us(void);
/* CLOCK_REALTIME in milliseconds since the Unix epoch (claim times, seqs). */
uint64_t os_wall_ms(void);
uint64_t os_wall_us(void);
/* mkdir -p with mode for each created component. 0 or -errno. */
int os_mkdir_p(const char *path, unsigned mode);
/* poll() over watches; fills revents (W2W_IO_*) per entry in out_revents.
 * Returns number ready, 0 on timeout, -errno (EINTR is reported as 0). */
int os_poll(const struct w2w_watch *w, size_t n, int *out_revents, int timeout_ms);

#endif
