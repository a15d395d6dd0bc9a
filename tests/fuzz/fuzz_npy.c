/* fuzz_npy.c -- libFuzzer target: ds_load() on arbitrary bytes as a .npy.
 *
 * The first input byte picks how the rest becomes a file, so that every
 * layer of the parser is reached:
 *   mode 0  the rest as is, named *.npy (no magic: refused by suffix)
 *   mode 1  the magic "\x93NUMPY", then the rest
 *   mode 2  the magic, version 1.0 and a header length that ends the header
 *           at the rest's first '\n': the dict parser sees the rest
 *   mode 3  a header built as numpy writes it from the next bytes (dtype,
 *           order, shape, version), then the rest as the data; the result
 *           must load exactly when the data is long enough and the shape
 *           non-empty, and every value must be what the reference decoder
 *           below reads from the bytes, bit for bit
 * Bit 2 of the first byte names modes 1 to 3 *.dat instead of *.npy (the
 * magic, not the name, decides; a mode 3 input too short for its four
 * bytes is written as is, so a *.dat one is read as a CSV).  Bits 3 to 7,
 * when not all 0, make ds.c read the file in chunks of 3 to 93 bytes (on
 * two threads), so that chunks split rows, records and columns.  Every load
 * passes fz_check_table(), every refusal fz_check_refusal().
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/ds.h"
#include "data/ds_impl.h"
#include "fuzz_ds.h"
#include "fuzz_util.h"
#include "util/log.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAGIC "\x93NUMPY"
#define MAGIC_LEN 6
#define HDR_MAX 256		/* room for a mode 3 preamble and header */

/* A mode 3 array: what the header says. */
struct arr {
	char order;		/* '<', '>', '=' or '|' */
	char kind;		/* 'b', 'i', 'u' or 'f' */
	size_t size;		/* 1, 2, 4 or 8 */
	int fortran;
	int ndim;		/* 1 or 2 */
	size_t rows, cols;
	int version;		/* 1, 2 or 3 */
};

static void arr_from_bytes(struct arr *a, const uint8_t *b)
{
	static const char *const types[] = {
		"b1", "i1", "i2", "i4", "i8", "u1", "u2", "u4", "u8", "f2",
		"f4", "f8",
	};
	static const char orders[] = "<>=";
	const char *t = types[b[0] % 12];

	a->kind = t[0];
	a->size = (size_t)(t[1] - '0');
	a->order = a->size == 1 && (b[0] / 12) % 2 ? '|'
		   : orders[(b[0] / 12) % 3];
	a->fortran = b[1] & 1;
	a->ndim = (b[1] >> 1) % 2 + 1;
	a->version = (b[1] >> 2) % 3 + 1;
	a->rows = b[2] % 17;		/* 0: a refused empty shape */
	a->cols = a->ndim == 2 ? b[3] % 9 : 1;
}

/* Writes the preamble and header numpy would write for a (the dict, padded
 * with spaces and a '\n' to a multiple of 64 bytes); returns its length. */
static size_t arr_header(const struct arr *a, uint8_t *out)
{
	char dict[HDR_MAX], shape[64];
	size_t pre = a->version == 1 ? 10 : 12, dlen, total;
	int n;

	if (a->ndim == 1)
		snprintf(shape, sizeof(shape), "(%zu,)", a->rows);
	else
		snprintf(shape, sizeof(shape), "(%zu, %zu)", a->rows, a->cols);
	n = snprintf(dict, sizeof(dict), "{'descr': '%c%c%zu', "
		     "'fortran_order': %s, 'shape': %s, }", a->order, a->kind,
		     a->size, a->fortran ? "True" : "False", shape);
	FZ_CHECK(n > 0 && (size_t)n < sizeof(dict));
	dlen = (size_t)n;
	total = (pre + dlen + 1 + 63) / 64 * 64;
	FZ_CHECK(total <= HDR_MAX);
	memcpy(out, MAGIC, MAGIC_LEN);
	out[6] = (uint8_t)a->version;
	out[7] = 0;
	dlen = total - pre;		/* header length, '\n' included */
	out[8] = (uint8_t)dlen;
	out[9] = (uint8_t)(dlen >> 8);
	if (pre == 12) {
		out[10] = 0;
		out[11] = 0;
	}
	memcpy(out + pre, dict, (size_t)n);
	memset(out + pre + n, ' ', dlen - (size_t)n - 1);
	out[total - 1] = '\n';
	return total;
}

