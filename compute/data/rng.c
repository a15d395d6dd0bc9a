/* rng.c -- NumPy's legacy RandomState generator (see rng.h).
 *
 * MT19937 as in Matsumoto & Nishimura's mt19937ar.c (init_genrand seeding,
 * 624 words regenerated at once, the standard tempering), which is what
 * numpy/random/src/mt19937 and legacy/legacy-distributions.c compute for
 * RandomState(seed) with an integer seed.  Bit-for-bit agreement with NumPy
 * also needs the same libm log() (NumPy calls the platform's) and no fused
 * multiply-add where NumPy rounds twice: see rng_sum_squares().
 *
 * An rng is 2.5 KB of state and belongs to one thread at a time.
 */
#include <math.h>
#include <stdlib.h>

#include "data/rng.h"

#define RNG_N 624			/* words of state */
#define RNG_M 397			/* the twist's middle offset */
#define RNG_MATRIX_A 0x9908b0dfU	/* the twist's constant vector */
#define RNG_UPPER 0x80000000U		/* most significant bit */
#define RNG_LOWER 0x7fffffffU		/* the other 31 */

struct rng {
	uint32_t mt[RNG_N];	/* the MT19937 state */
	int pos;		/* next word to temper; RNG_N: regenerate */
	int has_gauss;		/* gauss holds a pair's second value */
	double gauss;		/* cached by rng_gauss() */
};

rng *rng_new(uint32_t seed)
{
	rng *r = malloc(sizeof(*r));

	if (!r)
		return NULL;
	r->mt[0] = seed;
	for (uint32_t i = 1; i < RNG_N; i++) {
		uint32_t prev = r->mt[i - 1];

		r->mt[i] = 1812433253U * (prev ^ (prev >> 30)) + i;
	}
	r->pos = RNG_N;
	r->has_gauss = 0;
	r->gauss = 0.0;
	return r;
}

void rng_free(rng *r)
{
	free(r);
}

/* The twist of word i from its successor and the word RNG_M ahead. */
static uint32_t rng_twist(uint32_t cur, uint32_t next, uint32_t ahead)
{
	uint32_t y = (cur & RNG_UPPER) | (next & RNG_LOWER);

	return ahead ^ (y >> 1) ^ (y & 1 ? RNG_MATRIX_A : 0);
}

/* Regenerates all RNG_N words of state. */
static void rng_generate(rng *r)
{
	uint32_t *mt = r->mt;

	for (int i = 0; i < RNG_N; i++)
		mt[i] = rng_twist(mt[i], mt[(i + 1) % RNG_N],
				  mt[(i + RNG_M) % RNG_N]);
	r->pos = 0;
}

uint32_t rng_next32(rng *r)
{
	uint32_t y;

	if (r->pos == RNG_N)
		rng_generate(r);
	y = r->mt[r->pos++];
	y ^= y >> 11;
	y ^= (y << 7) & 0x9d2c5680U;
	y ^= (y << 15) & 0xefc60000U;
	y ^= y >> 18;
	return y;
}

double rng_double(rng *r)
{
	uint32_t a = rng_next32(r) >> 5;	/* 27 high bits */
	uint32_t b = rng_next32(r) >> 6;	/* 26 low bits */

	return (a * 67108864.0 + b) / 9007199254740992.0;
}

/* x * x + y * y with both products rounded, as NumPy computes it.  Left to
 * itself, gcc (-ffp-contract=fast is its default outside ISO C modes) may
 * fuse this into fma(x, x, y * y) on targets that have one, which changes
 * the last bit of some results; storing the products through volatile
 * objects forces the rounding. */
static double rng_sum_squares(double x, double y)
{
	volatile double xx = x * x;
	volatile double yy = y * y;

	return xx + yy;
}

double rng_gauss(rng *r)
{
	double f, x1, x2, r2;

	if (r->has_gauss) {
		r->has_gauss = 0;
		return r->gauss;
	}
	/* Marsaglia's polar method: a point uniform in the unit disc. */
	do {
		x1 = 2.0 * rng_double(r) - 1.0;
		x2 = 2.0 * rng_double(r) - 1.0;
		r2 = rng_sum_squares(x1, x2);
	} while (r2 >= 1.0 || r2 == 0.0);
	f = sqrt(-2.0 * log(r2) / r2);
	r->gauss = f * x1;
	r->has_gauss = 1;
	return f * x2;
}
