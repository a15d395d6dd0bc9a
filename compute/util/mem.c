/* mem.c -- growing arrays, big buffers (see mem.h). */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "util/mem.h"

#define UTIL_HUGE_MIN (4u << 20)	/* buffers this large ask for huge pages */
#define UTIL_HUGE_PAGE (2u << 20)

int util_grow(void *pv, size_t *cap, size_t need, size_t size, size_t first)
{
	size_t n = *cap ? *cap : (first ? first : 1);
	void *p, *np;

	if (need <= *cap)
		return 0;
	while (n < need) {
		if (n > SIZE_MAX / 2)
			return -ENOMEM;
		n *= 2;
	}
	if (size && n > SIZE_MAX / size)
		return -ENOMEM;
	memcpy(&p, pv, sizeof(p));
	np = realloc(p, n * size);
	if (!np)
		return -ENOMEM;
	memcpy(pv, &np, sizeof(np));
	*cap = n;
	return 0;
}

int util_append(void *pv, size_t *n, const void *elem, size_t size)
{
	size_t room = *n;	/* a list kept exactly full: no spare room */
	char *p;

	if (util_grow(pv, &room, *n + 1, size, 1) != 0)
		return -ENOMEM;
	memcpy(&p, pv, sizeof(p));
	memcpy(p + *n * size, elem, size);
	(*n)++;
	return 0;
}

void util_strv_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

void *util_big_alloc(size_t n)
{
	void *p = NULL;

	if (n < UTIL_HUGE_MIN)
		return malloc(n);
	if (posix_memalign(&p, UTIL_HUGE_PAGE, n) != 0)
		return NULL;
	madvise(p, n & ~(size_t)(UTIL_HUGE_PAGE - 1), MADV_HUGEPAGE);
	return p;
}
