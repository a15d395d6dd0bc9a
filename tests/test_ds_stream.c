/* test_ds_stream.c -- unit test of ds_load()'s streaming .npy load and
 * its two-thread whole-file read (ds.c, npy.c's plan, stream.c).
 *
 * .npy files of every layout npy.c reads (C order, Fortran order, 1-D,
 * structured with padding) and of many dtypes are built byte by byte here
 * from a formula, then loaded with chunks of many sizes (down to one
 * element, so chunks split rows and cross columns, on two threads), and
 * through the buffer feeder (the same file gzipped): every value, count,
 * kind and the digest (XXH3-128 of the file's bytes, in one call) must be
 * the formula's.  Then the refusals the streaming read adds: a file
 * truncated or changed between its header and its data (through
 * ds_test_after_header), a header longer than the first read, and no
 * memory for the columns (a child under RLIMIT_AS); a /proc file (size 0)
 * is still read to its end.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <xxhash.h>
#include <zlib.h>

#include "check.h"
#include "data/ds.h"
#include "data/ds_impl.h"
#include "tmpdir.h"

#define ROWS 1000
#define COLS 3
#define FILE_MAX (64u << 10)

struct fx {
	char dir[256];
	char path[300];
	unsigned char file[FILE_MAX];
	size_t len;
	size_t hdr_end;
};

/* A dtype: kind 'f', 'i', 'u' or 'b', size, big-endian. */
struct ty {
	char kind;
	size_t size;
	int big;
};

static struct fx fx;

/* The formula: row i of column j as the dtype can hold it; NaN now and
 * then in a float column. */
static double value(const struct ty *t, size_t i, size_t j)
{
	if (t->kind == 'b')
		return (i + j) % 3 != 0;
	if (t->kind == 'u')
		return (double)((i * 7 + j * 13) % 101);
	if (t->kind == 'f' && (i + j) % 17 == 0)
		return NAN;
	return (double)((long)((i * 7 + j * 13) % 101) - 50);
}

static void put(unsigned char *p, const struct ty *t, double v)
{
	unsigned char b[8];
	uint64_t u = 0;

	if (t->kind == 'f' && t->size == 4) {
		float f = (float)v;
		uint32_t u4;

		memcpy(&u4, &f, 4);
		u = u4;
	} else if (t->kind == 'f') {
		memcpy(&u, &v, 8);
	} else {
		u = (uint64_t)(int64_t)v;
	}
	for (size_t k = 0; k < t->size; k++)
		b[k] = (unsigned char)(u >> (8 * k));	/* little-endian */
	for (size_t k = 0; k < t->size; k++)
		p[k] = b[t->big ? t->size - 1 - k : k];
}

/* Starts fx.file with a version 2.0 preamble and dict, padded with blanks
 * to pad bytes at least (a multiple of 64). */
static void header(const char *dict, size_t pad)
{
	size_t hlen = strlen(dict) + 1;

	if (hlen + 12 < pad)
		hlen = pad - 12;
	hlen += (64 - (12 + hlen) % 64) % 64;
	if (12 + hlen > FILE_MAX)
		exit(2);
	memcpy(fx.file, "\x93NUMPY\x02\x00", 8);
	for (int k = 0; k < 4; k++)
		fx.file[8 + k] = (unsigned char)(hlen >> (8 * k));
	memset(fx.file + 12, ' ', hlen);
	memcpy(fx.file + 12, dict, strlen(dict));
	fx.file[12 + hlen - 1] = '\n';
	fx.hdr_end = fx.len = 12 + hlen;
}

static const char *descr(const struct ty *t, char *out)
{
	sprintf(out, "%c%c%zu", t->size == 1 ? '|' : t->big ? '>' : '<',
		t->kind, t->size);
	return out;
}

/* A 2-D (or 1-D when cols is 1) array of t, C or Fortran order. */
static void build_array(const struct ty *t, size_t cols, int fortran,
			size_t pad)
{
	char dict[160], d[8];

	if (cols == 1)
		snprintf(dict, sizeof(dict), "{'descr': '%s', 'fortran_order':"
			 " False, 'shape': (%d,), }", descr(t, d), ROWS);
	else
		snprintf(dict, sizeof(dict), "{'descr': '%s', 'fortran_order':"
			 " %s, 'shape': (%d, %zu), }", descr(t, d),
			 fortran ? "True" : "False", ROWS, cols);
	header(dict, pad);
	for (size_t k = 0; k < ROWS * cols; k++) {
		size_t i = fortran ? k % ROWS : k / cols;
		size_t j = fortran ? k / ROWS : k % cols;

		put(fx.file + fx.len, t, value(t, i, j));
		fx.len += t->size;
	}
}

