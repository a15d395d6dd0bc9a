/* test_store.c -- unit test of the RocksDB result store.
 *
 * Each test opens a store in its own mkdtemp() directory and removes the
 * directory afterwards.  Damaged records are built with this file's own
 * encoder of the layout documented in store.c, so the test also checks
 * that the layout is the documented one.  The lock and kill tests
 * re-execute this program ("test_store --open DIR", "--put-and-die DIR")
 * to use the store from a second process.  Prints, without judging them, get latencies over 100k records.
 */
#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <rocksdb/c.h>
#include <xxhash.h>

#include "check.h"
#include "tmpdir.h"
#include "engine/key.h"
#include "engine/store.h"

#define HDR_LEN 40	/* format 1's record header (store.c) */
#define HDR2_LEN 48	/* format 2's: with the tag and a reserved u32 */

/* ---- helpers ------------------------------------------------------------ */

static void key_of(uint8_t key[KEY_LEN], unsigned i)
{
	char arg[32];

	snprintf(arg, sizeof(arg), "%u", i);
	key_make(key, "test", "1", arg, NULL, 0);
}

/* Deterministic bytes that differ with seed and position. */
static void fill(uint8_t *buf, size_t len, unsigned seed)
{
	uint64_t x = 0x9e3779b97f4a7c15u * (seed + 1);

	for (size_t i = 0; i < len; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		buf[i] = (uint8_t)x;
	}
}

