/* store.c -- the persistent result store, on RocksDB (see store.h).
 *
 * One RocksDB database, default column family, maps each KEY_LEN-byte key
 * to one record: a fixed 48-byte header followed by the result bytes.
 *
 *   offset size field
 *        0    4 magic "MFS\0"
 *        4    4 format version, u32 (STORE_FORMAT: 2)
 *        8    8 data length, u64 (the value's size minus the header)
 *       16    8 XXH3-64 of the data, u64 (seed 0)
 *       24    8 compute_ns, u64
 *       32    8 created_ns, u64 (CLOCK_REALTIME)
 *       40    4 tag, u32: what the data is (store.h; 0: opaque bytes)
 *       44    4 reserved, u32: 0
 *       48    - data
 *
 * Format 1 (memofs before typed results) had a 40-byte header, no tag
 * and no reserved field, and held bytes only: such a record is still
 * read, as tag 0, so an old cache of commands and plugins stays valid.
 * A typed result is never stored as format 1, so an old record can never
 * be taken for one (memo also checks the tag against the function's
 * declared type).  The data starts 48 bytes into the value, a multiple
 * of 8 (and of 16, like malloc's buffers), so typed values in it are
 * aligned for direct reads.
 *
 * Integers are little-endian and encoded byte by byte, never by copying a
 * struct, so a cache directory means the same on every host.  Any header
 * mismatch makes the record "damaged" (-EBADMSG): the caller recomputes
 * and overwrites it.  A record written by a later format version is also
 * treated as damaged, which makes downgrading safe at the price of
 * recomputation.
 *
 * Threads: every function may be called from any thread at once, except
 * that store_close() must follow every other call.  The store has no lock
 * of its own: rocksdb_t is thread-safe, and the read and write options are
 * created by store_open() and only read afterwards.
 *
 * The RocksDB options (store_options_new) aim at: point lookups by random
 * 16-byte keys, many small records and a few very large ones, modest
 * memory (the daemon stays well under 256 MiB RSS with a million records),
 * surviving kill -9, and no output outside the store's directory.
 *
 * This file does not decide what to cache, evict old records or retry:
 * that is memo's job.
 */
#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>

#include "engine/rdb.h"
#include <xxhash.h>

#include "util/clock.h"
#include "util/log.h"
#include "engine/store.h"

#define STORE_FORMAT 2u
#define STORE_HDR_LEN 48
#define STORE_HDR_V1_LEN 40	/* format 1's header (see the top) */
/* RocksDB refuses values of 4 GiB and more. */
#define STORE_MAX_DATA ((uint64_t)UINT32_MAX - STORE_HDR_LEN)

static const uint8_t store_magic[4] = { 'M', 'F', 'S', '\0' };

/* After a disk-full write error RocksDB refuses every later write (its
 * WAL is in an error state) until the database is reopened, and so it does
 * after a compaction met a damaged block (paranoid checks).  The store
 * then answers puts with that error (-ENOSPC, -EIO) at once, without
 * logging, and tries a reopen at most once per STORE_RETRY_NS. */
#define STORE_RETRY_NS 1000000000ull

/* Damaged SST files are logged once each, the first STORE_DAMAGED_MAX of
 * them (a cache with more is better deleted: the log says so). */
#define STORE_DAMAGED_MAX 16
#define STORE_FILE_NAME_MAX 32	/* "/000123.sst": RocksDB's own names */

/* Column families: the records, and their accounting (store_meta.c). */
enum { STORE_CF_DATA, STORE_CF_META, STORE_NCF };

struct store {
	pthread_rwlock_t lock;		/* write-held only to reopen db */
	rocksdb_t *db;			/* protected by lock */
	rocksdb_column_family_handle_t *cf[STORE_NCF]; /* with db */
	char *dir;
	rocksdb_readoptions_t *ropts;	/* read-only after store_open */
	rocksdb_writeoptions_t *wopts;	/* read-only after store_open */
	_Atomic uint64_t stopped_since;	/* 0, or when writes stopped */
	_Atomic int stopped_rc;		/* why: -ENOSPC or -EIO */
	pthread_mutex_t damage_lock;	/* protects the next three */
	char damaged[STORE_DAMAGED_MAX][STORE_FILE_NAME_MAX];
	unsigned ndamaged;		/* damaged files logged so far */
	char drop_sst[STORE_FILE_NAME_MAX]; /* to drop at the reopen, or "" */
	pthread_mutex_t meta_lock;	/* a touch's read and write, against
					 * deletes (no orphan entries) */
};

/* ---- record encoding ---------------------------------------------------- */

