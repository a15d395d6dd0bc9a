/* test_ds.c -- unit test of the dataset loaders (CSV, .npy) and the demo.
 *
 * Fixture files are written into a fresh mkdtemp() directory, removed at
 * the end.  .npy files are built byte by byte here, not by numpy, so the
 * test checks the format as documented rather than one writer's habits.
 * Besides the named cases, every prefix of a valid .npy and randomly
 * damaged copies of a CSV and a .npy are loaded: they must fail cleanly or
 * load, never crash (run this under ASan or valgrind to mean it).
 */
#include <errno.h>
#include <ftw.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <xxhash.h>

#include "check.h"
#include "numcells.h"
#include "tmpdir.h"
#include "data/ds.h"

#define NPY_MAX 4096		/* largest .npy built here */

struct fx {
	char dir[64];
	char path[128];		/* the last file written */
};

static const char *fx_path(struct fx *fx, const char *name)
{
	snprintf(fx->path, sizeof(fx->path), "%s/%s", fx->dir, name);
	return fx->path;
}

/* Writes len bytes to dir/name; returns the path (in fx). */
static const char *fx_write(struct fx *fx, const char *name,
			    const void *bytes, size_t len)
{
	const char *path = fx_path(fx, name);
	FILE *f = fopen(path, "wb");

	if (!f || fwrite(bytes, 1, len, f) != len) {
		perror(path);
		exit(2);
	}
	fclose(f);
	return path;
}

/* Loads bytes written to dir/name; returns ds_load()'s result. */
static int fx_load(struct fx *fx, const char *name, const void *bytes,
		   size_t len, ds **d, char *err)
{
	return ds_load(fx_write(fx, name, bytes, len), d, err, DS_ERR_MAX);
}

static ds *load_ok(struct fx *fx, const char *name, const char *text)
{
	char err[DS_ERR_MAX];
	ds *d = NULL;
	int rc = fx_load(fx, name, text, strlen(text), &d, err);

	CHECK_INT(rc, 0);
	if (rc)
		fprintf(stderr, "  %s: %s\n", name, err);
	return d;
}

/* Expects loading bytes to fail with rc and a message that starts with the
 * file's path and contains want. */
static void expect_fail(struct fx *fx, const char *name, const void *bytes,
			size_t len, int want_rc, const char *want)
{
	char err[DS_ERR_MAX] = "";
	ds *d = NULL;
	int rc = fx_load(fx, name, bytes, len, &d, err);
	size_t plen = strlen(fx->path);

	CHECK_INT(rc, want_rc);
	CHECK(d == NULL);
	CHECK(strncmp(err, fx->path, plen) == 0 && err[plen] == ':');
	CHECK(strstr(err, want) != NULL);
	CHECK(strchr(err, '\n') == NULL);
	if (rc != want_rc || !strstr(err, want))
		fprintf(stderr, "  %s: got \"%s\", wanted \"%s\"\n", name, err,
			want);
	ds_free(d);
}

static void expect_csv_fail(struct fx *fx, const char *text,
			    const char *want)
{
	expect_fail(fx, "bad.csv", text, strlen(text), -EINVAL, want);
}

/* Checks column j of d against want[0..n). */
static void check_column(const ds *d, size_t j, const double *want,
			 size_t n)
{
	CHECK_INT(ds_nrows(d), n);
	if (ds_nrows(d) != n || j >= ds_ncols(d))
		return;
	for (size_t i = 0; i < n; i++)
		if (!same_double(ds_column(d, j)[i], want[i])) {
			CHECK(same_double(ds_column(d, j)[i], want[i]));
			fprintf(stderr, "  col %zu row %zu: %.17g, want "
				"%.17g\n", j, i, ds_column(d, j)[i], want[i]);
		}
}

/* ---- CSV --------------------------------------------------------------- */

