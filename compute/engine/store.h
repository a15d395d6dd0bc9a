/* store.h -- the persistent result store, on RocksDB.
 *
 * Maps a KEY_LEN-byte key to a record: the result bytes plus a header
 * (format version, XXH3-64 checksum of the bytes, byte count, compute time,
 * creation time, and a tag saying what the bytes are, which the store does
 * not interpret: result.h gives it its meaning).  store_get() verifies the
 * header and checksum and reports a damaged record as a miss (-EBADMSG),
 * so a corrupt value is never served.
 * A store is safe to use from any number of threads at once (RocksDB is).
 * It does not decide what to cache or when: that is memo's job.
 */
#ifndef MEMOFS_STORE_H
#define MEMOFS_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "engine/key.h"

typedef struct store store;

/* A record read by store_get().  Owned by the caller: store_rec_free(). */
typedef struct store_rec {
	const void *data;	/* the result bytes, len of them */
	size_t len;
	uint64_t compute_ns;	/* how long the computation took */
	uint64_t created_ns;	/* CLOCK_REALTIME when it was stored */
	uint32_t tag;		/* as given to store_put(); 0 for a record
				 * of format 1, which had none */
	void *raw;		/* private: the buffer data points into */
	int raw_malloced;	/* private: raw is malloc'd (store_rec_adopt),
				 * not RocksDB's */
} store_rec;

/* Opens (creating if needed, directory included) the store in dir; missing
 * directories are created with mode 0700.  The caller has checked that it
 * trusts dir (cachedir_prepare()).  Returns 0 and *out; -EBUSY when
 * another process (or store) holds it; -EACCES; -ENOSPC when the disk
 * has less than 1 MiB free (RocksDB could not write its LOG); -EBADMSG
 * when the database is damaged beyond opening (a bad MANIFEST or CURRENT:
 * logged; the caller may move dir aside and start afresh); -EIO for any
 * other RocksDB failure (logged); the errno of mkdir(2) or stat(2), such
 * as -ENOTDIR or -EACCES, when dir cannot be made a directory; -EINVAL
 * for an empty dir; -ELIBACC when RocksDB cannot be loaded (rdb.h:
 * logged); -ENOMEM.  Caller closes with store_close(), after
 * every other call on the store has returned. */
int store_open(const char *dir, store **out);
void store_close(store *st);	/* store_close(NULL) is a no-op */

/* Returns 0 and fills *rec on a hit; -ENOENT on a miss; -EBADMSG when the
 * stored record is damaged (logged once, to be recomputed and overwritten),
 * which includes RocksDB's own damage (a block checksum mismatch): the
 * damaged SST file is then logged once and dropped from the store with
 * every record it holds, so that no compaction reads it again; -EIO on
 * another RocksDB error (logged).  On failure *rec is cleared. */
int store_get(store *st, const uint8_t key[KEY_LEN], store_rec *rec);

/* Frees rec's buffer, not rec, and clears rec; a no-op on a cleared rec
 * and on NULL. */
void store_rec_free(store_rec *rec);

/* Stores len bytes of data under key with tag, replacing any old record.
 * data is at an offset of the record that is a multiple of 16 bytes, so a
 * reader may read 8-byte values in it in place.  Returns 0,
 * -ENOSPC when the disk is full (logged; every put then fails, and logs,
 * until space is freed), -EIO (logged), -EFBIG when the record would reach
 * 4 GiB (RocksDB's limit for a value). */
int store_put(store *st, const uint8_t key[KEY_LEN], const void *data,
	      size_t len, uint64_t compute_ns, uint32_t tag);

/* Writes len bytes of raw as the whole record of key (header included),
 * unchecked: a record store_rec_verify() accepted (memo copies a remote
 * tier's record with it), or, in tests, damage to simulate.  Returns 0,
 * or -ENOSPC / -EIO as store_put() does. */
int store_put_raw(store *st, const uint8_t key[KEY_LEN], const void *raw,
		  size_t len);

/* The record format, for a tier that keeps the same records elsewhere
 * (remote.h), so that the format has one owner.
 *
 * store_rec_encode() makes the record store_put() would write for len
 * bytes of data with tag: *out (malloc'd, caller frees with free()) of
 * *outlen bytes.  0, -EFBIG (4 GiB or more, as store_put) or -ENOMEM. */
