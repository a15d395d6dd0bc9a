/* test_util.c -- unit test of compute/util/: clock, name, file, mem.
 *
 * Names are checked against hostile input (empty, ".", "..", '/', every
 * control byte, NUL inside the span, one byte too long); whole-file reads
 * against the bytes written, with every kind of size hint, at and around
 * the limit, and from a pipe; file digests against the one-shot XXH3 of
 * the same bytes, over sizes around the read chunk; identities across a
 * rewrite and a rename; growing arrays element by element and by jumps,
 * up to an overflow that must be refused.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <xxhash.h>

#include "check.h"
#include "util/clock.h"
#include "util/file.h"
#include "util/errmsg.h"
#include "util/mem.h"
#include "util/name.h"

static void test_clock(void)
{
	struct timespec ts = { .tv_sec = 3, .tv_nsec = 5 };
	int64_t a, b;

	CHECK_INT(util_ts_ns(ts), 3000000005LL);
	ts.tv_sec = 0;
	ts.tv_nsec = 999999999;
	CHECK_INT(util_ts_ns(ts), 999999999LL);
	a = util_now_ns();
	usleep(2000);
	b = util_now_ns();
	CHECK(a > 0);
	CHECK(b - a >= 2000000);
	CHECK(b - a < 10 * UTIL_NS_PER_S);
}

static int comp(const char *s)
{
	return util_name_component(s, strlen(s));
}

static int fn(const char *s)
{
	return util_name_function(s, strlen(s));
}

static void test_names(void)
{
	char buf[UTIL_NAME_MAX + 2];

	CHECK(comp("col0"));
	CHECK(comp("a b"));
	CHECK(comp("..."));
	CHECK(comp(".hidden"));
	CHECK(comp("\xc3\xa9t\xc3\xa9"));	/* UTF-8 is fine */
	CHECK(!comp(""));
	CHECK(!comp("."));
	CHECK(!comp(".."));
	CHECK(!comp("a/b"));
	CHECK(!comp("/"));
	for (int c = 1; c < 0x20; c++) {
		char s[] = { 'a', (char)c, 'b', '\0' };

		CHECK(!comp(s));
	}
	CHECK(!comp("a\x7f"));
	/* A NUL inside the span is a control byte too. */
	CHECK(!util_name_component("a\0b", 3));
	CHECK(util_name_component("ab/", 2));	/* only n bytes count */
	CHECK(!util_name_component("..x", 2));
	memset(buf, 'x', sizeof(buf));
	CHECK(util_name_component(buf, UTIL_NAME_MAX));
	CHECK(!util_name_component(buf, UTIL_NAME_MAX + 1));

	CHECK(fn("mean"));
	CHECK(fn("z-score_2.v1"));
	CHECK(fn("..."));
	CHECK(!fn(""));
	CHECK(!fn("."));
	CHECK(!fn(".."));
	CHECK(!fn("a b"));
	CHECK(!fn("a/b"));
	CHECK(!fn("a:b"));
	CHECK(!fn("\xc3\xa9"));
	CHECK(!fn("tab\t"));
	CHECK(util_name_function(buf, UTIL_NAME_MAX));
	CHECK(!util_name_function(buf, UTIL_NAME_MAX + 1));

	CHECK(util_path_within("/a/b", "/a/b"));
	CHECK(util_path_within("/a/b", "/a"));
	CHECK(util_path_within("/a/b", "/"));
	CHECK(util_path_within("/", "/"));
	CHECK(!util_path_within("/a/b", "/a/b/c"));
	CHECK(!util_path_within("/ab", "/a"));
	CHECK(!util_path_within("/a", "/ab"));
}

/* Writes len pseudo-random bytes to path; returns them (caller frees). */
static unsigned char *write_bytes(const char *path, size_t len)
{
	unsigned char *b = malloc(len ? len : 1);
	uint32_t x = 2463534242u;
	FILE *f;

	if (!b)
		return NULL;
	for (size_t i = 0; i < len; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		b[i] = (unsigned char)x;
	}
	f = fopen(path, "wb");
	if (!f || fwrite(b, 1, len, f) != len || fclose(f) != 0) {
		free(b);
		return NULL;
	}
	return b;
}

