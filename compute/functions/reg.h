/* reg.h -- the function registry: which functions exist and their arguments.
 *
 * Built-ins and plugins register through memofs_register() (memofs.h); a
 * reg is the memofs_registry behind it.  It is filled at start-up, before
 * any thread starts, and read-only afterwards, so lookups need no lock.
 * Argument lists that depend on the dataset take it as a parameter.
 */
#ifndef MEMOFS_REG_H
#define MEMOFS_REG_H

#include <stddef.h>

#include "functions/args.h"
#include "functions/argdir.h"
#include "data/ds.h"
#include "memofs.h"
#include "util/name.h"

#define REG_NAME_MAX UTIL_NAME_MAX	/* longest function or argument name */
/* Longest canonical argument: per level at most a file name, '/', its
 * digest (argdir.h), the levels joined by '/' (resolve.h). */
#define REG_ARG_MAX (MEMOFS_ARGS_MAX * (REG_NAME_MAX + 2 + ARGDIR_HEX_LEN))

typedef struct memofs_registry reg;	/* the registry plugins see */
typedef struct reg_fn reg_fn;
struct resolve_arg;			/* resolve.h */
typedef struct resolve_columns resolve_columns;

/* Returns 0 and *out (caller frees with reg_free()) or -ENOMEM. */
int reg_new(reg **out);
void reg_free(reg *r);		/* reg_free(NULL) is a no-op */

/* Stopping: a provider whose computations may not end by themselves
 * (commands) registers how to end them, at start-up; reg_cancel() calls
 * every such hook, in registration order, from any thread.  memo_cancel()
 * calls it, so whoever stops memo stops them too, in the right order.
 * 0 or -ENOMEM.  reg_cancel(NULL) is a no-op. */
int reg_on_cancel(reg *r, void (*fn)(void *arg), void *arg);
void reg_cancel(const reg *r);

/* Is s usable as one path component: 1..REG_NAME_MAX bytes, no '/', no
 * control character, not "." or ".."? */
int reg_valid_component(const char *s);

/* Like memofs_register() (which refuses ARGS_FILES), but appends "+"
 * version_suffix to the declared version when version_suffix is not NULL
 * (plugins and command functions pass a digest of their code, so a
 * changed one gets fresh cache keys). */
int reg_add(reg *r, const struct memofs_function *def,
	    const char *version_suffix);

/* The current version suffix of a function whose code can change while
 * mounted (a command function's program and script: cmdfn.h).  Writes at
 * most REG_SUFFIX_MAX characters and a NUL into suffix.  Returns 0 or a
 * negative errno.  Called from any thread, for every cache key of the
 * function (memo.h), so it must be cheap while nothing changes. */
#define REG_SUFFIX_MAX 64
#define REG_VERSION_BUF (REG_NAME_MAX + 1 + REG_SUFFIX_MAX + 1)
typedef int (*reg_version_fn)(void *udata, char *suffix);

/* Like reg_add(), with a suffix that version_now() gives afresh each time
 * a key is made (reg_fn_version_now()); reg_fn_version() keeps the one it
 * gave at registration.  The declared version is at most REG_NAME_MAX
 * bytes (-EINVAL).  Returns 0, version_now()'s error, or reg_add()'s. */
int reg_add_versioned(reg *r, const struct memofs_function *def,
		      reg_version_fn version_now);

/* Makes memofs_register() append "+" suffix to every version it registers
 * until the next call (NULL: no suffix).  The plugin loader sets the
 * plugin file's digest while the plugin registers.  Returns 0 or -ENOMEM. */
int reg_set_suffix(reg *r, const char *suffix);

/* The name of the last function whose registration failed with -EEXIST,
 * or NULL. */
const char *reg_last_clash(const reg *r);

size_t reg_count(const reg *r);
const reg_fn *reg_at(const reg *r, size_t i);	/* in registration order */
const reg_fn *reg_find(const reg *r, const char *name);	/* NULL: none */

const char *reg_fn_name(const reg_fn *f);
const char *reg_fn_version(const reg_fn *f);	/* suffix included */

/* The version cache keys use now: reg_fn_version(), or for a function
 * registered by reg_add_versioned() the declared version, "+" and what
 * its hook gives now (written into buf; "?" when the hook fails, a suffix
 * no computation is ever cached under: memo.h). */
const char *reg_fn_version_now(const reg_fn *f, char buf[REG_VERSION_BUF]);

/* Was f registered by reg_add_versioned()? */
int reg_fn_versioned(const reg_fn *f);
const char *reg_fn_description(const reg_fn *f);

/* What f's compute writes, as declared (memofs.h): MEMOFS_BYTES, or a
 * typed result of that shape (always MEMOFS_SHAPE_VECTOR for bytes). */
enum memofs_dtype reg_fn_dtype(const reg_fn *f);
enum memofs_shape reg_fn_shape(const reg_fn *f);

/* The dtype of f's result for the canonical argument arg: reg_fn_dtype(),
 * except for a function reg_set_dtype_by_kind() marked, whose result for
 * column colN follows the bound dataset's column kind (ds.h): DS_FLOAT64
 * gives MEMOFS_FLOAT64, DS_INT64 MEMOFS_INT64 and DS_TEXT MEMOFS_BYTES
 * (text, no .npy view).  Everything that makes, checks or shows a result
 * asks this, not reg_fn_dtype(). */
enum memofs_dtype reg_fn_arg_dtype(const reg *r, const reg_fn *f,
				   const char *arg);

/* Marks the function name (ARGS_COLUMNS, declared a typed
 * MEMOFS_SHAPE_COLUMN) as typed by its column's kind: the built-in
 * "column".  0, or -ENOENT when there is no such function.  Start-up
 * only, like registration. */
int reg_set_dtype_by_kind(reg *r, const char *name);

/* Marks the function name as a view of the dataset while *unless is 0
 * (unless NULL: always): its result is then the bound dataset's own
 * memory (memo_ctx_borrow()), which costs nothing to make again, so memo
 * never stores it, never looks for it in the store or the remote tier,
 * and keeps it in memory only (memo.h).  The built-in "column", unless
 * -o delay makes it slow.  unless is borrowed and must outlive r.  0, or
 * -ENOENT.  Start-up only. */
int reg_set_dataset_view(reg *r, const char *name, const double *unless);

/* Is f a view of the dataset now (reg_set_dataset_view())? */
int reg_fn_dataset_view(const reg_fn *f);

/* Runs f's compute callback. */
int reg_fn_compute(const reg_fn *f, memofs_ctx *ctx, const char *arg);

/* f's declared arguments, one per path level: how many (1..
 * MEMOFS_ARGS_MAX), and the i-th (i < reg_fn_nargs(f)).  resolve.h
 * resolves and lists them. */
size_t reg_fn_nargs(const reg_fn *f);
const struct resolve_arg *reg_fn_arg(const reg_fn *f, size_t i);

/* Binds the dataset whose columns column arguments take (borrowed; must
 * outlive r).  Call once, after registration and before any argument is
 * listed or resolved.  Returns 0 or -ENOMEM. */
int reg_bind_dataset(reg *r, const ds *d);

/* Binds the directory whose files ARGS_FILES arguments take (borrowed;
 * must outlive r).  Call once, before any argument is listed or
 * resolved. */
void reg_bind_dir(reg *r, argdir *d);

/* What arguments resolve against (resolve.h): the bound dataset's columns
 * and the bound directory; NULL when none is bound. */
const resolve_columns *reg_columns(const reg *r);
argdir *reg_dir(const reg *r);

#endif
