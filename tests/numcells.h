/* numcells.h -- number cells of a one-column CSV checked against strtod(),
 * for the C unit tests of the loaders (test_ds, test_ds_table): the test
 * makes the cells (fixed-width strings), numcells_csv() writes the file's
 * text, and numcells_check() compares the loaded column with strtod() of
 * each cell, bit for bit.  Header-only (static functions), for tests that
 * include check.h. */
#ifndef MEMOFS_TEST_NUMCELLS_H
#define MEMOFS_TEST_NUMCELLS_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "data/ds.h"

/* Bit for bit: -0.0 differs from 0.0, a NaN equals the same NaN. */
static inline int same_double(double a, double b)
{
	return memcmp(&a, &b, sizeof(a)) == 0;
}

/* The cell i of cells, an array of n strings of width bytes each. */
static inline const char *numcells_at(const char *cells, size_t width,
				      size_t i)
{
	return cells + i * width;
}

/* Writes the header "v" and then cells[0..n) one a line into text, which
 * has room for 2 + n * width bytes (each cell is shorter than width).
 * Returns the text's length (no NUL counted). */
static inline size_t numcells_csv(char *text, const char *cells,
				  size_t width, size_t n)
{
	size_t len = (size_t)sprintf(text, "v\n");

	for (size_t i = 0; i < n; i++)
		len += (size_t)sprintf(text + len, "%s\n",
				       numcells_at(cells, width, i));
	return len;
}

/* Checks column 0 of d, n rows, against strtod() of each cell: one failed
 * CHECK per value that differs, with the cell and both values on stderr. */
static inline void numcells_check(const ds *d, const char *cells,
				  size_t width, size_t n)
{
	CHECK_INT(ds_nrows(d), n);
	if (ds_nrows(d) != n)
		return;
	for (size_t i = 0; i < n; i++) {
		const char *cell = numcells_at(cells, width, i);
		double want = strtod(cell, NULL);

		if (!same_double(ds_column(d, 0)[i], want)) {
			CHECK(same_double(ds_column(d, 0)[i], want));
			fprintf(stderr, "  '%s': %.17g, strtod %.17g\n", cell,
				ds_column(d, 0)[i], want);
		}
	}
}

#endif