static void store_enc_u32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void store_enc_u64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t store_dec_u32(const uint8_t *p)
{
	uint32_t v = 0;

	for (int i = 3; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

static uint64_t store_dec_u64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

static uint64_t store_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Fills hdr with the header of a record holding len bytes of data. */
static void store_hdr_encode(uint8_t hdr[STORE_HDR_LEN], const void *data,
			     size_t len, uint64_t compute_ns, uint32_t tag)
{
	memcpy(hdr, store_magic, sizeof(store_magic));
	store_enc_u32(hdr + 4, STORE_FORMAT);
	store_enc_u64(hdr + 8, (uint64_t)len);
	store_enc_u64(hdr + 16, XXH3_64bits(data, len));
	store_enc_u64(hdr + 24, compute_ns);
	store_enc_u64(hdr + 32, store_now_ns());
	store_enc_u32(hdr + 40, tag);
	store_enc_u32(hdr + 44, 0);
}

/* Checks the record in raw[0..len).  Returns 0 with the header's length
 * in *hdr_len and the tag in *tag, or -EBADMSG with what is wrong written
 * into why. */
static int store_rec_check(const uint8_t *raw, size_t len, size_t *hdr_len,
			   uint32_t *tag, char *why, size_t whylen)
{
	uint32_t format;
	size_t hl;
	uint64_t n;

	if (len < STORE_HDR_V1_LEN) {
		snprintf(why, whylen, "truncated header (%zu bytes)", len);
		return -EBADMSG;
	}
	if (memcmp(raw, store_magic, sizeof(store_magic)) != 0) {
		snprintf(why, whylen, "bad magic");
		return -EBADMSG;
	}
	format = store_dec_u32(raw + 4);
	if (format != 1 && format != STORE_FORMAT) {
		snprintf(why, whylen, "format version %u, expected 1 to %u",
			 (unsigned)format, STORE_FORMAT);
		return -EBADMSG;
	}
	hl = format == 1 ? STORE_HDR_V1_LEN : STORE_HDR_LEN;
	if (len < hl) {
		snprintf(why, whylen, "truncated header (%zu bytes)", len);
		return -EBADMSG;
	}
	n = store_dec_u64(raw + 8);
	if (n != len - hl) {
		snprintf(why, whylen, "header says %llu data bytes, found %zu",
			 (unsigned long long)n, len - hl);
		return -EBADMSG;
	}
	if (format != 1 && store_dec_u32(raw + 44) != 0) {
		snprintf(why, whylen, "reserved field is not 0");
		return -EBADMSG;
	}
	if (store_dec_u64(raw + 16) != XXH3_64bits(raw + hl, len - hl)) {
		snprintf(why, whylen, "checksum mismatch");
		return -EBADMSG;
	}
	*hdr_len = hl;
	*tag = format == 1 ? 0 : store_dec_u32(raw + 40);
	return 0;
}

/* ---- errors ------------------------------------------------------------- */

/* Logs RocksDB error err about key once, frees it and returns rc. */
static int store_fail(const char *op, const uint8_t key[KEY_LEN], char *err,
		      int rc)
{
	char hex[2 * KEY_LEN + 1];

	key_hex(key, hex);
	log_error("store: %s %s: %s", op, hex, err);
	rdb.rocksdb_free(err);
	return rc;
}

/* RocksDB reports a full disk only in its status text, as
 * "IO error: No space left on device..." (strerror(ENOSPC)).  It then
 * refuses every write until the disk has a write buffer's worth of free
 * space (16 MiB), and resumes by itself; reads go on working. */
static int store_write_errno(const char *err)
{
	return strstr(err, "No space left") ? -ENOSPC : -EIO;
}

/* ---- open and close ----------------------------------------------------- */

/* The errno of a failed rocksdb_open(), from its status text: the LOCK
 * file held by another process is -EBUSY.  Only -EIO needs the text
 * logged; the others say it all. */
static int store_open_errno(const char *err)
{
	if (strstr(err, "lock") && (strstr(err, "Resource temporarily") ||
				    strstr(err, "No locks available")))
		return -EBUSY;
	if (strstr(err, "Permission denied"))
		return -EACCES;
	if (strstr(err, "No space left"))
		return -ENOSPC;
	if (strstr(err, "Corruption") || strstr(err, "MANIFEST") ||
	    strstr(err, "CURRENT"))
		return -EBADMSG;
	return -EIO;
}

/* mkdir -p dir: creates each missing component with mode 0700.  Returns 0
 * once dir is a directory, or a negative errno (-ENOTDIR when it, or a
 * parent, is another kind of file). */
static int store_mkdirs(const char *dir)
{
	struct stat sb;
	char *path, *p;
	int rc = 0;

	path = strdup(dir);
	if (!path)
		return -ENOMEM;
	for (p = path + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(path, 0700) != 0 && errno != EEXIST) {
			rc = -errno;
			goto out_free_path;
		}
		*p = '/';
	}
	if (mkdir(path, 0700) != 0 && errno != EEXIST)
		rc = -errno;
	else if (stat(path, &sb) != 0)
		rc = -errno;
	else if (!S_ISDIR(sb.st_mode))
		rc = -ENOTDIR;
out_free_path:
	free(path);
	return rc;
}

#define STORE_BLOCK_CACHE (32u << 20)	/* shared LRU cache for SST blocks */
#define STORE_CACHE_SHARD_BITS 2	/* 4 shards of 8 MiB */
#define STORE_BLOOM_BITS 10.0		/* per key: ~1% false positives */
#define STORE_METADATA_BLOCK 4096	/* index and filter partitions */
#define STORE_WRITE_BUFFER (16u << 20)	/* per memtable; two at most */
#define STORE_MIN_BLOB (64u << 10)	/* values this large go to blobs */
#define STORE_META_WRITE_BUFFER (1u << 20) /* accounting entries' memtable */
/* A WAL file lives until every column family that wrote to it flushed:
 * the accounting entries' few writes would keep every WAL alive.  Past
 * this total, RocksDB flushes them. */
#define STORE_MAX_WAL (4u * STORE_WRITE_BUFFER)
#define STORE_MAX_OPEN_FILES 256
/* fallocate() unit of the MANIFEST (RocksDB's default: 4 MiB).  A
 * MANIFEST holds a few hundred bytes per flush, compaction or blob file
 * and is rewritten at each open: 64 KiB is hundreds of such edits. */
#define STORE_MANIFEST_PREALLOC (64u << 10)
#define STORE_LOG_FILE_MAX (1u << 20)
/* Free space an open needs: the LOG's option dump (about 20 KiB), the
 * MANIFEST, OPTIONS and a first WAL block, with a wide margin. */
#define STORE_MIN_FREE (1u << 20)

/* The LRU block cache.  RocksDB would split 32 MiB into 64 shards of
 * 512 KiB, and a block larger than its shard cannot stay cached: every
 * lookup then reads it again.  A handful of threads need few shards. */
static rocksdb_cache_t *store_cache_new(void)
{
	rocksdb_lru_cache_options_t *lru = rdb.rocksdb_lru_cache_options_create();
	rocksdb_cache_t *cache;

	rdb.rocksdb_lru_cache_options_set_capacity(lru, STORE_BLOCK_CACHE);
	rdb.rocksdb_lru_cache_options_set_num_shard_bits(lru,
						     STORE_CACHE_SHARD_BITS);
	cache = rdb.rocksdb_cache_create_lru_opts(lru);
	rdb.rocksdb_lru_cache_options_destroy(lru);
	return cache;
}

/* The SST format, for point lookups: a bloom filter per file and a hash
 * index in each data block, so that a lookup, hit or miss, costs about one
 * data block.  Index and filter blocks are charged to the one bounded block
 * cache instead of growing with the store, and are partitioned into 4 KiB
 * pieces: unpartitioned, an SST of a million keys has a 1.2 MiB filter
 * block, which thrashes the cache (measured: 90 us per get instead of 10).
 * The top-level index of each file, and level 0's index and filters,
 * stay pinned, as nearly every lookup consults them. */
static void store_table_options(rocksdb_options_t *opts)
{
	rocksdb_block_based_table_options_t *table;
	rocksdb_cache_t *cache;

	table = rdb.rocksdb_block_based_options_create();
	cache = store_cache_new();
	rdb.rocksdb_block_based_options_set_block_cache(table, cache);
	/* The table options take ownership of the filter policy. */
	rdb.rocksdb_block_based_options_set_filter_policy(table,
		rdb.rocksdb_filterpolicy_create_bloom_full(STORE_BLOOM_BITS));
	rdb.rocksdb_block_based_options_set_index_type(table,
		rocksdb_block_based_table_index_type_two_level_index_search);
	rdb.rocksdb_block_based_options_set_partition_filters(table, 1);
	rdb.rocksdb_block_based_options_set_metadata_block_size(table,
							    STORE_METADATA_BLOCK);
	rdb.rocksdb_block_based_options_set_cache_index_and_filter_blocks(table, 1);
	rdb.rocksdb_block_based_options_set_pin_top_level_index_and_filter(table, 1);
	rdb.rocksdb_block_based_options_set_pin_l0_filter_and_index_blocks_in_cache(
		table, 1);
	rdb.rocksdb_block_based_options_set_data_block_index_type(table,
		rocksdb_block_based_table_data_block_index_type_binary_search_and_hash);
	/* The factory copies table, which holds its own reference to cache. */
	rdb.rocksdb_options_set_block_based_table_factory(opts, table);
	rdb.rocksdb_cache_destroy(cache);
	rdb.rocksdb_block_based_options_destroy(table);
}

/* Builds the options of a store; the caller destroys them.  (RocksDB's
 * C API aborts rather than return NULL when out of memory.)
 *
 * - Memory: two 16 MiB memtables plus the 32 MiB block cache bound most
 *   of what RocksDB holds, whatever the number of records (measured: 56 MiB
 *   peak RSS writing, reopening and reading back a million 100-byte
 *   records).  A single huge value passes through a memtable, though.
 * - Blobs: values of 64 KiB and more live in blob files, so compactions
 *   rewrite only small records and keys, not large results; blob garbage
 *   collection reclaims results that were overwritten.  Blobs are not
 *   compressed: large results are mostly binary numbers, and every read
 *   would pay for decompression.  SSTs use LZ4, cheap to decode.
 * - Space: dynamic level sizes keep space amplification near 1.1.
 * - max_open_files bounds the descriptors RocksDB keeps (SSTs and blobs)
 *   next to those of the FUSE session and the dataset.
 * - Preallocation: RocksDB fallocate()s (FALLOC_FL_KEEP_SIZE) ahead of
 *   its MANIFEST and WAL, and store_disk_bytes() counts allocated blocks,
 *   as du does, against max_size.  Measured on ext4 with librocksdb 7.8,
 *   an empty cache while mounted: 4.26 MB before the first write, of
 *   which 4 MiB was the MANIFEST's default preallocation for 110 bytes
 *   (STORE_MANIFEST_PREALLOC makes that 64 KiB); then 22.7 MB from the
 *   first write on, even of 289 bytes, even after everything is cleared,
 *   as the WAL gets 1.1 x write_buffer_size = 17.6 MiB at once (RocksDB's
 *   GetWalPreallocateBlockSize(): only a smaller write buffer,
 *   max_total_wal_size or db_write_buffer_size would shrink it, and each
 *   of them would flush memtables sooner).  Closing releases both: 70 KB
 *   at rest.
 * - The WAL stays on, unsynced (see store_open): a write is in the kernel's
 *   page cache before rocksdb_write() returns, so it survives kill -9 of
 *   the daemon; a power cut may lose the last writes, which memoization
 *   recomputes.
 * - Logging: RocksDB's own LOG file (inside dir, never stderr) records
 *   its options at each open and nothing else: Debian's librocksdb 7.8
 *   aborts (an assertion in WritableFileWriter) on the second write to
 *   its LOG after one failed for lack of space, and a warning is logged
 *   on every write error, so with warnings on, a full disk killed the
 *   daemon.  The errors RocksDB returns reach memofs's own log instead.
 *   The LOG cannot be switched off (a logger that cannot be created
 *   fails the open), so store_open checks for STORE_MIN_FREE before
 *   each open, when the option dump is written. */
static rocksdb_options_t *store_options_new(void)
{
	rocksdb_options_t *opts = rdb.rocksdb_options_create();

	rdb.rocksdb_options_set_create_if_missing(opts, 1);
	store_table_options(opts);
	rdb.rocksdb_options_set_write_buffer_size(opts, STORE_WRITE_BUFFER);
	rdb.rocksdb_options_set_max_write_buffer_number(opts, 2);
	rdb.rocksdb_options_set_compression(opts, rocksdb_lz4_compression);
	rdb.rocksdb_options_set_enable_blob_files(opts, 1);
	rdb.rocksdb_options_set_min_blob_size(opts, STORE_MIN_BLOB);
	rdb.rocksdb_options_set_blob_compression_type(opts, rocksdb_no_compression);
	rdb.rocksdb_options_set_enable_blob_gc(opts, 1);
	rdb.rocksdb_options_set_level_compaction_dynamic_level_bytes(opts, 1);
	rdb.rocksdb_options_set_max_open_files(opts, STORE_MAX_OPEN_FILES);
	rdb.rocksdb_options_set_max_total_wal_size(opts, STORE_MAX_WAL);
	rdb.rocksdb_options_set_manifest_preallocation_size(opts,
		STORE_MANIFEST_PREALLOC);
	rdb.rocksdb_options_set_info_log_level(opts, 4);	/* FATAL_LEVEL */
	rdb.rocksdb_options_set_keep_log_file_num(opts, 2);
	rdb.rocksdb_options_set_max_log_file_size(opts, STORE_LOG_FILE_MAX);
	rdb.rocksdb_options_set_stats_dump_period_sec(opts, 0);
	rdb.rocksdb_options_set_stats_persist_period_sec(opts, 0);
	return opts;
}

/* Opens st->dir's database into st->db, first checking that its filesystem
 * has STORE_MIN_FREE bytes free (see store_options_new).  Returns 0,
 * -ENOSPC, or store_open_errno() of RocksDB's error, logged when that is
 * -EIO or -EBADMSG (the text says what is damaged).  no_compactions opens
 * it without automatic compactions (see store_recover). */
static int store_db_open(store *st, int no_compactions)
{
	static const char *const store_cf_names[STORE_NCF] = { "default",
							       "meta" };
	const rocksdb_options_t *cf_opts[STORE_NCF];
	rocksdb_options_t *opts, *meta;
	struct statvfs vfs;
	char *err = NULL;
	int rc;

	if (statvfs(st->dir, &vfs) == 0 &&
	    (uint64_t)vfs.f_bavail * vfs.f_frsize < STORE_MIN_FREE)
		return -ENOSPC;
	opts = store_options_new();
	rdb.rocksdb_options_set_disable_auto_compactions(opts, no_compactions);
	rdb.rocksdb_options_set_create_missing_column_families(opts, 1);
	meta = rdb.rocksdb_options_create();
	rdb.rocksdb_options_set_write_buffer_size(meta, STORE_META_WRITE_BUFFER);
	cf_opts[STORE_CF_DATA] = opts;
	cf_opts[STORE_CF_META] = meta;
	st->db = rdb.rocksdb_open_column_families(opts, st->dir, STORE_NCF,
					      store_cf_names, cf_opts, st->cf,
					      &err);
	rdb.rocksdb_options_destroy(meta);
	rdb.rocksdb_options_destroy(opts);
	if (!err)
		return 0;
	st->db = NULL;
	memset(st->cf, 0, sizeof(st->cf));
	rc = store_open_errno(err);
	if (rc == -EIO || rc == -EBADMSG)
		log_error("store: cannot open %s: %s", st->dir, err);
	rdb.rocksdb_free(err);
	return rc;
}

int store_open(const char *dir, store **out)
{
	char why[512];
	store *st;
	int rc;

	if (!dir || !*dir)
		return -EINVAL;
	rc = rdb_load(why, sizeof(why));
	if (rc) {
		log_error("store: %s", why);
		return rc;
	}
	rc = store_mkdirs(dir);
	if (rc)
		return rc;	/* the caller reports it, with its context */
	st = calloc(1, sizeof(*st));
	if (!st)
		return -ENOMEM;
	st->dir = strdup(dir);
	if (!st->dir) {
		free(st);
		return -ENOMEM;
	}
	pthread_rwlock_init(&st->lock, NULL);
	pthread_mutex_init(&st->damage_lock, NULL);
	pthread_mutex_init(&st->meta_lock, NULL);
	rc = store_db_open(st, 0);
	if (rc) {
		store_close(st);
		return rc;
	}
	st->ropts = rdb.rocksdb_readoptions_create();
	st->wopts = rdb.rocksdb_writeoptions_create();
	rdb.rocksdb_writeoptions_set_sync(st->wopts, 0);
	*out = st;
	return 0;
}

/* Closes st->db and its column families.  Caller write-holds st->lock
 * (or is the only user). */
static void store_db_close(store *st)
{
	for (int i = 0; i < STORE_NCF; i++)
		if (st->cf[i])
			rdb.rocksdb_column_family_handle_destroy(st->cf[i]);
	memset(st->cf, 0, sizeof(st->cf));
	if (st->db)
		rdb.rocksdb_close(st->db);
	st->db = NULL;
}

void store_close(store *st)
{
	if (!st)
		return;
	store_db_close(st);
	if (st->ropts)
		rdb.rocksdb_readoptions_destroy(st->ropts);
	if (st->wopts)
		rdb.rocksdb_writeoptions_destroy(st->wopts);
	pthread_mutex_destroy(&st->meta_lock);
	pthread_mutex_destroy(&st->damage_lock);
	pthread_rwlock_destroy(&st->lock);
	free(st->dir);
	free(st);
}

/* ---- reads -------------------------------------------------------------- */

/* The SST file named in a RocksDB status text ("Corruption: block checksum
 * mismatch: ... in /dir/000012.sst offset 0 size 4021"), as RocksDB's
 * live-file name "/000012.sst".  Returns 0, or -ENOENT when err names no
 * SST file. */
static int store_sst_name(const char *err, char name[STORE_FILE_NAME_MAX])
{
	const char *end = strstr(err, ".sst"), *start;

	if (!end)
		return -ENOENT;
	end += 4;
	for (start = end - 4; start > err && start[-1] != '/'; start--)
		;
	if (start == err || end - start + 1 >= STORE_FILE_NAME_MAX)
		return -ENOENT;
	snprintf(name, STORE_FILE_NAME_MAX, "/%.*s", (int)(end - start),
		 start);
	return 0;
}

/* Has file name been reported damaged before?  Records it if not. */
static int store_damage_seen(store *st, const char *name)
{
	int seen = 0;

	pthread_mutex_lock(&st->damage_lock);
	for (unsigned i = 0; !seen && i < st->ndamaged; i++)
		seen = strcmp(st->damaged[i], name) == 0;
	if (!seen && st->ndamaged < STORE_DAMAGED_MAX)
		snprintf(st->damaged[st->ndamaged++], STORE_FILE_NAME_MAX,
			 "%s", name);
	else if (!seen)
		seen = 1;	/* too many: the first ones said it */
	pthread_mutex_unlock(&st->damage_lock);
	return seen;
}

/* Index of the live SST file name in lf, or -1. */
static int store_live_index(const rocksdb_livefiles_t *lf, const char *name)
{
	for (int i = 0; i < rdb.rocksdb_livefiles_count(lf); i++)
		if (strcmp(rdb.rocksdb_livefiles_name(lf, i), name) == 0)
			return i;
	return -1;
}

/* Drops the damaged SST file name from the database, with every record
 * in it (the readers of those recompute them), so that no compaction
 * reads its bad block again: a compaction that meets a checksum mismatch
 * stops every later write.  RocksDB drops a whole file only from the
 * last level or as the oldest of level 0 (DeleteFile), or, from level 1
 * on, with the other files whose keys lie in its key range
 * (DeleteFilesInRange).  Caller holds st->lock.  Returns 0 once the file
 * is gone, -EBUSY when RocksDB kept it. */
static int store_drop_sst(store *st, const char *name)
{
	const rocksdb_livefiles_t *lf = rdb.rocksdb_livefiles(st->db);
	size_t slen, llen;
	const char *lo, *hi;
	char *err = NULL;
	int i = store_live_index(lf, name);

	if (i >= 0 && rdb.rocksdb_livefiles_level(lf, i) > 0) {
		lo = rdb.rocksdb_livefiles_smallestkey(lf, i, &slen);
		hi = rdb.rocksdb_livefiles_largestkey(lf, i, &llen);
		rdb.rocksdb_delete_file_in_range(st->db, lo, slen, hi, llen, &err);
		rdb.rocksdb_free(err);
		err = NULL;
	}
	rdb.rocksdb_livefiles_destroy(lf);
	lf = rdb.rocksdb_livefiles(st->db);
	if (store_live_index(lf, name) >= 0)
		rdb.rocksdb_delete_file(st->db, name);
	rdb.rocksdb_livefiles_destroy(lf);
	lf = rdb.rocksdb_livefiles(st->db);
	i = store_live_index(lf, name);
	rdb.rocksdb_livefiles_destroy(lf);
	return i >= 0 ? -EBUSY : 0;
}

/* A get that failed with RocksDB's own damage (a Corruption status: a
 * block whose checksum does not match).  Like a damaged record, it is
 * recomputed and overwritten: logs once which file is damaged, drops
 * it (store_drop_sst), frees err and returns -EBADMSG.  Caller holds
 * st->lock. */
static int store_get_damaged(store *st, const uint8_t key[KEY_LEN], char *err)
{
	char name[STORE_FILE_NAME_MAX], hex[2 * KEY_LEN + 1];
	int dropped;

	if (store_sst_name(err, name) != 0) {
		key_hex(key, hex);
		log_warn("store: damaged record %s: %s", hex, err);
	} else if (!store_damage_seen(st, name)) {
		dropped = store_drop_sst(st, name);
		log_warn("store: damaged file %s%s: %s; its results are "
			 "recomputed%s", st->dir, name, err,
			 dropped == 0 ? ", the file is dropped"
				      : " as they are read");
	}
	rdb.rocksdb_free(err);
	return -EBADMSG;
}


int store_get(store *st, const uint8_t key[KEY_LEN], store_rec *rec)
{
	char hex[2 * KEY_LEN + 1], why[96];
	char *err = NULL;
	uint8_t *raw;
	size_t len = 0;
	int rc = 0;

	memset(rec, 0, sizeof(*rec));
	pthread_rwlock_rdlock(&st->lock);
	raw = st->db ? (uint8_t *)rdb.rocksdb_get(st->db, st->ropts,
					      (const char *)key, KEY_LEN, &len,
					      &err)
		     : NULL;
	if (err && strncmp(err, "Corruption", 10) == 0) {
		rc = store_get_damaged(st, key, err);	/* frees err */
		err = NULL;
	}
	pthread_rwlock_unlock(&st->lock);
	if (rc)
		return rc;
	if (err)
		return store_fail("get", key, err, -EIO);
	if (!raw)
		return -ENOENT;
	rc = store_rec_verify(raw, len, rec, why, sizeof(why));
	if (rc) {
		key_hex(key, hex);
		log_warn("store: damaged record %s: %s", hex, why);
		rdb.rocksdb_free(raw);
		return rc;
	}
	rec->raw = raw;
	return 0;
}

void store_rec_free(store_rec *rec)
{
	if (!rec)
		return;
	if (rec->raw_malloced)
		free(rec->raw);
	else if (rec->raw)	/* RocksDB's, so rdb is loaded */
		rdb.rocksdb_free(rec->raw);
	memset(rec, 0, sizeof(*rec));
}

/* ---- writes ------------------------------------------------------------- */

/* Drops st->drop_sst, if set, from the database just reopened without
 * compactions (so that none is reading it), then turns compactions back
 * on.  Caller write-holds st->lock. */
static void store_drop_pending(store *st)
{
	static const char *const key[1] = { "disable_auto_compactions" };
	static const char *const off[1] = { "false" };
	char name[STORE_FILE_NAME_MAX];
	char *err = NULL;

	pthread_mutex_lock(&st->damage_lock);
	snprintf(name, sizeof(name), "%s", st->drop_sst);
	st->drop_sst[0] = '\0';
	pthread_mutex_unlock(&st->damage_lock);
	if (name[0] && store_drop_sst(st, name) == 0)
		log_warn("store: damaged file %s%s dropped", st->dir, name);
	else if (name[0])
		log_warn("store: damaged file %s%s could not be dropped: "
			 "delete the cache to stop these warnings", st->dir,
			 name);
	rdb.rocksdb_set_options(st->db, 1, key, off, &err);
	if (err)
		log_error("store: cannot resume compactions: %s", err);
	rdb.rocksdb_free(err);
}

/* Reopens the database after writes stopped (a full disk, a compaction
 * that met a damaged file), at most once per STORE_RETRY_NS.  A damaged
 * file is dropped before any compaction can read it again.  Returns 0
 * when writes may be tried, else why they stopped (-ENOSPC, -EIO).
 * Not inlined: inlined into store_commit(), GCC 12 under
 * -fsanitize=address reports a bogus -Wstringop-overflow on the atomic
 * load of stopped_rc. */
__attribute__((noinline)) static int store_recover(store *st)
{
	uint64_t since = st->stopped_since, now;
	int drop;

	if (since == 0)
		return 0;
	now = (uint64_t)util_now_ns();
	if (now - since < STORE_RETRY_NS)
		return st->stopped_rc;
	pthread_rwlock_wrlock(&st->lock);
	if (st->stopped_since == since) {
		store_db_close(st);
		pthread_mutex_lock(&st->damage_lock);
		drop = st->drop_sst[0] != '\0';
		pthread_mutex_unlock(&st->damage_lock);
		if (store_db_open(st, drop) != 0) {
			st->stopped_since = now; /* reads miss until it works */
		} else {
			if (drop)
				store_drop_pending(st);
			st->stopped_since = 0;
			log_warn("store: %s reopened for writing", st->dir);
		}
	}
	pthread_rwlock_unlock(&st->lock);
	return st->stopped_since ? st->stopped_rc : 0;
}

/* Did a put fail because a compaction met a damaged SST file (RocksDB
 * then stops every write)?  If so, notes the file for store_recover to
 * drop, logs it once and returns 0; else -ENOENT. */
static int store_write_damaged(store *st, const char *err)
{
	char name[STORE_FILE_NAME_MAX];

	if (strncmp(err, "Corruption", 10) != 0 ||
	    store_sst_name(err, name) != 0)
		return -ENOENT;
	if (!store_damage_seen(st, name))
		log_warn("store: damaged file %s%s: %s; it is dropped at the "
			 "next reopen, its results recomputed", st->dir, name,
			 err);
	pthread_mutex_lock(&st->damage_lock);
	snprintf(st->drop_sst, sizeof(st->drop_sst), "%s", name);
	pthread_mutex_unlock(&st->damage_lock);
	return 0;
}

/* Writes batch (which names key, for the log), with store_recover()'s
 * handling of a store whose writes stopped.  Returns 0, -ENOSPC or -EIO
 * (logged). */
static int store_commit(store *st, const uint8_t key[KEY_LEN],
			rocksdb_writebatch_t *batch)
{
	char *err = NULL;
	int rc = store_recover(st);

	if (rc)
		return rc;
	pthread_rwlock_rdlock(&st->lock);
	if (st->db)
		rdb.rocksdb_write(st->db, st->wopts, batch, &err);
	pthread_rwlock_unlock(&st->lock);
	if (!err)
		return 0;
	rc = store_write_errno(err);
	if (rc == -EIO && store_write_damaged(st, err) != 0)
		return store_fail("put", key, err, rc);	/* no reopen cures it */
	if (st->stopped_since == 0) {
		st->stopped_rc = rc;
		st->stopped_since = (uint64_t)util_now_ns();
	}
	return store_fail("put", key, err, rc);
}

/* Adds to batch the value made of two parts, head then tail (either may
 * be empty), under key, without first joining them in a buffer of our
 * own. */
static void store_batch_put(rocksdb_writebatch_t *batch,
			    const uint8_t key[KEY_LEN], const void *head,
			    size_t head_len, const void *tail, size_t tail_len)
{
	const char *keys[1] = { (const char *)key };
	const size_t key_lens[1] = { KEY_LEN };
	const char *parts[2] = { head ? head : "", tail ? tail : "" };
	const size_t part_lens[2] = { head_len, tail_len };

	rdb.rocksdb_writebatch_putv(batch, 1, keys, key_lens, 2, parts, part_lens);
}

/* Writes the value made of head and tail under key. */
static int store_write(store *st, const uint8_t key[KEY_LEN],
		       const void *head, size_t head_len, const void *tail,
		       size_t tail_len)
{
	rocksdb_writebatch_t *batch = rdb.rocksdb_writebatch_create();
	int rc;

	store_batch_put(batch, key, head, head_len, tail, tail_len);
	rc = store_commit(st, key, batch);
	rdb.rocksdb_writebatch_destroy(batch);
	return rc;
}

int store_put(store *st, const uint8_t key[KEY_LEN], const void *data,
	      size_t len, uint64_t compute_ns, uint32_t tag)
{
	uint8_t hdr[STORE_HDR_LEN];

	assert(data || len == 0);
	if ((uint64_t)len > STORE_MAX_DATA)
		return -EFBIG;
	store_hdr_encode(hdr, data, len, compute_ns, tag);
	return store_write(st, key, hdr, sizeof(hdr), data, len);
}

int store_rec_encode(const void *data, size_t len, uint64_t compute_ns,
		     uint32_t tag, void **out, size_t *outlen)
{
	uint8_t *buf;

	assert(data || len == 0);
	if ((uint64_t)len > STORE_MAX_DATA)
		return -EFBIG;
	buf = malloc(STORE_HDR_LEN + len);
	if (!buf)
		return -ENOMEM;
	store_hdr_encode(buf, data, len, compute_ns, tag);
	if (len)
		memcpy(buf + STORE_HDR_LEN, data, len);
	*out = buf;
	*outlen = STORE_HDR_LEN + len;
	return 0;
}

int store_rec_verify(const void *raw, size_t len, store_rec *rec, char *why,
		     size_t whylen)
{
	const uint8_t *p = raw;
	size_t hdr_len;
	uint32_t tag;
	int rc;

	memset(rec, 0, sizeof(*rec));
	rc = store_rec_check(p, len, &hdr_len, &tag, why, whylen);
	if (rc)
		return rc;
	rec->data = p + hdr_len;
	rec->len = len - hdr_len;
	rec->tag = tag;
	rec->compute_ns = store_dec_u64(p + 24);
	rec->created_ns = store_dec_u64(p + 32);
	return 0;
}

int store_rec_adopt(void *raw, size_t len, store_rec *rec, char *why,
		    size_t whylen)
{
	int rc = store_rec_verify(raw, len, rec, why, whylen);

	if (rc == 0) {
		rec->raw = raw;
		rec->raw_malloced = 1;
	}
	return rc;
}

int store_put_raw(store *st, const uint8_t key[KEY_LEN], const void *raw,
		  size_t len)
{
	assert(raw || len == 0);
	return store_write(st, key, raw, len, NULL, 0);
}

/* ---- accounting (see store.h) -------------------------------------------
 *
 * An accounting entry, in column family "meta" under the record's key:
 *
 *   offset size field
 *        0    4 magic "MFM\0"
 *        4    8 data length, u64
 *       12    8 created_ns, u64 (the record's)
 *       20    8 used_ns, u64
 *       28    8 compute_ns, u64 (the record's)
 *       36    2 length F of the function's name, u16
 *       38    F the function's name, then the argument (the rest)
 *
 * An entry that does not parse is skipped by store_scan() (and removed
 * with its record by store_delete()).
 */

#define STORE_META_HDR 38
static const uint8_t store_meta_magic[4] = { 'M', 'F', 'M', '\0' };

/* Encodes m (fn and arg included) into a new buffer; *len its size.
 * NULL when out of memory. */
static uint8_t *store_meta_encode(const struct store_meta *m, size_t *len)
{
	size_t flen = strlen(m->fn), alen = strlen(m->arg);
	uint8_t *buf = malloc(STORE_META_HDR + flen + alen);

	if (!buf)
		return NULL;
	memcpy(buf, store_meta_magic, sizeof(store_meta_magic));
	store_enc_u64(buf + 4, m->len);
	store_enc_u64(buf + 12, m->created_ns);
	store_enc_u64(buf + 20, m->used_ns);
	store_enc_u64(buf + 28, m->compute_ns);
	buf[36] = (uint8_t)flen;
	buf[37] = (uint8_t)(flen >> 8);
	memcpy(buf + STORE_META_HDR, m->fn, flen);
	memcpy(buf + STORE_META_HDR + flen, m->arg, alen);
	*len = STORE_META_HDR + flen + alen;
	return buf;
}

/* Decodes the entry raw[0..len) of key into *m, its names copied into
 * names (STORE_NAMES_BUF bytes).  0, or -EBADMSG. */
static int store_meta_decode(const uint8_t *key, const uint8_t *raw,
			     size_t len, struct store_meta *m, char *names)
{
	size_t flen, alen;

	if (len < STORE_META_HDR ||
	    memcmp(raw, store_meta_magic, sizeof(store_meta_magic)) != 0)
		return -EBADMSG;
	flen = (size_t)raw[36] | (size_t)raw[37] << 8;
	if (flen > len - STORE_META_HDR || flen > STORE_NAME_MAX)
		return -EBADMSG;
	alen = len - STORE_META_HDR - flen;
	if (alen > STORE_NAME_MAX)
		return -EBADMSG;
	memcpy(m->key, key, KEY_LEN);
	m->len = store_dec_u64(raw + 4);
	m->created_ns = store_dec_u64(raw + 12);
	m->used_ns = store_dec_u64(raw + 20);
	m->compute_ns = store_dec_u64(raw + 28);
	memcpy(names, raw + STORE_META_HDR, flen);
	names[flen] = '\0';
	memcpy(names + flen + 1, raw + STORE_META_HDR + flen, alen);
	names[flen + 1 + alen] = '\0';
	m->fn = names;
	m->arg = names + flen + 1;
	return 0;
}

/* Adds m's entry to batch.  0 or -ENOMEM. */
static int store_batch_meta(store *st, rocksdb_writebatch_t *batch,
			    const struct store_meta *m)
{
	size_t len;
	uint8_t *val = store_meta_encode(m, &len);

	if (!val)
		return -ENOMEM;
	rdb.rocksdb_writebatch_put_cf(batch, st->cf[STORE_CF_META],
				  (const char *)m->key, KEY_LEN,
				  (const char *)val, len);
	free(val);
	return 0;
}

int store_put_named(store *st, const uint8_t key[KEY_LEN], const char *fn,
		    const char *arg, const void *data, size_t len,
		    uint64_t compute_ns, uint64_t created_ns, uint32_t tag)
{
	uint8_t hdr[STORE_HDR_LEN];
	struct store_meta m = { .fn = fn, .arg = arg, .len = len,
				.compute_ns = compute_ns };
	rocksdb_writebatch_t *batch;
	int rc;

	assert(data || len == 0);
	if ((uint64_t)len > STORE_MAX_DATA)
		return -EFBIG;
	if (strlen(fn) > STORE_NAME_MAX || strlen(arg) > STORE_NAME_MAX)
		return -EINVAL;
	rc = store_recover(st);	/* a reopen gives st->cf[] again */
	if (rc)
		return rc;
	store_hdr_encode(hdr, data, len, compute_ns, tag);
	if (created_ns)
		store_enc_u64(hdr + 32, created_ns);
	memcpy(m.key, key, KEY_LEN);
	m.created_ns = m.used_ns = store_dec_u64(hdr + 32);
	batch = rdb.rocksdb_writebatch_create();
	store_batch_put(batch, key, hdr, sizeof(hdr), data, len);
	pthread_rwlock_rdlock(&st->lock);	/* st->cf[] is db's */
	rc = st->db ? store_batch_meta(st, batch, &m) : -EIO;
	pthread_rwlock_unlock(&st->lock);
	if (rc == 0)
		rc = store_commit(st, key, batch);
	rdb.rocksdb_writebatch_destroy(batch);
	return rc;
}

/* The raw entry of key, or NULL (*rc: -ENOENT or -EIO, logged).  Caller
 * frees with rocksdb_free(). */
static char *store_meta_get(store *st, const uint8_t key[KEY_LEN],
			    size_t *len, int *rc)
{
	char *err = NULL, *raw = NULL;

	pthread_rwlock_rdlock(&st->lock);
	if (st->db)
		raw = rdb.rocksdb_get_cf(st->db, st->ropts, st->cf[STORE_CF_META],
				     (const char *)key, KEY_LEN, len, &err);
	pthread_rwlock_unlock(&st->lock);
	*rc = raw ? 0 : -ENOENT;
	if (err)
		*rc = store_fail("get meta", key, err, -EIO);
	return raw;
}

int store_get_meta(store *st, const uint8_t key[KEY_LEN],
		   struct store_meta *m, char names[STORE_NAMES_BUF])
{
	size_t len = 0;
	int rc;
	char *raw = store_meta_get(st, key, &len, &rc);

	if (raw && store_meta_decode(key, (const uint8_t *)raw, len, m,
				     names) != 0)
		rc = -EBADMSG;
	rdb.rocksdb_free(raw);
	return rc;
}

int store_touch(store *st, const uint8_t key[KEY_LEN], uint64_t used_ns)
{
	char names[STORE_NAMES_BUF];
	struct store_meta m;
	rocksdb_writebatch_t *batch;
	size_t len = 0;
	char *raw;
	int rc;

	rc = store_recover(st);
	if (rc)
		return rc;
	pthread_mutex_lock(&st->meta_lock);
	raw = store_meta_get(st, key, &len, &rc);
	if (raw && store_meta_decode(key, (const uint8_t *)raw, len, &m,
				     names) != 0)
		rc = -ENOENT;	/* a damaged entry: left to store_delete */
	if (rc == 0 && used_ns > m.used_ns) {
		m.used_ns = used_ns;
		batch = rdb.rocksdb_writebatch_create();
		pthread_rwlock_rdlock(&st->lock);
		rc = st->db ? store_batch_meta(st, batch, &m) : -EIO;
		pthread_rwlock_unlock(&st->lock);
		if (rc == 0)
			rc = store_commit(st, key, batch);
		rdb.rocksdb_writebatch_destroy(batch);
	}
	pthread_mutex_unlock(&st->meta_lock);
	rdb.rocksdb_free(raw);
	return rc;
}

int store_scan(store *st, store_scan_fn cb, void *arg)
{
	char names[STORE_NAMES_BUF];
	struct store_meta m;
	rocksdb_iterator_t *it;
	char *err = NULL;
	int rc = 0;

	pthread_rwlock_rdlock(&st->lock);
	if (!st->db) {
		pthread_rwlock_unlock(&st->lock);
		return -EIO;
	}
	it = rdb.rocksdb_create_iterator_cf(st->db, st->ropts,
					st->cf[STORE_CF_META]);
	for (rdb.rocksdb_iter_seek_to_first(it); rc == 0 && rdb.rocksdb_iter_valid(it);
	     rdb.rocksdb_iter_next(it)) {
		size_t klen, vlen;
		const char *k = rdb.rocksdb_iter_key(it, &klen);
		const char *v = rdb.rocksdb_iter_value(it, &vlen);

		if (klen == KEY_LEN &&
		    store_meta_decode((const uint8_t *)k, (const uint8_t *)v,
				      vlen, &m, names) == 0)
			rc = cb(arg, &m);
	}
	rdb.rocksdb_iter_get_error(it, &err);
	rdb.rocksdb_iter_destroy(it);
	pthread_rwlock_unlock(&st->lock);
	if (err) {
		log_error("store: scan %s: %s", st->dir, err);
		rdb.rocksdb_free(err);
		return -EIO;
	}
	return rc;
}

/* Fills a deletion batch; caller read-holds st->lock, st->db open. */
typedef void (*store_batch_fn)(store *st, rocksdb_writebatch_t *batch,
			       const uint8_t *key);

/* Recovers if needed, then fills a batch with fill(st, batch, key) and
 * commits it under the meta lock (store_commit(): key names it in a
 * failure's log).  0, or -EIO / a store_recover() error. */
static int store_apply_batch(store *st, store_batch_fn fill,
			     const uint8_t *key)
{
	rocksdb_writebatch_t *batch;
	int rc = store_recover(st);

	if (rc)
		return rc;
	batch = rdb.rocksdb_writebatch_create();
	pthread_mutex_lock(&st->meta_lock);
	pthread_rwlock_rdlock(&st->lock);
	if (st->db)
		fill(st, batch, key);
	else
		rc = -EIO;
	pthread_rwlock_unlock(&st->lock);
	if (rc == 0)
		rc = store_commit(st, key, batch);
	pthread_mutex_unlock(&st->meta_lock);
	rdb.rocksdb_writebatch_destroy(batch);
	return rc;
}

/* One result: its record and its accounting entry. */
static void store_fill_delete(store *st, rocksdb_writebatch_t *batch,
			      const uint8_t *key)
{
	rdb.rocksdb_writebatch_delete(batch, (const char *)key, KEY_LEN);
	rdb.rocksdb_writebatch_delete_cf(batch, st->cf[STORE_CF_META],
				     (const char *)key, KEY_LEN);
}

int store_delete(store *st, const uint8_t key[KEY_LEN])
{
	return store_apply_batch(st, store_fill_delete, key);
}

/* Every key sorts between these: keys are KEY_LEN bytes. */
static const uint8_t store_key_lo[KEY_LEN];
static const uint8_t store_key_hi[KEY_LEN + 1] = {
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff
};
_Static_assert(KEY_LEN == 16, "store_key_hi is one byte past any key");

/* Every key of every column family. */
static void store_fill_delete_all(store *st, rocksdb_writebatch_t *batch,
				  const uint8_t *key)
{
	(void)key;
	for (int i = 0; i < STORE_NCF; i++)
		rdb.rocksdb_writebatch_delete_range_cf(batch, st->cf[i],
			(const char *)store_key_lo, KEY_LEN,
			(const char *)store_key_hi, KEY_LEN + 1);
}

int store_delete_all(store *st)
{
	return store_apply_batch(st, store_fill_delete_all, store_key_lo);
}

/* Sets the blob GC age cutoff (see store_compact).  Caller read-holds
 * st->lock. */
static void store_blob_cutoff(store *st, const char *cutoff)
{
	static const char *const key[1] = { "blob_garbage_collection_age_cutoff" };
	const char *val[1] = { cutoff };
	char *err = NULL;

	rdb.rocksdb_set_options_cf(st->db, st->cf[STORE_CF_DATA], 1, key, val,
			       &err);
	if (err)
		log_warn("store: cannot set blob GC cutoff: %s", err);
	rdb.rocksdb_free(err);
}

/* RocksDB's blob GC relocates live blobs only out of the oldest quarter
 * of blob files (age cutoff 0.25): deleted large results in newer files
 * would keep their space.  A full compaction with the cutoff at 1.0
 * rewrites every blob file that holds garbage.  The memtables are
 * flushed first (CompactRange does), so the WAL can go too. */
int store_compact(store *st)
{
	rocksdb_compactoptions_t *co = rdb.rocksdb_compactoptions_create();

	rdb.rocksdb_compactoptions_set_bottommost_level_compaction(co, 2);
	pthread_rwlock_rdlock(&st->lock);
	if (st->db) {
		store_blob_cutoff(st, "1.0");
		for (int i = 0; i < STORE_NCF; i++)
			rdb.rocksdb_compact_range_cf_opt(st->db, st->cf[i], co,
						     NULL, 0, NULL, 0);
		store_blob_cutoff(st, "0.25");
	}
	pthread_rwlock_unlock(&st->lock);
	rdb.rocksdb_compactoptions_destroy(co);
	return 0;
}

int store_disk_bytes(store *st, uint64_t *bytes)
{
	DIR *d = opendir(st->dir);
	struct dirent *e;
	struct stat sb;
	uint64_t sum = 0;

	if (!d)
		return -errno;
	while ((e = readdir(d)) != NULL)
		if (fstatat(dirfd(d), e->d_name, &sb, AT_SYMLINK_NOFOLLOW) ==
			    0 && S_ISREG(sb.st_mode))
			sum += (uint64_t)sb.st_blocks * 512u;
	closedir(d);
	*bytes = sum;
	return 0;
}