static void test_csv_header(struct fx *fx)
{
	static const double a[] = { 1, 4 }, b[] = { 2, 5 }, c[] = { 3, -6 };
	ds *d = load_ok(fx, "h.csv", "a, b ,\"c,d\"\n1,2,3\n4,5,-6\n");

	if (!d)
		return;
	CHECK_INT(ds_ncols(d), 3);
	CHECK_STR(ds_colname(d, 0), "a");
	CHECK_STR(ds_colname(d, 1), "b");
	CHECK_STR(ds_colname(d, 2), "c,d");
	check_column(d, 0, a, 2);
	check_column(d, 1, b, 2);
	check_column(d, 2, c, 2);
	CHECK_STR(ds_name(d), fx->path);
	ds_free(d);

	/* One non-number makes a header; empty names are kept. */
	d = load_ok(fx, "h2.csv", ",1,x\n1,2,3\n");
	if (d) {
		CHECK_STR(ds_colname(d, 0), "");
		CHECK_STR(ds_colname(d, 1), "1");
		CHECK_STR(ds_colname(d, 2), "x");
		CHECK_INT(ds_nrows(d), 1);
	}
	ds_free(d);
}

static void test_csv_plain(struct fx *fx)
{
	static const double a[] = { 1, 3, 0.5 }, b[] = { 2, 4e3, -0.0 };
	ds *d = load_ok(fx, "p.csv", "1,2\n3,4e3\n.5,-0\n");

	if (!d)
		return;
	CHECK_INT(ds_ncols(d), 2);
	CHECK(ds_colname(d, 0) == NULL);
	CHECK(ds_colname(d, 1) == NULL);
	check_column(d, 0, a, 3);
	check_column(d, 1, b, 3);
	ds_free(d);
}

static void test_csv_quotes(struct fx *fx)
{
	static const double a[] = { 1.5, 7 }, b[] = { 2, -3 };
	ds *d = load_ok(fx, "q.csv", "\"x\"\"y\" , \" b \"\n"
			"\"1.5\", \" 2 \"\n 7 ,\"-3\"  \n");

	if (!d)
		return;
	CHECK_STR(ds_colname(d, 0), "x\"y");
	CHECK_STR(ds_colname(d, 1), " b ");	/* quotes keep blanks */
	check_column(d, 0, a, 2);
	check_column(d, 1, b, 2);
	ds_free(d);
}

static void test_csv_lines(struct fx *fx)
{
	static const double a[] = { 1, 3 }, b[] = { 2, 4 };
	ds *d = load_ok(fx, "crlf.csv", "\r\n \t\r\n a ,\tb\r\n\r\n"
			" 1 , 2 \r\n  \r\n\n3,4");

	if (d) {
		CHECK_STR(ds_colname(d, 0), "a");
		CHECK_STR(ds_colname(d, 1), "b");
		check_column(d, 0, a, 2);
		check_column(d, 1, b, 2);
	}
	ds_free(d);
	d = load_ok(fx, "bom.csv", "\xef\xbb\xbfx,y\r\n1,2\r");
	if (d) {
		CHECK_STR(ds_colname(d, 0), "x");
		CHECK_INT(ds_nrows(d), 1);
	}
	ds_free(d);
}

static void test_csv_special(struct fx *fx)
{
	ds *d = load_ok(fx, "nan.csv", "a,b,c,d,e,f,g,h\n"
			"nan,inf,-inf,1e999,NaN,-Infinity,16,1e-400\n");

	if (!d)
		return;
	CHECK_INT(ds_ncols(d), 8);
	CHECK(isnan(ds_column(d, 0)[0]));
	CHECK(isinf(ds_column(d, 1)[0]) && ds_column(d, 1)[0] > 0);
	CHECK(isinf(ds_column(d, 2)[0]) && ds_column(d, 2)[0] < 0);
	/* Beyond the double range: text, as pandas reads it. */
	CHECK_INT(ds_col_kind(d, 3), DS_TEXT);
	CHECK_STR(ds_text(d, 3, 0), "1e999");
	CHECK(isnan(ds_column(d, 4)[0]));
	CHECK(isinf(ds_column(d, 5)[0]) && ds_column(d, 5)[0] < 0);
	CHECK(ds_column(d, 6)[0] == 16);
	CHECK(ds_column(d, 7)[0] == 0);
	ds_free(d);
}

/* A decimal beyond the double range makes its column text, whatever its
 * spelling or where it is (the second half of a file parsed by two
 * threads included); one below the range is a number, 0.0 or a
 * subnormal; inf is still a number. */
