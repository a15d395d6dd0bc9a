/* units.h -- sizes and durations as people write them in options.
 *
 *   size:     digits, then an optional K, M, G or T (powers of 1024,
 *             either case, optionally followed by "iB" or "B"):
 *             "4096", "64K", "5G", "1TiB"
 *   duration: digits, then an optional s, m, h, d or w (seconds,
 *             minutes, hours, days, weeks): "30", "90m", "7d"
 * Nothing else: no sign, blank, fraction or hexadecimal; a value that
 * overflows 64 bits is refused.  Pure functions, any thread.
 */
#ifndef MEMOFS_UNITS_H
#define MEMOFS_UNITS_H

#include <stdint.h>

/* 0 and *bytes, or -EINVAL (bad text, even if also too large) /
 * -ERANGE (well formed, but over 64 bits). */
int units_parse_size(const char *s, uint64_t *bytes);

/* 0 and *ns (nanoseconds), or -EINVAL / -ERANGE. */
int units_parse_duration(const char *s, uint64_t *ns);

#endif
