/* test_cachedir.c -- unit test of the cache directory checks, temporary
 * caches, their sweep, setting a damaged cache aside, and removing what a
 * failed start made.
 *
 * Runs as any user in a fresh mkdtemp() directory; the cases that need a
 * second user (other owners) are in tests/test_hardening_store.py, which
 * also runs this program as the unprivileged user nobody.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "engine/cachedir.h"
#include "check.h"

static char base[PATH_MAX];

/* base/rel into buf (PATH_MAX + 64 bytes). */
static const char *at(char *buf, const char *rel)
{
	int n = snprintf(buf, PATH_MAX + 64, "%s/%s", base, rel);

	CHECK(n > 0 && n < PATH_MAX + 64);
	return buf;
}

static int mode_of(const char *path)
{
	struct stat sb;

	return lstat(path, &sb) == 0 ? (int)(sb.st_mode & 07777) : -1;
}

/* cachedir_prepare() into out, the first directory it made into made. */
static int prepare_made(const char *path, char *out, char *made)
{
	char err[CACHEDIR_ERR_MAX];
	int rc = cachedir_prepare(path, out, PATH_MAX, made, PATH_MAX, err,
				  sizeof(err));

	if (rc)
		CHECK(strstr(err, "cache ") == err && !strchr(err, '\n'));
	return rc;
}

static int prepare(const char *path, char *out)
{
	char made[PATH_MAX];

	return prepare_made(path, out, made);
}

