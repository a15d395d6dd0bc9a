/* test_argdir.c -- unit test of directory arguments (argdir.h). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <xxhash.h>

#include "functions/argdir.h"
#include "check.h"
#include "functions/reg.h"
#include "functions/resolve.h"

static char root[256];

static void put(const char *name, const char *text)
{
	char path[PATH_MAX];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", root, name);
	f = fopen(path, "w");
	CHECK(f != NULL);
	if (!f)
		return;
	fputs(text, f);
	fclose(f);
}

/* Makes the file's timestamps a minute old, so its digest is cached. */
static void age(const char *name)
{
	struct timespec ts[2];
	char path[PATH_MAX];

	clock_gettime(CLOCK_REALTIME, &ts[0]);
	ts[0].tv_sec -= 60;
	ts[1] = ts[0];
	snprintf(path, sizeof(path), "%s/%s", root, name);
	CHECK_INT(utimensat(AT_FDCWD, path, ts, 0), 0);
}

static void expect_hex(const char *text, char hex[ARGDIR_HEX_LEN + 1])
{
	XXH128_canonical_t c;

	XXH128_canonicalFromHash(&c, XXH3_128bits(text, strlen(text)));
	for (int i = 0; i < 16; i++)
		snprintf(hex + 2 * i, 3, "%02x", c.digest[i]);
}

static void test_open_errors(void)
{
	char err[ARGDIR_ERR_MAX], path[PATH_MAX];
	argdir *d = NULL;

	CHECK_INT(argdir_open("/nonexistent/memofs", &d, err, sizeof(err)),
		  -ENOENT);
	CHECK(strstr(err, "/nonexistent/memofs: No such file") == err);
	snprintf(path, sizeof(path), "%s/plain", root);
	CHECK_INT(argdir_open(path, &d, err, sizeof(err)), -ENOTDIR);
	CHECK(d == NULL);
}

static void test_listing(argdir *d)
{
	char **names = NULL;
	size_t n = 0;

	CHECK_INT(argdir_list(d, &names, &n), 0);
	/* Sorted; no subdirectory, link, FIFO or control-character name. */
	CHECK_INT(n, 5);
	if (n == 5) {
		CHECK_STR(names[0], "$(touch x)");
		CHECK_STR(names[1], "-rf");
		CHECK_STR(names[2], "a b");
		CHECK_STR(names[3], "plain");
		CHECK_STR(names[4], "report.txt");
		CHECK(names[5] == NULL);
	}
	free(names);
}

static void test_resolve(argdir *d)
{
	char canon[REG_ARG_MAX + 1], want[REG_ARG_MAX + 1];
	char hex[ARGDIR_HEX_LEN + 1], name[REG_NAME_MAX + 1];
	const char *not_args[] = { "sub", "link", "fifo", "nl\nname", ".",
				   "..", "", "../plain", "a/b", "missing",
				   "sub/inner", NULL };

	expect_hex("one\ntwo\n", hex);
	snprintf(want, sizeof(want), "report.txt/%s", hex);
	CHECK_INT(argdir_resolve(d, "report.txt", canon, sizeof(canon)), 0);
	CHECK_STR(canon, want);
	CHECK_INT(argdir_resolve(d, "report.txt", canon, 12), -ENAMETOOLONG);
	for (int i = 0; not_args[i]; i++)
		CHECK_INT(argdir_resolve(d, not_args[i], canon, sizeof(canon)),
			  -ENOENT);
	CHECK_INT(argdir_check(d, want, name, sizeof(name)), 0);
	CHECK_STR(name, "report.txt");
	CHECK_INT(argdir_check(d, "report.txt", name, sizeof(name)), -ENOENT);
	CHECK_INT(argdir_check(d, "report.txt/abc", name, sizeof(name)),
		  -ENOENT);
	CHECK_INT(argdir_check(d, want, name, 4), -ENOENT);
}

