/* test_ds_table.c -- unit test of real-world tables (issue 13): column
 * kinds, missing values, sniffed separators and the CSV options, the
 * two-thread parse, compressed files, and every .npy dtype.
 *
 * Fixture files go into a fresh mkdtemp() directory, removed at the end.
 * Compressed fixtures are made here with the same libraries memofs reads
 * them with (zlib, libbz2, liblzma, libzstd); .npy files are built byte by
 * byte from the format's description.  Numbers are compared with strtod()
 * bit for bit.
 */
#include <bzlib.h>
#include <errno.h>
#include <ftw.h>
#include <lzma.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <xxhash.h>
#include <zlib.h>
#include <zstd.h>

#include "check.h"
#include "numcells.h"
#include "tmpdir.h"
#include "data/ds.h"
#include "data/ds_impl.h"

#define NPY_MAX 8192

struct fx {
	char dir[64];
	char path[128];
};

static const char *fx_write(struct fx *fx, const char *name,
			    const void *bytes, size_t len)
{
	FILE *f;

	snprintf(fx->path, sizeof(fx->path), "%s/%s", fx->dir, name);
	f = fopen(fx->path, "wb");
	if (!f || fwrite(bytes, 1, len, f) != len) {
		perror(fx->path);
		exit(2);
	}
	fclose(f);
	return fx->path;
}

/* Loads bytes with options o (NULL: defaults); 0 and *d, or the error. */
static int fx_load(struct fx *fx, const char *name, const void *bytes,
		   size_t len, const struct ds_opts *o, ds **d, char *err)
{
	*d = NULL;
	return ds_load_opts(fx_write(fx, name, bytes, len), o, d, err,
			    DS_ERR_MAX);
}

static ds *load_text(struct fx *fx, const char *text,
		     const struct ds_opts *o)
{
	char err[DS_ERR_MAX];
	ds *d;
	int rc = fx_load(fx, "t.csv", text, strlen(text), o, &d, err);

	CHECK_INT(rc, 0);
	if (rc)
		fprintf(stderr, "  '%s': %s\n", text, err);
	return d;
}

static void expect_refusal(struct fx *fx, const char *text,
			   const struct ds_opts *o, const char *want)
{
	char err[DS_ERR_MAX] = "";
	ds *d;
	int rc = fx_load(fx, "bad.csv", text, strlen(text), o, &d, err);

	CHECK(rc < 0);
	CHECK(d == NULL);
	CHECK(strstr(err, want) != NULL);
	CHECK(strchr(err, '\n') == NULL);
	if (!strstr(err, want))
		fprintf(stderr, "  got \"%s\", wanted \"%s\"\n", err, want);
	ds_free(d);
}

/* Column j holds text: its values, with NULL for a missing one. */
static void check_text(const ds *d, size_t j, const char *const *want)
{
	CHECK_INT(ds_col_kind(d, j), DS_TEXT);
	CHECK(ds_column(d, j) == NULL);
	for (size_t i = 0; i < ds_nrows(d); i++) {
		const char *got = ds_text(d, j, i);

		if (!want[i])
			CHECK(got == NULL);
		else
			CHECK_STR(got, want[i]);
	}
}

/* ---- Kinds and missing values ------------------------------------------ */

