/* test_evict.c -- unit test of the eviction policy (engine/evict.c).
 *
 * Compares evict_choose() with a naive reference on random sets: the
 * reference removes the expired items, then repeatedly the least recently
 * used one (ties: oldest, then lowest key) while the rest exceed the
 * byte budget.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "engine/evict.h"

#define N_MAX 64

static uint64_t rnd_state = 88172645463325252u;

static uint64_t rnd(void)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 7;
	rnd_state ^= rnd_state << 17;
	return rnd_state;
}

static void item(struct evict_item *it, unsigned id, uint64_t bytes,
		 uint64_t created, uint64_t used)
{
	memset(it, 0, sizeof(*it));
	it->key[0] = (uint8_t)id;
	it->key[1] = (uint8_t)(id >> 8);
	it->bytes = bytes;
	it->created_ns = created;
	it->used_ns = used;
}

/* Is a before b in the reference's order? */
static int ref_before(const struct evict_item *a, const struct evict_item *b)
{
	if (a->used_ns != b->used_ns)
		return a->used_ns < b->used_ns;
	if (a->created_ns != b->created_ns)
		return a->created_ns < b->created_ns;
	return memcmp(a->key, b->key, KEY_LEN) < 0;
}

/* The reference: marks gone[i] for each item to remove. */
static void reference(const struct evict_item *items, size_t n,
		      uint64_t max_bytes, uint64_t min_created, int *gone)
{
	uint64_t total = 0;

	for (size_t i = 0; i < n; i++) {
		gone[i] = min_created && items[i].created_ns < min_created;
		if (!gone[i])
			total += items[i].bytes;
	}
	while (max_bytes && total > max_bytes) {
		size_t best = n;

		for (size_t i = 0; i < n; i++)
			if (!gone[i] && (best == n ||
					 ref_before(&items[i], &items[best])))
				best = i;
		gone[best] = 1;
		total -= items[best].bytes;
	}
}

static unsigned id_of(const struct evict_item *it)
{
	return it->key[0] | (unsigned)it->key[1] << 8;
}

static void test_against_reference(void)
{
	struct evict_item items[N_MAX], copy[N_MAX];
	int gone[N_MAX], chosen[N_MAX];

	for (int round = 0; round < 2000; round++) {
		size_t n = rnd() % N_MAX, k;
		uint64_t max_bytes = rnd() % 3 ? rnd() % 5000 : 0;
		uint64_t min_created = rnd() % 2 ? rnd() % 100 : 0;

		for (size_t i = 0; i < n; i++)
			item(&items[i], (unsigned)i, rnd() % 300, rnd() % 100,
			     rnd() % 8);	/* many ties */
		memcpy(copy, items, sizeof(items));
		reference(items, n, max_bytes, min_created, gone);
		k = evict_choose(copy, n, max_bytes, min_created);
		memset(chosen, 0, sizeof(chosen));
		for (size_t i = 0; i < k; i++)
			chosen[id_of(&copy[i])] = 1;
		for (size_t i = 0; i < n; i++)
			CHECK_INT(chosen[i], gone[i]);
		/* a permutation: every item is still there once */
		memset(chosen, 0, sizeof(chosen));
		for (size_t i = 0; i < n; i++)
			chosen[id_of(&copy[i])]++;
		for (size_t i = 0; i < n; i++)
			CHECK_INT(chosen[i], 1);
	}
}

static void test_cases(void)
{
	struct evict_item it[4];

	/* no limits: nothing */
	item(&it[0], 0, 10, 1, 5);
	item(&it[1], 1, 10, 2, 1);
	CHECK_INT(evict_choose(it, 2, 0, 0), 0);
	/* LRU: the least recently used goes, not the oldest */
	CHECK_INT(evict_choose(it, 2, 15, 0), 1);
	CHECK_INT(id_of(&it[0]), 1);
	/* exactly at the budget: nothing */
	item(&it[0], 0, 10, 1, 5);
	item(&it[1], 1, 10, 2, 1);
	CHECK_INT(evict_choose(it, 2, 20, 0), 0);
	/* expired first, even when recently used, then enough LRU */
	item(&it[0], 0, 10, 1, 9);
	item(&it[1], 1, 10, 5, 1);
	item(&it[2], 2, 10, 6, 2);
	item(&it[3], 3, 10, 7, 3);
	CHECK_INT(evict_choose(it, 4, 15, 2), 3);
	CHECK_INT(id_of(&it[0]), 0);
	CHECK_INT(id_of(&it[1]), 1);
	CHECK_INT(id_of(&it[2]), 2);
	/* one item larger than the budget goes alone */
	item(&it[0], 0, 100, 1, 1);
	CHECK_INT(evict_choose(it, 1, 50, 0), 1);
	CHECK_INT(evict_choose(it, 0, 50, 10), 0);
}

int main(void)
{
	test_cases();
	test_against_reference();
	return check_report("evict");
}
