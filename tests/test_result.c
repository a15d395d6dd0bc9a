/* test_result.c -- unit test of results (engine/result.c): the .npy
 * bytes of typed results against numpy.save()'s (literal bytes that
 * numpy 1.24 wrote), their text view, the record check of results read
 * from the store, and the values as doubles; the text of long columns,
 * rendered in parallel parts, against fmt_double() a value at a time. */
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "data/fmt.h"
#include "engine/key.h"
#include "engine/result.h"
#include "engine/store.h"

/* np.save(f, np.zeros(5)): its first 128 bytes. */
static const char npy_f64_5[] =
	"\x93NUMPY\x01\x00v\x00{'descr': '<f8', 'fortran_order': False, "
	"'shape': (5,), }                                                  "
	"          \n";
/* np.save(f, np.float64(1.5)) */
static const char npy_f64_0d[] =
	"\x93NUMPY\x01\x00v\x00{'descr': '<f8', 'fortran_order': False, "
	"'shape': (), }                                                    "
	"          \n";
/* np.save(f, np.zeros(3, dtype=np.int64)) */
static const char npy_i64_3[] =
	"\x93NUMPY\x01\x00v\x00{'descr': '<i8', 'fortran_order': False, "
	"'shape': (3,), }                                                  "
	"          \n";

static void test_npy_header(void)
{
	uint8_t hdr[MEMO_NPY_HDR];

	CHECK_INT(sizeof(npy_f64_5) - 1, MEMO_NPY_HDR);
	memo_npy_header(hdr, MEMOFS_FLOAT64, 1, 5);
	CHECK(memcmp(hdr, npy_f64_5, MEMO_NPY_HDR) == 0);
	memo_npy_header(hdr, MEMOFS_FLOAT64, 0, 1);
	CHECK(memcmp(hdr, npy_f64_0d, MEMO_NPY_HDR) == 0);
	memo_npy_header(hdr, MEMOFS_INT64, 1, 3);
	CHECK(memcmp(hdr, npy_i64_3, MEMO_NPY_HDR) == 0);
	/* The longest shape still fits, newline last. */
	memo_npy_header(hdr, MEMOFS_INT64, 1, SIZE_MAX);
	CHECK(hdr[MEMO_NPY_HDR - 1] == '\n');
	CHECK(memchr(hdr, '}', MEMO_NPY_HDR) != NULL);
	CHECK_INT(memo_npy_size(0), MEMO_NPY_HDR);
	CHECK_INT(memo_npy_size(10000), MEMO_NPY_HDR + 80000);
}

/* A malloc'd typed buffer of n values v (header room first). */
static char *typed_buf(const void *v, size_t n, size_t *len)
{
	char *buf = malloc(MEMO_NPY_HDR + 8 * n);

	if (buf && n)
		memcpy(buf + MEMO_NPY_HDR, v, 8 * n);
	*len = MEMO_NPY_HDR + 8 * n;
	return buf;
}

static void check_view(memo_result *r, enum memo_view view, const void *want,
		       size_t wantlen)
{
	const void *data = NULL;
	size_t len = 0;

	CHECK_INT(memo_result_view(r, view, &data, &len), 0);
	CHECK_INT(len, wantlen);
	CHECK(data && memcmp(data, want, wantlen) == 0);
}