static void test_hash(const char *dir)
{
	static const size_t sizes[] = { 0, 1, 4095, (1u << 18) - 1, 1u << 18,
					(1u << 18) + 1, 3u << 18 };
	char path[4096], hex[17], want[17];
	XXH3_state_t *st = XXH3_createState();

	CHECK(st != NULL);
	snprintf(path, sizeof(path), "%s/bytes", dir);
	for (size_t i = 0; st && i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		size_t n = sizes[i];
		unsigned char *b = write_bytes(path, n);
		XXH128_hash_t h128;
		int fd;

		CHECK(b != NULL);
		if (!b)
			continue;
		fd = open(path, O_RDONLY | O_CLOEXEC);
		CHECK(fd >= 0);
		/* The offset is left alone, and the digest starts at 0. */
		if (n > 0)
			CHECK_INT(lseek(fd, 1, SEEK_SET), 1);
		XXH3_64bits_reset(st);
		CHECK_INT(util_file_hash(fd, st, UTIL_HASH_64), 0);
		CHECK(XXH3_64bits_digest(st) == XXH3_64bits(b, n));
		XXH3_128bits_reset(st);
		CHECK_INT(util_file_hash(fd, st, UTIL_HASH_128), 0);
		h128 = XXH3_128bits(b, n);
		CHECK(XXH128_isEqual(XXH3_128bits_digest(st), h128));
		CHECK_INT(lseek(fd, 0, SEEK_CUR), n > 0 ? 1 : 0);
		close(fd);

		CHECK_INT(util_file_hash64_hex(path, hex), 0);
		snprintf(want, sizeof(want), "%016llx",
			 (unsigned long long)XXH3_64bits(b, n));
		CHECK_STR(hex, want);
		free(b);
	}
	/* Hostile: a closed descriptor, a directory, a missing path. */
	if (st) {
		XXH3_64bits_reset(st);
		CHECK_INT(util_file_hash(-1, st, UTIL_HASH_64), -EBADF);
	}
	CHECK_INT(util_file_hash64_hex(dir, hex), -EISDIR);
	snprintf(path, sizeof(path), "%s/missing", dir);
	CHECK_INT(util_file_hash64_hex(path, hex), -ENOENT);
	XXH3_freeState(st);
}

/* Reads path with util_file_read_fd(fd, hint, max); checks the bytes. */
static void check_read(const char *path, const unsigned char *want,
		       size_t n, size_t hint, size_t max)
{
	size_t len = 12345, expect = n > max ? max + 1 : n;
	char *buf = NULL;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	CHECK(fd >= 0);
	CHECK_INT(util_file_read_fd(fd, hint, max, &buf, &len), 0);
	CHECK_INT(len, expect);
	CHECK(buf != NULL && memcmp(buf, want, expect) == 0);
	CHECK(buf != NULL && buf[expect] == '\0');
	free(buf);
	close(fd);
}

