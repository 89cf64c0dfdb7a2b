/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "atomicfile.h"
#include "err.h"

int atomicfile_read(const char *path, size_t max, struct buf *out)
{
	struct stat st;
	size_t size, got = 0;
	uint8_t *p;
	int fd, rc;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		rc = -errno;
		goto out;
	}
	if (S_ISDIR(st.st_mode)) {
		rc = -EISDIR;
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = -EINVAL;
		goto out;
	}
	if ((unsigned long long)st.st_size > max) {
		rc = W2W_ELIMIT;
		goto out;
	}
	size = (size_t)st.st_size;
	rc = buf_reserve(out, size + 1);
	if (rc < 0)
		goto out;
	p = out->data + out->len;
	/* Read one byte more than fstat said, to notice a file that grew. */
	while (got <= size) {
		ssize_t n = read(fd, p + got, size + 1 - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = -errno;
			goto out;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	if (got > size) {
		/* It changed under us; the caller's cap is what matters. */
		explicit_bzero(p, got);
		rc = W2W_ELIMIT;
		goto out;
	}
	p[got] = 0;
	out->len += got;
	rc = 0;
out:
	close(fd);
	return rc;
}

static int write_all(int fd, const uint8_t *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		if (w == 0)
			return -EIO;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static int fsync_dir(const char *path)
{
	char dir[PATH_MAX];
	const char *slash = strrchr(path, '/');
	size_t n;
	int fd, rc = 0;

	if (!slash) {
		strcpy(dir, ".");
	} else {
		n = slash == path ? 1 : (size_t)(slash - path);
		if (n >= sizeof(dir))
			return -ENAMETOOLONG;
		memcpy(dir, path, n);
		dir[n] = 0;
	}
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fsync(fd) < 0)
		rc = -errno;
	close(fd);
	return rc;
}

int atomicfile_write(const char *path, const void *data, size_t len, mode_t mode)
{
	return atomicfile_write_owned(path, data, len, mode, (uid_t)-1, (gid_t)-1);
}

int atomicfile_write_owned(const char *path, const void *data, size_t len, mode_t mode, uid_t uid, gid_t gid)
{
	char tmp[PATH_MAX];
	int fd = -1, rc;
	bool linked = false;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp.XXXXXX", path) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	/* mkstemp creates the file 0600, so contents are never readable by others. */
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return -errno;
	linked = true;
	/* Owner first, then mode: fchown may clear set-id bits, and the file is
	 * 0600 (mkstemp) until the chmod, so never readable by the wrong user. */
	if ((uid != (uid_t)-1 || gid != (gid_t)-1) && fchown(fd, uid, gid) < 0) {
		rc = -errno;
		goto out;
	}
	if (fchmod(fd, mode) < 0) {
		rc = -errno;
		goto out;
	}
	rc = write_all(fd, data, len);
	if (rc < 0)
		goto out;
	if (fsync(fd) < 0) {
		rc = -errno;
		goto out;
	}
	if (close(fd) < 0) {
		fd = -1;
		rc = -errno;
		goto out;
	}
	fd = -1;
	if (rename(tmp, path) < 0) {
		rc = -errno;
		goto out;
	}
	linked = false;
	/* The rename is durable only once the directory entry is on disk. */
	rc = fsync_dir(path);
out:
	if (fd >= 0)
		close(fd);
	if (linked)
		unlink(tmp);
	return rc;
}
