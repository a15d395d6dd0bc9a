/* result.h -- a computed result: immutable bytes or a typed array,
 * reference-counted, with its views.
 *
 * A result is either opaque bytes (commands, text: MEMOFS_BYTES) or a
 * typed array (MEMOFS_FLOAT64, MEMOFS_INT64) of 0 dimensions (one value)
 * or 1 (count values).  A typed result is held as the bytes of a NumPy
 * .npy file, version 1.0, exactly as numpy.save() writes that array: a
 * MEMO_NPY_HDR-byte header, then the values, little-endian, C order.
 * Those bytes are what the store keeps (store_put()'s data, with
 * memo_result_tag() as the record's tag), so a result read back from
 * RocksDB is never parsed or converted: its values are read in place.
 *
 * A result wraps either malloc'd bytes (a fresh computation) or a store
 * record (a result read back from RocksDB); either way its bytes never
 * change once made, so any thread holding a reference may read them
 * without a lock.  The last memo_result_unref() frees it.  What is made
 * from them on demand (the text view of a typed result; doubles from a
 * bytes or an int64 result) is made once, by the first thread that asks,
 * under the result's own lock, and then kept with the result.
 *
 * Views (what the FUSE layer serves): MEMO_VIEW_TEXT, under the plain
 * name, is a bytes result's bytes, or a typed result rendered one value
 * per line (float64 as Python's repr, fmt.h; int64 in decimal), the very
 * bytes memofs served before typed results; MEMO_VIEW_NPY, under
 * NAME.npy, is a typed result's .npy bytes (none for a bytes result).
 */
#ifndef MEMOFS_RESULT_H
#define MEMOFS_RESULT_H

#include <stddef.h>
#include <stdint.h>

#include "engine/store.h"
#include "memofs.h"

/* Typed values are kept, stored and served little-endian, in place: a
 * big-endian host would need byte swaps on every write and read; result.c
 * refuses to build on one. */

/* The header of every .npy memofs makes: magic, version 1.0, header
 * length, the dict padded with spaces and a newline to 128 bytes (numpy
 * aligns the data to 64; a 0-d or 1-d shape always fits in 128). */
#define MEMO_NPY_HDR 128u

typedef struct memo_result memo_result;

enum memo_view { MEMO_VIEW_TEXT = 0, MEMO_VIEW_NPY = 1 };

/* The stored bytes: a bytes result's bytes, a typed result's .npy ("" and
 * 0 for a borrowed result, which is never stored). */
const void *memo_result_data(const memo_result *res);
size_t memo_result_len(const memo_result *res);
/* When it was made: the store record's creation time (CLOCK_REALTIME ns),
 * or, for a fresh computation, when memo_result_from_buf() wrapped it. */
uint64_t memo_result_created_ns(const memo_result *res);
memo_result *memo_result_ref(memo_result *res);
void memo_result_unref(memo_result *res);	/* NULL is a no-op */

enum memofs_dtype memo_result_dtype(const memo_result *res);
unsigned memo_result_ndim(const memo_result *res);	/* 0 or 1; 0: bytes */
size_t memo_result_count(const memo_result *res);	/* values; 0: bytes */
/* The values, in place (aligned, little-endian): NULL unless the result
 * is of that dtype. */
const double *memo_result_f64(const memo_result *res);
const int64_t *memo_result_i64(const memo_result *res);

/* The store record tag of res (store.h): 0 for bytes, else dtype | ndim
 * << 8.  Bytes made by memofs before typed results have tag 0. */
uint32_t memo_result_tag(const memo_result *res);

/* Bytes memory held by res (stored bytes, plus the text view and
 * converted doubles made so far), for the in-memory cache's budget. */
size_t memo_result_mem(const memo_result *res);

/* A bytes result of the malloc'd bytes buf (NULL when len is 0),
 * ownership taken even on failure.  NULL when out of memory. */
memo_result *memo_result_from_buf(char *buf, size_t len);

/* A typed result from the malloc'd buf of len bytes: MEMO_NPY_HDR bytes
 * of room for the header (written here), then the values (8 bytes each,
 * little-endian).  Ownership of buf is taken even on failure.  Returns 0
 * and *out, -EINVAL (dtype not FLOAT64 or INT64, ndim not 0 or 1, len not
 * MEMO_NPY_HDR plus a multiple of 8, or ndim 0 without exactly one
 * value), or -ENOMEM. */
int memo_result_typed(char *buf, size_t len, enum memofs_dtype dtype,
		      unsigned ndim, memo_result **out);

/* A typed result of the n values at values (8-byte aligned), borrowed:
 * never copied or freed, so they must outlive every reference (memo's
 * dataset views: memo_ctx_borrow()).  For int64, alias may give the same
 * values as doubles (memo_result_f64_view() then returns it), or be NULL.
 * Such a result has no stored bytes (memo_result_data() is "" and
 * memo_result_len() 0: it is never stored); its .npy view is copied from
 * the values when first asked for, and kept.  Returns 0 and *out, -EINVAL
 * (dtype not FLOAT64 or INT64, ndim not 0 or 1, ndim 0 with n not 1,
 * values NULL or misaligned) or -ENOMEM. */
int memo_result_borrowed(const void *values, const double *alias, size_t n,
			 enum memofs_dtype dtype, unsigned ndim,
			 memo_result **out);
int memo_result_is_borrowed(const memo_result *res);

/* A result of the store record *rec, ownership taken even on failure.
 * Returns 0 and *out; -EBADMSG when the tag is unknown or the data is not
 * the .npy its tag says (a record that passed its checksum but was never
 * written by this memofs); -ENOMEM. */
int memo_result_from_rec(store_rec *rec, memo_result **out);

/* The bytes view shows (see the top), valid while res is referenced.
 * Returns 0, -ENOENT (NPY of a bytes result) or -ENOMEM (the text view
 * could not be made). */
int memo_result_view(memo_result *res, enum memo_view view,
		     const void **data, size_t *len);

/* Does memo_result_view() of view cost little: bytes, a .npy (a
 * borrowed result's once copied), a text view made before, or the text of at most MEMO_TEXT_CHEAP values?  A
 * caller that must not spend time (a FUSE thread) has the others made
 * elsewhere (a worker). */
#define MEMO_TEXT_CHEAP 16384u
int memo_result_view_cheap(memo_result *res, enum memo_view view);

/* The size of the .npy of a typed result of n values (ndim 0: n is 1). */
size_t memo_npy_size(size_t n);

/* Writes the .npy header of a dtype array of ndim dimensions and n values
 * into hdr (MEMO_NPY_HDR bytes), as numpy.save() writes it. */
void memo_npy_header(uint8_t hdr[MEMO_NPY_HDR], enum memofs_dtype dtype,
		     unsigned ndim, size_t n);

/* The values as doubles: float64 as they are, int64 converted, a bytes
 * result parsed as numbers one per line (data/numtext.h).
 * Made once and kept with res; *vals is borrowed, valid while res is
 * referenced (never NULL: a 0-value result gives a valid pointer).
 * Returns 0, -EIO (a line that is not one number, or bytes that do not
 * end in a newline) or -ENOMEM. */
int memo_result_f64_view(memo_result *res, const double **vals, size_t *n);

/* memo_result_f64_view() copied into a new array (caller frees). */
int memo_result_doubles(memo_result *res, double **vals, size_t *n);

#endif
