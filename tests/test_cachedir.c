/* test_cachedir.c -- unit test of the cache directory checks, temporary
 * caches, their sweep and setting a damaged cache aside.
 *
 * Runs as any user in a fresh mkdtemp() directory; the cases that need a
 * second user (other owners) are in tests/test_hardening_store.py, which
 * also runs this program as the unprivileged user nobody.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine/cachedir.h"
#include "check.h"

static char base[PATH_MAX];

/* base/rel into buf. */
static const char *at(char *buf, const char *rel)
{
	snprintf(buf, PATH_MAX + 64, "%s/%s", base, rel);
	return buf;
}

static int mode_of(const char *path)
{
	struct stat sb;

	return lstat(path, &sb) == 0 ? (int)(sb.st_mode & 07777) : -1;
}

static int prepare(const char *path, char *out)
{
	char err[CACHEDIR_ERR_MAX];
	int rc = cachedir_prepare(path, out, PATH_MAX, err, sizeof(err));

	if (rc)
		CHECK(strstr(err, "cache ") == err && !strchr(err, '\n'));
	return rc;
}

static void test_prepare_creates_0700(void)
{
	char p[PATH_MAX + 64], q[PATH_MAX + 64], out[PATH_MAX];

	CHECK_INT(prepare(at(p, "a/b/c/"), out), 0);
	CHECK_STR(out, at(q, "a/b/c"));
	CHECK_INT(mode_of(at(p, "a")), 0700);
	CHECK_INT(mode_of(at(p, "a/b/c")), 0700);
	CHECK_INT(prepare(at(p, "a/b/c"), out), 0);	/* existing: fine */
	CHECK_INT(chmod(at(p, "a/b/c"), 0750), 0);
	CHECK_INT(prepare(at(p, "a/b/c"), out), 0);	/* not writable */
	CHECK_INT(chdir(base), 0);
	CHECK_INT(prepare("rel/x", out), 0);
	CHECK_STR(out, at(q, "rel/x"));
	CHECK_INT(chdir("/"), 0);
}

static void test_prepare_refuses(void)
{
	char p[PATH_MAX + 64], q[PATH_MAX + 64], out[PATH_MAX];
	int fd;

	CHECK_INT(mkdir(at(p, "wide"), 0700), 0);
	CHECK_INT(chmod(p, 0777), 0);
	CHECK_INT(prepare(p, out), -EPERM);
	CHECK_INT(chmod(p, 0720), 0);
	CHECK_INT(prepare(p, out), -EPERM);
	CHECK_INT(prepare(at(p, "wide/sub"), out), -EPERM);	/* parent */
	CHECK_INT(chmod(at(p, "wide"), 01777), 0);
	CHECK_INT(prepare(at(p, "wide/sub"), out), 0);	/* sticky parent */
	CHECK_INT(mkdir(at(p, "real"), 0700), 0);
	CHECK_INT(symlink(p, at(q, "link")), 0);
	CHECK_INT(prepare(q, out), -ELOOP);
	CHECK_INT(prepare(at(p, "link/x"), out), 0);	/* a parent: resolved */
	CHECK_STR(out, at(q, "real/x"));
	CHECK_INT(symlink("/etc/passwd", at(p, "real/x/LOG")), 0);
	CHECK_INT(prepare(at(p, "real/x"), out), -ELOOP);
	fd = open(at(p, "file"), O_CREAT | O_WRONLY, 0600);
	CHECK(fd >= 0);
	close(fd);
	CHECK_INT(prepare(p, out), -ENOTDIR);
	CHECK_INT(prepare(at(p, "file/x"), out), -ENOTDIR);
	if (geteuid() != 0)	/* root's, not yours: as nobody in pytest */
		CHECK_INT(prepare("/usr", out), -EPERM);
	CHECK_INT(prepare(at(p, "missing/../x"), out), -EINVAL);
	CHECK_INT(prepare(at(p, "real/.."), out), -EINVAL);
	CHECK_INT(prepare(at(p, "real/."), out), -EINVAL);
	CHECK_INT(prepare(at(p, "real/..x"), out), 0);
	CHECK(access(at(p, "missing"), F_OK) != 0);
}

