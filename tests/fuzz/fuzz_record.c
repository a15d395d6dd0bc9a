/* fuzz_record.c -- libFuzzer target: memo_result_from_rec() on arbitrary
 * store records (engine/result.c), the check between a record that passed
 * its checksum and a result that is served.
 *
 * The input's first 4 bytes are the record's tag (little-endian), the rest
 * its data, placed 48 bytes into a malloc'd buffer as the store places it.
 * For a record taken as a result:
 *   - a typed one holds MEMO_NPY_HDR + 8 x count bytes, its header is the
 *     one memo_npy_header() writes, and 0-d means one value;
 *   - its .npy view is its bytes; its text view has one line per value
 *     (count newlines), and its values as doubles are count;
 *   - a bytes one (tag 0) has no .npy view.
 * Any other record must be refused with -EBADMSG, never crash or leak.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine/result.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_REC_OFF 48	/* where the store puts a record's data */

static void check_typed(memo_result *r)
{
	const void *view;
	const double *d;
	size_t len, n, lines = 0;
	uint8_t hdr[MEMO_NPY_HDR];

	FZ_CHECK(memo_result_len(r) ==
		    memo_npy_size(memo_result_count(r)));
	FZ_CHECK(memo_result_ndim(r) == 1 || memo_result_count(r) == 1);
	memo_npy_header(hdr, memo_result_dtype(r), memo_result_ndim(r),
			memo_result_count(r));
	FZ_CHECK(memcmp(hdr, memo_result_data(r), MEMO_NPY_HDR) == 0);
	FZ_CHECK(memo_result_view(r, MEMO_VIEW_NPY, &view, &len) == 0);
	FZ_CHECK(view == memo_result_data(r) &&
		    len == memo_result_len(r));
	FZ_CHECK(memo_result_view(r, MEMO_VIEW_TEXT, &view, &len) == 0);
	for (size_t i = 0; i < len; i++)
		lines += ((const char *)view)[i] == '\n';
	FZ_CHECK(lines == memo_result_count(r));
	FZ_CHECK(memo_result_f64_view(r, &d, &n) == 0);
	FZ_CHECK(n == memo_result_count(r));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	store_rec rec;
	memo_result *r = NULL;
	const void *view;
	size_t len;
	uint8_t *raw;
	int rc;

	if (size < 4)
		return 0;
	raw = malloc(FUZZ_REC_OFF + size - 4 + 1);
	if (!raw)
		return 0;
	memcpy(raw + FUZZ_REC_OFF, data + 4, size - 4);
	rec = (store_rec){
		.data = raw + FUZZ_REC_OFF, .len = size - 4, .raw = raw,
		.raw_malloced = 1,	/* malloc'd here, not RocksDB's */
		.tag = (uint32_t)data[0] | (uint32_t)data[1] << 8 |
		       (uint32_t)data[2] << 16 | (uint32_t)data[3] << 24,
	};
	rc = memo_result_from_rec(&rec, &r);	/* takes raw */
	FZ_CHECK(rc == 0 || rc == -EBADMSG);
	if (rc)
		return 0;
	FZ_CHECK(memo_result_tag(r) == rec.tag);
	if (memo_result_dtype(r) == MEMOFS_BYTES)
		FZ_CHECK(memo_result_view(r, MEMO_VIEW_NPY, &view, &len) ==
			    -ENOENT);
	else
		check_typed(r);
	memo_result_unref(r);
	return 0;
}
