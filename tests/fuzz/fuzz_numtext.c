/* fuzz_numtext.c -- libFuzzer target: numtext_f64() and numtext_i64()
 * (data/numtext.c), the parser of a typed command's standard output, on
 * arbitrary bytes.
 *
 * Either parse succeeds with one value per newline (and the text ends in
 * one, or is empty), or it fails with -EINVAL naming a line from 1 to the
 * number of lines (counting a last one without its newline); nothing
 * crashes or leaks.  A text int64 accepts, float64 accepts too, with
 * every value equal.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "data/numtext.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data;
	size_t newlines = 0, nf = 0, ni = 0, lf = 0, li = 0;
	double *f = NULL;
	int64_t *q = NULL;
	int rf, ri;

	for (size_t i = 0; i < size; i++)
		newlines += p[i] == '\n';
	rf = numtext_f64(p, size, &f, &nf, &lf);
	ri = numtext_i64(p, size, &q, &ni, &li);
	FZ_CHECK(rf == 0 || rf == -EINVAL);
	FZ_CHECK(ri == 0 || ri == -EINVAL);
	if (rf == 0)
		FZ_CHECK(nf == newlines && (size == 0 || p[size - 1] == '\n'));
	else
		FZ_CHECK(lf >= 1 && lf <= newlines + 1);
	if (ri == 0) {
		FZ_CHECK(ni == newlines);
		/* Every int64 line is a float64 line too ("%lld" digits). */
		FZ_CHECK(rf == 0);
		for (size_t i = 0; i < ni; i++)
			FZ_CHECK(f[i] == (double)q[i]);
	} else {
		FZ_CHECK(li >= 1 && li <= newlines + 1);
	}
	free(f);
	free(q);
	return 0;
}
