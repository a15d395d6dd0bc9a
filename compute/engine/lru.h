/* lru.h -- the in-memory cache: a few recently used results.
 *
 * memo keeps the results it served last in memory, so that a result read
 * in many chunks is fetched from RocksDB once.  The cache holds at most
 * MEMO_LRU_ENTRIES results and, together, at most the byte budget given
 * to memo_lru_init() -- except that one result larger than the budget
 * is kept alone (it evicts everything else), because a reader of a large
 * result asks for it chunk by chunk and each chunk must not fetch it
 * again.  Whoever sizes reads (the FUSE layer, fs/mfs.h) chooses the
 * budget.
 *
 * Not thread-safe: the owner (memo) calls it under its own lock.
 */
#ifndef MEMOFS_LRU_H
#define MEMOFS_LRU_H

#include <stddef.h>
#include <stdint.h>

#include "engine/key.h"
#include "engine/result.h"

#define MEMO_LRU_ENTRIES 64	/* results kept in memory */

struct memo_lru_slot {
	uint8_t key[KEY_LEN];
	memo_result *res;		/* NULL: free slot */
	uint64_t used;			/* clock value of last use */
	size_t charged;			/* memo_result_mem() when put: a
					 * view made later (the text of a
					 * typed result) is counted when the
					 * result is put again after an
					 * eviction, not before */
};

struct memo_lru {
	struct memo_lru_slot slot[MEMO_LRU_ENTRIES];
	size_t bytes;			/* of the results held */
	size_t budget;			/* their total size (but see above) */
	uint64_t clock;
};

/* An empty cache of budget bytes. */
void memo_lru_init(struct memo_lru *c, size_t budget);

/* Drops every result it holds (their references). */
void memo_lru_clear(struct memo_lru *c);

/* Drops key's result, if held. */
void memo_lru_drop(struct memo_lru *c, const uint8_t key[KEY_LEN]);

/* The result of key, as a new reference, or NULL. */
memo_result *memo_lru_get(struct memo_lru *c, const uint8_t key[KEY_LEN]);

/* Keeps a reference to res under key, evicting the least recently used
 * results as the entries and the budget require.  Nothing when key is
 * held already. */
void memo_lru_put(struct memo_lru *c, const uint8_t key[KEY_LEN],
		  memo_result *res);

#endif
