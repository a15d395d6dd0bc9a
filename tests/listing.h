/* listing.h -- for the tests: level 0 of a function's arguments read as
 * a count and names by index, through resolve.h's listing. */
#ifndef MEMOFS_TEST_LISTING_H
#define MEMOFS_TEST_LISTING_H

#include "functions/resolve.h"

/* The number of names listed at level 0 of f (0 on an error). */
static inline size_t arg_count(const reg *r, const reg_fn *f)
{
	struct resolve_listing l;
	size_t n;

	if (resolve_listing_get(r, f, 0, 0, &l))
		return 0;
	n = resolve_listing_count(&l);
	resolve_listing_release(&l);
	return n;
}

/* The i-th name listed at level 0 of f into buf: resolve_listing_name(). */
static inline int arg_name(const reg *r, const reg_fn *f, size_t i,
			   char *buf, size_t buflen)
{
	struct resolve_listing l;
	int rc = resolve_listing_get(r, f, 0, 0, &l);

	if (rc == 0)
		rc = resolve_listing_name(&l, i, buf, buflen);
	resolve_listing_release(&l);
	return rc;
}

#endif