static void test_csv_out_of_range(struct fx *fx)
{
	static const char *const over[] = {
		"1e400", "-1e309", "9.9e308", "1E400", "+1e1000000",
		"1.8e308", "17976931348623159e292",
	};
	static const char *const under[] = {
		"1e-400", "2e-324", "4.9e-324", "1e-320", "-1e-400",
		"1.7976931348623157e308", "1e-1000000", "0e400",
		"0.00001e313",
	};
	char text[256], err[DS_ERR_MAX];
	ds *d;

	for (size_t k = 0; k < sizeof(over) / sizeof(over[0]); k++) {
		snprintf(text, sizeof(text), "x,y\n1,inf\n%s,2\n3,4\n", over[k]);
		d = load_ok(fx, "over.csv", text);
		if (!d)
			continue;
		CHECK_INT(ds_col_kind(d, 0), DS_TEXT);
		CHECK_STR(ds_text(d, 0, 1), over[k]);
		CHECK_INT(ds_col_kind(d, 1), DS_FLOAT64);
		CHECK(isinf(ds_column(d, 1)[0]));
		ds_free(d);
	}
	for (size_t k = 0; k < sizeof(under) / sizeof(under[0]); k++) {
		snprintf(text, sizeof(text), "x\n1\n%s\n", under[k]);
		d = load_ok(fx, "under.csv", text);
		if (!d)
			continue;
		CHECK_INT(ds_col_kind(d, 0), DS_FLOAT64);
		CHECK(ds_column(d, 0)[1] == strtod(under[k], NULL));
		ds_free(d);
	}

	/* 6 MB: parsed by two threads; the last row holds the overflow. */
	{
		size_t rows = 600000, len = 0, cap = rows * 12 + 64;
		char *big = malloc(cap);

		CHECK(big != NULL);
		if (!big)
			return;
		len += (size_t)snprintf(big, cap, "a,b\n");
		for (size_t i = 0; i < rows; i++)
			len += (size_t)snprintf(big + len, cap - len, "%zu,%zu.5\n",
						i % 1000, i % 997);
		len += (size_t)snprintf(big + len, cap - len, "7,1e400\n");
		d = NULL;
		CHECK_INT(fx_load(fx, "big_over.csv", big, len, &d, err), 0);
		if (d) {
			CHECK_INT(ds_nrows(d), (long long)rows + 1);
			CHECK_INT(ds_col_kind(d, 0), DS_INT64);
			CHECK_INT(ds_col_kind(d, 1), DS_TEXT);
			CHECK_STR(ds_text(d, 1, rows), "1e400");
			CHECK_STR(ds_text(d, 1, 1), "1.5");
		}
		ds_free(d);
		free(big);
	}
}

static void test_csv_one_column(struct fx *fx)
{
	static const double x[] = { 1, 2, 3 };
	ds *d = load_ok(fx, "one.csv", "x\n1\n2\n\n3\n");

	if (d) {
		CHECK_INT(ds_ncols(d), 1);
		CHECK_STR(ds_colname(d, 0), "x");
		check_column(d, 0, x, 3);
	}
	ds_free(d);
}

static void test_csv_errors(struct fx *fx)
{
	/* Empty fields, short rows and text load since issue 13
	 * (test_ds_table.c): only the structure can be wrong. */
	expect_csv_fail(fx, "1,2\n\n3,4,5\n", "line 3: expected 2 fields, "
			"found 3");
	expect_csv_fail(fx, "a,b\n1,\"2", "line 2, field 2: unterminated "
			"quoted field");
	expect_csv_fail(fx, "\"a\"b,c\n1,2\n", "line 1, field 1: text after "
			"closing quote");
	expect_fail(fx, "nul.csv", "1,2\n3\0,4\n", 9, -EINVAL,
		    "line 2: NUL byte at offset 5");
	expect_csv_fail(fx, "", "empty file");
	expect_csv_fail(fx, "\n \t\r\n\n", "empty file");
	expect_csv_fail(fx, "a,b\n", "line 1: no data rows");
	expect_csv_fail(fx, "\n\na,b\n\n", "line 3: no data rows");
}

/* Very long fields: no crash, no quadratic time; a number of a million
 * digits is text when beyond the double range (as in pandas), else
 * whatever strtod() makes of it. */