static void test_kinds(struct fx *fx)
{
	static const char *const city[] = { "Springfield", "Shelby\nville",
					    NULL, "a \"b\"" };
	static const char *const when[] = { "2001Q3", "07-Mar-11", "3",
					    NULL };
	ds *d = load_text(fx, "city,pop,rate,when,big,neg\n"
			  "Springfield,4.8,5,2001Q3,9007199254740993,-0\n"
			  "\"Shelby\nville\",NA,7,07-Mar-11,"
			  "-9223372036854775808,1\n"
			  ",1e3,-2,3,9223372036854775807,2\n"
			  "\"a \"\"b\"\"\",null,8,,1,3\n", NULL);

	if (!d)
		return;
	CHECK_INT(ds_nrows(d), 4);
	CHECK_INT(ds_ncols(d), 6);
	check_text(d, 0, city);
	CHECK_INT(ds_col_kind(d, 1), DS_FLOAT64);
	CHECK(ds_column(d, 1)[0] == 4.8 && isnan(ds_column(d, 1)[1]) &&
	      ds_column(d, 1)[2] == 1000 && isnan(ds_column(d, 1)[3]));
	CHECK_INT(ds_count(d, 1), 2);
	CHECK_INT(ds_col_kind(d, 2), DS_INT64);
	CHECK(ds_column_int64(d, 2)[3] == 8 && ds_column(d, 2)[2] == -2);
	check_text(d, 3, when);
	CHECK_INT(ds_count(d, 3), 3);
	CHECK_INT(ds_col_kind(d, 4), DS_INT64);	/* exact beyond 2^53 */
	CHECK(ds_column_int64(d, 4)[0] == INT64_C(9007199254740993));
	CHECK(ds_column_int64(d, 4)[1] == INT64_MIN);
	CHECK(ds_column_int64(d, 4)[2] == INT64_MAX);
	CHECK_INT(ds_col_kind(d, 5), DS_FLOAT64);	/* "-0" is a float */
	CHECK(same_double(ds_column(d, 5)[0], -0.0));
	CHECK(ds_col_numeric(d, 1) && !ds_col_numeric(d, 0));
	ds_free(d);

	/* int64 overflow: a float64 column; ints then a float: doubles. */
	d = load_text(fx, "a,b\n9223372036854775808,1\n1,2.5\n", NULL);
	if (d) {
		CHECK_INT(ds_col_kind(d, 0), DS_FLOAT64);
		CHECK(ds_column(d, 0)[0] == 9223372036854775808.0);
		CHECK_INT(ds_col_kind(d, 1), DS_FLOAT64);
		CHECK(ds_column(d, 1)[0] == 1 && ds_column(d, 1)[1] == 2.5);
		CHECK(ds_column_int64(d, 1) == NULL);
	}
	ds_free(d);

	/* Every pandas na_value; hex, NaN spellings pandas does not read
	 * and inf. */
	d = load_text(fx, "x,y\n#N/A,0x10\n#N/A N/A,1\n#NA,2\n-1.#IND,3\n"
		      "-1.#QNAN,4\n-NaN,5\n-nan,6\n1.#IND,7\n1.#QNAN,8\n"
		      "<NA>,9\nN/A,10\nNA,11\nNULL,12\nNaN,13\nn/a,14\n"
		      "nan,15\nnull,16\n,17\n-inf,NAN\n", NULL);
	if (d) {
		CHECK_INT(ds_col_kind(d, 0), DS_FLOAT64);
		CHECK_INT(ds_count(d, 0), 1);
		CHECK(isinf(ds_column(d, 0)[18]));
		CHECK_INT(ds_col_kind(d, 1), DS_TEXT);
		CHECK_STR(ds_text(d, 1, 0), "0x10");
		CHECK_STR(ds_text(d, 1, 18), "NAN");
	}
	ds_free(d);

	/* A short row: the rest missing (as pandas). */
	d = load_text(fx, "a,b,c\n1,2,3\n4\n", NULL);
	if (d) {
		CHECK_INT(ds_col_kind(d, 0), DS_INT64);
		CHECK_INT(ds_col_kind(d, 1), DS_FLOAT64);
		CHECK(isnan(ds_column(d, 2)[1]));
		CHECK_INT(ds_count(d, 2), 1);
	}
	ds_free(d);
}

/* ---- Separators, headers, options -------------------------------------- */

static void check_shape(const ds *d, size_t rows, size_t cols,
			const char *name0)
{
	if (!d)
		return;
	CHECK_INT(ds_nrows(d), rows);
	CHECK_INT(ds_ncols(d), cols);
	if (name0)
		CHECK_STR(ds_colname(d, 0), name0);
	else if (ds_ncols(d) > 0)
		CHECK(ds_colname(d, 0) == NULL);
}