/* Edits are seen: right away for a fresh file, and through the cache for
 * an old one even when size and mtime are put back (ctime changes). */
static void test_edits(argdir *d)
{
	char before[REG_ARG_MAX + 1], after[REG_ARG_MAX + 1];
	char name[REG_NAME_MAX + 1];

	CHECK_INT(argdir_resolve(d, "report.txt", before, sizeof(before)), 0);
	put("report.txt", "one\nTWO\n");
	CHECK_INT(argdir_resolve(d, "report.txt", after, sizeof(after)), 0);
	CHECK(strcmp(before, after) != 0);
	CHECK_INT(argdir_check(d, before, name, sizeof(name)), -ESTALE);
	CHECK_INT(argdir_check(d, after, name, sizeof(name)), 0);

	age("plain");
	CHECK_INT(argdir_resolve(d, "plain", before, sizeof(before)), 0);
	CHECK_INT(argdir_resolve(d, "plain", after, sizeof(after)), 0);
	CHECK_STR(before, after);
	put("plain", "PLAIN\n");	/* same size */
	age("plain");
	CHECK_INT(argdir_resolve(d, "plain", after, sizeof(after)), 0);
	CHECK(strcmp(before, after) != 0);

	put("new file", "x");
	CHECK_INT(argdir_resolve(d, "new file", after, sizeof(after)), 0);
	CHECK_INT(argdir_check(d, before, name, sizeof(name)), -ESTALE);
}

/* A command's file: opened once, never through a link, and the open file
 * stays the digested one whatever the name becomes. */
static void test_open_arg(argdir *d)
{
	char canon[REG_ARG_MAX + 1], name[REG_NAME_MAX + 1], bad[300];
	char path[PATH_MAX], moved[PATH_MAX], buf[32];
	int fd = -1;

	put("arg", "digested\n");
	CHECK_INT(argdir_resolve(d, "arg", canon, sizeof(canon)), 0);
	CHECK_INT(argdir_open_arg(d, canon, name, sizeof(name), &fd), 0);
	CHECK_STR(name, "arg");
	snprintf(path, sizeof(path), "%s/arg", root);
	snprintf(moved, sizeof(moved), "%s/arg.old", root);
	CHECK_INT(rename(path, moved), 0);
	CHECK_INT(symlink("/etc/passwd", path), 0);
	CHECK_INT((int)pread(fd, buf, sizeof(buf), 0), 9);
	CHECK(memcmp(buf, "digested\n", 9) == 0);
	CHECK_INT(argdir_check_fd(d, "arg", fd, canon), 0);
	CHECK_INT(argdir_open_arg(d, canon, name, sizeof(name), &fd), -ENOENT);
	CHECK_INT(fd, -1);
	CHECK_INT(unlink(path), 0);
	CHECK_INT(rename(moved, path), 0);
	CHECK_INT(argdir_open_arg(d, canon, name, sizeof(name), &fd), 0);
	CHECK_INT((int)pwrite(fd, "D", 1, 0), -1);	/* read only */
	put("arg", "Digested\n");		/* same inode, same size */
	CHECK_INT(argdir_check_fd(d, "arg", fd, canon), -ESTALE);
	close(fd);
	snprintf(bad, sizeof(bad), "fifo/%032d", 0);
	CHECK_INT(argdir_open_arg(d, bad, name, sizeof(name), &fd), -ENOENT);
	snprintf(bad, sizeof(bad), "arg/%032d", 0);
	CHECK_INT(argdir_open_arg(d, bad, name, sizeof(name), &fd), -ESTALE);
	CHECK_INT(argdir_open_arg(d, "arg", name, sizeof(name), &fd), -ENOENT);
}

