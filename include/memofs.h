/* memofs.h -- the API of memofs compute functions.
 *
 * Every function memofs serves, built-in or from a plugin, is registered
 * through this header.  A function has a name (the directory under the
 * mount point), a version (part of every cache key: change it when the
 * results change), a one-line description, a way to list its arguments (the
 * files in its directory) and a compute callback.
 *
 * The callback runs on a memofs worker thread.  It receives the argument
 * (for MEMOFS_ARGS_COLUMNS always in canonical form "colN") and a context
 * through which it reads the dataset, calls other memoized functions, writes
 * its result bytes and reports errors.  It returns 0 on success or a
 * negative errno; any error (after memofs_error() or not) makes the read
 * fail with EIO, is logged, and is not cached.  A callback must be
 * thread-safe: distinct arguments run in parallel.
 *
 * A plugin is a shared object (see MEMOFS_PLUGIN_DECLARE below) whose
 * entry point registers its functions and returns 0, or a negative errno.
 *
 * What is stable (the plugin ABI):
 * - Only symbols named memofs_* are visible to a plugin: the daemon exports
 *   nothing else (fs/memofs.dynlist), so a plugin's own non-static
 *   log_msg() or store_open() is its own.
 * - MEMOFS_ABI_VERSION changes only when a change would break a plugin
 *   already built; memofs loads plugins built for any ABI from
 *   MEMOFS_ABI_MIN to its own, and says which in a refusal.
 * - struct memofs_function only grows at its end.  memofs_register() is a
 *   macro passing sizeof(*fn), so memofs knows which fields a plugin built
 *   against an older header filled, and reads every later field as 0 (the
 *   default): a plugin keeps working, unrebuilt, as the struct grows (the
 *   pattern of libfuse's op_size).
 * - A misuse of the API by a plugin (an out-of-range column, a NULL
 *   argument) is an error return, never an abort of the daemon.
 */
#ifndef MEMOFS_H
#define MEMOFS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define MEMOFS_ABI_VERSION 1	/* the ABI this header describes */
#define MEMOFS_ABI_MIN 1	/* the oldest ABI a memofs still loads */

typedef struct memofs_ctx memofs_ctx;
typedef struct memofs_registry memofs_registry;

/* The ABI of the running memofs (MEMOFS_ABI_VERSION when it was built),
 * and its version text ("0.1.0"): a plugin may check what it runs in. */
int memofs_abi_version(void);
const char *memofs_version(void);

enum memofs_args {
	MEMOFS_ARGS_COLUMNS = 1,	/* col0..colN-1, plus header names */
	MEMOFS_ARGS_LIST = 2,		/* the fixed list arg_list */
	MEMOFS_ARGS_NUMERIC = 4,	/* as COLUMNS, the numeric ones only
					 * (not text columns: README's
					 * "Data formats") */
};

typedef int (*memofs_compute_fn)(memofs_ctx *ctx, const char *arg,
				 void *udata);

/* What a function's result is (struct memofs_function's dtype).  A typed
 * result (FLOAT64, INT64) is an array of little-endian values, stored in
 * binary and never re-parsed; memofs shows it as text under its plain
 * name (one value per line: Python's repr for float64, decimal integers
 * for int64) and as NumPy .npy under NAME.npy.  BYTES (0, the default) is
 * what every function was before typed results: opaque bytes. */
enum memofs_dtype {
	MEMOFS_BYTES = 0,	/* opaque bytes (text), as before */
	MEMOFS_FLOAT64 = 1,	/* numpy '<f8' */
	MEMOFS_INT64 = 2,	/* numpy '<i8' */
};

/* The shape of a typed result (struct memofs_function's shape).  Known
 * before computing for SCALAR and COLUMN, so that the .npy view shows its
 * exact size in stat before it is computed; a computation that writes
 * another count of values fails (EIO), it never makes a wrong file. */
enum memofs_shape {
	MEMOFS_SHAPE_VECTOR = 0,	/* 1-d, any length (known once made) */
	MEMOFS_SHAPE_SCALAR = 1,	/* 0-d: exactly one value */
	MEMOFS_SHAPE_COLUMN = 2,	/* 1-d of memofs_nrows() values */
};

/* What a plugin fills to register a function.  New fields are only ever
 * added at the end, with 0 meaning "as before" (see memofs_register()). */
struct memofs_function {
	const char *name;	 /* [A-Za-z0-9_.-]+, not "." or ".." */
	const char *version;	 /* any printable text, e.g. "1" */
	const char *description; /* one line */
	enum memofs_args args;
	const char *const *arg_list; /* MEMOFS_ARGS_LIST: NULL-terminated */
	memofs_compute_fn compute;
	void *udata;		 /* passed to compute; owned by the caller */
	/* ---- ABI 1, since typed results (0: bytes, as before) ---- */
	enum memofs_dtype dtype; /* what compute writes */
	enum memofs_shape shape; /* typed only: its shape */
};

/* Registers fn; the strings and arg_list are copied.  size is
 * sizeof(struct memofs_function) as the caller's header had it: fields past
 * it are taken as 0.  Returns 0, -EEXIST when the name is taken, -EINVAL
 * for an invalid definition (NULL reg or fn, a bad name, no compute, an
 * unknown dtype or shape, a shape for MEMOFS_BYTES, a
 * size smaller than ABI 1's struct), -ENOMEM.  Call it through the macro
 * memofs_register(reg, fn), which passes the size. */