static void test_separators(struct fx *fx)
{
	static const struct {
		const char *text;
		size_t rows, cols;
		const char *name0;
	} cases[] = {
		{ "a;b;c\n1,5;2;3\n4;5;6\n", 2, 3, "a" },
		{ "a\tb\n1\t2\n\t4\n", 2, 2, "a" },
		{ "a|b\n1|2\n3|4\n", 2, 2, "a" },
		{ "  5 162  60\n  6  170 70\n", 2, 3, NULL },
		{ "x y\n1 2\n3 4\n", 2, 2, "x" },
		{ "a,b\n\"1;2\",3\n", 1, 2, "a" },
		{ "# source: somewhere\n# more\na,b\n1,2\n", 1, 2, "a" },
		{ "v\n1\n2\n", 2, 1, "v" },
	};
	struct ds_opts o = DS_OPTS_INIT;
	ds *d;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		d = load_text(fx, cases[i].text, NULL);
		check_shape(d, cases[i].rows, cases[i].cols, cases[i].name0);
		ds_free(d);
	}
	d = load_text(fx, "a;b;c\n1,5;2;3\n", NULL);	/* 1,5 is text */
	if (d)
		CHECK_STR(ds_text(d, 0, 0), "1,5");
	ds_free(d);
	d = load_text(fx, "a\tb\n1\t2\n\t4\n", NULL);	/* tab: empty cell */
	if (d)
		CHECK(isnan(ds_column(d, 0)[1]));
	ds_free(d);

	o.sep = ',';
	expect_refusal(fx, "a;b\n1;2\n3;4\n5;6,7\n", &o, "line 4: expected 1 "
		       "fields, found 2 (the fields look separated by ';': "
		       "try -o sep=';')");
	o.sep = ';';
	d = load_text(fx, "a;b\n1;2\n", &o);
	check_shape(d, 1, 2, "a");
	ds_free(d);
	o.sep = DS_SEP_WHITESPACE;
	d = load_text(fx, "a  b\n1 \t 2\n", &o);
	check_shape(d, 1, 2, "a");
	ds_free(d);
	expect_refusal(fx, "a,b\n1,2\n3,4,5\n", NULL, "line 3: expected 2 "
		       "fields, found 3 (a field holding the separator "
		       "without quotes?)");
}

static void test_options(struct fx *fx)
{
	struct ds_opts o = DS_OPTS_INIT;
	ds *d;

	/* scikit-learn's metadata row: refused with a hint, then read. */
	expect_refusal(fx, "3,2,setosa,versicolor\n5.1,3.5,0\n4.9,3.0,0\n"
		       "4.7,3.2,1\n", NULL, "line 1 looks like scikit-learn "
		       "metadata (3 rows, then labels), not a header: try -o "
		       "skiprows=1 -o header=none");
	o.skiprows = 1;
	o.header = DS_HEADER_NONE;
	d = load_text(fx, "3,2,setosa,versicolor\n5.1,3.5,0\n4.9,3.0,0\n"
		      "4.7,3.2,1\n", &o);
	check_shape(d, 3, 3, NULL);
	if (d)
		CHECK_INT(ds_col_kind(d, 2), DS_INT64);
	ds_free(d);

	/* header=none keeps a text first row as data; header=N skips. */
	o = (struct ds_opts)DS_OPTS_INIT;
	o.header = DS_HEADER_NONE;
	d = load_text(fx, "a,1\nb,2\n", &o);
	check_shape(d, 2, 2, NULL);
	ds_free(d);
	o.header = 2;
	d = load_text(fx, "junk\nmore junk\nx,y\n1,2\n", &o);
	check_shape(d, 1, 2, "x");
	ds_free(d);

	/* comment=: the rest of a line, anywhere. */
	o = (struct ds_opts)DS_OPTS_INIT;
	o.comment = '%';
	d = load_text(fx, "% head\na,b\n1,2 % one\n%\n3,4\n", &o);
	check_shape(d, 2, 2, "a");
	if (d)
		CHECK_INT(ds_column_int64(d, 1)[0], 2);
	ds_free(d);

	o.comment = ',';
	expect_refusal(fx, "a,b\n1,2\n", &o, "the comment byte ',' is also "
		       "the separator");
	expect_refusal(fx, "a,b\n", NULL, "line 1: no data rows");
	expect_refusal(fx, "a,b\n\"1,2\n", NULL, "line 2, field 1: "
		       "unterminated quoted field");
	expect_refusal(fx, "a,b\n\"1\"x,2\n", NULL, "line 2, field 1: text "
		       "after closing quote");
}