static void test_typed_f64(void)
{
	const double v[] = { 1.5, -0.0, 0.1, 1e16, NAN, -INFINITY, 5e-324 };
	const char text[] = "1.5\n-0.0\n0.1\n1e+16\nnan\n-inf\n5e-324\n";
	size_t len, n = sizeof(v) / sizeof(v[0]);
	char *buf = typed_buf(v, n, &len);
	memo_result *r = NULL;
	const double *d;
	size_t k, mem;

	CHECK_INT(memo_result_typed(buf, len, MEMOFS_FLOAT64, 1, &r), 0);
	if (!r)
		return;
	CHECK_INT(memo_result_dtype(r), MEMOFS_FLOAT64);
	CHECK_INT(memo_result_ndim(r), 1);
	CHECK_INT(memo_result_count(r), n);
	CHECK_INT(memo_result_tag(r), 0x101);
	CHECK(memo_result_i64(r) == NULL);
	/* In place: the values are the buffer's. */
	CHECK((const char *)memo_result_f64(r) == buf + MEMO_NPY_HDR);
	CHECK(memo_result_data(r) == buf && memo_result_len(r) == len);
	check_view(r, MEMO_VIEW_NPY, buf, len);
	mem = memo_result_mem(r);
	check_view(r, MEMO_VIEW_TEXT, text, strlen(text));
	check_view(r, MEMO_VIEW_TEXT, text, strlen(text));	/* made once */
	CHECK_INT(memo_result_mem(r), mem + strlen(text));
	CHECK_INT(memo_result_f64_view(r, &d, &k), 0);
	CHECK(d == memo_result_f64(r) && k == n);
	memo_result_unref(r);
}

static void test_typed_i64(void)
{
	const int64_t v[] = { 0, -1, INT64_MAX, INT64_MIN, 10000 };
	const char text[] = "0\n-1\n9223372036854775807\n"
			    "-9223372036854775808\n10000\n";
	size_t len, n = sizeof(v) / sizeof(v[0]);
	char *buf = typed_buf(v, n, &len);
	memo_result *r = NULL;
	const double *d = NULL;
	double *copy = NULL;
	size_t k = 0;

	CHECK_INT(memo_result_typed(buf, len, MEMOFS_INT64, 1, &r), 0);
	if (!r)
		return;
	CHECK_INT(memo_result_tag(r), 0x102);
	CHECK(memo_result_f64(r) == NULL && memo_result_i64(r)[4] == 10000);
	check_view(r, MEMO_VIEW_TEXT, text, strlen(text));
	CHECK_INT(memo_result_f64_view(r, &d, &k), 0);
	CHECK_INT(k, n);
	CHECK(d && d[1] == -1.0 && d[4] == 10000.0);
	CHECK_INT(memo_result_doubles(r, &copy, &k), 0);
	CHECK(copy && copy != d && k == n && copy[3] == (double)INT64_MIN);
	free(copy);
	memo_result_unref(r);
}

/* A borrowed result (a dataset view): its values are the caller's, in
 * place; it has no stored bytes; its .npy is a copy made once, equal to
 * what a typed result of the same values gives. */
static void test_borrowed(void)
{
	static const double v[] = { 1.5, -0.0, 0.1, NAN, 5e-324 };
	static const int64_t q[] = { 7, -1, INT64_MIN };
	static const double qd[] = { 7.0, -1.0, (double)INT64_MIN };
	const char text[] = "1.5\n-0.0\n0.1\nnan\n5e-324\n";
	size_t len, k, mem, n = sizeof(v) / sizeof(v[0]);
	char *buf = typed_buf(v, n, &len);
	memo_result *r = NULL;
	const double *d;

	CHECK_INT(memo_result_borrowed(v, NULL, n, MEMOFS_FLOAT64, 1, &r), 0);
	if (!r) {
		free(buf);
		return;
	}
	CHECK(memo_result_is_borrowed(r));
	CHECK(memo_result_f64(r) == v);
	CHECK_INT(memo_result_len(r), 0);
	CHECK_INT(memo_result_count(r), n);
	CHECK_INT(memo_result_tag(r), 0x101);
	CHECK_INT(memo_result_mem(r), 0);
	CHECK(!memo_result_view_cheap(r, MEMO_VIEW_NPY) || n <= 16384);
	memo_npy_header((uint8_t *)buf, MEMOFS_FLOAT64, 1, n);
	check_view(r, MEMO_VIEW_NPY, buf, len);
	mem = memo_result_mem(r);
	CHECK_INT(mem, len);			/* the copy, counted */
	check_view(r, MEMO_VIEW_NPY, buf, len);	/* made once */
	CHECK_INT(memo_result_mem(r), mem);
	check_view(r, MEMO_VIEW_TEXT, text, strlen(text));
	CHECK_INT(memo_result_f64_view(r, &d, &k), 0);
	CHECK(d == v && k == n);
	memo_result_unref(r);
	free(buf);

	/* int64 with its doubles alias: no conversion. */
	r = NULL;
	CHECK_INT(memo_result_borrowed(q, qd, 3, MEMOFS_INT64, 1, &r), 0);
	if (r) {
		CHECK(memo_result_i64(r) == q && memo_result_f64(r) == NULL);
		CHECK_INT(memo_result_f64_view(r, &d, &k), 0);
		CHECK(d == qd && k == 3);
		check_view(r, MEMO_VIEW_TEXT, "7\n-1\n-9223372036854775808\n",
			   strlen("7\n-1\n-9223372036854775808\n"));
		memo_result_unref(r);
	}
	/* Misuse: each refused, nothing made. */
	r = NULL;
	CHECK_INT(memo_result_borrowed(NULL, NULL, 1, MEMOFS_FLOAT64, 1, &r),
		  -EINVAL);
	CHECK_INT(memo_result_borrowed(v, NULL, 2, MEMOFS_FLOAT64, 0, &r),
		  -EINVAL);
	CHECK_INT(memo_result_borrowed(v, NULL, 1, MEMOFS_BYTES, 1, &r),
		  -EINVAL);
	CHECK_INT(memo_result_borrowed((const char *)v + 1, NULL, 1,
				       MEMOFS_FLOAT64, 1, &r), -EINVAL);
	CHECK(r == NULL);
}

