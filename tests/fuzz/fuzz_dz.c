/* fuzz_dz.c -- libFuzzer target: decompress.c's dz_unpack_limit() on
 * arbitrary bytes behind each compression magic, then the CSV loader on
 * what comes out.
 *
 * The first input byte picks a magic (gzip, bzip2, xz, zstd, or none) and
 * a small output limit; the rest follows the magic.  A refusal must be a
 * negative errno with a one-line message and leave the input untouched; an
 * output must be NUL-terminated and within the limit.  Real compressed
 * inputs come from the seed corpus (tests/fuzz/corpus/dz/: the same
 * table in each format, made by gzip, bzip2, xz and zstd).
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "data/ds_impl.h"
#include "fuzz_util.h"
#include "util/log.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct {
	const char *magic;
	size_t len;
} fz_magics[] = {
	{ "\x1f\x8b", 2 }, { "BZh9", 4 }, { "\xfd" "7zXZ\0", 6 },
	{ "\x28\xb5\x2f\xfd", 4 }, { "", 0 },
};
#define FZ_NMAGICS (sizeof(fz_magics) / sizeof(fz_magics[0]))

/* Does the input after "BZh9" start a bzip2 stream: the first block's
 * magic or the end of stream's (decompress.c's rule)?  Without one the
 * bytes are taken as text, like any other input without a magic. */
static int fz_bzip2_framed(const uint8_t *data, size_t size)
{
	return size >= 6 && (memcmp(data, "\x31\x41\x59\x26\x53\x59", 6) == 0 ||
			     memcmp(data, "\x17\x72\x45\x38\x50\x90", 6) == 0);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	log_init(0, LOG_LVL_ERROR);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[DS_ERR_MAX], *buf;
	struct ds_msg m = { "in.dat", err, sizeof(err) };
	size_t k, len, limit;
	int rc;

	if (size < 1)
		return 0;
	k = data[0] % (FZ_NMAGICS + 1);	/* the last: the input as is */
	limit = (size_t)1 << (10 + (data[0] >> 4) % 10);	/* 1K..512K */
	data++;
	size--;
	len = (k < FZ_NMAGICS ? fz_magics[k].len : 0) + size;
	buf = malloc(len + 1);
	FZ_CHECK(buf != NULL);
	if (k < FZ_NMAGICS)
		memcpy(buf, fz_magics[k].magic, fz_magics[k].len);
	memcpy(buf + len - size, data, size);
	buf[len] = '\0';
	memset(err, 'x', sizeof(err));
	err[0] = '\0';
	rc = dz_unpack_limit(&m, &buf, &len, limit);
	if (rc) {
		FZ_CHECK(rc == -EINVAL || rc == -EFBIG || rc == -ENOMEM);
		FZ_CHECK(memchr(err, '\0', sizeof(err)) != NULL);
		FZ_CHECK(err[0] != '\0' && strchr(err, '\n') == NULL);
		FZ_CHECK(len == (k < FZ_NMAGICS ? fz_magics[k].len : 0) +
			 size);
	} else {
		FZ_CHECK(buf[len] == '\0');
		FZ_CHECK(len <= limit || k >= FZ_NMAGICS - 1 ||
			 (k == 1 && !fz_bzip2_framed(data, size)));
	}
	free(buf);
	return 0;
}