/* ---- Numbers: the fast paths against strtod() -------------------------- */

static void test_numbers(struct fx *fx)
{
	enum { N = 200000 };
	static const char *const edge[] = {
		"9007199254740993", "9007199254740993.0", "1.0000000000000001",
		"2.2250738585072014e-308", "4.9e-324", "1.7976931348623157e308",
		"0.1", "123456789012345678.9", "9999999999999999999.0",
		"1e27", "1e-27", "18446744073709551615.0", "0.30000000000000004",
	};
	size_t cap = (size_t)N * 32 + 4096, len, n = 0;
	char *text = malloc(cap), err[DS_ERR_MAX];
	char (*cells)[32] = malloc(sizeof(*cells) * (N + 16));
	ds *d = NULL;

	if (!text || !cells)
		goto out_free;
	for (size_t i = 0; i < sizeof(edge) / sizeof(edge[0]); i++)
		snprintf(cells[n++], 32, "%s", edge[i]);
	srand(11);
	while (n < N) {	/* 15..19 significant digits, exponents -30..30 */
		int digits = 15 + rand() % 5, k = 0;
		char *s = cells[n++];

		s[k++] = (char)('1' + rand() % 9);
		s[k++] = '.';
		for (int j = 1; j < digits; j++)
			s[k++] = (char)('0' + rand() % 10);
		snprintf(s + k, 32 - (size_t)k, "e%d", rand() % 61 - 30);
	}
	len = numcells_csv(text, cells[0], 32, n);
	CHECK_INT(fx_load(fx, "n.csv", text, len, NULL, &d, err), 0);
	if (d)
		numcells_check(d, cells[0], 32, n);
out_free:
	ds_free(d);
	free(cells);
	free(text);
}

/* ---- Two threads ------------------------------------------------------- */

/* A file large enough to be split: the halves must join as one parse
 * would, whatever each half found (ints in one, floats or text in the
 * other, blank lines shifting rows). */
static void test_parallel(struct fx *fx)
{
	enum { ROWS = 600000 };
	size_t cap = (size_t)ROWS * 40 + 64, len = 0;
	char *text = malloc(cap), err[DS_ERR_MAX];
	ds *d = NULL;
	int ok = 1;

	if (!text)
		return;
	len += (size_t)sprintf(text, "i,f,t,late\n");
	for (int r = 0; r < ROWS; r++) {
		if (r % 1000 == 7)
			len += (size_t)sprintf(text + len, "\n");
		len += (size_t)sprintf(text + len, "%d,%d,%s,%d\n", r,
				       r == ROWS - 1 ? 0 : r, r == ROWS - 2 ?
				       "word" : "5", r);
	}
	memcpy(text + len - 1, ".5\n", 3);	/* late: 599999.5 at the end */
	len += 2;
	CHECK_INT(fx_load(fx, "p.csv", text, len, NULL, &d, err), 0);
	if (!d)
		goto out_free;
	CHECK_INT(ds_nrows(d), ROWS);
	CHECK_INT(ds_col_kind(d, 0), DS_INT64);
	CHECK_INT(ds_col_kind(d, 1), DS_INT64);
	CHECK_INT(ds_col_kind(d, 2), DS_TEXT);
	CHECK_INT(ds_col_kind(d, 3), DS_FLOAT64);
	for (int r = 0; r < ROWS && ok; r++) {
		ok = ds_column_int64(d, 0)[r] == r &&
		     ds_column(d, 3)[r] == (r == ROWS - 1 ? r + 0.5 : r) &&
		     strcmp(ds_text(d, 2, (size_t)r),
			    r == ROWS - 2 ? "word" : "5") == 0;
		if (!ok)
			fprintf(stderr, "  row %d differs\n", r);
	}
	CHECK(ok);
	ds_free(d);
	d = NULL;
	/* An error in the second half names its line. */
	memcpy(text + len - 8, ",1,1,1\n", 7);
	text[len - 1] = '\n';
	CHECK(fx_load(fx, "p2.csv", text, len, NULL, &d, err) == -EINVAL);
	CHECK(strstr(err, "expected 4 fields, found") != NULL);
	{
		char want[64];

		snprintf(want, sizeof(want), "line %d:", ROWS + ROWS / 1000 +
			 1);
		CHECK(strstr(err, want) != NULL);
		if (!strstr(err, want))
			fprintf(stderr, "  %s (wanted %s)\n", err, want);
	}
out_free:
	ds_free(d);
	free(text);
}

