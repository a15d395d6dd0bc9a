/* mem.h -- memory chores: growing an array, allocating a big buffer.
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

/* malloc() for buffers that can be gigabytes (a whole file, a table of
 * values): those of 4 MiB and more are aligned to and backed by
 * transparent huge pages where the kernel allows it (madvise mode), which
 * makes first touching them ~10x cheaper.  Freed with free(). */
void *util_big_alloc(size_t n);

#endif
