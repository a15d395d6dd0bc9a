/* numtext.h -- numbers one per line, parsed: the text form of a typed
 * result read back (a command's standard output declared as numbers, a
 * bytes result asked for as doubles).
 *
 * The text is lines, each ending in '\n' (a last line without one is an
 * error: a program cut short), each line exactly one number: for float64
 * all of one strtod() ("1.5", "-0.0", "1e-05", "nan", "inf", hex floats;
 * out of range becomes inf or 0, as strtod() gives), for int64 all of one
 * base-10 strtoll() within range; both skip leading blanks, as strtod()
 * does, and nothing may follow the number (no trailing blank, no CR).  No
 * empty lines; at most 127 bytes a line.  An empty text is 0 numbers.
 * Pure functions, safe from any thread.
 */
#ifndef MEMOFS_NUMTEXT_H
#define MEMOFS_NUMTEXT_H

#include <stddef.h>
#include <stdint.h>

/* Parses len bytes of p.  Returns 0 with *vals (malloc'd, never NULL;
 * caller frees) and *n; -EINVAL with *line the 1-based number of the
 * first line that is not one number (or that lacks its '\n'); -ENOMEM.
 * p need not be NUL-terminated. */
int numtext_f64(const char *p, size_t len, double **vals, size_t *n,
		size_t *line);
int numtext_i64(const char *p, size_t len, int64_t **vals, size_t *n,
		size_t *line);

#endif
