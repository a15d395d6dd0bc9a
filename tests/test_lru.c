/* test_lru.c -- unit test of the in-memory cache (engine/lru.c) and of
 * the result object it holds (engine/result.c).
 *
 * Checks against a naive model: which keys are held after each put, by
 * recency; the byte budget, with a result larger than the budget kept
 * alone; references (a result evicted while a caller holds it stays
 * readable); and the parsed-doubles cache on good and hostile bytes.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "engine/lru.h"
#include "engine/result.h"

static void key_of(uint8_t key[KEY_LEN], unsigned i)
{
	memset(key, 0, KEY_LEN);
	memcpy(key, &i, sizeof(i));
}

static memo_result *result_of(size_t len, char fill)
{
	char *buf = len ? malloc(len) : NULL;

	if (len && !buf)
		return NULL;
	if (len)
		memset(buf, fill, len);
	return memo_result_from_buf(buf, len);
}

static int held(struct memo_lru *c, unsigned i)
{
	uint8_t key[KEY_LEN];
	memo_result *r;

	key_of(key, i);
	r = memo_lru_get(c, key);
	memo_result_unref(r);
	return r != NULL;
}

/* Count by recency: the entries limit evicts the least recently used. */
static void test_entries(void)
{
	struct memo_lru c;
	uint8_t key[KEY_LEN];
	unsigned i;

	memo_lru_init(&c, 1u << 20);
	for (i = 0; i < MEMO_LRU_ENTRIES; i++) {
		memo_result *r = result_of(10, 'a');

		key_of(key, i);
		memo_lru_put(&c, key, r);
		memo_result_unref(r);
	}
	CHECK_INT(c.bytes, 10 * MEMO_LRU_ENTRIES);
	CHECK(held(&c, 0));		/* 0 is now the most recent */
	for (i = MEMO_LRU_ENTRIES; i < MEMO_LRU_ENTRIES + 2; i++) {
		memo_result *r = result_of(10, 'b');

		key_of(key, i);
		memo_lru_put(&c, key, r);
		memo_result_unref(r);
	}
	CHECK(held(&c, 0));
	CHECK(!held(&c, 1));		/* the two least recent went */
	CHECK(!held(&c, 2));
	CHECK(held(&c, 3));
	CHECK(held(&c, MEMO_LRU_ENTRIES + 1));
	CHECK_INT(c.bytes, 10 * MEMO_LRU_ENTRIES);
	/* A key held already: the put changes nothing. */
	{
		memo_result *r = result_of(500, 'c');

		key_of(key, 0);
		memo_lru_put(&c, key, r);
		memo_result_unref(r);
		r = memo_lru_get(&c, key);
		CHECK(r && memo_result_len(r) == 10);
		memo_result_unref(r);
	}
	memo_lru_clear(&c);
	CHECK_INT(c.bytes, 0);
	CHECK(!held(&c, 0));
}

/* memo_lru_drop(): only that key goes, its bytes with it; a held
 * reference stays readable; dropping a missing key changes nothing. */
static void test_drop(void)
{
	struct memo_lru c;
	uint8_t key[KEY_LEN];
	memo_result *r, *mine;

	memo_lru_init(&c, 1u << 20);
	for (unsigned i = 0; i < 3; i++) {
		r = result_of(100 + i, 'd');
		key_of(key, i);
		memo_lru_put(&c, key, r);
		memo_result_unref(r);
	}
	key_of(key, 1);
	mine = memo_lru_get(&c, key);
	memo_lru_drop(&c, key);
	CHECK(!held(&c, 1));
	CHECK(held(&c, 0) && held(&c, 2));
	CHECK_INT(c.bytes, 100 + 102);
	CHECK(mine && memo_result_len(mine) == 101 &&
	      ((const char *)memo_result_data(mine))[100] == 'd');
	memo_result_unref(mine);
	key_of(key, 7);
	memo_lru_drop(&c, key);
	CHECK_INT(c.bytes, 100 + 102);
	memo_lru_clear(&c);
}

