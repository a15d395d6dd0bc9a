/* decompress.c -- compressed datasets: gzip, bzip2, xz and zstd files
 * undone in memory before parsing (ds_impl.h's dz_unpack()).
 *
 * The format is known by its magic, never by the file's name: gzip 1f 8b
 * (zlib), bzip2 "BZh1".."BZh9" and a block or end-of-stream magic
 * (libbz2), xz fd "7zXZ" 00 (liblzma), zstd
 * 28 b5 2f fd (libzstd).  Concatenated members, streams or frames are read
 * in turn, as gzip -d, bzip2 -d, xz -d and zstd -d do; bytes after the last
 * gzip or bzip2 member that do not start another are ignored (gzip warns
 * "trailing garbage ignored").  The output grows by doubling up to a limit
 * of DZ_MIN_LIMIT or DZ_RATIO times the compressed size, whichever is more:
 * real tables compress 3 to 20 times; a decompression bomb (a few KiB that
 * expand to gigabytes) stops there with -EFBIG instead of taking the
 * machine's memory.  Called from ds_load(), on the mounting thread.
 */
#include <bzlib.h>
#include <errno.h>
#include <limits.h>
#include <lzma.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>

#include "data/ds_impl.h"

#define DZ_FIRST (1u << 20)		/* first output buffer */
#define DZ_MAX (SIZE_MAX / 4)		/* never more than ds.c reads */

/* The output being written, NUL-terminated when done. */
struct dz_out {
	const struct ds_msg *m;
	const char *format;	/* "gzip" ... for messages */
	char *p;
	size_t len;		/* bytes written */
	size_t cap;		/* room, one byte kept for the NUL */
	size_t limit;		/* the most bytes allowed */
};

static int dz_too_big(const struct dz_out *o)
{
	return ds_fail(o->m, -EFBIG, "%s data expands beyond %zu bytes, the "
		       "limit for this file (a decompression bomb? else "
		       "decompress it first)", o->format, o->limit);
}

/* Makes room to write: *room bytes at o->p + o->len.  0, -EFBIG at the
 * limit, -ENOMEM. */
static int dz_room(struct dz_out *o, size_t *room)
{
	size_t cap;
	char *np;

	if (o->cap > 0 && o->cap - 1 > o->len) {
		*room = o->cap - 1 - o->len;
		return 0;
	}
	if (o->len > o->limit)
		return dz_too_big(o);
	cap = o->cap ? o->cap * 2 : DZ_FIRST;
	if (cap - 2 > o->limit)	/* a byte past the limit tells */
		cap = o->limit + 2;
	np = realloc(o->p, cap);
	if (!np)
		return ds_nomem(o->m);
	o->p = np;
	o->cap = cap;
	*room = o->cap - 1 - o->len;
	return 0;
}

static int dz_corrupt(const struct dz_out *o, const char *what)
{
	return ds_fail(o->m, -EINVAL, "%s data: %s", o->format, what);
}

/* ---- gzip -------------------------------------------------------------- */

static int dz_is_gzip(const unsigned char *b, size_t len)
{
	return len >= 2 && b[0] == 0x1f && b[1] == 0x8b;
}

static int dz_gzip(struct dz_out *o, const unsigned char *in, size_t len)
{
	z_stream z;
	size_t room;
	int zrc, rc = 0;

	memset(&z, 0, sizeof(z));
	if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK)
		return ds_nomem(o->m);
	for (;;) {
		rc = dz_room(o, &room);
		if (rc)
			break;
		z.next_in = (unsigned char *)(uintptr_t)in;
		z.avail_in = len > UINT_MAX ? UINT_MAX : (uInt)len;
		z.next_out = (unsigned char *)o->p + o->len;
		z.avail_out = room > UINT_MAX ? UINT_MAX : (uInt)room;
		zrc = inflate(&z, Z_NO_FLUSH);
		len -= (size_t)(z.next_in - in);
		in = z.next_in;
		o->len = (size_t)((char *)z.next_out - o->p);
		if (zrc == Z_STREAM_END) {
			if (!dz_is_gzip(in, len))
				break;		/* the last member */
			inflateReset(&z);
			continue;
		}
		if (zrc == Z_MEM_ERROR) {
			rc = ds_nomem(o->m);
			break;
		}
		if (zrc == Z_BUF_ERROR && len == 0) {
			rc = dz_corrupt(o, "truncated");
			break;
		}
		if (zrc != Z_OK && zrc != Z_BUF_ERROR) {
			rc = dz_corrupt(o, z.msg ? z.msg : "corrupt");
			break;
		}
	}
	inflateEnd(&z);
	return rc;
}