/* memo_result_typed() of n values of v, cut bytes short. */
static int typed_try(const double *v, size_t n, size_t cut,
		     enum memofs_dtype dtype, unsigned ndim, memo_result **r)
{
	size_t len;
	char *buf = typed_buf(v, n, &len);

	return memo_result_typed(buf, len - cut, dtype, ndim, r);
}

static void test_typed_bad(void)
{
	const double two[] = { 1, 2 };
	memo_result *r = NULL;

	/* A 0-d result holds exactly one value. */
	CHECK_INT(typed_try(two, 2, 0, MEMOFS_FLOAT64, 0, &r), -EINVAL);
	CHECK_INT(typed_try(two, 0, 0, MEMOFS_FLOAT64, 0, &r), -EINVAL);
	/* Not a whole number of values, or no room for the header. */
	CHECK_INT(typed_try(two, 2, 1, MEMOFS_FLOAT64, 1, &r), -EINVAL);
	CHECK_INT(typed_try(two, 0, 1, MEMOFS_FLOAT64, 1, &r), -EINVAL);
	/* Not a typed dtype, or ndim. */
	CHECK_INT(typed_try(two, 1, 0, MEMOFS_BYTES, 1, &r), -EINVAL);
	CHECK_INT(typed_try(two, 1, 0, (enum memofs_dtype)3, 1, &r), -EINVAL);
	CHECK_INT(typed_try(two, 1, 0, MEMOFS_FLOAT64, 2, &r), -EINVAL);
	CHECK_INT(memo_result_typed(NULL, 0, MEMOFS_FLOAT64, 1, &r), -EINVAL);
	CHECK(r == NULL);
	/* An empty vector is fine. */
	CHECK_INT(typed_try(two, 0, 0, MEMOFS_FLOAT64, 1, &r), 0);
	if (r) {
		check_view(r, MEMO_VIEW_TEXT, "", 0);
		CHECK_INT(memo_result_count(r), 0);
	}
	memo_result_unref(r);
}

/* A long text view is cheap only once made; a short one, a .npy and
 * bytes always are. */