/* The reference decoder: element k of the data as a double. */
static double arr_value(const struct arr *a, const uint8_t *p)
{
	int big = __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__;
	int file_big = a->order == '>' || (a->order == '=' && big);
	uint64_t u = 0;

	for (size_t k = 0; k < a->size; k++) {
		size_t at = file_big ? k : a->size - 1 - k;

		u = u << 8 | p[at];
	}
	if (a->kind == 'b')
		return u != 0;
	if (a->kind == 'u')
		return (double)u;
	if (a->kind == 'f' && a->size == 2) {
		int e = (int)(u >> 10) & 0x1f, m = (int)(u & 0x3ff);
		double v = e == 0 ? ldexp(m, -24) : e == 31 ?
			(m ? NAN : INFINITY) : ldexp(m + 1024, e - 25);

		return u >> 15 ? -v : v;
	}
	if (a->kind == 'f' && a->size == 8) {
		double d;

		memcpy(&d, &u, 8);
		return d;
	}
	if (a->kind == 'f') {
		uint32_t u32 = (uint32_t)u;
		float f;

		memcpy(&f, &u32, 4);
		return f;
	}
	if (a->size == 1)
		return (int8_t)(uint8_t)u;
	if (a->size == 2)
		return (int16_t)(uint16_t)u;
	if (a->size == 4)
		return (int32_t)(uint32_t)u;
	return (double)(int64_t)u;
}

static void arr_check(const struct arr *a, const ds *d, const uint8_t *data)
{
	FZ_CHECK(ds_nrows(d) == a->rows && ds_ncols(d) == a->cols);
	for (size_t j = 0; j < a->cols; j++)
		for (size_t i = 0; i < a->rows; i++) {
			size_t k = a->fortran ? j * a->rows + i
					      : i * a->cols + j;
			double v = arr_value(a, data + k * a->size);

			double got = ds_column(d, j)[i];

			/* float16 NaNs widen to the default NaN */
			FZ_CHECK(fz_same_bits(got, v) ||
				 (isnan(got) && isnan(v)));
		}
}

static size_t fz_default_chunk;	/* ds.c's, kept before any change */

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fz_default_chunk = ds_chunk_bytes;
	log_init(0, LOG_LVL_ERROR);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t errlen = fz_pick_errlen(data, size), len = 0;
	int mode, structured = 0, is_npy;
	enum fz_name name;
	const char *path;
	char err[DS_ERR_MAX];
	struct arr a = { 0 };
	uint8_t *buf;
	ds *d = NULL;
	int rc;

	if (size < 1)
		return 0;
	mode = data[0] % 4;
	ds_chunk_bytes = data[0] >> 3 ? (size_t)(data[0] >> 3) * 3
				      : fz_default_chunk;
	name = mode != 0 && (data[0] & 4) ? FZ_DAT : FZ_NPY;
	data++;
	size--;
	buf = malloc(size + HDR_MAX);
	FZ_CHECK(buf != NULL);
	if (mode == 1 || mode == 2) {
		memcpy(buf, MAGIC, MAGIC_LEN);
		len = MAGIC_LEN;
	}
	if (mode == 2) {
		const uint8_t *nl = memchr(data, '\n', size);
		size_t hlen = nl ? (size_t)(nl - data) + 1 : size;

		buf[len++] = 1;
		buf[len++] = 0;
		buf[len++] = (uint8_t)hlen;
		buf[len++] = (uint8_t)(hlen >> 8);
	}
	if (mode == 3 && size >= 4) {
		arr_from_bytes(&a, data);
		data += 4;
		size -= 4;
		len = arr_header(&a, buf);
		structured = 1;
	}
	memcpy(buf + len, data, size);
	len += size;

	is_npy = len >= MAGIC_LEN && memcmp(buf, MAGIC, MAGIC_LEN) == 0;
	path = fz_write(buf, len, name);
	memset(err, 'x', sizeof(err));
	rc = ds_load(path, &d, errlen ? err : NULL, errlen);
	if (structured)
		FZ_CHECK((rc == 0) == (a.rows > 0 && a.cols > 0 &&
				       a.rows * a.cols * a.size <= size));
	if (rc) {
		fz_check_refusal(rc, d, err, errlen);
	} else {
		/* 4 bytes a value in a .npy; a short mode 3 input named
		 * *.dat is a CSV, 2 bytes a value, maybe with names. */
		fz_check_table(d, buf, len, path, is_npy ? 1 : 0);
		/* names only for the fields of a structured dtype */
		FZ_CHECK(!is_npy || ds_colname(d, 0) == NULL ||
			 memchr(buf, '[', len) != NULL);
		if (structured)
			arr_check(&a, d, data);
	}
	ds_free(d);
	free(buf);
	return 0;
}