/* The structured array's fields; the padding field after the first. */
static const struct ty rec[] = {
	{ 'f', 8, 0 }, { 'i', 2, 1 }, { 'u', 4, 0 }, { 'b', 1, 0 },
	{ 'f', 4, 1 },
};
#define NREC (sizeof(rec) / sizeof(*rec))
#define REC_PAD 3

static void build_records(void)
{
	header("{'descr': [('a', '<f8'), ('', '|V3'), ('b', '>i2'), "
	       "('c', '<u4'), ('d', '|b1'), ('e', '>f4')], "
	       "'fortran_order': False, 'shape': (1000,), }", 0);
	for (size_t i = 0; i < ROWS; i++)
		for (size_t j = 0; j < NREC; j++) {
			if (j == 1) {
				memset(fx.file + fx.len, 0xee, REC_PAD);
				fx.len += REC_PAD;
			}
			put(fx.file + fx.len, &rec[j], value(&rec[j], i, j));
			fx.len += rec[j].size;
		}
}

static const char *write_file(const char *name, int gz)
{
	snprintf(fx.path, sizeof(fx.path), "%s/%s", fx.dir, name);
	if (gz) {
		gzFile g = gzopen(fx.path, "wb");

		if (!g || gzwrite(g, fx.file, (unsigned)fx.len) !=
			  (int)fx.len || gzclose(g) != Z_OK)
			exit(2);
	} else {
		FILE *f = fopen(fx.path, "wb");

		if (!f || fwrite(fx.file, 1, fx.len, f) != fx.len ||
		    fclose(f) != 0)
			exit(2);
	}
	return fx.path;
}

/* Loads fx.file (as is, or gzipped; with its digest, or none) and checks
 * it against the formula: column j's dtype is types[structured ? j : 0]. */
static void check_load(const struct ty *types, size_t cols, int structured,
		       int gz, int no_digest, const char *what)
{
	const char *path = write_file(gz ? "a.npy.gz" : "a.npy", gz);
	struct ds_opts o = DS_OPTS_INIT;
	static const uint8_t zero[DS_DIGEST_LEN];
	char err[DS_ERR_MAX];
	XXH128_canonical_t c;
	ds *d = NULL;
	int rc, bad = 0;

	o.no_digest = no_digest;
	rc = ds_load_opts(path, &o, &d, err, sizeof(err));

	CHECK_INT(rc, 0);
	if (rc) {
		fprintf(stderr, "  %s: %s\n", what, err);
		return;
	}
	CHECK_INT(ds_nrows(d), ROWS);
	CHECK_INT(ds_ncols(d), cols);
	XXH128_canonicalFromHash(&c, XXH3_128bits(fx.file, fx.len));
	CHECK(memcmp(ds_digest(d), no_digest ? zero : c.digest,
		     DS_DIGEST_LEN) == 0);
	for (size_t j = 0; j < cols && j < ds_ncols(d); j++) {
		const struct ty *t = &types[structured ? j : 0];
		size_t present = 0;

		CHECK_INT(ds_col_kind(d, j), t->kind == 'f' ? DS_FLOAT64
							   : DS_INT64);
		for (size_t i = 0; i < ROWS; i++) {
			double want = value(t, i, j), got = ds_column(d, j)[i];

			present += !isnan(want);
			if (!(got == want || (isnan(got) && isnan(want))))
				bad++;
			if (t->kind != 'f' &&
			    (!ds_column_int64(d, j) ||
			     (double)ds_column_int64(d, j)[i] != want))
				bad++;
		}
		CHECK_INT(ds_count(d, j), present);
	}
	CHECK_INT(bad, 0);
	if (bad)
		fprintf(stderr, "  %s: %d values differ\n", what, bad);
	ds_free(d);
}

static const size_t chunk_sizes[] = { (size_t)1 << 20, 1, 8, 24, 64, 1000 };
#define NCHUNKS (sizeof(chunk_sizes) / sizeof(*chunk_sizes))