static uint64_t now_ns(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Returns 1 if the record under key holds exactly data[0..len). */
static int holds(store *st, const uint8_t key[KEY_LEN], const void *data,
		 size_t len)
{
	store_rec rec;
	int ok;

	if (store_get(st, key, &rec) != 0)
		return 0;
	ok = rec.len == len && (len == 0 || memcmp(rec.data, data, len) == 0);
	store_rec_free(&rec);
	return ok;
}

/* Opens a store in a new temporary directory, written into dir. */
static store *open_tmp(char *dir, size_t size)
{
	store *st = NULL;

	CHECK_INT(tmp_dir(dir, size, "test_store"), 0);
	CHECK_INT(store_open(dir, &st), 0);
	return st;
}

/* ---- tests -------------------------------------------------------------- */

static void test_open_creates_dirs(void)
{
	char base[PATH_MAX], dir[PATH_MAX + 16];
	struct stat sb;
	store *st = NULL;

	CHECK_INT(tmp_dir(base, sizeof(base), "test_store"), 0);
	snprintf(dir, sizeof(dir), "%s/a/b/c", base);
	CHECK_INT(store_open(dir, &st), 0);
	store_close(st);
	CHECK_INT(stat(dir, &sb), 0);
	CHECK(S_ISDIR(sb.st_mode));
	CHECK_INT(sb.st_mode & 077, 0);
	snprintf(dir, sizeof(dir), "%s/a", base);
	CHECK_INT(stat(dir, &sb), 0);
	CHECK_INT(sb.st_mode & 077, 0);
	CHECK_INT(store_open("", &st), -EINVAL);
	store_close(NULL);
	store_rec_free(NULL);
	rm_tree(base);
}

static void test_miss(void)
{
	char dir[PATH_MAX];
	store *st = open_tmp(dir, sizeof(dir));
	uint8_t key[KEY_LEN];
	store_rec rec;

	memset(&rec, 0xa5, sizeof(rec));
	key_of(key, 1);
	CHECK_INT(store_get(st, key, &rec), -ENOENT);
	CHECK(rec.raw == NULL && rec.data == NULL && rec.len == 0);
	store_rec_free(&rec);	/* harmless on a cleared record */
	store_close(st);
	rm_tree(dir);
}

static void round_trip(store *st, size_t len, unsigned seed)
{
	uint8_t key[KEY_LEN];
	uint8_t *data = malloc(len ? len : 1);
	uint64_t before, after;
	store_rec rec;

	CHECK(data != NULL);
	if (!data)
		return;
	fill(data, len, seed);
	key_of(key, seed);
	before = now_ns(CLOCK_REALTIME);
	CHECK_INT(store_put(st, key, data, len, 1000 + seed, seed), 0);
	after = now_ns(CLOCK_REALTIME);
	CHECK_INT(store_get(st, key, &rec), 0);
	CHECK_INT(rec.len, len);
	CHECK_INT(rec.tag, seed);
	CHECK(rec.data != NULL);
	/* Typed values are read in place: the data is 16-byte aligned. */
	CHECK((uintptr_t)rec.data % 16 == 0);
	CHECK(len == 0 || memcmp(rec.data, data, len) == 0);
	CHECK_INT(rec.compute_ns, 1000 + seed);
	CHECK(rec.created_ns >= before && rec.created_ns <= after);
	store_rec_free(&rec);
	CHECK(rec.raw == NULL);
	free(data);
}

static void test_round_trip(void)
{
	char dir[PATH_MAX];
	store *st = open_tmp(dir, sizeof(dir));
	uint8_t key[KEY_LEN];

	round_trip(st, 0, 10);
	round_trip(st, 1, 11);
	round_trip(st, 100, 12);
	round_trip(st, (64 << 10) - 1, 13);	/* around the blob threshold */
	round_trip(st, 64 << 10, 14);
	round_trip(st, 1 << 20, 15);
	round_trip(st, 100u << 20, 16);
	/* NULL is a valid empty result. */
	key_of(key, 17);
	CHECK_INT(store_put(st, key, NULL, 0, 0, 0), 0);
	CHECK(holds(st, key, "", 0));
	store_close(st);
	rm_tree(dir);
}

static void test_overwrite(void)
{
	char dir[PATH_MAX];
	store *st = open_tmp(dir, sizeof(dir));
	uint8_t key[KEY_LEN], big[200 << 10];

	key_of(key, 1);
	fill(big, sizeof(big), 1);
	CHECK_INT(store_put(st, key, "first", 5, 1, 0), 0);
	CHECK_INT(store_put(st, key, "second!", 7, 2, 0), 0);
	CHECK(holds(st, key, "second!", 7));
	CHECK_INT(store_put(st, key, big, sizeof(big), 3, 0), 0);	/* a blob */
	CHECK(holds(st, key, big, sizeof(big)));
	CHECK_INT(store_put(st, key, "", 0, 4, 0), 0);
	CHECK(holds(st, key, "", 0));
	store_close(st);
	rm_tree(dir);
}

/* Returns 1 if dir holds a file whose name ends in suffix. */
static int dir_has(const char *dir, const char *suffix)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	size_t n = strlen(suffix);
	int found = 0;

	if (!d)
		return 0;
	while (!found && (e = readdir(d)) != NULL) {
		size_t len = strlen(e->d_name);

		found = len >= n && strcmp(e->d_name + len - n, suffix) == 0;
	}
	closedir(d);
	return found;
}

static void test_reopen(void)
{
	char dir[PATH_MAX];
	store *st = open_tmp(dir, sizeof(dir));
	static uint8_t big[1 << 20];
	uint8_t key[KEY_LEN];
	store_rec rec;

	fill(big, sizeof(big), 7);
	for (unsigned i = 0; i < 100; i++) {
		key_of(key, i);
		CHECK_INT(store_put(st, key, &i, sizeof(i), i, 0), 0);
	}
	key_of(key, 1000);
	CHECK_INT(store_put(st, key, big, sizeof(big), 42, 0), 0);
	store_close(st);

	st = NULL;
	CHECK_INT(store_open(dir, &st), 0);
	if (!st)
		goto out;
	for (unsigned i = 0; i < 100; i++) {
		key_of(key, i);
		CHECK(holds(st, key, &i, sizeof(i)));
	}
	key_of(key, 1000);
	CHECK_INT(store_get(st, key, &rec), 0);
	CHECK_INT(rec.compute_ns, 42);
	CHECK(rec.len == sizeof(big) && memcmp(rec.data, big, rec.len) == 0);
	store_rec_free(&rec);
	/* Recovery flushed the WAL; the large value went to a blob file. */
	CHECK(dir_has(dir, ".blob"));
	store_close(st);
out:
	rm_tree(dir);
}