/* A quoted field holding the line end where the file is split: the
 * halves are dropped and the whole parsed as one thread would. */
static void test_parallel_quoted(struct fx *fx)
{
	enum { HALF = 300000, SPAN = 4000 };
	size_t cap = (size_t)2 * HALF * 16 + SPAN * 8 + 64, len = 0;
	char *text = malloc(cap), err[DS_ERR_MAX];
	ds *d = NULL;

	if (!text)
		return;
	len += (size_t)sprintf(text, "i,note\n");
	for (int r = 0; r < HALF; r++)
		len += (size_t)sprintf(text + len, "%07d,a\n", r);
	len += (size_t)sprintf(text + len, "%07d,\"", HALF);
	for (int k = 0; k < SPAN; k++)	/* the middle of the file: both
					 * halves are as long */
		len += (size_t)sprintf(text + len, "l\n");
	len += (size_t)sprintf(text + len, "\"\n");
	for (int r = HALF + 1; r <= 2 * HALF; r++)
		len += (size_t)sprintf(text + len, "%07d,b\n", r);
	CHECK_INT(fx_load(fx, "pq.csv", text, len, NULL, &d, err), 0);
	if (d) {
		CHECK_INT(ds_nrows(d), 2 * HALF + 1);
		CHECK_INT(ds_col_kind(d, 0), DS_INT64);
		CHECK(ds_column_int64(d, 0)[2 * HALF] == 2 * HALF);
		CHECK_STR(ds_text(d, 1, HALF + 1), "b");
		CHECK_INT(strlen(ds_text(d, 1, HALF)), 2 * SPAN);
	}
	ds_free(d);
	free(text);
}

/* ---- Compressed files -------------------------------------------------- */

enum pack { PACK_GZIP, PACK_BZIP2, PACK_XZ, PACK_ZSTD };

/* Compresses src into a malloc'd buffer; returns its length. */
static size_t pack(enum pack how, const void *src, size_t len, char **out)
{
	size_t cap = len + len / 2 + 1024, n = 0;
	char *dst = malloc(cap);
	z_stream z;
	unsigned bn;

	if (!dst)
		exit(2);
	switch (how) {
	case PACK_GZIP:
		memset(&z, 0, sizeof(z));
		deflateInit2(&z, 6, Z_DEFLATED, 16 + MAX_WBITS, 8,
			     Z_DEFAULT_STRATEGY);
		z.next_in = (unsigned char *)(uintptr_t)src;
		z.avail_in = (uInt)len;
		z.next_out = (unsigned char *)dst;
		z.avail_out = (uInt)cap;
		deflate(&z, Z_FINISH);
		n = z.total_out;
		deflateEnd(&z);
		break;
	case PACK_BZIP2:
		bn = (unsigned)cap;
		BZ2_bzBuffToBuffCompress(dst, &bn, (char *)(uintptr_t)src,
					 (unsigned)len, 9, 0, 0);
		n = bn;
		break;
	case PACK_XZ:
		lzma_easy_buffer_encode(6, LZMA_CHECK_CRC64, NULL, src, len,
					(uint8_t *)dst, &n, cap);
		break;
	case PACK_ZSTD:
		n = ZSTD_compress(dst, cap, src, len, 3);
		break;
	}
	*out = dst;
	return n;
}