static void test_layouts(void)
{
	static const struct ty types[] = {
		{ 'f', 8, 0 }, { 'f', 8, 1 }, { 'f', 4, 0 }, { 'i', 8, 0 },
		{ 'i', 8, 1 }, { 'i', 4, 1 }, { 'i', 2, 0 }, { 'i', 1, 0 },
		{ 'u', 8, 0 }, { 'u', 2, 1 }, { 'b', 1, 0 },
	};
	char what[96], d[8];

	for (size_t c = 0; c < NCHUNKS; c++) {
		ds_chunk_bytes = chunk_sizes[c];
		for (size_t k = 0; k < sizeof(types) / sizeof(*types); k++)
			for (int layout = 0; layout < 3; layout++) {
				size_t cols = layout == 2 ? 1 : COLS;

				build_array(&types[k], cols, layout == 1, 0);
				snprintf(what, sizeof(what), "%s layout %d "
					 "chunk %zu", descr(&types[k], d),
					 layout, ds_chunk_bytes);
				check_load(&types[k], cols, 0, 0, 0, what);
				if (c == 2) {	/* the buffer feeder */
					check_load(&types[k], cols, 0, 1, 0,
						   what);
					check_load(&types[k], cols, 0, 1, 1,
						   what);
				}
				if (c < 3)	/* no digest: the same values */
					check_load(&types[k], cols, 0, 0, 1,
						   what);
			}
		build_records();
		snprintf(what, sizeof(what), "records chunk %zu",
			 ds_chunk_bytes);
		check_load(rec, NREC, 1, 0, 0, what);
		check_load(rec, NREC, 1, 0, 1, what);
		if (c == 2)
			check_load(rec, NREC, 1, 1, 0, what);
	}
	ds_chunk_bytes = chunk_sizes[0];
}

/* A uint64 column with a value above INT64_MAX is float64, whichever
 * chunk (and thread) meets that value. */
static void test_uint64_over(void)
{
	static const struct ty u8 = { 'u', 8, 0 };
	char err[DS_ERR_MAX];
	ds *d = NULL;

	ds_chunk_bytes = 64;
	build_array(&u8, 1, 0, 0);
	fx.file[fx.hdr_end + 8 * 900 + 7] = 0x80;	/* row 900: 2^63 + v */
	CHECK_INT(ds_load(write_file("u.npy", 0), &d, err, sizeof(err)), 0);
	if (d) {
		CHECK_INT(ds_col_kind(d, 0), DS_FLOAT64);
		CHECK(ds_column_int64(d, 0) == NULL);
		CHECK(ds_column(d, 0)[900] ==
		      9223372036854775808.0 + value(&u8, 900, 0));
		CHECK(ds_column(d, 0)[899] == value(&u8, 899, 0));
		CHECK_INT(ds_count(d, 0), ROWS);
	}
	ds_free(d);
	ds_chunk_bytes = chunk_sizes[0];
}

/* A header longer than ds.c's first read (4 KiB). */
static void test_long_header(void)
{
	static const struct ty f8 = { 'f', 8, 0 };

	build_array(&f8, COLS, 0, 5000);
	CHECK(fx.hdr_end > 4096);
	check_load(&f8, COLS, 0, 0, 0, "long header");
	check_load(&f8, COLS, 0, 0, 1, "long header, no digest");
}

/* ---- Files that change while read -------------------------------------- */

static off_t hook_size;		/* the size the hook truncates to */
static int hook_grow;		/* or: append bytes */
static int hook_touch;		/* or: change the modification time */

static void hook(const char *path)
{
	int fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);

	CHECK(fd >= 0);
	if (fd < 0)
		return;
	if (hook_grow)
		CHECK_INT(write(fd, "12345678", 8), 8);
	else if (hook_touch)
		CHECK_INT(futimens(fd, (struct timespec[2]){
			{ 0, UTIME_OMIT }, { 1, 0 } }), 0);
	else
		CHECK_INT(ftruncate(fd, hook_size), 0);
	close(fd);
}

static void expect_refusal(const char *what, const char *want)
{
	char err[DS_ERR_MAX] = "";
	ds *d = NULL;
	int rc = ds_load(write_file("t.npy", 0), &d, err, sizeof(err));

	CHECK_INT(rc, -EIO);
	CHECK(d == NULL);
	CHECK(strncmp(err, fx.path, strlen(fx.path)) == 0);
	CHECK(strstr(err, want) != NULL);
	if (rc != -EIO || !strstr(err, want))
		fprintf(stderr, "  %s: got \"%s\", wanted \"%s\"\n", what, err,
			want);
	ds_free(d);
}

static void test_changed(void)
{
	static const struct ty f8 = { 'f', 8, 0 };

	ds_test_after_header = hook;
	for (int fortran = 0; fortran < 2; fortran++)
		for (size_t c = 0; c < NCHUNKS; c += 2) {
			ds_chunk_bytes = chunk_sizes[c];
			build_array(&f8, COLS, fortran, 0);
			hook_grow = hook_touch = 0;
			hook_size = (off_t)fx.hdr_end + 100;
			expect_refusal("truncated", "the file ended before");
			hook_size = 0;
			expect_refusal("emptied", "the file ended before");
			hook_grow = 1;
			expect_refusal("grown", "changed while being read");
			hook_grow = 0;
			hook_touch = 1;
			expect_refusal("touched", "changed while being read");
			hook_touch = 0;
		}
	ds_test_after_header = NULL;
	ds_chunk_bytes = chunk_sizes[0];
}

/* ---- CSV: the two-thread whole-file read ------------------------------- */

