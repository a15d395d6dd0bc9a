/* test_key.c -- unit test of cache keys.
 *
 * The reference key is computed here a second way: the length-prefixed
 * input is built by hand in one buffer and hashed with the one-shot
 * XXH3_128bits() of the shared libxxhash, while key.c streams the fields
 * through its own inlined copy of xxHash.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <xxhash.h>

#include "check.h"
#include "engine/key.h"

static const uint8_t digest16[16] = {
	0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77,
	0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff,
};

/* Appends an 8-byte little-endian length and the field to buf at *at. */
static void ref_field(uint8_t *buf, size_t *at, const void *p, size_t len)
{
	for (int i = 0; i < 8; i++)
		buf[(*at)++] = (uint8_t)((uint64_t)len >> (8 * i));
	if (len)
		memcpy(buf + *at, p, len);
	*at += len;
}

/* The key as key.h defines it, written the naive way. */
static void ref_key(uint8_t out[KEY_LEN], const char *fn, const char *ver,
		    const char *arg, const uint8_t *digest, size_t dlen)
{
	size_t cap = 32 + strlen(fn) + strlen(ver) + strlen(arg) + dlen;
	uint8_t *buf = malloc(cap);
	size_t at = 0;
	XXH128_canonical_t canon;

	CHECK(buf != NULL);
	if (!buf)
		return;
	ref_field(buf, &at, fn, strlen(fn));
	ref_field(buf, &at, ver, strlen(ver));
	ref_field(buf, &at, arg, strlen(arg));
	ref_field(buf, &at, digest, dlen);
	CHECK_INT(at, cap);
	XXH128_canonicalFromHash(&canon, XXH3_128bits(buf, at));
	memcpy(out, canon.digest, KEY_LEN);
	free(buf);
}

static void test_deterministic(void)
{
	uint8_t a[KEY_LEN], b[KEY_LEN];

	key_make(a, "mean", "1", "col0", digest16, sizeof(digest16));
	key_make(b, "mean", "1", "col0", digest16, sizeof(digest16));
	CHECK(memcmp(a, b, KEY_LEN) == 0);
}

static void test_field_boundaries(void)
{
	uint8_t a[KEY_LEN], b[KEY_LEN];

	key_make(a, "ab", "c", "", digest16, sizeof(digest16));
	key_make(b, "a", "bc", "", digest16, sizeof(digest16));
	CHECK(memcmp(a, b, KEY_LEN) != 0);
	key_make(a, "f", "1", "xy", digest16, sizeof(digest16));
	key_make(b, "f", "1x", "y", digest16, sizeof(digest16));
	CHECK(memcmp(a, b, KEY_LEN) != 0);
	/* The argument's last byte moving into the digest. */
	key_make(a, "f", "1", "x\x11", digest16 + 2, 14);
	key_make(b, "f", "1", "x", digest16 + 1, 15);
	CHECK(memcmp(a, b, KEY_LEN) != 0);
	key_make(a, "f", "1", "", digest16, 0);
	key_make(b, "f", "1", "", NULL, 0);
	CHECK(memcmp(a, b, KEY_LEN) == 0);
}

static void test_every_field_counts(void)
{
	uint8_t base[KEY_LEN], k[KEY_LEN], d[16];

	key_make(base, "mean", "1", "col0", digest16, sizeof(digest16));
	key_make(k, "Mean", "1", "col0", digest16, sizeof(digest16));
	CHECK(memcmp(base, k, KEY_LEN) != 0);
	key_make(k, "mean", "2", "col0", digest16, sizeof(digest16));
	CHECK(memcmp(base, k, KEY_LEN) != 0);
	key_make(k, "mean", "1", "col1", digest16, sizeof(digest16));
	CHECK(memcmp(base, k, KEY_LEN) != 0);
	for (size_t i = 0; i < sizeof(d); i++) {
		memcpy(d, digest16, sizeof(d));
		d[i] ^= 0x01;
		key_make(k, "mean", "1", "col0", d, sizeof(d));
		CHECK(memcmp(base, k, KEY_LEN) != 0);
	}
	key_make(k, "mean", "1", "col0", digest16, sizeof(digest16) - 1);
	CHECK(memcmp(base, k, KEY_LEN) != 0);
}

static void test_reference(void)
{
	static const struct {
		const char *fn, *ver, *arg;
		size_t dlen;
	} cases[] = {
		{ "mean", "1", "col0", 16 },
		{ "", "", "", 0 },
		{ "ab", "c", "", 16 },
		{ "a", "bc", "", 16 },
		{ "hist", "3+abc", "col2,bins=64", 16 },
		/* Over 240 bytes of input: XXH3's long-input path. */
		{ "f", "1",
		  "0123456789012345678901234567890123456789012345678901234567890"
		  "0123456789012345678901234567890123456789012345678901234567890"
		  "0123456789012345678901234567890123456789012345678901234567890"
		  "0123456789012345678901234567890123456789012345678901234567890"
		  "0123456789012345678901234567890123456789012345678901234567890",
		  16 },
	};
	uint8_t got[KEY_LEN], want[KEY_LEN];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		key_make(got, cases[i].fn, cases[i].ver, cases[i].arg,
			 digest16, cases[i].dlen);
		ref_key(want, cases[i].fn, cases[i].ver, cases[i].arg,
			digest16, cases[i].dlen);
		CHECK(memcmp(got, want, KEY_LEN) == 0);
	}
}

/* A long argument (several XXH3 stripes) through the streaming API. */
static void test_long_arg(void)
{
	size_t n = 100000;
	char *arg = malloc(n + 1);
	uint8_t got[KEY_LEN], want[KEY_LEN];

	CHECK(arg != NULL);
	if (!arg)
		return;
	for (size_t i = 0; i < n; i++)
		arg[i] = (char)('a' + i % 26);
	arg[n] = '\0';
	key_make(got, "f", "1", arg, digest16, sizeof(digest16));
	ref_key(want, "f", "1", arg, digest16, sizeof(digest16));
	CHECK(memcmp(got, want, KEY_LEN) == 0);
	free(arg);
}

static void test_hex(void)
{
	uint8_t key[KEY_LEN];
	char hex[2 * KEY_LEN + 1];

	memcpy(key, digest16, KEY_LEN);
	memset(hex, 'X', sizeof(hex));
	key_hex(key, hex);
	CHECK_STR(hex, "00112233445566778899aabbccddeeff");

	key_make(key, "mean", "1", "col0", digest16, sizeof(digest16));
	key_hex(key, hex);
	CHECK_INT(strlen(hex), 2 * KEY_LEN);
	CHECK_INT(strspn(hex, "0123456789abcdef"), 2 * KEY_LEN);
	for (size_t i = 0; i < KEY_LEN; i++) {
		unsigned v = 0;

		CHECK_INT(sscanf(hex + 2 * i, "%2x", &v), 1);
		CHECK_INT(v, key[i]);
	}
}

int main(void)
{
	test_deterministic();
	test_field_boundaries();
	test_every_field_counts();
	test_reference();
	test_long_arg();
	test_hex();
	return check_report("key");
}
