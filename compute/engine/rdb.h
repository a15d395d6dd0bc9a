/* rdb.h -- RocksDB's C API, loaded at run time.
 *
 * memofs does not link librocksdb: store.c calls it through the pointers
 * in rdb, which rdb_load() fills from dlopen(RDB_SONAME).  The reason is
 * start-up time.  Loading RocksDB runs its static initialisers (option
 * tables, registries): measured on this project's 2-CPU VM with
 * `perf stat -r 30`, an empty C program linked with -lrocksdb takes
 * 7.5 ms of CPU against 0.7 ms without, nearly all of it before main().
 * Loaded at run time, that cost moves to the thread that opens the store,
 * while the main thread loads the dataset (fs/mfs_main.c), instead of
 * delaying every mount.
 *
 * Threads: rdb_load() may be called from any thread, any number of times
 * (pthread_once); rdb is read only after it returned 0.
 */
#ifndef MEMOFS_RDB_H
#define MEMOFS_RDB_H

#include <stddef.h>

#include <rocksdb/c.h>

/* Every RocksDB function store.c calls. */
#define RDB_FUNCS(X) \
	X(rocksdb_block_based_options_create) \
	X(rocksdb_block_based_options_destroy) \
	X(rocksdb_block_based_options_set_block_cache) \
	X(rocksdb_block_based_options_set_cache_index_and_filter_blocks) \
	X(rocksdb_block_based_options_set_data_block_index_type) \
	X(rocksdb_block_based_options_set_filter_policy) \
	X(rocksdb_block_based_options_set_index_type) \
	X(rocksdb_block_based_options_set_metadata_block_size) \
	X(rocksdb_block_based_options_set_partition_filters) \
	X(rocksdb_block_based_options_set_pin_l0_filter_and_index_blocks_in_cache) \
	X(rocksdb_block_based_options_set_pin_top_level_index_and_filter) \
	X(rocksdb_cache_create_lru_opts) \
	X(rocksdb_cache_destroy) \
	X(rocksdb_close) \
	X(rocksdb_column_family_handle_destroy) \
	X(rocksdb_compact_range_cf_opt) \
	X(rocksdb_compactoptions_create) \
	X(rocksdb_compactoptions_destroy) \
	X(rocksdb_compactoptions_set_bottommost_level_compaction) \
	X(rocksdb_create_iterator_cf) \
	X(rocksdb_delete_file) \
	X(rocksdb_delete_file_in_range) \
	X(rocksdb_filterpolicy_create_bloom_full) \
	X(rocksdb_free) \
	X(rocksdb_get) \
	X(rocksdb_get_cf) \
	X(rocksdb_iter_destroy) \
	X(rocksdb_iter_get_error) \
	X(rocksdb_iter_key) \
	X(rocksdb_iter_next) \
	X(rocksdb_iter_seek_to_first) \
	X(rocksdb_iter_valid) \
	X(rocksdb_iter_value) \
	X(rocksdb_livefiles) \
	X(rocksdb_livefiles_count) \
	X(rocksdb_livefiles_destroy) \
	X(rocksdb_livefiles_largestkey) \
	X(rocksdb_livefiles_level) \
	X(rocksdb_livefiles_name) \
	X(rocksdb_livefiles_smallestkey) \
	X(rocksdb_lru_cache_options_create) \
	X(rocksdb_lru_cache_options_destroy) \
	X(rocksdb_lru_cache_options_set_capacity) \
	X(rocksdb_lru_cache_options_set_num_shard_bits) \
	X(rocksdb_open) \
	X(rocksdb_open_column_families) \
	X(rocksdb_options_create) \
	X(rocksdb_options_destroy) \
	X(rocksdb_options_set_blob_compression_type) \
	X(rocksdb_options_set_block_based_table_factory) \
	X(rocksdb_options_set_compression) \
	X(rocksdb_options_set_create_if_missing) \
	X(rocksdb_options_set_create_missing_column_families) \
	X(rocksdb_options_set_disable_auto_compactions) \
	X(rocksdb_options_set_enable_blob_files) \
	X(rocksdb_options_set_enable_blob_gc) \
	X(rocksdb_options_set_info_log_level) \
	X(rocksdb_options_set_keep_log_file_num) \
	X(rocksdb_options_set_level_compaction_dynamic_level_bytes) \
	X(rocksdb_options_set_manifest_preallocation_size) \
	X(rocksdb_options_set_max_log_file_size) \
	X(rocksdb_options_set_max_open_files) \
	X(rocksdb_options_set_max_total_wal_size) \
	X(rocksdb_options_set_max_write_buffer_number) \
	X(rocksdb_options_set_min_blob_size) \
	X(rocksdb_options_set_stats_dump_period_sec) \
	X(rocksdb_options_set_stats_persist_period_sec) \
	X(rocksdb_options_set_write_buffer_size) \
	X(rocksdb_readoptions_create) \
	X(rocksdb_readoptions_destroy) \
	X(rocksdb_set_options) \
	X(rocksdb_set_options_cf) \
	X(rocksdb_write) \
	X(rocksdb_writebatch_create) \
	X(rocksdb_writebatch_delete) \
	X(rocksdb_writebatch_delete_cf) \
	X(rocksdb_writebatch_delete_range_cf) \
	X(rocksdb_writebatch_destroy) \
	X(rocksdb_writebatch_put_cf) \
	X(rocksdb_writebatch_putv) \
	X(rocksdb_writeoptions_create) \
	X(rocksdb_writeoptions_destroy) \
	X(rocksdb_writeoptions_set_sync)

struct rdb_api {
	void *handle;		/* dlopen()'s: kept loaded, never closed */
#define RDB_MEMBER(f) __typeof__(f) *f;
	RDB_FUNCS(RDB_MEMBER)
#undef RDB_MEMBER
};

/* The loaded API: valid after rdb_load() returned 0. */
extern struct rdb_api rdb;

/* Loads RocksDB (once per process) and resolves every function of
 * RDB_FUNCS.  0, or -ELIBACC when the library cannot be loaded or lacks a
 * function, with the reason (dlerror()) in err (errlen bytes).  A failure
 * is remembered: every later call gives the same answer. */
int rdb_load(char *err, size_t errlen);

/* rdb_load()'s work, from the library file at path into *api, without
 * the once (for tests: a missing file, a library without the functions).
 * 0 or -ELIBACC with err filled; on success the library stays loaded. */
int rdb_load_from(const char *path, struct rdb_api *api, char *err,
		  size_t errlen);

#endif