/* argdir_resolve_quick() reads small files and cached digests only. */
static void test_quick(argdir *d)
{
	char canon[REG_ARG_MAX + 1], want[REG_ARG_MAX + 1];
	char *big = malloc(ARGDIR_QUICK_MAX + 2);

	CHECK(big != NULL);
	if (!big)
		return;
	memset(big, 'x', ARGDIR_QUICK_MAX + 1);
	big[ARGDIR_QUICK_MAX + 1] = '\0';
	put("big", big);
	CHECK_INT(argdir_resolve_quick(d, "big", canon, sizeof(canon)),
		  -EWOULDBLOCK);
	CHECK_INT(argdir_resolve_quick(d, "plain", canon, sizeof(canon)), 0);
	CHECK_INT(argdir_resolve_quick(d, "missing", canon, sizeof(canon)),
		  -ENOENT);
	/* Settled: changed (ctime too) more than ARGDIR_RACY_NS ago. */
	nanosleep(&(struct timespec){ ARGDIR_RACY_NS / 1000000000 + 1, 0 },
		  NULL);
	CHECK_INT(argdir_resolve(d, "big", want, sizeof(want)), 0);
	CHECK_INT(argdir_resolve_quick(d, "big", canon, sizeof(canon)), 0);
	CHECK_STR(canon, want);
	free(big);
}

/* A listing is shared until a reader starts afresh. */
static void test_listings(argdir *d)
{
	argdir_listing *a = NULL, *b = NULL, *c = NULL;
	size_t n;

	CHECK_INT(argdir_listing_get(d, 0, &a), 0);	/* none yet: made */
	n = argdir_listing_count(a);
	CHECK(n >= 5);
	CHECK_STR(argdir_listing_name(a, 0), "$(touch x)");
	CHECK(argdir_listing_name(a, n) == NULL);
	CHECK_INT(argdir_listing_get(d, 0, &b), 0);
	CHECK(a == b);
	put("zzz", "z");
	argdir_listing_release(d, b);
	CHECK_INT(argdir_listing_get(d, 0, &b), 0);
	CHECK_INT(argdir_listing_count(b), n);
	CHECK_INT(argdir_listing_get(d, 1, &c), 0);
	CHECK(c != a);
	CHECK_INT(argdir_listing_count(c), n + 1);
	CHECK_STR(argdir_listing_name(c, n), "zzz");
	CHECK_INT(argdir_listing_count(a), n);	/* still readable */
	argdir_listing_release(d, a);
	argdir_listing_release(d, b);
	argdir_listing_release(d, c);
}

static int nop(memofs_ctx *ctx, const char *arg, void *udata)
{
	return 0;
}

/* The registry's one way to list, resolve and stat every kind: a
 * function over the directory's files gives the same names as argdir's
 * listing, a list function its list; neither reaches past reg. */
