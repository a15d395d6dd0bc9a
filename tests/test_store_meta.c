/* test_store_meta.c -- unit test of the store's accounting entries
 * (store_put_named, store_get_meta, store_touch, store_scan,
 * store_delete, store_delete_all, store_compact, store_disk_bytes).
 *
 * Each test opens a store in its own mkdtemp() directory and removes it
 * afterwards.  The scan is checked against what was written, kept in a
 * plain array alongside (the naive reference).
 */
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "tmpdir.h"
#include "engine/key.h"
#include "engine/store.h"

#define N_REC 50

static void key_of(uint8_t key[KEY_LEN], unsigned i)
{
	char arg[32];

	snprintf(arg, sizeof(arg), "%u", i);
	key_make(key, "meta", "1", arg, NULL, 0);
}

/* The reference: what each record i was written with. */
struct ref {
	char fn[16], arg[16];
	size_t len;
	uint64_t created, used;
	int live, seen;
};

static struct ref refs[N_REC];

static int ref_index(const uint8_t key[KEY_LEN])
{
	uint8_t k[KEY_LEN];

	for (int i = 0; i < N_REC; i++) {
		key_of(k, (unsigned)i);
		if (memcmp(k, key, KEY_LEN) == 0)
			return i;
	}
	return -1;
}

static int scan_check(void *arg, const struct store_meta *m)
{
	int i = ref_index(m->key);

	(void)arg;
	CHECK(i >= 0);
	if (i < 0)
		return 0;
	CHECK(refs[i].live);
	CHECK_STR(m->fn, refs[i].fn);
	CHECK_STR(m->arg, refs[i].arg);
	CHECK(m->len == refs[i].len);
	CHECK(m->created_ns == refs[i].created);
	CHECK(m->used_ns == refs[i].used);
	CHECK(m->compute_ns == 7u * (unsigned)i);
	refs[i].seen++;
	return 0;
}

/* Scans st and checks it shows exactly the live references. */
static void scan_matches(store *st)
{
	for (int i = 0; i < N_REC; i++)
		refs[i].seen = 0;
	CHECK_INT(store_scan(st, scan_check, NULL), 0);
	for (int i = 0; i < N_REC; i++)
		CHECK_INT(refs[i].seen, refs[i].live);
}

static int scan_stop(void *arg, const struct store_meta *m)
{
	int *n = arg;

	(void)m;
	return ++*n == 3 ? 42 : 0;
}

static void put(store *st, int i, size_t len, uint64_t created)
{
	uint8_t key[KEY_LEN];
	char *data = malloc(len + 1);

	memset(data, 'a' + i % 26, len + 1);
	key_of(key, (unsigned)i);
	snprintf(refs[i].fn, sizeof(refs[i].fn), "fn%d", i % 3);
	snprintf(refs[i].arg, sizeof(refs[i].arg), "col%d", i);
	refs[i].len = len;
	refs[i].created = refs[i].used = created;
	refs[i].live = 1;
	CHECK_INT(store_put_named(st, key, refs[i].fn, refs[i].arg, data, len,
				  7u * (unsigned)i, created, 0), 0);
	free(data);
}