static void test_csv_huge_field(struct fx *fx)
{
	size_t n = 1u << 20;
	char *text = malloc(n + 16), err[DS_ERR_MAX];
	ds *d = NULL;
	int rc;

	if (!text)
		return;
	memcpy(text, "x\n", 2);
	memset(text + 2, '7', n);
	memcpy(text + 2 + n, "\n", 2);
	rc = fx_load(fx, "huge.csv", text, n + 3, &d, err);
	CHECK_INT(rc, 0);
	if (d) {
		CHECK_INT(ds_col_kind(d, 0), DS_TEXT);
		CHECK(strlen(ds_text(d, 0, 0)) == n);
	}
	ds_free(d);
	d = NULL;

	text[3] = '.';		/* 7.777...: a finite number */
	rc = fx_load(fx, "huge2.csv", text, n + 3, &d, err);
	CHECK_INT(rc, 0);
	if (d)
		CHECK(ds_column(d, 0)[0] == strtod(text + 2, NULL));
	ds_free(d);
	d = NULL;

	text[n] = 'z';		/* text now, kept whole */
	rc = fx_load(fx, "huge3.csv", text, n + 3, &d, err);
	CHECK_INT(rc, 0);
	if (d) {
		CHECK_INT(ds_col_kind(d, 0), DS_TEXT);
		CHECK(ds_column(d, 0) == NULL);
		CHECK_INT(strlen(ds_text(d, 0, 0)), n);
	}
	ds_free(d);
	free(text);
}

/* The loader's own number reader against strtod(), on many shapes of
 * number (up to 30 digits, exponents of up to 12 digits): the values must
 * be identical to the bit. */
static void test_csv_numbers(struct fx *fx)
{
	enum { N = 100000, W = 48 };
	char *text = malloc((size_t)N * W + 8), err[DS_ERR_MAX];
	char (*cells)[W] = malloc(sizeof(*cells) * N);
	size_t len;
	ds *d = NULL;

	if (!text || !cells)
		goto out_free;
	srand(7);
	for (int i = 0; i < N; i++) {
		char *s = cells[i];
		int ndig = 1 + rand() % 30, dot = rand() % (ndig + 2), k = 0;

		if (rand() % 3 == 0)
			s[k++] = rand() % 2 ? '-' : '+';
		for (int j = 0; j < ndig; j++) {
			if (j == dot)
				s[k++] = '.';
			s[k++] = (char)('0' + (j < 3 && rand() % 4 == 0 ?
					       0 : rand() % 10));
		}
		if (rand() % 3 == 0)
			k += sprintf(s + k, "e%d", rand() % 60 - 30);
		else if (rand() % 8 == 0)	/* many exponent digits */
			k += sprintf(s + k, "E%+.12d", rand() % 60 - 30);
		s[k] = '\0';
		if (i % 7 == 0)		/* and the printf shapes */
			sprintf(s, i % 2 ? "%.17g" : "%.6f",
				(rand() - RAND_MAX / 2.0) / 1e3);
	}
	len = numcells_csv(text, cells[0], W, N);
	CHECK_INT(fx_load(fx, "num.csv", text, len, &d, err), 0);
	if (!d) {
		fprintf(stderr, "  num.csv: %s\n", err);
		goto out_free;
	}
	numcells_check(d, cells[0], W, N);
out_free:
	ds_free(d);
	free(cells);
	free(text);
}

/* ---- .npy -------------------------------------------------------------- */

static int host_big(void)
{
	const uint16_t one = 1;

	return *(const unsigned char *)&one == 0;
}

/* Stores v as descr ('<f8', '>i4', '=f4' ...) says at p; returns the
 * element size. */
static size_t npy_put(unsigned char *p, const char *descr, double v)
{
	size_t size = (size_t)(descr[2] - '0');
	int big = descr[0] == '>' || (descr[0] == '=' && host_big());
	unsigned char b[8];
	float f;
	int32_t i4;
	int64_t i8;

	if (descr[1] == 'f' && size == 4) {
		f = (float)v;
		memcpy(b, &f, 4);
	} else if (descr[1] == 'f') {
		memcpy(b, &v, 8);
	} else if (size == 4) {
		i4 = (int32_t)v;
		memcpy(b, &i4, 4);
	} else {
		i8 = (int64_t)v;
		memcpy(b, &i8, 8);
	}
	for (size_t k = 0; k < size; k++)
		p[k] = b[big != host_big() ? size - 1 - k : k];
	return size;
}

/* Builds a .npy of version major.0 in out (NPY_MAX bytes): the dict text
 * padded with blanks and a newline to a multiple of 64 bytes, then data.
 * Returns the file's size. */
