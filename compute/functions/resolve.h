/* resolve.h -- the one resolver of argument names, for every kind and
 * every caller: FUSE lookups and listings (fs/), nested calls (memo.h,
 * memofs_call()), the context API (memofs_arg()) and commands (cmdfn.h).
 *
 * A function declares an ordered list of arguments (struct resolve_arg,
 * one per path level: FUNCTION/ARG1/.../ARGn); each has a kind (args.h).
 * A name at level i resolves by the kind of argument i alone, into its
 * canonical form:
 *   COLUMNS, NUMERIC  "colN" (decimal N < ncols, no sign, no
 *             leading zero) or a header alias (reg.h's rule), -> "colN";
 *   LIST      an item of the list, -> itself;
 *   FILES     a regular file of the bound directory, -> NAME/HEX
 *             (argdir.h: HEX is the content digest);
 *   REAL      a finite number in [min, max] written canonically: the
 *             shortest text that reads back to the same double (Python's
 *             repr) without a trailing ".0" ("0.9", "1", "1e-05");
 *   INTEGER   an integer in [min, max], |v| <= 2^53, in plain decimal
 *             ('-' only when negative, no leading zero).
 * A number not written canonically ("0.90", ".9", "9e-1", "+1", "1.0",
 * "-0", "01", "nan", "inf", "0x1p-1") is ENOENT, like "col01": every
 * argument has exactly one name, one cache entry and one inode.
 *
 * The canonical argument of a whole path is the canonical components
 * joined by '/' ("0.9/col3"; a FILES component is itself NAME/HEX, and
 * resolve_split() knows which component spans two segments).  Cache keys
 * hash each component as its own length-prefixed field (key.h).
 *
 * Listing a level: columns list col0.. then the header aliases, lists
 * their items, files the directory, numbers the function's suggested
 * values (any other valid number is accepted too).  Nothing here
 * computes anything; only FILES reads (and digests) files.
 *
 * Everything is read-only after start-up: safe from any thread.
 */
#ifndef MEMOFS_RESOLVE_H
#define MEMOFS_RESOLVE_H

#include <stddef.h>
#include <sys/stat.h>

#include "data/ds.h"
#include "functions/args.h"
#include "functions/argdir.h"
#include "functions/reg.h"

#define RESOLVE_ARGS_MAX MEMOFS_ARGS_MAX	/* levels, at most */
#define RESOLVE_LABEL_MAX 32		/* longest argument label */
/* Longest canonical component (a file: NAME/HEX), and whole argument. */
#define RESOLVE_LEVEL_MAX (REG_NAME_MAX + 1 + ARGDIR_HEX_LEN)
/* The names of a whole path below the function, joined by '/'. */
#define RESOLVE_PATH_MAX (RESOLVE_ARGS_MAX * (REG_NAME_MAX + 1))

/* One declared argument (a path level). */
struct resolve_arg {
	enum args_kind kind;
	char label[RESOLVE_LABEL_MAX + 1];	/* "Q", "COLUMN": --functions */
	char **list;	/* LIST: the items; REAL, INTEGER: suggested values */
	size_t nlist;
	double min, max;	/* REAL, INTEGER: inclusive */
};

/* Fills a from a plugin's or a built-in's declaration, copying strings
 * (release with resolve_arg_clear()).  Returns 0, -EINVAL for an invalid
 * one (unknown kind, FILES unless files_ok, a LIST without items or with
 * a bad or repeated item, a REAL or INTEGER range that is empty or not
 * finite (INTEGER: beyond 2^53 or fractional bounds), a suggested value
 * that is not canonical or not in range, a bad label), or -ENOMEM. */
int resolve_arg_init(struct resolve_arg *a, const struct memofs_arg *def,
		     int files_ok);
void resolve_arg_clear(struct resolve_arg *a);

/* The label of a kind when the declaration gives none ("COLUMN"...). */
const char *resolve_kind_label(enum args_kind kind);

