/* evict.c -- the eviction policy (see evict.h). */
#include <stdlib.h>
#include <string.h>

#include "engine/evict.h"

/* Least recently used first; then oldest; then by key. */
static int evict_cmp_use(const void *pa, const void *pb)
{
	const struct evict_item *a = pa, *b = pb;

	if (a->used_ns != b->used_ns)
		return a->used_ns < b->used_ns ? -1 : 1;
	if (a->created_ns != b->created_ns)
		return a->created_ns < b->created_ns ? -1 : 1;
	return memcmp(a->key, b->key, KEY_LEN);
}

static void evict_swap(struct evict_item *a, struct evict_item *b)
{
	struct evict_item t = *a;

	*a = *b;
	*b = t;
}

/* Moves the expired items to the front; returns how many. */
static size_t evict_expired(struct evict_item *items, size_t n,
			    uint64_t min_created_ns)
{
	size_t k = 0;

	for (size_t i = 0; min_created_ns && i < n; i++)
		if (items[i].created_ns < min_created_ns)
			evict_swap(&items[k++], &items[i]);
	return k;
}

size_t evict_choose(struct evict_item *items, size_t n, uint64_t max_bytes,
		    uint64_t min_created_ns)
{
	size_t k = evict_expired(items, n, min_created_ns);
	uint64_t total = 0;

	for (size_t i = k; i < n; i++)
		total += items[i].bytes;
	if (max_bytes == 0 || total <= max_bytes)
		return k;
	qsort(items + k, n - k, sizeof(*items), evict_cmp_use);
	while (k < n && total > max_bytes)
		total -= items[k++].bytes;
	return k;
}