/* ---- bzip2 ------------------------------------------------------------- */

/* "BZh" and a block size '1'..'9', then the first block's magic
 * (0x314159265359, the digits of pi) or, for an empty stream, the end of
 * stream's (0x177245385090, of sqrt(pi)): bzip2's file format.  Four ASCII
 * bytes alone could start a CSV header ("BZh1,b"). */
static int dz_is_bzip2(const unsigned char *b, size_t len)
{
	static const unsigned char block[6] = { 0x31, 0x41, 0x59, 0x26,
						0x53, 0x59 };
	static const unsigned char end[6] = { 0x17, 0x72, 0x45, 0x38,
					      0x50, 0x90 };

	return len >= 10 && b[0] == 'B' && b[1] == 'Z' && b[2] == 'h' &&
	       b[3] >= '1' && b[3] <= '9' &&
	       (memcmp(b + 4, block, 6) == 0 || memcmp(b + 4, end, 6) == 0);
}

static int dz_bzip2(struct dz_out *o, const unsigned char *in, size_t len)
{
	bz_stream b;
	size_t room;
	int brc, rc = 0;

	memset(&b, 0, sizeof(b));
	if (BZ2_bzDecompressInit(&b, 0, 0) != BZ_OK)
		return ds_nomem(o->m);
	for (;;) {
		rc = dz_room(o, &room);
		if (rc)
			break;
		b.next_in = (char *)(uintptr_t)in;
		b.avail_in = len > UINT_MAX ? UINT_MAX : (unsigned)len;
		b.next_out = o->p + o->len;
		b.avail_out = room > UINT_MAX ? UINT_MAX : (unsigned)room;
		brc = BZ2_bzDecompress(&b);
		len -= (size_t)((const unsigned char *)b.next_in - in);
		in = (const unsigned char *)b.next_in;
		o->len = (size_t)(b.next_out - o->p);
		if (brc == BZ_STREAM_END) {
			if (!dz_is_bzip2(in, len))
				break;
			BZ2_bzDecompressEnd(&b);
			memset(&b, 0, sizeof(b));
			if (BZ2_bzDecompressInit(&b, 0, 0) != BZ_OK)
				return ds_nomem(o->m);
			continue;
		}
		if (brc == BZ_MEM_ERROR) {
			rc = ds_nomem(o->m);
			break;
		}
		if (brc != BZ_OK) {
			rc = dz_corrupt(o, "corrupt");
			break;
		}
		if (len == 0 && b.avail_out > 0) {
			rc = dz_corrupt(o, "truncated");
			break;
		}
	}
	BZ2_bzDecompressEnd(&b);
	return rc;
}

/* ---- xz ---------------------------------------------------------------- */

static int dz_is_xz(const unsigned char *b, size_t len)
{
	return len >= 6 && memcmp(b, "\xfd" "7zXZ\0", 6) == 0;
}