static size_t npy_build(unsigned char *out, int major, const char *dict,
			const void *data, size_t dlen)
{
	size_t pre = major == 1 ? 10 : 12, hlen = strlen(dict) + 1;

	hlen += (64 - (pre + hlen) % 64) % 64;
	if (pre + hlen + dlen > NPY_MAX)
		exit(2);
	memcpy(out, "\x93NUMPY", 6);
	out[6] = (unsigned char)major;
	out[7] = 0;
	for (size_t k = 0; k < pre - 8; k++)
		out[8 + k] = (unsigned char)(hlen >> (8 * k));
	memset(out + pre, ' ', hlen);
	memcpy(out + pre, dict, strlen(dict));
	out[pre + hlen - 1] = '\n';
	memcpy(out + pre + hlen, data, dlen);
	return pre + hlen + dlen;
}

/* A 3 x 2 array of descr, C or Fortran order, checked after loading. */
static void npy_case(struct fx *fx, const char *descr, int fortran,
		     int major)
{
	static const double v[3][2] = { { 1, -2 }, { 3, 40 }, { -500, 6e6 } };
	static const double c0[] = { 1, 3, -500 }, c1[] = { -2, 40, 6e6 };
	unsigned char data[48], file[NPY_MAX];
	char dict[128], err[DS_ERR_MAX];
	size_t used = 0, len;
	ds *d = NULL;

	for (int k = 0; k < 6; k++) {
		int i = fortran ? k % 3 : k / 2, j = fortran ? k / 3 : k % 2;

		used += npy_put(data + used, descr, v[i][j]);
	}
	snprintf(dict, sizeof(dict), "{'descr': '%s', 'fortran_order': %s, "
		 "'shape': (3, 2), }", descr, fortran ? "True" : "False");
	len = npy_build(file, major, dict, data, used);
	if (fx_load(fx, "a.npy", file, len, &d, err) != 0) {
		CHECK(d != NULL);
		fprintf(stderr, "  %s fortran=%d v%d: %s\n", descr, fortran,
			major, err);
		return;
	}
	CHECK_INT(ds_ncols(d), 2);
	CHECK(ds_colname(d, 0) == NULL);
	check_column(d, 0, c0, 3);
	check_column(d, 1, c1, 3);
	ds_free(d);
}

static void test_npy_types(struct fx *fx)
{
	static const char *const descrs[] = { "<f8", ">f8", "=f8", "<f4",
					      ">f4", "<i4", ">i4", "<i8",
					      ">i8", "=i4", NULL };

	for (int i = 0; descrs[i]; i++)
		for (int fortran = 0; fortran < 2; fortran++)
			npy_case(fx, descrs[i], fortran, 1 + i % 3);
}

static void test_npy_headers(struct fx *fx)
{
	static const char *const dicts[] = {
		"{'descr': '<f8', 'fortran_order': False, 'shape': (4,), }",
		"{'shape':(4,),'fortran_order':True,'descr':'<f8'}",
		"{ \"descr\" : \"<f8\" ,\n 'fortran_order' : False ,"
		" 'shape' : ( 4 , ) }",
		"{'descr': '<f8', 'fortran_order': False, 'shape': (4L,)}",
		"{'descr': '<f8', 'fortran_order': False, 'shape': (4, 1)}",
		NULL,
	};
	static const double want[] = { 0.25, -1e300, INFINITY, 5 };
	unsigned char data[40], file[NPY_MAX];
	char err[DS_ERR_MAX];
	ds *d;

	for (int i = 0; i < 4; i++)
		npy_put(data + 8 * i, "<f8", want[i]);
	memcpy(data + 32, "trailing", 8);	/* ignored, like numpy */
	for (int i = 0; dicts[i]; i++) {
		size_t len = npy_build(file, 1 + i % 2, dicts[i], data, 40);

		d = NULL;
		CHECK_INT(fx_load(fx, "h.npy", file, len, &d, err), 0);
		if (!d) {
			fprintf(stderr, "  %s: %s\n", dicts[i], err);
			continue;
		}
		CHECK_INT(ds_ncols(d), 1);
		check_column(d, 0, want, 4);
		ds_free(d);
	}
	/* Recognised by the magic, whatever the name. */
	d = NULL;
	CHECK_INT(fx_load(fx, "data.bin", file, npy_build(file, 3, dicts[0],
							  data, 32), &d, err),
		  0);
	ds_free(d);
}