static void test_view_cheap(void)
{
	size_t n = MEMO_TEXT_CHEAP + 1, len;
	double *v = calloc(n, sizeof(*v));
	char *buf = v ? typed_buf(v, n, &len) : NULL;
	memo_result *r = NULL;
	const void *data;

	free(v);
	CHECK(buf != NULL);
	if (!buf || memo_result_typed(buf, len, MEMOFS_FLOAT64, 1, &r))
		return;
	CHECK(memo_result_view_cheap(r, MEMO_VIEW_NPY));
	CHECK(!memo_result_view_cheap(r, MEMO_VIEW_TEXT));
	CHECK_INT(memo_result_view(r, MEMO_VIEW_TEXT, &data, &len), 0);
	CHECK_INT(len, 4 * n);		/* "0.0\n" each */
	CHECK(memo_result_view_cheap(r, MEMO_VIEW_TEXT));
	memo_result_unref(r);
	buf = typed_buf(&(double){ 1 }, 1, &len);
	CHECK_INT(memo_result_typed(buf, len, MEMOFS_FLOAT64, 0, &r), 0);
	if (r)
		CHECK(memo_result_view_cheap(r, MEMO_VIEW_TEXT));
	memo_result_unref(r);
}

static void test_bytes(void)
{
	const char text[] = "1.5\n2\n-inf\n";
	memo_result *r = memo_result_from_buf(strdup(text), strlen(text));
	const void *data;
	const double *d;
	size_t len, n;

	CHECK(r != NULL);
	if (!r)
		return;
	CHECK_INT(memo_result_dtype(r), MEMOFS_BYTES);
	CHECK_INT(memo_result_tag(r), 0);
	CHECK_INT(memo_result_count(r), 0);
	CHECK(memo_result_f64(r) == NULL);
	CHECK_INT(memo_result_view(r, MEMO_VIEW_NPY, &data, &len), -ENOENT);
	check_view(r, MEMO_VIEW_TEXT, text, strlen(text));
	CHECK_INT(memo_result_f64_view(r, &d, &n), 0);
	CHECK(n == 3 && d[0] == 1.5 && d[1] == 2.0 && isinf(d[2]));
	memo_result_unref(r);
	r = memo_result_from_buf(strdup("1\nx\n"), 4);
	CHECK(r != NULL);
	if (r)
		CHECK_INT(memo_result_f64_view(r, &d, &n), -EIO);
	memo_result_unref(r);
}

/* ---- results read from the store ---------------------------------------- */

static int rm_entry(const char *p, const struct stat *sb, int flag,
		    struct FTW *ftw)
{
	return remove(p);
}

/* Stores data with tag and reads it back as a result: its rc. */
static int from_store(store *st, const void *data, size_t len, uint32_t tag,
		      memo_result **out)
{
	uint8_t key[KEY_LEN] = { 7 };
	store_rec rec;
	int rc = store_put(st, key, data, len, 1, tag);

	if (rc == 0)
		rc = store_get(st, key, &rec);
	if (rc == 0)
		rc = memo_result_from_rec(&rec, out);
	return rc;
}