static void test_compressed(struct fx *fx)
{
	static const char csv[] = "a,b\n1,2.5\n3,x\n";
	static const char *const names[] = { "gz", "bz2", "xz", "zst" };
	char err[DS_ERR_MAX], *z, *twice;
	uint8_t plain[DS_DIGEST_LEN];
	ds *d;
	size_t n;

	d = load_text(fx, csv, NULL);
	if (!d)
		return;
	memcpy(plain, ds_digest(d), DS_DIGEST_LEN);
	ds_free(d);
	for (int how = PACK_GZIP; how <= PACK_ZSTD; how++) {
		n = pack(how, csv, strlen(csv), &z);
		CHECK_INT(fx_load(fx, "c.dat", z, n, NULL, &d, err), 0);
		if (d) {	/* same table, same digest: same cache */
			CHECK_INT(ds_nrows(d), 2);
			CHECK_INT(ds_col_kind(d, 1), DS_TEXT);
			CHECK(memcmp(ds_digest(d), plain, DS_DIGEST_LEN) == 0);
		} else {
			fprintf(stderr, "  %s: %s\n", names[how], err);
		}
		ds_free(d);
		/* Two members, streams or frames: both read, as by gzip -d
		 * (the second header row is a row of text then). */
		twice = malloc(2 * n);
		if (!twice)
			exit(2);
		memcpy(twice, z, n);
		memcpy(twice + n, z, n);
		CHECK_INT(fx_load(fx, "c2.dat", twice, 2 * n, NULL, &d, err),
			  0);
		if (d)
			CHECK_INT(ds_nrows(d), 5);
		ds_free(d);
		free(twice);
		/* Truncated: refused, naming the format. */
		CHECK_INT(fx_load(fx, "c3.dat", z, n - 3, NULL, &d, err),
			  -EINVAL);
		CHECK(strstr(err, names[how][0] == 'g' ? "gzip" :
			     names[how][0] == 'b' ? "bzip2" :
			     names[how][0] == 'x' ? "xz" : "zstd") != NULL);
		free(z);
	}
}

/* A bomb: zeros that expand past the limit stop there. */
static void test_bomb(void)
{
	size_t big = 8u << 20, n;
	char *zeros = calloc(1, big), *z, err[DS_ERR_MAX];
	struct ds_msg m = { "bomb.gz", err, sizeof(err) };

	if (!zeros)
		return;
	memset(zeros, '0', big);
	for (int how = PACK_GZIP; how <= PACK_ZSTD; how++) {
		size_t len;

		n = pack(how, zeros, big, &z);
		len = n;
		CHECK_INT(dz_unpack_limit(&m, &z, &len, big / 2), -EFBIG);
		CHECK(strstr(err, "expands beyond 4194304 bytes") != NULL);
		CHECK_INT(len, n);	/* untouched */
		len = n;
		CHECK_INT(dz_unpack_limit(&m, &z, &len, big), 0);
		CHECK_INT(len, big);
		CHECK(z[big] == '\0' && memcmp(z, zeros, big) == 0);
		free(z);
	}
	free(zeros);
}

/* ---- .npy dtypes ------------------------------------------------------- */

static size_t npy_build(unsigned char *out, const char *dict,
			const void *data, size_t dlen)
{
	size_t pre = 10, hlen = strlen(dict) + 1;

	hlen += (64 - (pre + hlen) % 64) % 64;
	if (pre + hlen + dlen > NPY_MAX)
		exit(2);
	memcpy(out, "\x93NUMPY\x01\x00", 8);
	out[8] = (unsigned char)hlen;
	out[9] = (unsigned char)(hlen >> 8);
	memset(out + pre, ' ', hlen);
	memcpy(out + pre, dict, strlen(dict));
	out[pre + hlen - 1] = '\n';
	memcpy(out + pre + hlen, data, dlen);
	return pre + hlen + dlen;
}

/* Writes the integer or float v in size bytes, big-endian or not. */
static void put(unsigned char *p, size_t size, int big, uint64_t bits)
{
	for (size_t k = 0; k < size; k++)
		p[big ? size - 1 - k : k] = (unsigned char)(bits >> (8 * k));
}