static void test_round_trip_touch_delete(void)
{
	char dir[PATH_MAX], names[STORE_NAMES_BUF];
	struct store_meta m;
	uint8_t key[KEY_LEN];
	store_rec rec;
	store *st = NULL;
	int n = 0;

	CHECK_INT(tmp_dir(dir, sizeof(dir), "test_store_meta"), 0);
	CHECK_INT(store_open(dir, &st), 0);
	memset(refs, 0, sizeof(refs));
	for (int i = 0; i < N_REC; i++)
		put(st, i, (size_t)i * 10, 1000u + (unsigned)i);
	scan_matches(st);
	CHECK_INT(store_scan(st, scan_stop, &n), 42);
	CHECK_INT(n, 3);
	/* the record carries the same creation time */
	key_of(key, 5);
	CHECK_INT(store_get(st, key, &rec), 0);
	CHECK(rec.created_ns == 1005 && rec.len == 50 && rec.compute_ns == 35);
	store_rec_free(&rec);
	CHECK_INT(store_get_meta(st, key, &m, names), 0);
	CHECK_STR(m.arg, "col5");
	/* touch: forward only */
	CHECK_INT(store_touch(st, key, 5000), 0);
	refs[5].used = 5000;
	CHECK_INT(store_touch(st, key, 10), 0);
	scan_matches(st);
	/* delete: the record and its entry; again is fine */
	CHECK_INT(store_delete(st, key), 0);
	refs[5].live = 0;
	CHECK_INT(store_delete(st, key), 0);
	CHECK_INT(store_get(st, key, &rec), -ENOENT);
	CHECK_INT(store_get_meta(st, key, &m, names), -ENOENT);
	CHECK_INT(store_touch(st, key, 6000), -ENOENT);	/* no orphan made */
	CHECK_INT(store_get_meta(st, key, &m, names), -ENOENT);
	scan_matches(st);
	/* the entries survive a reopen */
	store_close(st);
	CHECK_INT(store_open(dir, &st), 0);
	scan_matches(st);
	/* delete_all: records without an entry (store_put) go too */
	key_of(key, N_REC + 1);
	CHECK_INT(store_put(st, key, "x", 1, 0, 0), 0);
	CHECK_INT(store_delete_all(st), 0);
	CHECK_INT(store_get(st, key, &rec), -ENOENT);
	for (int i = 0; i < N_REC; i++)
		refs[i].live = 0;
	scan_matches(st);
	store_close(st);
	rm_tree(dir);
}

static void test_hostile_names(void)
{
	char dir[PATH_MAX], *longname = malloc(STORE_NAME_MAX + 2);
	uint8_t key[KEY_LEN];
	store *st = NULL;

	CHECK_INT(tmp_dir(dir, sizeof(dir), "test_store_meta"), 0);
	CHECK_INT(store_open(dir, &st), 0);
	memset(longname, 'n', STORE_NAME_MAX + 1);
	longname[STORE_NAME_MAX + 1] = '\0';
	key_of(key, 1);
	CHECK_INT(store_put_named(st, key, longname, "a", "x", 1, 0, 0, 0),
		  -EINVAL);
	CHECK_INT(store_put_named(st, key, "f", longname, "x", 1, 0, 0, 0),
		  -EINVAL);
	longname[STORE_NAME_MAX] = '\0';	/* exactly the limit: fine */
	CHECK_INT(store_put_named(st, key, longname, longname, "x", 1, 0, 0, 0),
		  0);
	{
		char names[STORE_NAMES_BUF];
		struct store_meta m;

		CHECK_INT(store_get_meta(st, key, &m, names), 0);
		CHECK(strlen(m.fn) == STORE_NAME_MAX);
		CHECK(strlen(m.arg) == STORE_NAME_MAX);
		CHECK(m.created_ns > 0);	/* 0: now */
	}
	store_close(st);
	rm_tree(dir);
	free(longname);
}

/* Deleting large records and compacting gives the space back. */
static void test_compact_frees_disk(void)
{
	char dir[PATH_MAX];
	uint8_t key[KEY_LEN];
	uint64_t full = 0, empty = 0;
	char *data = malloc(1u << 20);
	store *st = NULL;

	CHECK_INT(tmp_dir(dir, sizeof(dir), "test_store_meta"), 0);
	CHECK_INT(store_open(dir, &st), 0);
	for (unsigned i = 0; i < 24; i++) {
		memset(data, (int)i, 1u << 20);
		key_of(key, i);
		CHECK_INT(store_put_named(st, key, "f", "a", data, 1u << 20, 0,
					  0, 0), 0);
	}
	CHECK_INT(store_compact(st), 0);
	CHECK_INT(store_disk_bytes(st, &full), 0);
	CHECK(full >= 24u << 20);
	for (unsigned i = 0; i < 24; i++) {
		key_of(key, i);
		CHECK_INT(store_delete(st, key), 0);
	}
	CHECK_INT(store_compact(st), 0);
	CHECK_INT(store_disk_bytes(st, &empty), 0);
	printf("disk: %llu bytes with 24 MiB of results, %llu after "
	       "deleting them and compacting\n", (unsigned long long)full,
	       (unsigned long long)empty);
	CHECK(empty < full - (20u << 20));
	store_close(st);
	rm_tree(dir);
	free(data);
}

int main(void)
{
	test_round_trip_touch_delete();
	test_hostile_names();
	test_compact_frees_disk();
	return check_report("store_meta");
}
