/* key.c -- cache keys: XXH3-128 over length-prefixed fields (see key.h).
 *
 * The hashed input is, for each of fn, version, every argument in order
 * and digest in turn, the field's length as a little-endian u64 followed
 * by its bytes.  The length prefix is what makes ("ab", "c") and ("a",
 * "bc") different inputs, and a sequence of length-prefixed fields reads
 * back one way only, so tuples with different numbers of arguments never
 * share an input either.  A function of one argument hashes exactly what
 * it hashed before functions could take several.  The
 * key is the 128-bit hash in XXH128_canonicalFromHash() (big-endian) order,
 * so its bytes, and hence its hex form, are the same on every host.
 *
 * Changing any of this changes every key, which silently orphans every
 * stored result: bump the function versions' meaning with care.
 *
 * XXH_INLINE_ALL compiles xxHash into this file, which lets the streaming
 * state live on the stack: key_make() never allocates, so it cannot fail,
 * and it does not depend on the XXH3_state_t layout of the shared library.
 */
#include <assert.h>
#include <string.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include "engine/key.h"

_Static_assert(sizeof(XXH128_canonical_t) == KEY_LEN,
	       "a key is one canonical XXH128 hash");

/* Hashes one field: its length (u64, little-endian), then its bytes. */
static void key_update_field(XXH3_state_t *state, const void *p, size_t len)
{
	uint8_t prefix[8];
	uint64_t n = (uint64_t)len;

	for (int i = 0; i < 8; i++)
		prefix[i] = (uint8_t)(n >> (8 * i));
	XXH3_128bits_update(state, prefix, sizeof(prefix));
	if (len)
		XXH3_128bits_update(state, p, len);
}

void key_make(uint8_t out[KEY_LEN], const char *fn, const char *version,
	      const char *arg, const uint8_t *digest, size_t digest_len)
{
	size_t len;

	assert(arg);
	len = strlen(arg);
	key_make_args(out, fn, version, &arg, &len, 1, digest, digest_len);
}

void key_make_args(uint8_t out[KEY_LEN], const char *fn,
		   const char *version, const char *const *args,
		   const size_t *lens, size_t nargs, const uint8_t *digest,
		   size_t digest_len)
{
	XXH3_state_t state;
	XXH128_canonical_t canon;

	assert(fn && version && (args || nargs == 0));
	assert(digest || digest_len == 0);
	XXH3_128bits_reset(&state);
	key_update_field(&state, fn, strlen(fn));
	key_update_field(&state, version, strlen(version));
	for (size_t i = 0; i < nargs; i++)
		key_update_field(&state, args[i], lens[i]);
	key_update_field(&state, digest, digest_len);
	XXH128_canonicalFromHash(&canon, XXH3_128bits_digest(&state));
	memcpy(out, canon.digest, KEY_LEN);
}

void key_hex(const uint8_t key[KEY_LEN], char hex[2 * KEY_LEN + 1])
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < KEY_LEN; i++) {
		hex[2 * i] = digits[key[i] >> 4];
		hex[2 * i + 1] = digits[key[i] & 0xf];
	}
	hex[2 * KEY_LEN] = '\0';
}