static void expect_npy_fail(struct fx *fx, int major, const char *dict,
			    size_t dlen, const char *want)
{
	unsigned char file[NPY_MAX], data[512] = { 0 };

	expect_fail(fx, "bad.npy", file, npy_build(file, major, dict, data,
						   dlen), -EINVAL, want);
}

static void test_npy_errors(struct fx *fx)
{
	static const char head[] = "\x93NUMPY\x01\x00\x40\x00{'descr'";
	unsigned char file[NPY_MAX];

	expect_npy_fail(fx, 1, "{'descr': '<f8', 'fortran_order': False, "
			"'shape': (3, 2), }", 40,
			"offset 128: truncated data: need 48 bytes, have 40");
	expect_npy_fail(fx, 1, "{'descr': '|O', 'fortran_order': False, "
			"'shape': (3,), }", 24,
			"offset 20: dtype '|O' is an object array");
	expect_npy_fail(fx, 2, "{'descr': '<c16', 'fortran_order': False, "
			"'shape': (3,), }", 24, "unsupported dtype '<c16'");
	expect_npy_fail(fx, 1, "{'descr': [('a', [('b', '<f8')])], "
			"'fortran_order': False, 'shape': (3,), }", 24,
			"nested structured dtype not supported");
	expect_npy_fail(fx, 1, "{'descr': '<f8', 'fortran_order': False, "
			"'shape': (2, 2, 2), }", 64, "3-D array not supported");
	expect_npy_fail(fx, 1, "{'descr': '<f8', 'fortran_order': False, "
			"'shape': (), }", 8, "scalar arrays are not supported");
	expect_npy_fail(fx, 1, "{'descr': '<f8', 'fortran_order': False, "
			"'shape': (0,), }", 0, "no data rows");
	expect_npy_fail(fx, 1, "{'descr': '<f8', 'fortran_order': False, "
			"'shape': (3, 0), }", 0, "no data columns");
	expect_npy_fail(fx, 1, "{'descr': '<f8', 'fortran_order': False, "
			"'shape': (4611686018427387904, 4), }", 64,
			"too large");
	expect_npy_fail(fx, 1, "{'descr': '<f8', 'fortran_order': False, "
			"'shape': (3074457345618258603, 3), }", 64,
			"too large");
	expect_npy_fail(fx, 1, "{'descr': '<f8', 'fortran_order': False, "
			"'shape': (99999999999999999999999,), }", 64,
			"shape dimension too large");
	expect_npy_fail(fx, 1, "{'descr': '<f8', 'fortran_order': 0, "
			"'shape': (3,), }", 24, "fortran_order is not True");
	expect_npy_fail(fx, 1, "{'descr': '<f8', 'shape': (3,), }", 24,
			"missing key 'fortran_order'");
	expect_npy_fail(fx, 1, "{'descr': '<f8', 'descr': '<f8', "
			"'fortran_order': False, 'shape': (3,), }", 24,
			"offset 27: duplicate key 'descr'");
	expect_npy_fail(fx, 1, "{'descr': '<f8', 'fortran_order': False, "
			"'shape': (3,), 'x': 1}", 24, "unexpected key 'x'");
	expect_npy_fail(fx, 1, "{'descr': '<f8', 'fortran_order': False, "
			"'shape': (3,)} junk", 24,
			"text after the header dict");
	expect_npy_fail(fx, 1, "{'descr': '<f8', 'fortran_order': False, "
			"'shape': (3,) 'x'}", 24, "expected ',' or '}'");
	expect_npy_fail(fx, 1, "{'descr': '<f8', 'fortran_order': False, "
			"'shape': (3 4)}", 24, "bad shape");
	expect_npy_fail(fx, 1, "{'descr: '<f8'}", 24, "expected ':'");
	expect_npy_fail(fx, 1, "['descr']", 24, "offset 10: expected '{'");

	expect_fail(fx, "x.npy", "1,2\n", 4, -EINVAL,
		    "offset 0: bad .npy magic");
	expect_fail(fx, "x.npy", "", 0, -EINVAL, "offset 0: bad .npy magic");
	expect_fail(fx, "t.npy", "\x93NUMPY\x01", 7, -EINVAL,
		    "offset 7: truncated header");
	expect_fail(fx, "t.npy", "\x93NUMPY\x02\x00\x10\x00", 10, -EINVAL,
		    "offset 10: truncated header");
	expect_fail(fx, "t.npy", "\x93NUMPY\x04\x00\x10\x00", 10, -EINVAL,
		    "offset 6: unsupported .npy version 4.0");
	expect_fail(fx, "t.npy", head, sizeof(head) - 1, -EINVAL,
		    "offset 8: header length 64 runs past the end");
	memcpy(file, head, sizeof(head));
	file[8] = 7;
	expect_fail(fx, "t.npy", file, sizeof(head) - 1, -EINVAL,
		    "offset 11: bad string literal");
}