static void test_reg_listing(argdir *d)
{
	static const char *const list[] = { "x", "a b", NULL };
	struct memofs_function files = {
		.name = "files", .version = "1",
		.args = (enum memofs_args)ARGS_FILES, .compute = nop,
	};
	struct memofs_function fixed = {
		.name = "fixed", .version = "1", .args = MEMOFS_ARGS_LIST,
		.arg_list = list, .compute = nop,
	};
	char name[REG_NAME_MAX + 1], canon[REG_ARG_MAX + 1];
	char want[REG_ARG_MAX + 1];
	struct resolve_listing l;
	argdir_listing *al = NULL;
	struct stat st, dst;
	const reg_fn *ff, *fl;
	reg *r = NULL;

	CHECK_INT(reg_new(&r), 0);
	if (!r)
		return;
	CHECK_INT(reg_add(r, &files, NULL), 0);
	CHECK_INT(reg_add(r, &fixed, NULL), 0);
	reg_bind_dir(r, d);
	ff = reg_find(r, "files");
	fl = reg_find(r, "fixed");
	CHECK(ff && fl);
	if (!ff || !fl) {
		reg_free(r);
		return;
	}
	CHECK(resolve_takes_files(r, ff));
	CHECK(!resolve_takes_files(r, fl));
	CHECK_INT(resolve_level_stat(r, ff, 0, &st), 0);
	CHECK_INT(stat(root, &dst), 0);
	CHECK(st.st_ino == dst.st_ino && st.st_dev == dst.st_dev);
	CHECK_INT(resolve_level_stat(r, fl, 0, &st), -ENOTDIR);

	/* Files: argdir's listing, name for name. */
	CHECK_INT(resolve_listing_get(r, ff, 0, 1, &l), 0);
	CHECK_INT(argdir_listing_get(d, 0, &al), 0);
	CHECK(resolve_listing_count(&l) >= 5);
	CHECK_INT(resolve_listing_count(&l), argdir_listing_count(al));
	for (size_t i = 0; i < resolve_listing_count(&l); i++) {
		CHECK_INT(resolve_listing_name(&l, i, name, sizeof(name)), 0);
		CHECK_STR(name, argdir_listing_name(al, i));
	}
	CHECK_INT(resolve_listing_name(&l, 0, name, 2), -ERANGE);
	argdir_listing_release(d, al);
	resolve_listing_release(&l);
	CHECK(l.files == NULL);
	resolve_listing_release(&l);	/* twice: harmless */

	/* A list: its names, in order. */
	CHECK_INT(resolve_listing_get(r, fl, 0, 1, &l), 0);
	CHECK_INT(resolve_listing_count(&l), 2);
	CHECK_INT(resolve_listing_name(&l, 1, name, sizeof(name)), 0);
	CHECK_STR(name, "a b");
	resolve_listing_release(&l);

	/* Resolving, quick or not, the same canonical names. */
	CHECK_INT(resolve_name(r, ff, 0, "plain", 0, want, sizeof(want)), 0);
	CHECK_INT(resolve_name(r, ff, 0, "plain", 1, canon,
					sizeof(canon)), 0);
	CHECK_STR(canon, want);
	CHECK_INT(resolve_name(r, ff, 0, "missing", 1, canon,
					sizeof(canon)), -ENOENT);
	CHECK_INT(resolve_name(r, fl, 0, "a b", 1, canon, sizeof(canon)),
		  0);
	CHECK_STR(canon, "a b");
	CHECK_INT(resolve_name(r, fl, 0, "y", 1, canon, sizeof(canon)),
		  -ENOENT);
	reg_free(r);
}

static void setup(void)
{
	char path[PATH_MAX];

	snprintf(root, sizeof(root), "%s/memofs-argdir-XXXXXX",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	CHECK(mkdtemp(root) != NULL);
	put("report.txt", "one\ntwo\n");
	put("plain", "plain\n");
	put("a b", "space\n");
	put("-rf", "dash\n");
	put("$(touch x)", "shell\n");
	put("nl\nname", "newline\n");
	snprintf(path, sizeof(path), "%s/sub", root);
	CHECK_INT(mkdir(path, 0755), 0);
	snprintf(path, sizeof(path), "%s/sub/inner", root);
	put("sub/inner", "inner\n");
	snprintf(path, sizeof(path), "%s/link", root);
	CHECK_INT(symlink("/etc/passwd", path), 0);
	snprintf(path, sizeof(path), "%s/fifo", root);
	CHECK_INT(mkfifo(path, 0600), 0);
}

static void teardown(void)
{
	char cmd[300];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	CHECK_INT(system(cmd), 0);
}

int main(void)
{
	char err[ARGDIR_ERR_MAX];
	argdir *d = NULL;

	setup();
	test_open_errors();
	CHECK_INT(argdir_open(root, &d, err, sizeof(err)), 0);
	if (d) {
		CHECK(argdir_path(d)[0] == '/');
		test_listing(d);
		test_resolve(d);
		test_edits(d);
		test_open_arg(d);
		test_quick(d);
		test_listings(d);
		test_reg_listing(d);
		argdir_free(d);
	}
	argdir_free(NULL);
	teardown();
	return check_report("argdir");
}
