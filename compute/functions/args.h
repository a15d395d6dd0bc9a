/* args.h -- the kinds of argument a function takes: one enum for every
 * provider (built-ins and plugins through memofs.h, command functions
 * through the functions file) and for the registry that resolves them.
 *
 *   ARGS_COLUMNS  col0..colN-1 of the table DATA, and its header names as
 *                 aliases; canonical form "colN".
 *   ARGS_NUMERIC  as ARGS_COLUMNS, but only the columns whose kind is
 *                 numeric (ds.h: DS_FLOAT64, DS_INT64): what numeric
 *                 reductions take, so that `ls MNT/mean` lists no text
 *                 column and mean/TEXTCOL does not exist.
 *   ARGS_LIST     a fixed list of names given at registration; canonical
 *                 form the name itself.
 *   ARGS_FILES    the regular files of a directory DATA (argdir.h); not
 *                 in the plugin ABI, only command functions take them;
 *                 canonical form NAME/HEX (the content digest), so it
 *                 changes when the file does.
 *   ARGS_REAL     a number in a declared range; canonical form the
 *                 shortest repr without ".0" (memofs.h, resolve.h).
 *   ARGS_INTEGER  an integer in a declared range; canonical form its
 *                 decimal digits.
 *   ARGS_NUMERIC  like ARGS_COLUMNS, only columns of numbers (not text).
 *
 * The values are memofs.h's MEMOFS_ARGS_* where those exist (checked
 * below), and they are part of command functions' cache keys (cmdfn.h
 * digests the kind): never renumber them.
 *
 * Several arguments (issue 14: quantile/0.9/col3, corr/col0/col1): a
 * function declares one kind per position (struct resolve_arg), and its
 * path has one component per argument; each component resolves on its
 * own by its kind (resolve.h), and the canonical argument is the
 * canonical components joined by '/'.  A one-argument function is the
 * case of one position, so its canonical forms and keys are unchanged.
 */
#ifndef MEMOFS_ARGS_H
#define MEMOFS_ARGS_H

#include "memofs.h"

enum args_kind {
	ARGS_COLUMNS = 1,
	ARGS_LIST = 2,
	ARGS_FILES = 3,
	ARGS_NUMERIC = 4,
	ARGS_REAL = 5,
	ARGS_INTEGER = 6,
};

_Static_assert((int)ARGS_COLUMNS == (int)MEMOFS_ARGS_COLUMNS &&
	       (int)ARGS_LIST == (int)MEMOFS_ARGS_LIST &&
	       (int)ARGS_NUMERIC == (int)MEMOFS_ARGS_NUMERIC &&
	       (int)ARGS_REAL == (int)MEMOFS_ARGS_REAL &&
	       (int)ARGS_INTEGER == (int)MEMOFS_ARGS_INTEGER,
	       "the plugin ABI's kinds keep their values");

#endif