static uint64_t bits_of(char kind, size_t size, double v)
{
	float f = (float)v;
	uint32_t u4;
	uint64_t u8;

	if (kind == 'f' && size == 8) {
		memcpy(&u8, &v, 8);
		return u8;
	}
	if (kind == 'f' && size == 4) {
		memcpy(&u4, &f, 4);
		return u4;
	}
	if (kind == 'f') {	/* float16 of the small integers used here */
		int e = 0;
		double m = frexp(fabs(v), &e);	/* v = m * 2^e */

		if (v == 0)
			return 0;
		return (uint64_t)(v < 0) << 15 | (uint64_t)(e + 14) << 10 |
		       ((uint64_t)(m * 2048) & 0x3ff);
	}
	return (uint64_t)(int64_t)v;
}

/* A 3 x 2 array of each dtype, each order, each byte order. */
static void test_npy_dtypes(struct fx *fx)
{
	static const char *const types[] = {
		"b1", "i1", "i2", "i4", "i8", "u1", "u2", "u4", "u8", "f2",
		"f4", "f8",
	};
	static const double v[3][2] = { { 1, 0 }, { 3, 40 }, { 0, 6 } };
	unsigned char data[64], file[NPY_MAX];
	char dict[160], err[DS_ERR_MAX];

	for (size_t t = 0; t < sizeof(types) / sizeof(types[0]); t++)
		for (int f = 0; f < 4; f++) {
			int fortran = f & 1, big = f >> 1;
			size_t size = (size_t)(types[t][1] - '0'), used = 0;
			char order = size == 1 ? '|' : big ? '>' : '<';
			ds *d;

			for (int k = 0; k < 6; k++) {
				int i = fortran ? k % 3 : k / 2;
				int j = fortran ? k / 3 : k % 2;

				put(data + used, size, big,
				    bits_of(types[t][0], size, v[i][j]));
				used += size;
			}
			snprintf(dict, sizeof(dict), "{'descr': '%c%s', "
				 "'fortran_order': %s, 'shape': (3, 2), }",
				 order, types[t], fortran ? "True" : "False");
			if (fx_load(fx, "a.npy", file, npy_build(file, dict,
								  data, used),
				    NULL, &d, err) != 0) {
				CHECK(0);
				fprintf(stderr, "  %s: %s\n", dict, err);
				continue;
			}
			CHECK_INT(ds_col_kind(d, 0), types[t][0] == 'f' ?
				  DS_FLOAT64 : DS_INT64);
			for (int i = 0; i < 3; i++)
				for (int j = 0; j < 2; j++) {
					double want = types[t][0] == 'b' ?
						v[i][j] != 0 : v[i][j];

					CHECK(ds_column(d, (size_t)j)[i] ==
					      want);
				}
			if (types[t][0] != 'f')
				CHECK(ds_column_int64(d, 1)[1] ==
				      (types[t][0] == 'b' ? 1 : 40));
			ds_free(d);
		}
}

