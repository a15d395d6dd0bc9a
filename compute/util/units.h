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

/* A command's progress line on stderr, without its newline:
 * "memofs-progress: P%" with P digits, optionally a point and more
 * digits, from 0 to 100 ("memofs-progress: 42%", "memofs-progress:
 * 99.5%"); one blank after the colon, nothing else on the line.
 * 0 and *fraction (P / 100), or -EINVAL for any other line. */
#define UNITS_PROGRESS_PREFIX "memofs-progress: "
int units_parse_progress(const char *line, double *fraction);

#endif
