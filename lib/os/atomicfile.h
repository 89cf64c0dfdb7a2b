/* SPDX-License-Identifier: MIT */
/*
 * Whole-file reads with a size cap, and atomic replacement: a reader sees the
 * old file or the new one, never a mix, even across a crash (temp file in the
 * same directory, fsync, rename, fsync of the directory).
 */
#ifndef W2W_OS_ATOMICFILE_H
#define W2W_OS_ATOMICFILE_H

#include <stddef.h>
#include <sys/types.h>

#include "buf.h"

/*
 * Reads the regular file at path into out (buf_init'ed by the caller, which
 * frees it; use buf_free_wipe for secrets). The storage is allocated once at
 * the final size, so no stray copies of the contents are left behind. A NUL
 * byte is kept after the data (not counted in out->len). Returns 0, a negative
 * errno (-ENOENT, -EISDIR, ...), or W2W_ELIMIT if the file is larger than max.
 */
int atomicfile_read(const char *path, size_t max, struct buf *out);

/*
 * Replaces path with data[0..len) atomically; the new file has the given mode
 * (e.g. 0600) whatever the umask. The temp file ("<path>.tmp.XXXXXX") is
 * removed on failure. Returns 0 or a negative errno.
 */
int atomicfile_write(const char *path, const void *data, size_t len, mode_t mode);
/* atomicfile_write, the new file owned by uid:gid ((uid_t)-1 / (gid_t)-1:
 * the writer's). -EPERM when the owner cannot be given (nothing replaced). */
int atomicfile_write_owned(const char *path, const void *data, size_t len, mode_t mode, uid_t uid, gid_t gid);

#endif