static void test_read(const char *dir)
{
	static const size_t sizes[] = { 0, 1, 100, 4096, 70000 };
	char path[4096], *buf = NULL;
	unsigned char *b;
	size_t len;
	int fds[2], fd;

	snprintf(path, sizeof(path), "%s/read", dir);
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		size_t n = sizes[i];

		b = write_bytes(path, n);
		CHECK(b != NULL);
		if (!b)
			continue;
		/* Hints: exact, none, too small, too large. */
		check_read(path, b, n, n, 1u << 20);
		check_read(path, b, n, 0, 1u << 20);
		check_read(path, b, n, n / 3, 1u << 20);
		check_read(path, b, n, 10 * n + 7, 1u << 20);
		/* The limit: under, at, one past, far past. */
		check_read(path, b, n, n, n + 1);
		check_read(path, b, n, n, n);
		if (n > 0) {
			check_read(path, b, n, n, n - 1);
			check_read(path, b, n, 0, n / 2);
			check_read(path, b, n, n, 0);
		}
		free(b);
	}
	/* A pipe: no size known, read to its end. */
	b = write_bytes(path, 3000);
	CHECK(b != NULL);
	CHECK_INT(pipe(fds), 0);
	CHECK_INT(write(fds[1], b, 3000), 3000);
	close(fds[1]);
	CHECK_INT(util_file_read_fd(fds[0], 0, 1u << 20, &buf, &len), 0);
	CHECK_INT(len, 3000);
	CHECK(buf && b && memcmp(buf, b, 3000) == 0 && buf[3000] == '\0');
	free(buf);
	free(b);
	close(fds[0]);
	/* Hostile: a closed descriptor, a directory. */
	buf = NULL;
	CHECK_INT(util_file_read_fd(-1, 0, 100, &buf, &len), -EBADF);
	CHECK(buf == NULL);
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	CHECK_INT(util_file_read_fd(fd, 0, 100, &buf, &len), -EISDIR);
	CHECK(buf == NULL);
	close(fd);
}

static void test_big_alloc(void)
{
	size_t n = 8u << 20;
	unsigned char *p = util_big_alloc(n), *q = util_big_alloc(100);

	CHECK(p != NULL && q != NULL);
	CHECK(((uintptr_t)p & ((2u << 20) - 1)) == 0);	/* huge-page aligned */
	if (p) {
		memset(p, 0xab, n);
		CHECK(p[0] == 0xab && p[n - 1] == 0xab);
	}
	free(p);
	free(q);
}

static void test_grow(void)
{
	long *v = NULL;
	size_t cap = 0, n;
	char *bytes = NULL;
	size_t bcap = 0;

	/* One at a time: the room doubles from first, values are kept. */
	for (n = 0; n < 1000; n++) {
		CHECK_INT(util_grow(&v, &cap, n + 1, sizeof(*v), 4), 0);
		CHECK(cap >= n + 1);
		CHECK(cap == 4 || (cap & (cap - 1)) == 0);
		v[n] = (long)n * 7;
	}
	CHECK_INT(cap, 1024);
	for (n = 0; n < 1000; n++)
		if (v[n] != (long)n * 7)
			break;
	CHECK_INT(n, 1000);
	/* Enough room already: nothing changes. */
	CHECK_INT(util_grow(&v, &cap, 10, sizeof(*v), 4), 0);
	CHECK_INT(cap, 1024);
	/* Overflow, of the count or of the bytes: refused, both unchanged. */
	CHECK_INT(util_grow(&v, &cap, SIZE_MAX, sizeof(*v), 4), -ENOMEM);
	CHECK_INT(util_grow(&v, &cap, SIZE_MAX / 2, sizeof(*v), 4), -ENOMEM);
	CHECK_INT(cap, 1024);
	CHECK(v[999] == 999 * 7);
	free(v);

	/* Bytes, by jumps; first 0 means 1. */
	CHECK_INT(util_grow(&bytes, &bcap, 1000, 1, 256), 0);
	CHECK_INT(bcap, 1024);
	memset(bytes, 'x', 1000);
	CHECK_INT(util_grow(&bytes, &bcap, 5000, 1, 256), 0);
	CHECK_INT(bcap, 8192);
	CHECK(bytes[999] == 'x');
	free(bytes);
	bytes = NULL;
	bcap = 0;
	CHECK_INT(util_grow(&bytes, &bcap, 3, 1, 0), 0);
	CHECK_INT(bcap, 4);
	free(bytes);
}