static void test_csv(void)
{
	static const uint8_t zero[DS_DIGEST_LEN];
	struct ds_opts o = DS_OPTS_INIT;
	char err[DS_ERR_MAX];
	ds *d = NULL;

	o.no_digest = 1;
	fx.len = (size_t)sprintf((char *)fx.file, "a,b\n");
	for (int i = 0; i < 2000; i++)
		fx.len += (size_t)sprintf((char *)fx.file + fx.len,
					  "%d,%d.5\n", i, -i);
	for (size_t c = 0; c < NCHUNKS; c++) {
		XXH128_canonical_t h;

		ds_chunk_bytes = chunk_sizes[c];
		CHECK_INT(ds_load(write_file("a.csv", 0), &d, err,
				  sizeof(err)), 0);
		if (!d)
			continue;
		XXH128_canonicalFromHash(&h, XXH3_128bits(fx.file, fx.len));
		CHECK(memcmp(ds_digest(d), h.digest, DS_DIGEST_LEN) == 0);
		CHECK_INT(ds_nrows(d), 2000);
		CHECK(ds_column(d, 0)[1999] == 1999);
		CHECK(ds_column(d, 1)[1999] == -1999.5);
		ds_free(d);
		d = NULL;
		/* Without the digest: the same table, a zero digest. */
		CHECK_INT(ds_load_opts(write_file(c % 2 ? "a.csv.gz" : "a.csv",
						  c % 2), &o, &d, err,
				       sizeof(err)), 0);
		if (!d)
			continue;
		CHECK(memcmp(ds_digest(d), zero, DS_DIGEST_LEN) == 0);
		CHECK_INT(ds_nrows(d), 2000);
		CHECK(ds_column(d, 1)[1999] == -1999.5);
		ds_free(d);
		d = NULL;
	}
	ds_chunk_bytes = chunk_sizes[0];
}

/* A regular file whose size says 0 but that holds bytes (/proc's) is
 * read to its end, as a pipe. */
static void test_proc_file(void)
{
	char err[DS_ERR_MAX];
	ds *d = NULL;
	int rc = ds_load("/proc/self/statm", &d, err, sizeof(err));

	CHECK_INT(rc, 0);
	if (rc)
		fprintf(stderr, "  /proc/self/statm: %s\n", err);
	if (d) {
		CHECK_INT(ds_nrows(d), 1);
		CHECK_INT(ds_ncols(d), 7);
	}
	ds_free(d);
}

/* ---- No memory for the columns ----------------------------------------- */

/* In a child whose address space has 16 MiB to spare, a 64 MiB array
 * cannot get its columns: -ENOMEM with a message.  (Not under ASan or
 * TSan, whose shadow memory needs the address space.) */
static void test_no_memory(void)
{
#if !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
	size_t rows = (size_t)8 << 20;
	char dict[128], err[DS_ERR_MAX];
	const char *path;
	int status = 0;
	pid_t pid;
	FILE *f;

	snprintf(dict, sizeof(dict), "{'descr': '<f8', 'fortran_order': "
		 "False, 'shape': (%zu,), }", rows);
	header(dict, 0);
	path = write_file("big.npy", 0);
	f = fopen(path, "ab");
	CHECK(f && fseeko(f, 0, SEEK_END) == 0 &&
	      ftruncate(fileno(f), (off_t)(fx.len + rows * 8)) == 0);
	if (f)
		fclose(f);
	pid = fork();
	if (pid == 0) {
		long pages = 0;
		FILE *s = fopen("/proc/self/statm", "r");
		struct rlimit rl;
		ds *d = NULL;
		int rc;

		if (!s || fscanf(s, "%ld", &pages) != 1)
			_exit(3);
		fclose(s);
		rl.rlim_cur = rl.rlim_max = (rlim_t)pages * 4096 +
					    ((rlim_t)16 << 20);
		if (setrlimit(RLIMIT_AS, &rl) != 0)
			_exit(3);
		rc = ds_load(path, &d, err, sizeof(err));
		if (rc != -ENOMEM || !strstr(err, "Cannot allocate memory")) {
			fprintf(stderr, "  no memory: %d \"%s\"\n", rc, err);
			_exit(1);
		}
		_exit(0);
	}
	CHECK(pid > 0 && waitpid(pid, &status, 0) == pid);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
#endif
}

int main(void)
{
	if (tmp_dir(fx.dir, sizeof(fx.dir), "memofs-test-ds-stream") != 0) {
		perror("mkdtemp");
		return 2;
	}
	test_layouts();
	test_uint64_over();
	test_long_header();
	test_changed();
	test_csv();
	test_proc_file();
	test_no_memory();
	rm_tree(fx.dir);
	return check_report("ds_stream");
}
