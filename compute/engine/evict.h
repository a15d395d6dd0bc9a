/* evict.h -- which stored results to remove: the size and age limits.
 *
 * The policy only, on a plain array, so that it is tested without a
 * store: memo scans the store's accounting entries (store_scan()) into
 * evict_item's, asks evict_choose() which to drop, and drops them.
 *   - every result created before min_created_ns goes (-o max_age);
 *   - then, least recently used first, results go until the rest take at
 *     most max_bytes (-o max_size); ties go oldest first, then by key, so
 *     that the choice is the same on every run.
 * Not thread-safe by itself; it holds no state.
 */
#ifndef MEMOFS_EVICT_H
#define MEMOFS_EVICT_H

#include <stddef.h>
#include <stdint.h>

#include "engine/key.h"

struct evict_item {
	uint8_t key[KEY_LEN];
	uint64_t bytes;		/* what the result takes (its length) */
	uint64_t created_ns;	/* CLOCK_REALTIME */
	uint64_t used_ns;	/* CLOCK_REALTIME of its last known use */
};

/* Reorders items[0..n) so that the ones to remove come first, and
 * returns how many they are.  max_bytes 0: no size limit;
 * min_created_ns 0: no age limit. */
size_t evict_choose(struct evict_item *items, size_t n, uint64_t max_bytes,
		    uint64_t min_created_ns);

#endif