/* A temporary cache, whether it is in use, and the sweep. */
static void test_temp_and_sweep(void)
{
	char tmp[PATH_MAX + 64], p[PATH_MAX + 64], t1[PATH_MAX], t2[PATH_MAX];
	char err[CACHEDIR_ERR_MAX];
	struct timespec old[2] = { { .tv_sec = 1 }, { .tv_sec = 1 } };
	int l1 = -1, l2 = -1;

	CHECK_INT(mkdir(at(tmp, "tmp"), 0700), 0);
	CHECK_INT(cachedir_make_temp(tmp, t1, sizeof(t1), &l1, err,
				     sizeof(err)), 0);
	CHECK_INT(cachedir_make_temp(tmp, t2, sizeof(t2), &l2, err,
				     sizeof(err)), 0);
	CHECK_INT(mode_of(t1), 0700);
	CHECK_INT(cachedir_sweep(tmp), 0);	/* both in use */
	close(l2);				/* t2's daemon is gone */
	CHECK_INT(cachedir_sweep(tmp), 1);
	CHECK(access(t1, F_OK) == 0);
	CHECK(access(t2, F_OK) != 0);
	/* No lock file: kept while young, removed once old. */
	CHECK_INT(mkdir(at(p, "tmp/memofs-nolock"), 0700), 0);
	CHECK_INT(cachedir_sweep(tmp), 0);
	CHECK_INT(utimensat(AT_FDCWD, p, old, 0), 0);
	CHECK_INT(cachedir_sweep(tmp), 1);
	CHECK(access(p, F_OK) != 0);
	/* Not 0700, or a link, or another name: never removed. */
	CHECK_INT(mkdir(at(p, "tmp/memofs-wide00"), 0700), 0);
	CHECK_INT(chmod(p, 0755), 0);
	CHECK_INT(utimensat(AT_FDCWD, p, old, 0), 0);
	CHECK_INT(mkdir(at(p, "tmp/memofs-toolong"), 0700), 0);
	CHECK_INT(utimensat(AT_FDCWD, p, old, 0), 0);
	CHECK_INT(symlink(t1, at(p, "tmp/memofs-link00")), 0);
	close(l1);
	CHECK_INT(cachedir_sweep(tmp), 1);	/* t1 only */
	CHECK(access(t1, F_OK) != 0);
	CHECK(access(at(p, "tmp/memofs-wide00"), F_OK) == 0);
	CHECK(access(at(p, "tmp/memofs-toolong"), F_OK) == 0);
}

static void test_remove_never_follows(void)
{
	char p[PATH_MAX + 64], q[PATH_MAX + 64];
	int fd;

	CHECK_INT(mkdir(at(p, "keep"), 0700), 0);
	fd = open(at(p, "keep/precious"), O_CREAT | O_WRONLY, 0600);
	CHECK(fd >= 0);
	close(fd);
	CHECK_INT(mkdir(at(p, "gone"), 0700), 0);
	CHECK_INT(mkdir(at(p, "gone/sub"), 0700), 0);
	CHECK_INT(symlink(at(q, "keep"), at(p, "gone/sub/link")), 0);
	CHECK_INT(cachedir_remove(at(p, "gone")), 0);
	CHECK(access(at(p, "gone"), F_OK) != 0);
	CHECK(access(at(p, "keep/precious"), F_OK) == 0);
	CHECK_INT(symlink(at(q, "keep"), at(p, "alink")), 0);
	CHECK_INT(cachedir_remove(p), -ENOTDIR);
	CHECK(access(at(p, "keep/precious"), F_OK) == 0);
}

static void test_set_aside(void)
{
	char p[PATH_MAX + 64], a1[PATH_MAX + 64], a2[PATH_MAX + 64];

	CHECK_INT(mkdir(at(p, "bad"), 0700), 0);
	CHECK_INT(cachedir_set_aside(p, a1, sizeof(a1)), 0);
	CHECK(strncmp(a1, p, strlen(p)) == 0 && strstr(a1, ".damaged-"));
	CHECK(access(a1, F_OK) == 0 && access(p, F_OK) != 0);
	CHECK_INT(mkdir(p, 0700), 0);
	CHECK_INT(cachedir_set_aside(p, a2, sizeof(a2)), 0);
	CHECK(strcmp(a1, a2) != 0 && access(a2, F_OK) == 0);
	CHECK_INT(cachedir_set_aside(p, a2, sizeof(a2)), -ENOENT);
}

int main(void)
{
	const char *tmp = getenv("TMPDIR");
	char real[PATH_MAX];

	snprintf(base, sizeof(base), "%s/test_cachedir.XXXXXX",
		 tmp ? tmp : "/tmp");
	CHECK(mkdtemp(base) != NULL);
	CHECK(realpath(base, real) != NULL);
	snprintf(base, sizeof(base), "%s", real);
	test_prepare_creates_0700();
	test_prepare_refuses();
	test_temp_and_sweep();
	test_remove_never_follows();
	test_set_aside();
	CHECK_INT(cachedir_remove(base), 0);
	return check_report("cachedir");
}
