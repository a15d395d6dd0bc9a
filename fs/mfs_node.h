/* mfs_node.h -- the inodes of a memofs mount.
 *
 * The tree: the root, one directory per function, then one level per
 * argument of the function (resolve.h): FUNCTION/ARG1/.../ARGn, where
 * ARGn is a result file and each ARGi before it a directory (MFS_ARGDIR).
 * A node below a function is named by (function, names path "0.9/price",
 * canonical argument "0.9/col3" or its prefix, version).  Root and
 * function directories exist for the whole mount; argument directories
 * and result files are created on lookup and freed when the kernel
 * forgets them and no deferred reply still needs them.
 *
 * Two numbers per node:
 *   - its node id (mfs_node_ino()), the handle the kernel sends back in
 *     every request: the node's address (FUSE_ROOT_ID for the root), so
 *     finding a node costs nothing and FORGET frees it;
 *   - its inode number (n->number), what stat, ls -i and readdir show:
 *     one per path (function, name), below 2^32, the same in readdir and
 *     stat (readdir asks mfs_node_number() without creating nodes), and
 *     across remounts: a hash of the function's and the argument's names,
 *     probed to the next free number on a collision, remembered for the
 *     whole mount.  An edited file argument gets a new node (a fresh page
 *     cache) with the same number, as an edited file keeps its inode.
 *
 * The table is not locked by itself: every call takes the caller's lock
 * (struct mfs's lock) as held, except mfs_node_table_new/free.
 */
#ifndef MEMOFS_MFS_NODE_H
#define MEMOFS_MFS_NODE_H

#define FUSE_USE_VERSION 34
#include <fuse_lowlevel.h>
#include <stdint.h>

#include "functions/reg.h"

enum mfs_kind { MFS_ROOT, MFS_FNDIR, MFS_ARGDIR, MFS_RESULT };

/* Which view of its result a RESULT node shows (engine/result.h): the
 * text under the plain name, the .npy under NAME.npy (typed functions
 * only).  Both are views of one result: one computation, one cache entry,
 * but two nodes (two inode numbers, two page caches, two sizes). */
enum mfs_view { MFS_VIEW_TEXT = 0, MFS_VIEW_NPY = 1 };

struct mfs_node {
	enum mfs_kind kind;
	const reg_fn *fn;	/* FNDIR, ARGDIR, RESULT */
	size_t depth;		/* names below the function: 0 for FNDIR */
	char *name;		/* ARGDIR, RESULT: the names looked up,
				 * joined by '/' ("0.9/price") */
	char *arg;		/* ARGDIR, RESULT: the canonical arguments
				 * so far, joined by '/' ("0.9/col3") */
	char *version;		/* RESULT of a function whose version can
				 * change (reg_fn_versioned()): the one it
				 * was looked up with; else NULL */
	uint32_t number;	/* the inode number shown (see above) */
	uint64_t nlookup;	/* kernel references (ARGDIR, RESULT) */
	unsigned refs;		/* deferred replies still pending */
	unsigned reads;		/* of which READs (see mfs_ops.c) */
	enum mfs_view view;	/* RESULT: which view (from its name) */
	_Atomic int64_t size;	/* result size, -1 until known */
	int size_exact;		/* size was known before computing (the
				 * .npy of a declared scalar or column):
				 * never a placeholder */
	_Atomic int pushed;	/* result stored into the page cache */
	uint64_t created_ns;	/* the result's creation (CLOCK_REALTIME),
				 * once size is known: its mtime */
	/* The last computation that an fstat started failed: its error, the
	 * thread that asked and when (CLOCK_MONOTONIC ns); see mfs_ops.c. */
	int fail_err, fail_tid;
	int64_t fail_ns;
	struct mfs_node *hnext;	/* hash chain */
};

typedef struct mfs_node_table mfs_node_table;

/* Builds the root and one directory per function of r.  Returns 0 and
 * *out, or -ENOMEM. */
int mfs_node_table_new(const reg *r, mfs_node_table **out);
void mfs_node_table_free(mfs_node_table *t);

fuse_ino_t mfs_node_ino(const struct mfs_node *n);
/* The node of ino; ino must be one the kernel got from this table. */
struct mfs_node *mfs_node_get(mfs_node_table *t, fuse_ino_t ino);

/* The directory node of function index i. */
struct mfs_node *mfs_node_fndir(mfs_node_table *t, size_t i);
struct mfs_node *mfs_node_fndir_of(mfs_node_table *t, const reg_fn *fn);

/* Finds or creates the node (fn, name, arg, version) below a function
 * and adds one kernel reference: a result when name has as many
 * components as fn has arguments, else an argument directory.  A result
 * created here shows view, with size (the size of that view known before
 * computing, else -1, see size_exact): both depend on name alone, so a
 * node found keeps its own (an argument directory: MFS_VIEW_TEXT, -1).
 * (A name's canonical argument changes when it is a file that was
 * edited, and the version when the function's script was: either gets a
 * new node, so a new inode whose page cache starts empty.)
 * version is NULL for a function whose version cannot change.  Returns
 * NULL when out of memory. */
struct mfs_node *mfs_node_lookup(mfs_node_table *t, const reg_fn *fn,
				 const char *name, const char *arg,
				 const char *version, enum mfs_view view,
				 int64_t size);

/* The number the path fn_name/name gets when no other path took
 * it first (its hash, folded to 32 bits; may be 0 or 1, which no result
 * gets). */
uint32_t mfs_node_home(const char *fn_name, const char *name);

/* The inode number of the path fn/name (name: the names below the
 * function joined by '/'), claiming a free one
 * the first time; the same for the whole mount.  Without memory for the
 * claim, the unchecked hash (it may then collide). */
uint32_t mfs_node_number(mfs_node_table *t, const reg_fn *fn,
			 const char *name);

/* Drops n kernel references; frees the node when none are left. */
void mfs_node_forget(mfs_node_table *t, struct mfs_node *node, uint64_t n);

/* Calls cb on every result node (in no particular order); cb must not
 * add or free nodes. */
void mfs_node_each(mfs_node_table *t,
		   void (*cb)(void *arg, struct mfs_node *node), void *arg);

/* Deferred-reply references. */
void mfs_node_hold(struct mfs_node *node);
void mfs_node_release(mfs_node_table *t, struct mfs_node *node);

#endif
