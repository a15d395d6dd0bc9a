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
 *
 * The values are memofs.h's MEMOFS_ARGS_* where those exist (checked
 * below), and they are part of command functions' cache keys (cmdfn.h
 * digests the kind): never renumber them.
 *
 * Several arguments (issue 14: quantile/0.9/col3, corr/col0/col1): a
 * function will declare one kind per position, and its path one
 * component per argument; each component resolves on its own by its
 * kind, and the canonical argument is the canonical components joined by
 * '/'.  A one-argument function is the case of one position, so the
 * kinds and their canonical forms here stay as they are.
 */
#ifndef MEMOFS_ARGS_H
#define MEMOFS_ARGS_H

#include "memofs.h"

enum args_kind {
	ARGS_COLUMNS = 1,
	ARGS_LIST = 2,
	ARGS_FILES = 3,
	ARGS_NUMERIC = 4,
};

_Static_assert((int)ARGS_COLUMNS == (int)MEMOFS_ARGS_COLUMNS &&
	       (int)ARGS_LIST == (int)MEMOFS_ARGS_LIST &&
	       (int)ARGS_NUMERIC == (int)MEMOFS_ARGS_NUMERIC,
	       "the plugin ABI's kinds keep their values");

#endif