/* The result's creation time: a fresh one now, one from the store its
 * record's. */
static void test_created(void)
{
	struct timespec t0, t1;
	memo_result *r;
	uint64_t a, b;

	clock_gettime(CLOCK_REALTIME, &t0);
	r = result_of(3, 'x');
	clock_gettime(CLOCK_REALTIME, &t1);
	a = (uint64_t)t0.tv_sec * 1000000000u + (uint64_t)t0.tv_nsec;
	b = (uint64_t)t1.tv_sec * 1000000000u + (uint64_t)t1.tv_nsec;
	CHECK(r && memo_result_created_ns(r) >= a &&
	      memo_result_created_ns(r) <= b);
	memo_result_unref(r);
}

/* The byte budget, and a result larger than it kept alone. */
static void test_budget(void)
{
	struct memo_lru c;
	uint8_t key[KEY_LEN];
	memo_result *big, *got;

	memo_lru_init(&c, 1000);
	for (unsigned i = 0; i < 4; i++) {
		memo_result *r = result_of(300, (char)('a' + i));

		key_of(key, i);
		memo_lru_put(&c, key, r);
		memo_result_unref(r);
	}
	/* 4 x 300 > 1000: the first went. */
	CHECK(!held(&c, 0));
	CHECK(held(&c, 1) && held(&c, 2) && held(&c, 3));
	CHECK_INT(c.bytes, 900);

	/* Larger than the budget: everything else goes, it stays. */
	big = result_of(5000, 'z');
	key_of(key, 99);
	memo_lru_put(&c, key, big);
	CHECK_INT(c.bytes, 5000);
	CHECK(!held(&c, 1) && !held(&c, 2) && !held(&c, 3));
	got = memo_lru_get(&c, key);
	CHECK(got == big);
	memo_result_unref(got);

	/* Evicted while its caller holds it: still readable. */
	{
		memo_result *r = result_of(10, 'q');

		key_of(key, 7);
		memo_lru_put(&c, key, r);
		memo_result_unref(r);
	}
	CHECK(!held(&c, 99));
	CHECK(held(&c, 7));
	CHECK(((const char *)memo_result_data(big))[4999] == 'z');
	memo_result_unref(big);

	/* An empty result costs nothing and is served. */
	{
		memo_result *r = result_of(0, 0);

		key_of(key, 8);
		memo_lru_put(&c, key, r);
		memo_result_unref(r);
		CHECK(held(&c, 8));
		CHECK_INT(c.bytes, 10);
	}
	memo_lru_clear(&c);
}

static void check_doubles(const char *text, int rc, size_t n,
			  const double *want)
{
	char *buf = strdup(text);
	memo_result *r = memo_result_from_buf(buf, strlen(text));
	double *v = NULL;
	size_t got = 0;

	CHECK(r != NULL);
	if (!r)
		return;
	for (int pass = 0; pass < 2; pass++) {	/* parsed once, asked twice */
		CHECK_INT(memo_result_doubles(r, &v, &got), rc);
		if (rc == 0) {
			CHECK_INT(got, n);
			for (size_t i = 0; i < n && i < got; i++)
				CHECK(v[i] == want[i]);
			free(v);
		}
		v = NULL;
	}
	memo_result_unref(r);
}

static void test_doubles(void)
{
	static const double a[] = { 1.5, -2.0, 1e300 };

	check_doubles("1.5\n-2.0\n1e300\n", 0, 3, a);
	check_doubles("", 0, 0, a);
	check_doubles("1.5", -EIO, 0, a);		/* no newline */
	check_doubles("1.5\n\n", -EIO, 0, a);		/* empty line */
	check_doubles("1.5x\n", -EIO, 0, a);
	check_doubles("abc\n", -EIO, 0, a);
	check_doubles("1 2\n", -EIO, 0, a);
}

int main(void)
{
	test_entries();
	test_drop();
	test_created();
	test_budget();
	test_doubles();
	return check_report("lru");
}