static void test_npy_special(struct fx *fx)
{
	unsigned char data[64] = { 0 }, file[NPY_MAX];
	char err[DS_ERR_MAX];
	ds *d;

	/* uint64 above INT64_MAX: float64; int8 sign; float16 specials. */
	put(data, 8, 0, UINT64_MAX);
	put(data + 8, 8, 0, 5);
	CHECK_INT(fx_load(fx, "u.npy", file, npy_build(file, "{'descr': "
		  "'<u8', 'fortran_order': False, 'shape': (2,), }", data, 16),
		  NULL, &d, err), 0);
	if (d) {
		CHECK_INT(ds_col_kind(d, 0), DS_FLOAT64);
		CHECK(ds_column(d, 0)[0] == 18446744073709551615.0);
		CHECK(ds_column(d, 0)[1] == 5);
	}
	ds_free(d);
	put(data, 2, 0, 0x7c00);	/* inf */
	put(data + 2, 2, 0, 0x0001);	/* the smallest subnormal */
	put(data + 4, 2, 0, 0xfe00);	/* nan */
	put(data + 6, 2, 0, 0x3555);	/* 0.333251953125 */
	CHECK_INT(fx_load(fx, "h.npy", file, npy_build(file, "{'descr': "
		  "'<f2', 'fortran_order': False, 'shape': (4,), }", data, 8),
		  NULL, &d, err), 0);
	if (d) {
		CHECK(isinf(ds_column(d, 0)[0]));
		CHECK(ds_column(d, 0)[1] == ldexp(1, -24));
		CHECK(isnan(ds_column(d, 0)[2]));
		CHECK(ds_column(d, 0)[3] == 0.333251953125);
		CHECK_INT(ds_count(d, 0), 3);
	}
	ds_free(d);

	/* A structured array, with padding: one column per field. */
	memset(data, 0, sizeof(data));
	for (int r = 0; r < 2; r++) {
		unsigned char *rec = data + 16 * r;

		put(rec, 8, 0, bits_of('f', 8, 1.5 + r));
		put(rec + 8, 2, 1, (uint64_t)(int64_t)(-7 - r));
		rec[10] = (unsigned char)r;		/* bool */
	}
	CHECK_INT(fx_load(fx, "s.npy", file, npy_build(file, "{'descr': "
		  "[('price', '<f8'), ('qty', '>i2'), ('ok', '|b1'), "
		  "('', '|V5')], 'fortran_order': False, 'shape': (2,), }",
		  data, 32), NULL, &d, err), 0);
	if (d) {
		CHECK_INT(ds_ncols(d), 3);
		CHECK_STR(ds_colname(d, 0), "price");
		CHECK_STR(ds_colname(d, 1), "qty");
		CHECK_STR(ds_colname(d, 2), "ok");
		CHECK(ds_column(d, 0)[1] == 2.5);
		CHECK(ds_column_int64(d, 1)[1] == -8);
		CHECK(ds_column_int64(d, 2)[1] == 1);
	} else {
		fprintf(stderr, "  s.npy: %s\n", err);
	}
	ds_free(d);

	/* Refusals, each with its reason. */
	CHECK(fx_load(fx, "o.npy", file, npy_build(file, "{'descr': '|O', "
		      "'fortran_order': False, 'shape': (2,), }", data, 16),
		      NULL, &d, err) == -EINVAL);
	CHECK(strstr(err, "object array (Python objects") != NULL);
	CHECK(fx_load(fx, "o.npy", file, npy_build(file, "{'descr': [('a', "
		      "'<f8', (2,))], 'fortran_order': False, 'shape': (2,), "
		      "}", data, 32), NULL, &d, err) == -EINVAL);
	CHECK(strstr(err, "subarray fields not supported") != NULL);
	CHECK(fx_load(fx, "o.npy", file, npy_build(file, "{'descr': [('a', "
		      "'<f8')], 'fortran_order': False, 'shape': (2, 2), }",
		      data, 32), NULL, &d, err) == -EINVAL);
	CHECK(strstr(err, "a structured array must be 1-D") != NULL);
	CHECK(fx_load(fx, "o.npy", file, npy_build(file, "{'descr': '<U3', "
		      "'fortran_order': False, 'shape': (2,), }", data, 24),
		      NULL, &d, err) == -EINVAL);
	CHECK(strstr(err, "unsupported dtype '<U3'") != NULL);
}

int main(void)
{
	struct fx fx;

	strcpy(fx.dir, "/tmp/memofs-test-dst-XXXXXX");
	if (!mkdtemp(fx.dir)) {
		perror("mkdtemp");
		return 2;
	}
	test_kinds(&fx);
	test_separators(&fx);
	test_options(&fx);
	test_numbers(&fx);
	test_parallel(&fx);
	test_parallel_quoted(&fx);
	test_compressed(&fx);
	test_bomb();
	test_npy_dtypes(&fx);
	test_npy_special(&fx);
	nftw(fx.dir, tmp_rm_entry, 8, FTW_DEPTH | FTW_PHYS);
	return check_report("ds_table");
}