/* This test's own encoder of a record of format 1 (see store.c's
 * layout), as memofs wrote before typed results: still read, as bytes. */
static size_t make_record(uint8_t *out, const void *data, size_t len,
			  uint64_t compute_ns, uint64_t created_ns)
{
	uint64_t fields[4] = { len, XXH3_64bits(data, len), compute_ns,
			       created_ns };

	memcpy(out, "MFS\0", 4);
	out[4] = 1;
	out[5] = out[6] = out[7] = 0;
	for (int f = 0; f < 4; f++)
		for (int i = 0; i < 8; i++)
			out[8 + 8 * f + i] = (uint8_t)(fields[f] >> (8 * i));
	memcpy(out + HDR_LEN, data, len);
	return HDR_LEN + len;
}

/* Stores raw[0..len) under key and expects store_get to reject it. */
static void expect_damaged(store *st, const uint8_t key[KEY_LEN],
			   const uint8_t *raw, size_t len)
{
	store_rec rec;

	CHECK_INT(store_put_raw(st, key, raw, len), 0);
	CHECK_INT(store_get(st, key, &rec), -EBADMSG);
	CHECK(rec.raw == NULL && rec.data == NULL);
}

static void test_damaged(void)
{
	static const char data[] = "the quick brown fox";
	char dir[PATH_MAX];
	store *st = open_tmp(dir, sizeof(dir));
	uint8_t key[KEY_LEN], good[HDR_LEN + sizeof(data)];
	uint8_t bad[sizeof(good) + 1];
	size_t n = make_record(good, data, sizeof(data), 77, 88);
	store_rec rec;

	key_of(key, 5);
	/* The hand-made record is a valid one. */
	CHECK_INT(store_put_raw(st, key, good, n), 0);
	CHECK_INT(store_get(st, key, &rec), 0);
	CHECK(rec.len == sizeof(data) && memcmp(rec.data, data, rec.len) == 0);
	CHECK_INT(rec.compute_ns, 77);
	CHECK_INT(rec.created_ns, 88);
	store_rec_free(&rec);

	memcpy(bad, good, n);
	bad[HDR_LEN + 3] ^= 0x20;		/* a flipped data byte */
	expect_damaged(st, key, bad, n);
	memcpy(bad, good, n);
	bad[16] ^= 0x01;			/* a flipped checksum bit */
	expect_damaged(st, key, bad, n);
	memcpy(bad, good, n);
	bad[0] = 'X';				/* wrong magic */
	expect_damaged(st, key, bad, n);
	memcpy(bad, good, n);
	bad[4] = 3;				/* unknown format version */
	expect_damaged(st, key, bad, n);
	memcpy(bad, good, n);
	bad[4] = 2;			/* format 2 needs a longer header */
	expect_damaged(st, key, bad, n);
	expect_damaged(st, key, good, HDR_LEN - 1);	/* truncated header */
	expect_damaged(st, key, good, 0);		/* empty value */
	expect_damaged(st, key, good, n - 1);	/* truncated data */
	memcpy(bad, good, n);
	bad[n] = 0;
	expect_damaged(st, key, bad, n + 1);	/* trailing byte */
	memcpy(bad, good, n);
	bad[8] += 1;				/* wrong length field */
	expect_damaged(st, key, bad, n);
	memcpy(bad, good, n);
	bad[15] = 0x80;				/* absurd length field */
	expect_damaged(st, key, bad, n);

	/* A damaged record is healed by storing it again. */
	CHECK_INT(store_put(st, key, data, sizeof(data), 1, 0), 0);
	CHECK(holds(st, key, data, sizeof(data)));
	store_close(st);
	rm_tree(dir);
}

