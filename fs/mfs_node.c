/* mfs_node.c -- the inodes of a memofs mount (see mfs_node.h).
 *
 * Result nodes live in a chained hash table hashed by (function, name)
 * and matched on (function, name, canonical argument, version), grown by
 * doubling.  Directory nodes live in an array indexed like the registry.
 * Callers hold the mount's lock.
 */
#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "mfs_node.h"

_Static_assert(sizeof(fuse_ino_t) >= sizeof(uintptr_t),
	       "a node address must fit in an inode number");

struct mfs_node_table {
	struct mfs_node root;
	struct mfs_node *dirs;	/* one per function, registry order */
	size_t ndirs;
	struct mfs_node **buckets;
	size_t nbuckets;	/* a power of two */
	size_t count;		/* result nodes */
};

int mfs_node_table_new(const reg *r, mfs_node_table **out)
{
	mfs_node_table *t = calloc(1, sizeof(*t));

	if (!t)
		return -ENOMEM;
	t->ndirs = reg_count(r);
	t->dirs = calloc(t->ndirs ? t->ndirs : 1, sizeof(*t->dirs));
	t->nbuckets = 1024;
	t->buckets = calloc(t->nbuckets, sizeof(*t->buckets));
	if (!t->dirs || !t->buckets) {
		mfs_node_table_free(t);
		return -ENOMEM;
	}
	t->root.kind = MFS_ROOT;
	for (size_t i = 0; i < t->ndirs; i++) {
		t->dirs[i].kind = MFS_FNDIR;
		t->dirs[i].fn = reg_at(r, i);
	}
	*out = t;
	return 0;
}

static void mfs_node_free(struct mfs_node *n)
{
	free(n->name);
	free(n->arg);
	free(n->version);
	free(n);
}

void mfs_node_table_free(mfs_node_table *t)
{
	if (!t)
		return;
	for (size_t i = 0; t->buckets && i < t->nbuckets; i++) {
		struct mfs_node *n = t->buckets[i], *next;

		for (; n; n = next) {
			next = n->hnext;
			mfs_node_free(n);
		}
	}
	free(t->buckets);
	free(t->dirs);
	free(t);
}

fuse_ino_t mfs_node_ino(const struct mfs_node *n)
{
	if (n->kind == MFS_ROOT)
		return FUSE_ROOT_ID;
	return (fuse_ino_t)(uintptr_t)n;
}

struct mfs_node *mfs_node_get(mfs_node_table *t, fuse_ino_t ino)
{
	if (ino == FUSE_ROOT_ID)
		return &t->root;
	return (struct mfs_node *)(uintptr_t)ino;
}

struct mfs_node *mfs_node_fndir(mfs_node_table *t, size_t i)
{
	assert(i < t->ndirs);
	return &t->dirs[i];
}

struct mfs_node *mfs_node_fndir_of(mfs_node_table *t, const reg_fn *fn)
{
	for (size_t i = 0; i < t->ndirs; i++)
		if (t->dirs[i].fn == fn)
			return &t->dirs[i];
	return NULL;
}

static size_t mfs_node_hash(const mfs_node_table *t, const reg_fn *fn,
			    const char *name)
{
	uint64_t h = XXH3_64bits_withSeed(name, strlen(name),
					  (uint64_t)(uintptr_t)fn);

	return (size_t)(h & (t->nbuckets - 1));
}

/* Doubles the bucket array; on allocation failure keeps the old one
 * (chains just get longer). */
static void mfs_node_grow(mfs_node_table *t)
{
	size_t old_n = t->nbuckets;
	struct mfs_node **old = t->buckets;
	struct mfs_node **nb = calloc(2 * old_n, sizeof(*nb));

	if (!nb)
		return;
	t->buckets = nb;
	t->nbuckets = 2 * old_n;
	for (size_t i = 0; i < old_n; i++) {
		struct mfs_node *n = old[i], *next;

		for (; n; n = next) {
			size_t h = mfs_node_hash(t, n->fn, n->name);

			next = n->hnext;
			n->hnext = nb[h];
			nb[h] = n;
		}
	}
	free(old);
}

static struct mfs_node *mfs_node_new(const reg_fn *fn, const char *name,
				     const char *arg, const char *version)
{
	struct mfs_node *n = calloc(1, sizeof(*n));

	if (!n)
		return NULL;
	n->kind = MFS_RESULT;
	n->fn = fn;
	n->size = -1;
	n->name = strdup(name);
	n->arg = strdup(arg);
	n->version = version ? strdup(version) : NULL;
	if (!n->name || !n->arg || (version && !n->version)) {
		mfs_node_free(n);
		return NULL;
	}
	return n;
}

static int mfs_node_same_version(const struct mfs_node *n, const char *v)
{
	return n->version ? v && strcmp(n->version, v) == 0 : !v;
}

struct mfs_node *mfs_node_lookup(mfs_node_table *t, const reg_fn *fn,
				 const char *name, const char *arg,
				 const char *version)
{
	size_t h = mfs_node_hash(t, fn, name);
	struct mfs_node *n;

	for (n = t->buckets[h]; n; n = n->hnext)
		if (n->fn == fn && strcmp(n->name, name) == 0 &&
		    strcmp(n->arg, arg) == 0 && mfs_node_same_version(n, version))
			break;
	if (!n) {
		n = mfs_node_new(fn, name, arg, version);
		if (!n)
			return NULL;
		n->hnext = t->buckets[h];
		t->buckets[h] = n;
		if (++t->count > 2 * t->nbuckets)
			mfs_node_grow(t);
	}
	n->nlookup++;
	return n;
}

static void mfs_node_remove(mfs_node_table *t, struct mfs_node *node)
{
	struct mfs_node **pp = &t->buckets[mfs_node_hash(t, node->fn,
							   node->name)];

	while (*pp != node)
		pp = &(*pp)->hnext;
	*pp = node->hnext;
	t->count--;
	mfs_node_free(node);
}

static void mfs_node_maybe_free(mfs_node_table *t, struct mfs_node *node)
{
	if (node->kind == MFS_RESULT && node->nlookup == 0 && node->refs == 0)
		mfs_node_remove(t, node);
}

void mfs_node_forget(mfs_node_table *t, struct mfs_node *node, uint64_t n)
{
	if (node->kind != MFS_RESULT)
		return;
	assert(node->nlookup >= n);
	node->nlookup -= n;
	mfs_node_maybe_free(t, node);
}

void mfs_node_hold(struct mfs_node *node)
{
	node->refs++;
}

void mfs_node_release(mfs_node_table *t, struct mfs_node *node)
{
	assert(node->refs > 0);
	node->refs--;
	mfs_node_maybe_free(t, node);
}