/* ---- what the arguments are resolved against ---------------------------- */

/* The dataset's columns and their header aliases (a header name is an
 * alias when it is a valid component, does not look like "col" + digits,
 * and no other column has it). */
typedef struct resolve_columns resolve_columns;
int resolve_columns_new(const ds *d, resolve_columns **out);	/* -ENOMEM */
void resolve_columns_free(resolve_columns *c);	/* NULL: no-op */

/* Parses "colN" (decimal N without sign or leading zeros, N < ncols).
 * Returns 0 and *col, or -ENOENT. */
int resolve_parse_column(const char *arg, size_t ncols, size_t *col);

/* Parses name as a number of argument a (REAL or INTEGER): 0 and *x when
 * it is canonical and in range, else -ENOENT. */
int resolve_parse_number(const struct resolve_arg *a, const char *name,
			 double *x);

/* ---- one level ----------------------------------------------------------- */

/* Resolves name at level (< reg_fn_nargs(f)) of f into canon (canonlen
 * bytes; RESOLVE_LEVEL_MAX + 1 are enough).  quick: read no large file
 * (argdir_resolve_quick()): -EWOULDBLOCK when that would be needed, for
 * a caller that must not wait.  Returns 0, -ENOENT when name is not an
 * argument there, -ENAMETOOLONG when canon is too small, or for a file
 * the error of reading it (-EIO, -EACCES, ...). */
int resolve_name(const reg *r, const reg_fn *f, size_t level,
		 const char *name, int quick, char *canon, size_t canonlen);

/* Does level of f take files (whose names change while mounted)? */
int resolve_level_files(const reg *r, const reg_fn *f, size_t level);
/* Does any level of f take files? */
int resolve_takes_files(const reg *r, const reg_fn *f);
/* The times of the directory that a files level lists: 0 and *st, or
 * -ENOTDIR when level takes no files, or fstat's -errno. */
int resolve_level_stat(const reg *r, const reg_fn *f, size_t level,
		       struct stat *st);

/* A level listed, for a reader paging through it: one way for every
 * kind.  For FILES the bound directory, read afresh when fresh (a reader
 * at offset 0), else the last listing made (argdir_listing_get()).
 * 0 and *l, to give back with resolve_listing_release(), or -ENOMEM or the
 * directory's error. */
struct resolve_listing {
	const reg *r;
	const struct resolve_arg *a;
	argdir_listing *files;	/* FILES, else NULL */
};
int resolve_listing_get(const reg *r, const reg_fn *f, size_t level,
			int fresh, struct resolve_listing *l);
size_t resolve_listing_count(const struct resolve_listing *l);
/* The i-th name (i < count) into buf.  0, or -ERANGE when it does not
 * fit (REG_NAME_MAX + 1 bytes always do). */
int resolve_listing_name(const struct resolve_listing *l, size_t i,
			 char *buf, size_t buflen);
void resolve_listing_release(struct resolve_listing *l);

/* ---- whole paths --------------------------------------------------------- */

/* Resolves path, reg_fn_nargs(f) names joined by '/' ("0.9/price"), into
 * the canonical argument ("0.9/col3") in canon (canonlen bytes;
 * REG_ARG_MAX + 1 are enough).  Returns 0, -ENOENT when a name is not an
 * argument at its level or the count is wrong, -ENAMETOOLONG, or a file's
 * error. */
int resolve_path(const reg *r, const reg_fn *f, const char *path,
		 char *canon, size_t canonlen);

/* Splits the canonical argument canon of f into its components: 0 and
 * part[i], len[i] for i < reg_fn_nargs(f) (pointing into canon), or
 * -EINVAL when canon is not of f's shape. */
int resolve_split(const reg_fn *f, const char *canon,
		  const char *part[RESOLVE_ARGS_MAX],
		  size_t len[RESOLVE_ARGS_MAX]);

#endif