static void test_append_strv(void)
{
	char **v = NULL, *s;
	size_t n = 0, huge = SIZE_MAX / sizeof(char *);

	/* Appends keep order and values; each is one element more. */
	for (int i = 0; i < 100; i++) {
		char buf[16];

		snprintf(buf, sizeof(buf), "s%d", i);
		s = strdup(buf);
		CHECK(s != NULL);
		CHECK_INT(util_append(&v, &n, &s, sizeof(s)), 0);
		CHECK_INT(n, (size_t)i + 1);
	}
	CHECK_STR(v[0], "s0");
	CHECK_STR(v[99], "s99");
	/* A count whose bytes overflow: refused, array and count unchanged. */
	s = NULL;
	CHECK_INT(util_append(&v, &huge, &s, sizeof(s)), -ENOMEM);
	CHECK(huge == SIZE_MAX / sizeof(char *));
	CHECK_STR(v[99], "s99");
	/* Frees every string and the vector (ASan checks it). */
	util_strv_free(v, n);
	util_strv_free(NULL, 0);
}

static void test_path_error(void)
{
	char err[64], path[200];

	/* Fits: "<path>: <what>", and rc comes back. */
	CHECK_INT(util_path_error(err, sizeof(err), "a.csv", -EINVAL,
				  "line %d: bad", 3), -EINVAL);
	CHECK_STR(err, "a.csv: line 3: bad");
	/* An overlong path loses its start; the message stays whole. */
	memset(path, 'p', sizeof(path) - 1);
	path[sizeof(path) - 1] = '\0';
	memcpy(path + sizeof(path) - 7, "/x.csv", 6);
	util_path_error(err, sizeof(err), path, -EINVAL, "%s", "not a number");
	CHECK(strncmp(err, "...", 3) == 0);
	CHECK(strstr(err, "/x.csv: not a number") != NULL);
	CHECK_INT(strlen(err), sizeof(err) - 1);
	/* Too little room to keep 16 path bytes: cut at the end instead. */
	util_path_error(err, 20, path, -EIO, "%s", "a long message here");
	CHECK_INT(strlen(err), 19);
	CHECK(strncmp(err, "pppp", 4) == 0);
	/* errlen 0: nothing written, rc still returned. */
	err[0] = 'z';
	CHECK_INT(util_path_error(err, 0, "f", -ENOMEM, "x"), -ENOMEM);
	CHECK(err[0] == 'z');
}

static int ident_of(const char *path, struct util_file_ident *id)
{
	struct stat st;

	if (stat(path, &st) != 0)
		return -errno;
	util_file_ident_of(&st, id);
	return 0;
}

static void test_ident(const char *dir)
{
	struct util_file_ident a, b, c;
	char p[4096], q[4096];
	unsigned char *bytes;
	struct stat st;

	snprintf(p, sizeof(p), "%s/id", dir);
	snprintf(q, sizeof(q), "%s/id2", dir);
	bytes = write_bytes(p, 10);
	CHECK(bytes != NULL);
	free(bytes);
	CHECK_INT(ident_of(p, &a), 0);
	CHECK_INT(ident_of(p, &b), 0);
	CHECK(util_file_ident_eq(&a, &b));
	CHECK(stat(p, &st) == 0 && a.ino == st.st_ino && a.size == 10);

	/* Each field alone makes a difference. */
	c = a;
	c.size++;
	CHECK(!util_file_ident_eq(&a, &c));
	c = a;
	c.ino++;
	CHECK(!util_file_ident_eq(&a, &c));
	c = a;
	c.dev++;
	CHECK(!util_file_ident_eq(&a, &c));
	c = a;
	c.mtime.tv_nsec ^= 1;
	CHECK(!util_file_ident_eq(&a, &c));
	c = a;
	c.ctime.tv_sec++;
	CHECK(!util_file_ident_eq(&a, &c));

	/* Another file renamed over it: another identity. */
	bytes = write_bytes(q, 10);
	free(bytes);
	CHECK_INT(rename(q, p), 0);
	CHECK_INT(ident_of(p, &b), 0);
	CHECK(!util_file_ident_eq(&a, &b));
}

int main(void)
{
	char dir[] = "/tmp/test_util.XXXXXX";
	char cmd[64];

	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	test_clock();
	test_names();
	test_read(dir);
	test_big_alloc();
	test_grow();
	test_append_strv();
	test_path_error();
	test_hash(dir);
	test_ident(dir);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
	return check_report("util");
}