/* This test's own encoder of a record of format 2 (store.c's layout). */
static size_t make_record2(uint8_t *out, const void *data, size_t len,
			   uint32_t tag, uint32_t reserved)
{
	uint64_t fields[4] = { len, XXH3_64bits(data, len), 5, 6 };

	memcpy(out, "MFS\0\2\0\0\0", 8);
	for (int f = 0; f < 4; f++)
		for (int i = 0; i < 8; i++)
			out[8 + 8 * f + i] = (uint8_t)(fields[f] >> (8 * i));
	for (int i = 0; i < 4; i++) {
		out[40 + i] = (uint8_t)(tag >> (8 * i));
		out[44 + i] = (uint8_t)(reserved >> (8 * i));
	}
	memcpy(out + HDR2_LEN, data, len);
	return HDR2_LEN + len;
}

/* Format 2 records carry their tag; format 1 records read as tag 0. */
static void test_formats(void)
{
	static const char data[] = "0123456789abcdef";
	char dir[PATH_MAX];
	store *st = open_tmp(dir, sizeof(dir));
	uint8_t key[KEY_LEN], raw[HDR2_LEN + sizeof(data)];
	size_t n;
	store_rec rec;

	key_of(key, 40);
	n = make_record2(raw, data, sizeof(data), 0x0101, 0);
	CHECK_INT(store_put_raw(st, key, raw, n), 0);
	CHECK_INT(store_get(st, key, &rec), 0);
	CHECK_INT(rec.tag, 0x0101);
	CHECK_INT(rec.compute_ns, 5);
	CHECK_INT(rec.created_ns, 6);
	CHECK(rec.len == sizeof(data) && memcmp(rec.data, data, rec.len) == 0);
	store_rec_free(&rec);
	/* A reserved field that is not 0: written by a later memofs. */
	n = make_record2(raw, data, sizeof(data), 1, 7);
	expect_damaged(st, key, raw, n);
	/* Format 1: no tag, bytes. */
	n = make_record(raw, data, sizeof(data), 8, 9);
	CHECK_INT(store_put_raw(st, key, raw, n), 0);
	CHECK_INT(store_get(st, key, &rec), 0);
	CHECK_INT(rec.tag, 0);
	CHECK(rec.len == sizeof(data) && memcmp(rec.data, data, rec.len) == 0);
	store_rec_free(&rec);
	/* A format 2 header cut to format 1's length. */
	n = make_record2(raw, data, sizeof(data), 0, 0);
	expect_damaged(st, key, raw, HDR_LEN + 4);
	store_close(st);
	rm_tree(dir);
}

static void test_open_not_dir(void)
{
	char base[PATH_MAX], file[PATH_MAX + 16], under[PATH_MAX + 32];
	store *st = NULL;
	FILE *f;

	CHECK_INT(tmp_dir(base, sizeof(base), "test_store"), 0);
	snprintf(file, sizeof(file), "%s/file", base);
	f = fopen(file, "w");
	CHECK(f != NULL);
	if (f)
		fclose(f);
	CHECK_INT(store_open(file, &st), -ENOTDIR);
	CHECK(st == NULL);
	snprintf(under, sizeof(under), "%s/sub/dir", file);
	CHECK_INT(store_open(under, &st), -ENOTDIR);
	CHECK(st == NULL);
	rm_tree(base);
}

/* The --open mode of this program: exits with the errno of store_open. */
static int child_open(const char *dir)
{
	store *st = NULL;
	int rc = store_open(dir, &st);

	store_close(st);
	return -rc;
}