/* ---- Robustness -------------------------------------------------------- */

/* Loads a damaged file: either it loads, or it fails with a message. */
static void load_any(struct fx *fx, const char *name, const void *bytes,
		     size_t len)
{
	char err[DS_ERR_MAX] = "";
	ds *d = NULL;
	int rc = fx_load(fx, name, bytes, len, &d, err);

	if (rc == 0) {
		CHECK(d != NULL && ds_nrows(d) > 0 && ds_ncols(d) > 0);
	} else {
		CHECK(d == NULL);
		CHECK(strncmp(err, fx->path, strlen(fx->path)) == 0);
	}
	ds_free(d);
}

static void mutate(unsigned char *p, size_t len)
{
	static const char bytes[] = ",\"\r\n \t0.e-(x'\x93";

	for (int n = 1 + rand() % 3; n > 0; n--)
		p[(size_t)rand() % len] = rand() % 2 ?
			(unsigned char)bytes[rand() % (sizeof(bytes) - 1)] :
			(unsigned char)rand();
}

static void test_fuzz(struct fx *fx)
{
	static const char csv[] = "a,\"b\"\"c\", d\r\n1,2.5,-3e2\r\n"
				  "\"4\",nan, 6\n\n7,8,9";
	unsigned char file[NPY_MAX], copy[NPY_MAX], data[48];
	size_t len;

	for (int i = 0; i < 6; i++)
		npy_put(data + 8 * i, ">f8", i);
	len = npy_build(file, 1, "{'descr': '>f8', 'fortran_order': True, "
			"'shape': (3, 2), }", data, 48);
	for (size_t n = 0; n <= len; n++)
		load_any(fx, "cut.npy", file, n);
	srand(1);
	for (int i = 0; i < 3000; i++) {
		memcpy(copy, file, len);
		mutate(copy, len);
		load_any(fx, "fuzz.npy", copy, len);
		memcpy(copy, csv, sizeof(csv) - 1);
		mutate(copy, sizeof(csv) - 1);
		load_any(fx, "fuzz.csv", copy, sizeof(csv) - 1);
	}
}

/* ---- Files, digests, the demo ------------------------------------------ */

static void test_unreadable(struct fx *fx)
{
	char err[DS_ERR_MAX], deep[700];
	ds *d = NULL;

	CHECK_INT(ds_load(fx->dir, &d, err, sizeof(err)), -EISDIR);
	CHECK(strncmp(err, fx->dir, strlen(fx->dir)) == 0);
	CHECK(strstr(err, "directory") != NULL);
	CHECK_INT(ds_load(fx_path(fx, "missing.csv"), &d, err, sizeof(err)),
		  -ENOENT);
	snprintf(deep, sizeof(deep), "%s: No such file or directory",
		 fx->path);
	CHECK_STR(err, deep);
	CHECK_INT(ds_load("/dev/null", &d, err, sizeof(err)), -EINVAL);
	CHECK(d == NULL);

	/* An overlong path loses its start, not the message's end. */
	memset(deep, 'x', sizeof(deep) - 1);
	deep[sizeof(deep) - 1] = '\0';
	CHECK_INT(ds_load(deep, &d, err, sizeof(err)), -ENAMETOOLONG);
	CHECK(strncmp(err, "...xxx", 6) == 0);
	CHECK(strstr(err, ": File name too long") != NULL);
	CHECK_INT(ds_load(deep, &d, err, 8), -ENAMETOOLONG);
	CHECK_INT(strlen(err), 7);
	CHECK_INT(ds_load(deep, &d, NULL, 0), -ENAMETOOLONG);
}

static void digest_of(const void *bytes, size_t len, uint8_t *out)
{
	XXH128_canonical_t c;

	XXH128_canonicalFromHash(&c, XXH3_128bits(bytes, len));
	memcpy(out, c.digest, DS_DIGEST_LEN);
}

