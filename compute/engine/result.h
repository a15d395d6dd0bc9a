/* result.h -- a computed result: immutable bytes, reference-counted, with
 * its parsed-doubles cache.
 *
 * A result wraps either malloc'd bytes (a fresh computation) or a store
 * record (a result read back from RocksDB); either way its bytes never
 * change once made, so any thread holding a reference may read them
 * without a lock.  The last memo_result_unref() frees it.  The bytes
 * parsed as numbers (one per line, for nested calls that want doubles)
 * are parsed once, by the first thread that asks, under the result's own
 * lock.
 */
#ifndef MEMOFS_RESULT_H
#define MEMOFS_RESULT_H

#include <stddef.h>
#include <stdint.h>

#include "engine/store.h"

typedef struct memo_result memo_result;

const void *memo_result_data(const memo_result *res);
size_t memo_result_len(const memo_result *res);
/* When it was made: the store record's creation time (CLOCK_REALTIME ns),
 * or, for a fresh computation, when memo_result_from_buf() wrapped it. */
uint64_t memo_result_created_ns(const memo_result *res);
memo_result *memo_result_ref(memo_result *res);
void memo_result_unref(memo_result *res);	/* NULL is a no-op */

/* A result of the malloc'd bytes buf (NULL when len is 0), ownership
 * taken even on failure.  NULL when out of memory. */
memo_result *memo_result_from_buf(char *buf, size_t len);

/* A result of the store record *rec, ownership taken even on failure.
 * NULL when out of memory. */
memo_result *memo_result_from_rec(store_rec *rec);

/* The bytes as numbers, one per line (each line all of one strtod()):
 * parsed once, then a malloc'd copy to *vals (caller frees) and their
 * count to *n.  0, -EIO (a line that is not one number, or bytes that
 * do not end in a newline) or -ENOMEM. */
int memo_result_doubles(memo_result *res, double **vals, size_t *n);

#endif
