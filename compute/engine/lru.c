/* lru.c -- the in-memory cache of results (see lru.h). */
#include <string.h>

#include "engine/lru.h"

void memo_lru_init(struct memo_lru *c, size_t budget)
{
	memset(c, 0, sizeof(*c));
	c->budget = budget;
}

void memo_lru_clear(struct memo_lru *c)
{
	for (size_t i = 0; i < MEMO_LRU_ENTRIES; i++) {
		memo_result_unref(c->slot[i].res);
		c->slot[i].res = NULL;
	}
	c->bytes = 0;
}

memo_result *memo_lru_get(struct memo_lru *c, const uint8_t key[KEY_LEN])
{
	for (size_t i = 0; i < MEMO_LRU_ENTRIES; i++) {
		struct memo_lru_slot *s = &c->slot[i];

		if (s->res && memcmp(s->key, key, KEY_LEN) == 0) {
			s->used = ++c->clock;
			return memo_result_ref(s->res);
		}
	}
	return NULL;
}

static void memo_lru_evict(struct memo_lru *c, struct memo_lru_slot *s)
{
	c->bytes -= s->charged;
	memo_result_unref(s->res);
	s->res = NULL;
}

void memo_lru_drop(struct memo_lru *c, const uint8_t key[KEY_LEN])
{
	for (size_t i = 0; i < MEMO_LRU_ENTRIES; i++) {
		struct memo_lru_slot *s = &c->slot[i];

		if (s->res && memcmp(s->key, key, KEY_LEN) == 0)
			memo_lru_evict(c, s);
	}
}

/* The free slot, or the least recently used one after evicting it. */
static struct memo_lru_slot *memo_lru_slot_for(struct memo_lru *c)
{
	struct memo_lru_slot *lru = &c->slot[0];

	for (size_t i = 0; i < MEMO_LRU_ENTRIES; i++) {
		if (!c->slot[i].res)
			return &c->slot[i];
		if (c->slot[i].used < lru->used)
			lru = &c->slot[i];
	}
	memo_lru_evict(c, lru);
	return lru;
}

void memo_lru_put(struct memo_lru *c, const uint8_t key[KEY_LEN],
		  memo_result *res)
{
	size_t len = memo_result_mem(res);
	struct memo_lru_slot *s;

	for (size_t i = 0; i < MEMO_LRU_ENTRIES; i++)
		if (c->slot[i].res &&
		    memcmp(c->slot[i].key, key, KEY_LEN) == 0)
			return;
	/* A result larger than the budget evicts everything else and stays
	 * alone: reading it in chunks must not fetch it from RocksDB again
	 * for every chunk. */
	while (c->bytes > 0 && c->bytes + len > c->budget) {
		struct memo_lru_slot *lru = NULL;

		for (size_t i = 0; i < MEMO_LRU_ENTRIES; i++)
			if (c->slot[i].res &&
			    (!lru || c->slot[i].used < lru->used))
				lru = &c->slot[i];
		memo_lru_evict(c, lru);
	}
	s = memo_lru_slot_for(c);
	memcpy(s->key, key, KEY_LEN);
	s->res = memo_result_ref(res);
	s->used = ++c->clock;
	s->charged = len;
	c->bytes += len;
}
