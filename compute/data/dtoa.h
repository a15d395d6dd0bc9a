/* dtoa.h -- the C face of the shortest-digits algorithm of libfmt
 * (dtoa.cc): Junekey Jeon's Dragonbox, as Debian's libfmt-dev ships it.
 *
 * Only digit generation: fmt.c owns the layout (Python's repr rules).  Pure, safe from any thread, nothing allocated.
 */
#ifndef MEMOFS_DTOA_H
#define MEMOFS_DTOA_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The shortest decimal sig * 10^*exp10 that reads back as the finite,
 * positive, nonzero v, and of those the nearest to v (ties: the even sig):
 * returns sig (1 <= sig < 10^17, no trailing zero) and sets *exp10. */
uint64_t dtoa_shortest(double v, int *exp10);

#ifdef __cplusplus
}
#endif

#endif