int store_rec_encode(const void *data, size_t len, uint64_t compute_ns,
		     uint32_t tag, void **out, size_t *outlen);

/* Checks that raw[0..len) is one whole record of this format with a
 * matching checksum, as store_get() does, and fills *rec with a view
 * into raw (rec->raw stays NULL: nothing to free; raw must outlive the
 * view).  0, or -EBADMSG with what is wrong in why (whylen bytes; not
 * logged). */
int store_rec_verify(const void *raw, size_t len, store_rec *rec, char *why,
		     size_t whylen);

/* store_rec_verify(), then *rec owns raw, a malloc'd buffer (a remote
 * tier's copy of a record): store_rec_free() frees it.  0, or -EBADMSG
 * (why filled) and raw is still the caller's. */
int store_rec_adopt(void *raw, size_t len, store_rec *rec, char *why,
		    size_t whylen);

/* ---- accounting --------------------------------------------------------
 *
 * Next to each record written by store_put_named() the store keeps its
 * accounting entry (its "meta", in a column family of its own, so that
 * listing them never reads result bytes): which function and argument
 * made it, its size, when it was created and when it was last used (as
 * far as the caller said: store_touch()).  Records written by store_put()
 * (and by memofs before 0.2) have none: store_scan() does not see them,
 * store_delete_all() removes them too. */

struct store_meta {
	uint8_t key[KEY_LEN];
	const char *fn;		/* the function's name */
	const char *arg;	/* its canonical argument */
	uint64_t len;		/* result bytes */
	uint64_t created_ns;	/* CLOCK_REALTIME, as in the record */
	uint64_t used_ns;	/* CLOCK_REALTIME of the last known use */
	uint64_t compute_ns;	/* how long the computation took */
};

#define STORE_NAME_MAX 4096	/* fn and arg, each, at most */
#define STORE_NAMES_BUF (2 * STORE_NAME_MAX + 2)

/* The accounting entry of key, its names copied into names.  0, -ENOENT,
 * -EBADMSG (an entry that does not parse) or -EIO. */
int store_get_meta(store *st, const uint8_t key[KEY_LEN],
		   struct store_meta *m, char names[STORE_NAMES_BUF]);

/* store_put() (tag included) plus the accounting entry of fn(arg), in
 * one atomic write; created and last used at created_ns (CLOCK_REALTIME;
 * 0: now).  Errors as store_put(); -EINVAL when fn or arg is longer than
 * STORE_NAME_MAX. */
int store_put_named(store *st, const uint8_t key[KEY_LEN], const char *fn,
		    const char *arg, const void *data, size_t len,
		    uint64_t compute_ns, uint64_t created_ns, uint32_t tag);

/* Sets the last use of key's record to used_ns (never moves it back).
 * 0, -ENOENT (no accounting entry: nothing written), -ENOSPC or -EIO. */
int store_touch(store *st, const uint8_t key[KEY_LEN], uint64_t used_ns);

/* Calls cb on every accounting entry, in key order; the entry is valid
 * during the call only, and cb must not call the store.  cb returns 0 to go on, anything else to stop
 * (returned).  Returns 0, cb's value, -ENOMEM or -EIO (logged).  Writes
 * made meanwhile may or may not be seen. */
typedef int (*store_scan_fn)(void *arg, const struct store_meta *m);
int store_scan(store *st, store_scan_fn cb, void *arg);

/* Removes key's record and accounting entry.  0 (also when there was
 * none), -ENOSPC or -EIO. */
int store_delete(store *st, const uint8_t key[KEY_LEN]);

/* Removes every record and entry.  0, -ENOSPC or -EIO. */
int store_delete_all(store *st);

/* Compacts everything, forcing blob garbage collection, so that the
 * space of deleted records is given back to the disk (deletes alone only
 * add tombstones).  Takes time proportional to the store: call it off
 * any request path.  Returns 0 (RocksDB's C API reports no error
 * here). */
int store_compact(store *st);

/* The bytes the store's files take on disk now (SST and blob files, the
 * write-ahead log, RocksDB's metadata): what du shows for the directory,
 * apart from the filesystem's own rounding.  0 and *bytes, or a negative
 * errno of opendir(3). */
int store_disk_bytes(store *st, uint64_t *bytes);

#endif