/* Runs "self --open dir" and returns its exit status, or -1. */
static int open_in_child(const char *dir)
{
	int status;
	pid_t pid = fork();

	if (pid < 0)
		return -1;
	if (pid == 0) {
		execl("/proc/self/exe", "test_store", "--open", dir,
		      (char *)NULL);
		_exit(127);
	}
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

#define KILL_KEYS 1000

/* The --put-and-die mode: stores KILL_KEYS records, then dies by SIGKILL
 * without closing the store. */
static int child_put_and_die(const char *dir)
{
	uint8_t key[KEY_LEN];
	store *st = NULL;

	if (store_open(dir, &st) != 0)
		return 1;
	for (unsigned i = 0; i < KILL_KEYS; i++) {
		key_of(key, i);
		if (store_put(st, key, &i, sizeof(i), i, 0) != 0)
			return 2;
	}
	kill(getpid(), SIGKILL);
	return 3;
}

/* Unsynced writes are in the kernel before store_put(, 0) returns, so they
 * survive the death of the process. */
static void test_killed(void)
{
	char dir[PATH_MAX];
	uint8_t key[KEY_LEN];
	store *st = NULL;
	unsigned lost = 0;
	int status;
	pid_t pid;

	CHECK_INT(tmp_dir(dir, sizeof(dir), "test_store"), 0);
	pid = fork();
	if (pid == 0) {
		execl("/proc/self/exe", "test_store", "--put-and-die", dir,
		      (char *)NULL);
		_exit(127);
	}
	CHECK(pid > 0);
	status = 0;
	if (pid > 0 && waitpid(pid, &status, 0) != pid)
		status = 0;
	CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	CHECK_INT(store_open(dir, &st), 0);
	if (st) {
		for (unsigned i = 0; i < KILL_KEYS; i++) {
			key_of(key, i);
			lost += !holds(st, key, &i, sizeof(i));
		}
		store_close(st);
	}
	CHECK_INT(lost, 0);
	rm_tree(dir);
}

static void test_locked(void)
{
	char dir[PATH_MAX];
	store *st = open_tmp(dir, sizeof(dir));
	store *second = NULL;

	CHECK_INT(store_open(dir, &second), -EBUSY);
	CHECK(second == NULL);
	CHECK_INT(open_in_child(dir), EBUSY);
	store_close(st);
	CHECK_INT(open_in_child(dir), 0);	/* free again */
	rm_tree(dir);
}

#define THREADS 4
#define THREAD_KEYS 10000

struct worker {
	pthread_t tid;
	store *st;
	unsigned id;
	unsigned failures;	/* CHECK is not thread-safe; count here */
};

/* The value of record i: 8 to 135 bytes, derived from i. */
static size_t value_of(unsigned i, uint8_t buf[136])
{
	size_t len = 8 + i % 128;

	fill(buf, len, i);
	return len;
}

/* Other threads' records may be missing, never different. */
static int absent_or_right(store *st, unsigned i)
{
	uint8_t key[KEY_LEN], want[136];
	size_t len = value_of(i, want);
	store_rec rec;
	int rc, ok;

	key_of(key, i);
	rc = store_get(st, key, &rec);
	if (rc == -ENOENT)
		return 1;
	if (rc)
		return 0;
	ok = rec.len == len && memcmp(rec.data, want, len) == 0;
	store_rec_free(&rec);
	return ok;
}

static void *worker_run(void *arg)
{
	struct worker *w = arg;
	uint8_t key[KEY_LEN], val[136];

	for (unsigned i = w->id; i < THREAD_KEYS; i += THREADS) {
		size_t len = value_of(i, val);

		key_of(key, i);
		if (store_put(w->st, key, val, len, i, 0) != 0 ||
		    !holds(w->st, key, val, len))
			w->failures++;
		if (!absent_or_right(w->st, (i * 7919u) % THREAD_KEYS))
			w->failures++;
	}
	return NULL;
}

static void test_threads(void)
{
	char dir[PATH_MAX];
	store *st = open_tmp(dir, sizeof(dir));
	struct worker w[THREADS];
	uint8_t key[KEY_LEN], val[136];
	unsigned bad = 0;

	for (unsigned t = 0; t < THREADS; t++) {
		w[t] = (struct worker){ .st = st, .id = t };
		CHECK_INT(pthread_create(&w[t].tid, NULL, worker_run, &w[t]),
			  0);
	}
	for (unsigned t = 0; t < THREADS; t++) {
		pthread_join(w[t].tid, NULL);
		CHECK_INT(w[t].failures, 0);
	}
	for (unsigned i = 0; i < THREAD_KEYS; i++) {
		size_t len = value_of(i, val);

		key_of(key, i);
		bad += !holds(st, key, val, len);
	}
	CHECK_INT(bad, 0);
	store_close(st);
	rm_tree(dir);
}

/* ---- measurement -------------------------------------------------------- */

#define BENCH_KEYS 100000
#define BENCH_VALUE 64

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

/* Gets every record once, in a scattered order, and prints latencies. */
static void bench_gets(store *st, const char *what, uint64_t *ns)
{
	uint8_t key[KEY_LEN];
	store_rec rec;
	unsigned misses = 0;
	uint64_t sum = 0;

	for (unsigned n = 0; n < BENCH_KEYS; n++) {
		unsigned i = (unsigned)(((uint64_t)n * 48271u) % BENCH_KEYS);
		uint64_t t0;

		key_of(key, i);
		t0 = now_ns(CLOCK_MONOTONIC);
		misses += store_get(st, key, &rec) != 0;
		ns[n] = now_ns(CLOCK_MONOTONIC) - t0;
		sum += ns[n];
		store_rec_free(&rec);
	}
	CHECK_INT(misses, 0);
	qsort(ns, BENCH_KEYS, sizeof(*ns), cmp_u64);
	printf("store: get of %d x %d-byte records, %s: mean %llu ns, "
	       "p50 %llu, p99 %llu, max %llu\n", BENCH_KEYS, BENCH_VALUE,
	       what, (unsigned long long)(sum / BENCH_KEYS),
	       (unsigned long long)ns[BENCH_KEYS / 2],
	       (unsigned long long)ns[BENCH_KEYS * 99 / 100],
	       (unsigned long long)ns[BENCH_KEYS - 1]);
}

static void bench(void)
{
	char dir[PATH_MAX];
	store *st = open_tmp(dir, sizeof(dir));
	uint64_t *ns = malloc(BENCH_KEYS * sizeof(*ns));
	uint8_t key[KEY_LEN], val[BENCH_VALUE];
	uint64_t t0;

	CHECK(ns != NULL);
	if (!ns || !st)
		goto out;
	t0 = now_ns(CLOCK_MONOTONIC);
	for (unsigned i = 0; i < BENCH_KEYS; i++) {
		key_of(key, i);
		fill(val, sizeof(val), i);
		CHECK_INT(store_put(st, key, val, sizeof(val), i, 0), 0);
	}
	printf("store: put of %d records: %llu ns each\n", BENCH_KEYS,
	       (unsigned long long)((now_ns(CLOCK_MONOTONIC) - t0) /
				    BENCH_KEYS));
	bench_gets(st, "memtable", ns);
	store_close(st);
	st = NULL;
	CHECK_INT(store_open(dir, &st), 0);
	if (st)
		bench_gets(st, "SST after reopen", ns);
out:
	store_close(st);
	free(ns);
	rm_tree(dir);
}

/* ---- RocksDB's own damage ---------------------------------------------- */

#define SST_RECORDS 4000

/* Path of the largest .sst file in dir into out; 0 or -ENOENT. */
static int largest_sst(const char *dir, char *out, size_t size)
{
	char path[PATH_MAX + 300];
	off_t best = -1;
	struct dirent *e;
	struct stat sb;
	DIR *d = opendir(dir);

	if (!d)
		return -errno;
	while ((e = readdir(d))) {
		size_t n = strlen(e->d_name);

		if (n < 4 || strcmp(e->d_name + n - 4, ".sst") != 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (stat(path, &sb) == 0 && sb.st_size > best) {
			best = sb.st_size;
			snprintf(out, size, "%s", path);
		}
	}
	closedir(d);
	return best < 0 ? -ENOENT : 0;
}

/* Flips one bit a quarter into path: inside its data blocks. */
static void flip_bit(const char *path)
{
	FILE *f = fopen(path, "r+b");
	long at;
	int c;

	CHECK(f != NULL);
	if (!f)
		return;
	CHECK_INT(fseek(f, 0, SEEK_END), 0);
	at = ftell(f) / 4;
	CHECK_INT(fseek(f, at, SEEK_SET), 0);
	c = fgetc(f);
	CHECK_INT(fseek(f, at, SEEK_SET), 0);
	CHECK(fputc(c ^ 0x10, f) != EOF);
	CHECK_INT(fclose(f), 0);
}

/* Reads record i: 0 right, 1 damaged, 2 missing (both then rewritten),
 * -1 wrong or failed. */
static int read_or_repair(store *st, unsigned i)
{
	uint8_t key[KEY_LEN], want[136];
	size_t len = value_of(i, want);
	store_rec rec;
	int rc;

	key_of(key, i);
	rc = store_get(st, key, &rec);
	if (rc == -EBADMSG || rc == -ENOENT)
		return store_put(st, key, want, len, 1, 0) != 0 ? -1
		       : rc == -EBADMSG ? 1 : 2;
	if (rc)
		return -1;
	rc = rec.len == len && memcmp(rec.data, want, len) == 0 ? 0 : -1;
	store_rec_free(&rec);
	return rc;
}

/* A full compaction, through RocksDB itself, of the closed store dir:
 * it reads every block, so it fails if a damaged one is still there,
 * and the write after it then fails too. */
static void compact_all(const char *dir)
{
	rocksdb_options_t *opts = rocksdb_options_create();
	/* Every column family must be opened: the records' and the
	 * accounting entries' (store.c). */
	const char *names[2] = { "default", "meta" };
	const rocksdb_options_t *cf_opts[2] = { opts, opts };
	rocksdb_column_family_handle_t *cf[2] = { NULL, NULL };
	char *err = NULL;
	rocksdb_t *db = rocksdb_open_column_families(opts, dir, 2, names,
						     cf_opts, cf, &err);

	CHECK(err == NULL);
	if (db) {
		rocksdb_writeoptions_t *w = rocksdb_writeoptions_create();

		rocksdb_compact_range(db, NULL, 0, NULL, 0);
		/* A compaction that met a bad block stops every write. */
		rocksdb_put(db, w, "probe", 5, "x", 1, &err);
		CHECK(err == NULL);
		rocksdb_writeoptions_destroy(w);
		for (int i = 0; i < 2; i++)
			rocksdb_column_family_handle_destroy(cf[i]);
		rocksdb_close(db);
	}
	rocksdb_free(err);
	rocksdb_options_destroy(opts);
}

/* Reads every record, rewriting those damaged or missing; counts[0..3]
 * get the right, damaged, missing and wrong ones. */
static void read_all(store *st, unsigned counts[4])
{
	memset(counts, 0, 4 * sizeof(*counts));
	for (unsigned i = 0; i < SST_RECORDS; i++) {
		int rc = read_or_repair(st, i);

		counts[rc < 0 ? 3 : rc]++;
	}
}

/* Fills a new store in dir with SST_RECORDS records, has them flushed to
 * an SST, closes it and flips a bit in that file, named into sst. */
static void make_damaged_sst(char *dir, size_t size, char *sst,
			     size_t sstsize)
{
	uint8_t key[KEY_LEN], buf[136];
	store *st = open_tmp(dir, size);

	for (unsigned i = 0; st && i < SST_RECORDS; i++) {
		key_of(key, i);
		CHECK_INT(store_put(st, key, buf, value_of(i, buf), 1, 0), 0);
	}
	store_close(st);
	CHECK_INT(store_open(dir, &st), 0);	/* flushes the WAL to an SST */
	store_close(st);
	CHECK_INT(largest_sst(dir, sst, sstsize), 0);
	flip_bit(sst);
}

/* A bit flipped in an SST data block: the records it hits are -EBADMSG
 * (RocksDB's checksum), the file is dropped (records read from it before
 * are then missing), rewritten records are served, and a full compaction
 * afterwards meets no damage. */
static void test_damaged_sst(void)
{
	char dir[PATH_MAX], sst[PATH_MAX + 300];
	unsigned n[4];
	store *st = NULL;

	make_damaged_sst(dir, sizeof(dir), sst, sizeof(sst));
	CHECK_INT(store_open(dir, &st), 0);
	read_all(st, n);
	CHECK(n[1] > 0);		/* the damaged block's records */
	CHECK_INT(n[3], 0);
	CHECK(access(sst, F_OK) != 0);	/* dropped from the store */
	store_close(st);
	compact_all(dir);
	CHECK_INT(store_open(dir, &st), 0);
	read_all(st, n);
	CHECK_INT(n[1] + n[3], 0);	/* only what the dropped file held */
	read_all(st, n);
	CHECK_INT(n[0], SST_RECORDS);
	store_close(st);
	rm_tree(dir);
}

/* The damaged file is met by a compaction first, before any get: RocksDB
 * stops every write; the store reopens without compactions, drops the
 * file, and writes work again within a few seconds. */
static void test_damaged_sst_compacted(void)
{
	char dir[PATH_MAX], sst[PATH_MAX + 300];
	uint8_t key[KEY_LEN];
	int failed = 0, resumed = 0;
	unsigned n[4];
	store *st = NULL;

	make_damaged_sst(dir, sizeof(dir), sst, sizeof(sst));
	/* Each reopen flushes one more level-0 file; the fourth makes
	 * RocksDB compact them all, the damaged one included. */
	for (unsigned r = 1; r <= 4; r++) {
		CHECK_INT(store_open(dir, &st), 0);
		for (unsigned i = 0; st && i < 50; i++) {
			key_of(key, 100000 * r + i);
			store_put(st, key, "x", 1, 1, 0);
		}
		if (r < 4)
			store_close(st);
	}
	for (int t = 0; t < 100 && !resumed; t++) {
		int rc;

		key_of(key, 999999);
		rc = store_put(st, key, "y", 1, 1, 0);
		failed |= rc != 0;
		resumed = failed && rc == 0;
		usleep(50000);
	}
	CHECK(failed && resumed);
	CHECK(access(sst, F_OK) != 0);
	read_all(st, n);
	CHECK_INT(n[1] + n[3], 0);
	store_close(st);
	compact_all(dir);
	rm_tree(dir);
}

/* A CURRENT that names no MANIFEST: the store cannot be opened, and says
 * so with -EBADMSG (the daemon then moves it aside). */
static void test_damaged_current(void)
{
	char dir[PATH_MAX], path[PATH_MAX + 16];
	store *st = open_tmp(dir, sizeof(dir));
	FILE *f;

	store_close(st);
	snprintf(path, sizeof(path), "%s/CURRENT", dir);
	f = fopen(path, "w");
	CHECK(f != NULL);
	if (f) {
		fputs("MANIFEST-424242\n", f);
		fclose(f);
	}
	st = NULL;
	CHECK_INT(store_open(dir, &st), -EBADMSG);
	CHECK(st == NULL);
	rm_tree(dir);
}

int main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "--open") == 0)
		return child_open(argv[2]);
	if (argc == 3 && strcmp(argv[1], "--put-and-die") == 0)
		return child_put_and_die(argv[2]);
	test_open_creates_dirs();
	test_miss();
	test_round_trip();
	test_overwrite();
	test_reopen();
	test_damaged();
	test_formats();
	test_damaged_sst();
	test_damaged_sst_compacted();
	test_damaged_current();
	test_open_not_dir();
	test_locked();
	test_killed();
	test_threads();
	bench();
	return check_report("store");
}
