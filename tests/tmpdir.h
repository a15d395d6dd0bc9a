/* tmpdir.h -- temporary directories for the C unit tests: each test makes
 * its own under $TMPDIR (or /tmp) and removes it, whole, afterwards.
 * Header-only (static functions), for tests that include check.h. */
#ifndef MEMOFS_TEST_TMPDIR_H
#define MEMOFS_TEST_TMPDIR_H

#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "check.h"

/* Makes a fresh directory "$TMPDIR/NAME.XXXXXX" and writes its path into
 * buf.  0 or -errno. */
static inline int tmp_dir(char *buf, size_t size, const char *name)
{
	const char *base = getenv("TMPDIR");

	snprintf(buf, size, "%s/%s.XXXXXX", base ? base : "/tmp", name);
	return mkdtemp(buf) ? 0 : -errno;
}

static inline int tmp_rm_entry(const char *path, const struct stat *sb,
			       int type, struct FTW *ftw)
{
	(void)sb;
	(void)type;
	(void)ftw;
	return remove(path);
}

/* Removes path and everything below it; a failure is a failed check. */
static inline void rm_tree(const char *path)
{
	CHECK_INT(nftw(path, tmp_rm_entry, 16, FTW_DEPTH | FTW_PHYS), 0);
}

#endif
