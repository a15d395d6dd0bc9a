/* mem.h -- memory chores: growing an array, freeing a string vector,
 * allocating a big buffer.
 *
 * Safe from any thread (no state of its own).
 */
#ifndef MEMOFS_UTIL_MEM_H
#define MEMOFS_UTIL_MEM_H

#include <stddef.h>

/* Makes room for at least need elements of size bytes in the array whose
 * address is at pv (a T ** for an array of T, NULL while empty) and whose
 * room is *cap elements: when need > *cap, the room doubles (from first
 * when it is 0) until it suffices and the array is realloc()ed.  0, or
 * -ENOMEM (also when the bytes would overflow) with both unchanged. */
int util_grow(void *pv, size_t *cap, size_t need, size_t size, size_t first);

/* Appends one element of size bytes, copied from elem, to the array at pv
 * (a T ** for an array of T, NULL while empty) of *n elements, realloc()ing
 * it on every call (util_grow() from a room of *n): for short lists filled
 * once (start-up configuration), where a capacity field is not worth
 * keeping.  0 and *n incremented, or -ENOMEM with both unchanged. */
int util_append(void *pv, size_t *n, const void *elem, size_t size);

/* Frees the n strings of v, then v.  util_strv_free(NULL, 0) is a no-op. */
void util_strv_free(char **v, size_t n);

/* malloc() for buffers that can be gigabytes (a whole file, a table of
 * values): those of 4 MiB and more are aligned to and backed by
 * transparent huge pages where the kernel allows it (madvise mode), which
 * makes first touching them ~10x cheaper.  Freed with free(). */
void *util_big_alloc(size_t n);

#endif