int memofs_register_size(memofs_registry *reg,
			 const struct memofs_function *fn, size_t size);
#define memofs_register(reg, fn) \
	memofs_register_size((reg), (fn), sizeof(*(fn)))
/* ABI 1's entry point, for plugins built before memofs_register_size():
 * the same with size = ABI 1's struct. */
int (memofs_register)(memofs_registry *reg, const struct memofs_function *fn);

/* A plugin declares the ABI it was built for (at file scope, once):
 *     MEMOFS_PLUGIN_DECLARE;
 * and exports its entry point:
 *     int memofs_plugin_init(memofs_registry *reg, int abi_version);
 * memofs refuses a plugin whose declared ABI differs from its own. */
#define MEMOFS_PLUGIN_DECLARE \
	const int memofs_plugin_abi = MEMOFS_ABI_VERSION
#define MEMOFS_PLUGIN_ABI "memofs_plugin_abi"
#define MEMOFS_PLUGIN_INIT "memofs_plugin_init"
typedef int (*memofs_plugin_init_fn)(memofs_registry *reg, int abi_version);

/* What a plugin defines (declared here so its definitions are checked). */
extern const int memofs_plugin_abi;
int memofs_plugin_init(memofs_registry *reg, int abi_version);

/* ---- inside a compute callback ---------------------------------------- */

size_t memofs_nrows(const memofs_ctx *ctx);
size_t memofs_ncols(const memofs_ctx *ctx);

/* Parses a canonical column argument "colN".  Returns 0 and *col, or
 * -ENOENT when arg names no column of the dataset. */
int memofs_arg_column(const memofs_ctx *ctx, const char *arg, size_t *col);

/* The dataset's column col (nrows values), read directly from the dataset,
 * as doubles (an int64 column's rounded beyond 2^53; a missing value is
 * NaN).  Valid while the mount lives.  NULL when col >= memofs_ncols(), the
 * column is text, or the mount has no table (a directory DATA). */
const double *memofs_data_column(const memofs_ctx *ctx, size_t col);

/* Calls function fn on arg through the cache: a cached result is returned
 * at once, a result being computed is waited for, any other is computed.
 * Returns 0 with *data and *len valid until this callback returns, or a
 * negative errno (-ENOENT for an unknown function or argument, -ELOOP for a
 * dependency cycle, -EIO when that computation failed).  A typed result
 * comes as its text view (the bytes its plain file shows), so a plugin
 * written before typed results reads the same bytes as before. */
int memofs_call(memofs_ctx *ctx, const char *fn, const char *arg,
		const void **data, size_t *len);

/* memofs_call() as values: a typed result's values (float64 as they are,
 * int64 converted), or a bytes result of numbers one per line (e.g. a
 * command's) parsed.  Returns 0 with *vals (a new array, caller frees with
 * free()) and *n, or a negative errno (-EIO when a line is not a
 * number). */
int memofs_call_doubles(memofs_ctx *ctx, const char *fn, const char *arg,
			double **vals, size_t *n);

/* memofs_call() as float64 values, without a copy: *v points at the
 * result's own values (in memory, or in the record read from the store),
 * borrowed until this callback returns; never write through it.  An int64
 * result is converted and a bytes result parsed (as
 * memofs_call_doubles()), once per result, into memory the result owns.
 * Returns 0 with *v (not NULL, even when *n is 0) and *n, or a negative
 * errno as memofs_call_doubles(). */
int memofs_call_f64(memofs_ctx *ctx, const char *fn, const char *arg,
		    const double **v, size_t *n);

/* Appends to the result of a BYTES function.  Return 0 or -ENOMEM; in a
 * typed function -EINVAL, and the computation fails (EIO) even if the
 * callback then returns 0. */
int memofs_write(memofs_ctx *ctx, const void *buf, size_t len);
int memofs_printf(memofs_ctx *ctx, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* In a BYTES function: appends x as Python's repr(float) prints it, and a
 * newline.  In a FLOAT64 function: appends the value x.  In an INT64
 * function: -EINVAL, and the computation fails. */
int memofs_write_double(memofs_ctx *ctx, double x);

/* Reports that the computation is fraction done (0.0 to 1.0), shown in
 * MOUNTPOINT/.memofs/jobs.  Cheap (a lock); call it every second or so,
 * not per value.  Returns 0, or -EINVAL for a fraction outside [0, 1]
 * (NaN included) or a NULL ctx.  (Added after ABI 1 without changing
 * it: a plugin that calls it needs a memofs that has it.) */
int memofs_progress(memofs_ctx *ctx, double fraction);

/* Appends n values to the result of a FLOAT64 (memofs_write_f64) or an
 * INT64 (memofs_write_i64) function; v may be NULL when n is 0.  Returns
 * 0, -ENOMEM, or -EINVAL (the other dtype, or a BYTES function: the
 * computation then fails).  The count is checked against the declared
 * shape when the callback returns. */
int memofs_write_f64(memofs_ctx *ctx, const double *v, size_t n);
int memofs_write_i64(memofs_ctx *ctx, const int64_t *v, size_t n);

/* Records why the computation failed (logged with the function and
 * argument) and returns -EIO, for "return memofs_error(ctx, ...);". */
int memofs_error(memofs_ctx *ctx, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#ifdef __cplusplus
}
#endif

#endif