static void test_from_rec(void)
{
	char dir[PATH_MAX];
	const char *base = getenv("TMPDIR");
	const double v[] = { 0.25, -3.0, 1e300 };
	uint8_t buf[MEMO_NPY_HDR + sizeof(v)];
	store *st = NULL;
	memo_result *r = NULL;
	const double *d;
	size_t n;

	snprintf(dir, sizeof(dir), "%s/test_result.XXXXXX", base ? base : "/tmp");
	CHECK(mkdtemp(dir) != NULL);
	CHECK_INT(store_open(dir, &st), 0);
	if (!st)
		return;
	memo_npy_header(buf, MEMOFS_FLOAT64, 1, 3);
	memcpy(buf + MEMO_NPY_HDR, v, sizeof(v));
	CHECK_INT(from_store(st, buf, sizeof(buf), 0x101, &r), 0);
	if (r) {
		CHECK_INT(memo_result_count(r), 3);
		/* Read in place from the record, aligned. */
		CHECK((const char *)memo_result_f64(r) ==
		      (const char *)memo_result_data(r) + MEMO_NPY_HDR);
		CHECK((uintptr_t)memo_result_f64(r) % 8 == 0);
		CHECK_INT(memo_result_f64_view(r, &d, &n), 0);
		CHECK(n == 3 && d[2] == 1e300);
		check_view(r, MEMO_VIEW_TEXT, "0.25\n-3.0\n1e+300\n", 17);
		check_view(r, MEMO_VIEW_NPY, buf, sizeof(buf));
	}
	memo_result_unref(r);
	r = NULL;
	/* A tag the data does not match, an unknown tag, or a 0-d tag on a
	 * vector: never a result. */
	CHECK_INT(from_store(st, buf, sizeof(buf), 0x102, &r), -EBADMSG);
	CHECK_INT(from_store(st, buf, sizeof(buf), 0x103, &r), -EBADMSG);
	CHECK_INT(from_store(st, buf, sizeof(buf), 0x001, &r), -EBADMSG);
	CHECK_INT(from_store(st, buf, sizeof(buf), 0x201, &r), -EBADMSG);
	CHECK_INT(from_store(st, buf, sizeof(buf) - 1, 0x101, &r), -EBADMSG);
	CHECK_INT(from_store(st, buf, 100, 0x101, &r), -EBADMSG);
	CHECK(r == NULL);
	/* Tag 0: bytes, whatever they are (an .npy a command printed). */
	CHECK_INT(from_store(st, buf, sizeof(buf), 0, &r), 0);
	if (r) {
		CHECK_INT(memo_result_dtype(r), MEMOFS_BYTES);
		CHECK_INT(memo_result_view(r, MEMO_VIEW_NPY, (const void **)&d,
					   &n), -ENOENT);
	}
	memo_result_unref(r);
	store_close(st);
	nftw(dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
}

/* The text view of columns long enough to be rendered in parallel parts
 * (result.c, MEMO_TEXT_PART = 2^18 values): n values of varying lengths
 * (so that the parts' slots are far from full and must be moved), float64
 * and int64, against fmt_double() / "%lld" one value at a time. */
static void check_long_text(size_t n, enum memofs_dtype dtype)
{
	size_t len, tlen = 0, cap = n * FMT_LINE_MAX;
	char *buf = malloc(MEMO_NPY_HDR + 8 * n), *want = malloc(cap);
	uint64_t x = 0x9e3779b97f4a7c15u;
	memo_result *r = NULL;

	if (!buf || !want) {
		CHECK(0);
		free(buf);
		free(want);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;	/* xorshift64 */
		if (dtype == MEMOFS_FLOAT64) {
			/* Short lines ("1.0") and long ones, every sign. */
			double v = i % 3 ? (double)(int64_t)x / 3e15
					 : (double)(i % 7);

			memcpy(buf + MEMO_NPY_HDR + 8 * i, &v, 8);
			tlen += fmt_double(want + tlen, v);
		} else {
			int64_t v = i % 3 ? (int64_t)x : (int64_t)(i % 7);

			memcpy(buf + MEMO_NPY_HDR + 8 * i, &v, 8);
			tlen += (size_t)sprintf(want + tlen, "%lld",
						(long long)v);
		}
		want[tlen++] = '\n';
	}
	len = MEMO_NPY_HDR + 8 * n;
	CHECK_INT(memo_result_typed(buf, len, dtype, 1, &r), 0);
	if (r) {
		check_view(r, MEMO_VIEW_TEXT, want, tlen);
		CHECK(memo_result_view_cheap(r, MEMO_VIEW_TEXT));
		memo_result_unref(r);
	}
	free(want);
}

static void test_long_text(void)
{
	check_long_text(3 * (1u << 18) + 7, MEMOFS_FLOAT64);
	check_long_text(2 * (1u << 18) + 1, MEMOFS_INT64);
	check_long_text((1u << 18) - 1, MEMOFS_FLOAT64);	/* one part */
}

int main(void)
{
	test_npy_header();
	test_typed_f64();
	test_typed_i64();
	test_borrowed();
	test_typed_bad();
	test_view_cheap();
	test_long_text();
	test_bytes();
	test_from_rec();
	return check_report("result");
}