/* Creates an empty file base/rel (mode 0600). */
static void touch(const char *rel)
{
	char p[PATH_MAX + 64];
	int fd = open(at(p, rel), O_CREAT | O_WRONLY | O_EXCL, 0600);

	CHECK(fd >= 0);
	if (fd >= 0)
		close(fd);
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

/* What prepare made: the first directory it created, or "", and nothing
 * when it fails. */
static void test_prepare_says_what_it_made(void)
{
	char p[PATH_MAX + 64], q[PATH_MAX + 64], out[PATH_MAX],
		made[PATH_MAX], err[CACHEDIR_ERR_MAX], small[8], name[NAME_MAX + 8];

	CHECK_INT(prepare_made(at(p, "m1/a/b"), out, made), 0);
	CHECK_STR(made, at(q, "m1"));
	CHECK_INT(prepare_made(at(p, "m1/a/b"), out, made), 0);
	CHECK_STR(made, "");
	CHECK_INT(prepare_made(at(p, "m1/a/c"), out, made), 0);
	CHECK_STR(made, at(q, "m1/a/c"));
	CHECK_INT(cachedir_prepare(at(p, "m1/a/d"), out, PATH_MAX, NULL, 0,
				   err, sizeof(err)), 0);
	/* A failure after a mkdir leaves nothing: a last name too long. */
	memcpy(name, "m2/", 3);
	memset(name + 3, 'x', NAME_MAX + 1);
	name[NAME_MAX + 4] = '\0';
	CHECK_INT(prepare_made(at(p, name), out, made), -ENAMETOOLONG);
	CHECK(access(at(p, "m2"), F_OK) != 0);
	name[1] = '1';			/* m1/xxx...: m1 was there, stays */
	CHECK_INT(prepare_made(at(p, name), out, made), -ENAMETOOLONG);
	CHECK(access(at(p, "m1/a/b"), F_OK) == 0);
	CHECK_INT(cachedir_prepare(at(p, "m3/x"), out, PATH_MAX, small,
				   sizeof(small), err, sizeof(err)),
		  -ENAMETOOLONG);
	CHECK(access(at(p, "m3"), F_OK) != 0);
}

/* Prepares base/rel (new) with the files names in it; returns what
 * cachedir_remove_made() says of it. */
static int made_with(const char *rel, const char *const *names, size_t n)
{
	char p[PATH_MAX + 64], out[PATH_MAX], made[PATH_MAX], f[PATH_MAX + 64];

	CHECK_INT(prepare_made(at(p, rel), out, made), 0);
	CHECK(made[0] != '\0');
	for (size_t i = 0; i < n; i++) {
		snprintf(f, sizeof(f), "%s/%s", rel, names[i]);
		touch(f);
	}
	return cachedir_remove_made(out, made);
}

static void test_remove_made_only_rocksdb(void)
{
	static const char *const rdb[] = {
		"LOCK", "CURRENT", "IDENTITY", "LOG", "LOG.old.1700000000123",
		"MANIFEST-000005", "METADB-3", "OPTIONS-000007",
		"OPTIONS-000008.dbtmp", "000004.log", "000009.sst", "1.ldb",
		"000010.blob", "000000.dbtmp",
	};
	static const char *const foreign[] = {
		"notes", "LOCK.bak", "CURRENTX", "MANIFEST-", "MANIFEST-12x",
		"OPTIONS-1.tmp", "LOG.old.", ".sst", "12.sst.gz", "x12.log",
		"12.", "memofs-lock", "memofs.log",
	};
	const char *two[2] = { "CURRENT", NULL };
	char p[PATH_MAX + 64], q[PATH_MAX + 64], rel[64];

	CHECK_INT(made_with("r1/c", rdb, sizeof(rdb) / sizeof(rdb[0])), 0);
	CHECK(access(at(p, "r1"), F_OK) != 0);
	CHECK(access(base, F_OK) == 0);
	for (size_t i = 0; i < sizeof(foreign) / sizeof(foreign[0]); i++) {
		two[1] = foreign[i];
		CHECK_INT(made_with("r2/c", two, 2), -ENOTEMPTY);
		snprintf(rel, sizeof(rel), "r2/c/%s", foreign[i]);
		CHECK(access(at(p, rel), F_OK) == 0);	/* kept, with ours */
		CHECK(access(at(p, "r2/c/CURRENT"), F_OK) == 0);
		CHECK_INT(cachedir_remove(at(p, "r2")), 0);
	}
	/* A link or a directory with a RocksDB name is not RocksDB's. */
	CHECK_INT(made_with("r3/c", NULL, 0), 0);
	CHECK_INT(prepare(at(p, "r3/c"), q), 0);
	CHECK_INT(symlink("/etc/passwd", at(p, "r3/c/LOCK")), 0);
	CHECK_INT(cachedir_remove_made(q, at(p, "r3")), -ENOTEMPTY);
	CHECK_INT(unlink(at(p, "r3/c/LOCK")), 0);
	CHECK_INT(mkdir(at(p, "r3/c/000001.sst"), 0700), 0);
	CHECK_INT(cachedir_remove_made(q, at(p, "r3")), -ENOTEMPTY);
	CHECK(access(at(p, "r3/c/000001.sst"), F_OK) == 0);
	CHECK_INT(cachedir_remove(at(p, "r3")), 0);
}

static void test_remove_made_keeps_the_users(void)
{
	char p[PATH_MAX + 64], q[PATH_MAX + 64], out[PATH_MAX],
		made[PATH_MAX];

	/* Nothing made: nothing removed. */
	CHECK_INT(mkdir(at(p, "u1"), 0700), 0);
	CHECK_INT(prepare_made(p, out, made), 0);
	CHECK_INT(cachedir_remove_made(out, made), 0);
	CHECK(access(p, F_OK) == 0);
	/* A parent it made that the user has put a file in stays. */
	CHECK_INT(prepare_made(at(p, "u2/a/c"), out, made), 0);
	touch("u2/mine");
	CHECK_INT(cachedir_remove_made(out, made), -ENOTEMPTY);
	CHECK(access(at(p, "u2/a"), F_OK) != 0);
	CHECK(access(at(p, "u2/mine"), F_OK) == 0);
	/* made must be dir or a parent of it. */
	CHECK_INT(prepare_made(at(p, "u3/c"), out, made), 0);
	CHECK_INT(cachedir_remove_made(out, at(q, "u")), -EINVAL);
	CHECK_INT(cachedir_remove_made(out, at(q, "u3/c/d")), -EINVAL);
	CHECK(access(out, F_OK) == 0);
	CHECK_INT(cachedir_remove_made(out, made), 0);
	CHECK(access(at(p, "u3"), F_OK) != 0);
}

/* A RocksDB that another process opened in the directory: its LOCK is
 * held (as RocksDB holds it, fcntl), and the directory stays. */
static void test_remove_made_not_in_use(void)
{
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
	char p[PATH_MAX + 64], out[PATH_MAX], made[PATH_MAX], c;
	int go[2], done[2], status = 0, fd;
	pid_t pid;

	CHECK_INT(prepare_made(at(p, "l1/c"), out, made), 0);
	touch("l1/c/LOCK");
	touch("l1/c/CURRENT");
	CHECK_INT(pipe(go), 0);
	CHECK_INT(pipe(done), 0);
	pid = fork();
	if (pid == 0) {		/* holds the lock until done is closed */
		close(go[0]);
		close(done[1]);
		fd = open(at(p, "l1/c/LOCK"), O_RDWR);
		if (fd < 0 || fcntl(fd, F_SETLK, &fl) != 0)
			_exit(1);
		if (write(go[1], "k", 1) != 1 || read(done[0], &c, 1) < 0)
			_exit(1);
		_exit(0);
	}
	CHECK(pid > 0);
	close(go[1]);
	close(done[0]);
	CHECK_INT((int)read(go[0], &c, 1), 1);
	CHECK_INT(cachedir_remove_made(out, made), -EBUSY);
	CHECK(access(at(p, "l1/c/CURRENT"), F_OK) == 0);
	close(done[1]);
	CHECK_INT((int)waitpid(pid, &status, 0), (int)pid);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	close(go[0]);
	CHECK_INT(cachedir_remove_made(out, made), 0);
	CHECK(access(at(p, "l1"), F_OK) != 0);
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
	test_prepare_says_what_it_made();
	test_remove_made_only_rocksdb();
	test_remove_made_keeps_the_users();
	test_remove_made_not_in_use();
	CHECK_INT(cachedir_remove(base), 0);
	return check_report("cachedir");
}