static void test_digest(struct fx *fx)
{
	static const char a[] = "x,y\n1,2\n", b[] = "x,y\n1,3\n";
	uint8_t want[DS_DIGEST_LEN];
	ds *d1 = load_ok(fx, "d1.csv", a), *d2 = load_ok(fx, "d2.csv", a);
	ds *d3 = load_ok(fx, "d3.csv", b);

	if (d1 && d2 && d3) {
		digest_of(a, strlen(a), want);
		CHECK(memcmp(ds_digest(d1), want, DS_DIGEST_LEN) == 0);
		CHECK(memcmp(ds_digest(d1), ds_digest(d2), DS_DIGEST_LEN) == 0);
		CHECK(memcmp(ds_digest(d1), ds_digest(d3), DS_DIGEST_LEN) != 0);
	}
	ds_free(d1);
	ds_free(d2);
	ds_free(d3);
}

static void test_demo(void)
{
	size_t len = 10000 * 4 * 8;
	unsigned char *bytes = malloc(len);
	uint8_t want[DS_DIGEST_LEN];
	ds *d = NULL;

	CHECK_INT(ds_demo(&d), 0);
	if (!d || !bytes)
		goto out_free;
	CHECK_INT(ds_nrows(d), 10000);
	CHECK_INT(ds_ncols(d), 4);
	CHECK_STR(ds_name(d), "demo");
	CHECK(ds_colname(d, 0) == NULL);
	CHECK(ds_column(d, 0)[0] == 0.4967141530112327);
	CHECK(ds_column(d, 1)[0] == -0.13826430117118466);
	CHECK(ds_column(d, 0)[1] == -0.23415337472333597);
	CHECK(ds_column(d, 3)[9999] == 0.355974387725798);
	for (size_t i = 0; i < 10000; i++)
		for (size_t j = 0; j < 4; j++)
			npy_put(bytes + 8 * (4 * i + j), "<f8",
				ds_column(d, j)[i]);
	digest_of(bytes, len, want);
	CHECK(memcmp(ds_digest(d), want, DS_DIGEST_LEN) == 0);
out_free:
	ds_free(d);
	free(bytes);
}

static double seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Not an assertion: prints how long a 1e6 x 4 CSV takes to load, its
 * values printed with 17 significant digits (the slow case for strtod) or
 * with 6 decimals. */
static void time_big_csv(struct fx *fx, int digits17)
{
	const char *path = fx_path(fx, "big.csv");
	FILE *f = fopen(path, "w");
	char err[DS_ERR_MAX];
	ds *d = NULL;
	double t;

	if (!f)
		return;
	fprintf(f, "a,b,c,d\n");
	srand(3);
	for (int i = 0; i < 1000000; i++)
		for (int j = 0; j < 4; j++) {
			double v = (rand() - RAND_MAX / 2.0) / 1e9;

			if (digits17)
				fprintf(f, "%.17g%c", v, j == 3 ? '\n' : ',');
			else
				fprintf(f, "%.6f%c", v, j == 3 ? '\n' : ',');
		}
	fclose(f);
	t = seconds();
	CHECK_INT(ds_load(path, &d, err, sizeof(err)), 0);
	t = seconds() - t;
	if (d)
		printf("ds: 1e6 x 4 CSV (%s values) loaded in %.3f s\n",
		       digits17 ? "%.17g" : "%.6f", t);
	ds_free(d);
	unlink(path);
}

int main(void)
{
	struct fx fx;

	strcpy(fx.dir, "/tmp/memofs-test-ds-XXXXXX");
	if (!mkdtemp(fx.dir)) {
		perror("mkdtemp");
		return 2;
	}
	test_csv_header(&fx);
	test_csv_plain(&fx);
	test_csv_quotes(&fx);
	test_csv_lines(&fx);
	test_csv_special(&fx);
	test_csv_out_of_range(&fx);
	test_csv_one_column(&fx);
	test_csv_errors(&fx);
	test_csv_huge_field(&fx);
	test_csv_numbers(&fx);
	test_npy_types(&fx);
	test_npy_headers(&fx);
	test_npy_errors(&fx);
	test_fuzz(&fx);
	test_unreadable(&fx);
	test_digest(&fx);
	test_demo();
	if (!getenv("DS_TEST_QUICK")) {
		time_big_csv(&fx, 1);
		time_big_csv(&fx, 0);
	}
	nftw(fx.dir, tmp_rm_entry, 8, FTW_DEPTH | FTW_PHYS);
	return check_report("ds");
}