static int dz_xz(struct dz_out *o, const unsigned char *in, size_t len)
{
	lzma_stream s = LZMA_STREAM_INIT;
	lzma_ret lrc;
	size_t room;
	int rc = 0;

	if (lzma_stream_decoder(&s, UINT64_MAX, LZMA_CONCATENATED) != LZMA_OK)
		return ds_nomem(o->m);
	s.next_in = in;
	s.avail_in = len;
	for (;;) {
		rc = dz_room(o, &room);
		if (rc)
			break;
		s.next_out = (uint8_t *)o->p + o->len;
		s.avail_out = room;
		lrc = lzma_code(&s, s.avail_in ? LZMA_RUN : LZMA_FINISH);
		o->len = (size_t)((char *)s.next_out - o->p);
		if (lrc == LZMA_STREAM_END)
			break;
		if (lrc == LZMA_MEM_ERROR) {
			rc = ds_nomem(o->m);
			break;
		}
		if (lrc == LZMA_BUF_ERROR) {
			rc = dz_corrupt(o, "truncated");
			break;
		}
		if (lrc != LZMA_OK) {
			rc = dz_corrupt(o, "corrupt");
			break;
		}
	}
	lzma_end(&s);
	return rc;
}

/* ---- zstd -------------------------------------------------------------- */

static int dz_is_zstd(const unsigned char *b, size_t len)
{
	return len >= 4 && b[0] == 0x28 && b[1] == 0xb5 && b[2] == 0x2f &&
	       b[3] == 0xfd;
}

static int dz_zstd(struct dz_out *o, const unsigned char *in, size_t len)
{
	ZSTD_DCtx *z = ZSTD_createDCtx();
	ZSTD_inBuffer ib = { in, len, 0 };
	size_t zrc = 1, room;
	int rc = 0;

	if (!z)
		return ds_nomem(o->m);
	while (ib.pos < ib.size || zrc != 0) {
		ZSTD_outBuffer ob;

		rc = dz_room(o, &room);
		if (rc)
			break;
		ob = (ZSTD_outBuffer){ o->p + o->len, room, 0 };
		zrc = ZSTD_decompressStream(z, &ob, &ib);
		o->len += ob.pos;
		if (ZSTD_isError(zrc)) {
			rc = dz_corrupt(o, ZSTD_getErrorName(zrc));
			break;
		}
		if (zrc != 0 && ib.pos == ib.size && ob.pos < ob.size) {
			rc = dz_corrupt(o, "truncated");
			break;
		}
	}
	ZSTD_freeDCtx(z);
	return rc;
}

/* ---- Dispatch ---------------------------------------------------------- */

int dz_unpack(const struct ds_msg *m, char **buf, size_t *len)
{
	size_t n = *len;

	return dz_unpack_limit(m, buf, len,
			       n > (DZ_MAX - DZ_MIN_LIMIT) / DZ_RATIO ? DZ_MAX
			       : DZ_MIN_LIMIT > n * DZ_RATIO ? DZ_MIN_LIMIT
			       : n * DZ_RATIO);
}

int dz_is_packed(const unsigned char *b, size_t len)
{
	return dz_is_gzip(b, len) || dz_is_bzip2(b, len) || dz_is_xz(b, len) ||
	       dz_is_zstd(b, len);
}

int dz_unpack_limit(const struct ds_msg *m, char **buf, size_t *len,
		    size_t limit)
{
	const unsigned char *in = (const unsigned char *)*buf;
	struct dz_out o = { .m = m };
	int (*fn)(struct dz_out *, const unsigned char *, size_t);
	int rc;

	if (dz_is_gzip(in, *len)) {
		o.format = "gzip";
		fn = dz_gzip;
	} else if (dz_is_bzip2(in, *len)) {
		o.format = "bzip2";
		fn = dz_bzip2;
	} else if (dz_is_xz(in, *len)) {
		o.format = "xz";
		fn = dz_xz;
	} else if (dz_is_zstd(in, *len)) {
		o.format = "zstd";
		fn = dz_zstd;
	} else {
		return 0;
	}
	o.limit = limit;
	rc = fn(&o, in, *len);
	if (rc == 0 && o.len > limit)
		rc = dz_too_big(&o);
	if (rc) {
		free(o.p);
		return rc;
	}
	if (o.cap == 0) {
		o.p = malloc(1);
		if (!o.p)
			return ds_nomem(m);
	}
	o.p[o.len] = '\0';
	free(*buf);
	*buf = o.p;
	*len = o.len;
	return 0;
}
