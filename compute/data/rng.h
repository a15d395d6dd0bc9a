/* rng.h -- NumPy's legacy RandomState generator, bit for bit.
 *
 * MT19937 seeded like numpy.random.RandomState(seed) with an integer seed
 * (init_genrand), random_sample() doubles (53 bits from two 32-bit draws)
 * and the legacy polar-method Gaussian used by RandomState.randn(), which
 * caches the second value of each pair.  One rng is used by one thread.
 */
#ifndef MEMOFS_RNG_H
#define MEMOFS_RNG_H

#include <stdint.h>

typedef struct rng rng;

/* Returns a generator seeded with seed, or NULL when out of memory.
 * Caller frees with rng_free(). */
rng *rng_new(uint32_t seed);
void rng_free(rng *r);		/* rng_free(NULL) is a no-op */

uint32_t rng_next32(rng *r);	/* next raw MT19937 output */
double rng_double(rng *r);	/* RandomState.random_sample(): [0, 1) */
double rng_gauss(rng *r);	/* RandomState.randn() / standard_normal() */

#endif
