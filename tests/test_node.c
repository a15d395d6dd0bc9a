/* test_node.c -- unit test of the inode table of the FUSE layer
 * (fs/mfs_node.c): node ids, inode numbers, collisions, forgetting. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "mfs_node.h"

static int nop(memofs_ctx *ctx, const char *arg, void *udata)
{
	return 0;
}

static reg *test_registry(void)
{
	static const char *const list[] = { "a", "b", NULL };
	struct memofs_function def = { "f", "1", "desc", MEMOFS_ARGS_LIST,
				       list, nop, NULL, MEMOFS_BYTES, 0, NULL, 0, 0 };
	reg *r = NULL;

	CHECK_INT(reg_new(&r), 0);
	CHECK_INT(memofs_register(r, &def), 0);
	def.name = "g";
	CHECK_INT(memofs_register(r, &def), 0);
	return r;
}

/* Two names of f whose home numbers are equal (a 32-bit collision),
 * found by brute force: about 2^16 names. */
static void find_collision(char *a, char *b, size_t len)
{
	size_t nslots = (size_t)1 << 22;
	uint32_t *home = calloc(nslots, sizeof(*home));
	unsigned *who = calloc(nslots, sizeof(*who));

	CHECK(home && who);
	for (unsigned i = 1; home && who; i++) {
		char name[32];
		uint32_t h;
		size_t s;

		snprintf(name, sizeof(name), "n%u", i);
		h = mfs_node_home("f", name);
		for (s = h & (nslots - 1); who[s]; s = (s + 1) & (nslots - 1))
			if (home[s] == h)
				break;
		if (who[s]) {
			snprintf(a, len, "n%u", who[s]);
			snprintf(b, len, "%s", name);
			break;
		}
		home[s] = h;
		who[s] = i;
	}
	free(home);
	free(who);
}

static int cmp_u32(const void *x, const void *y)
{
	uint32_t a = *(const uint32_t *)x, b = *(const uint32_t *)y;

	return a < b ? -1 : a > b;
}

static void test_numbers(const reg *r)
{
	const reg_fn *f = reg_find(r, "f"), *g = reg_find(r, "g");
	mfs_node_table *t = NULL, *t2 = NULL;
	struct mfs_node *root, *n, *n2, *n3;
	uint32_t x, y;

	CHECK_INT(mfs_node_table_new(r, &t), 0);
	CHECK_INT(mfs_node_table_new(r, &t2), 0);
	root = mfs_node_get(t, FUSE_ROOT_ID);
	CHECK_INT(root->number, 1);
	CHECK(mfs_node_fndir(t, 0)->number > 1);
	CHECK(mfs_node_fndir(t, 0)->number != mfs_node_fndir(t, 1)->number);
	/* Same data, same functions: the same numbers on another mount. */
	CHECK_INT(mfs_node_fndir(t, 1)->number, mfs_node_fndir(t2, 1)->number);

	/* One number per path, whoever asks first (readdir or lookup). */
	x = mfs_node_number(t, f, "a");
	CHECK_INT(x, mfs_node_home("f", "a"));
	CHECK_INT(mfs_node_number(t, f, "a"), x);
	CHECK(mfs_node_number(t, g, "a") != x);
	n = mfs_node_lookup(t, f, "a", "a", NULL, MFS_VIEW_TEXT, -1);
	CHECK(n != NULL);
	CHECK_INT(n->number, x);
	CHECK(mfs_node_get(t, mfs_node_ino(n)) == n);
	/* An edited file: a new node (fresh page cache), the same number. */
	n2 = mfs_node_lookup(t, f, "a", "a/digest2", NULL, MFS_VIEW_TEXT, -1);
	CHECK(n2 != NULL && n2 != n);
	CHECK_INT(n2->number, x);
	/* An edited script (another version): a new node, the same number. */
	n3 = mfs_node_lookup(t, f, "a", "a/digest2", "2+abc", MFS_VIEW_TEXT,
			     -1);
	CHECK(n3 != NULL && n3 != n2 && n3 != n);
	CHECK_INT(n3->number, x);
	CHECK(mfs_node_lookup(t, f, "a", "a/digest2", "2+abc", MFS_VIEW_TEXT,
			      -1) == n3);
	mfs_node_forget(t, n3, 2);
	mfs_node_forget(t, n, 1);
	mfs_node_forget(t, n2, 1);
	/* The .npy view of "a": another node and number, of one argument;
	 * its size known in advance is its own, and exact. */
	n = mfs_node_lookup(t, f, "a.npy", "a", NULL, MFS_VIEW_NPY, 136);
	CHECK(n != NULL);
	CHECK(n->number != x);
	CHECK(n->view == MFS_VIEW_NPY && n->size == 136 && n->size_exact);
	n2 = mfs_node_lookup(t, f, "a", "a", NULL, MFS_VIEW_TEXT, -1);
	CHECK(n2 != NULL && n2 != n && n2->view == MFS_VIEW_TEXT);
	CHECK(n2->size == -1 && !n2->size_exact);
	/* Found again: it keeps what it was created with. */
	CHECK(mfs_node_lookup(t, f, "a.npy", "a", NULL, MFS_VIEW_TEXT, -1) ==
	      n);
	CHECK(n->view == MFS_VIEW_NPY && n->size == 136);
	mfs_node_forget(t, n, 2);
	mfs_node_forget(t, n2, 1);
	n = mfs_node_lookup(t, f, "a", "a", NULL, MFS_VIEW_TEXT, -1);
	CHECK(n != NULL);
	CHECK_INT(n->number, x);
	mfs_node_forget(t, n, 1);
	CHECK_INT(mfs_node_number(t2, f, "a"), x);

	/* A collision: the second path numbered gets the next free number,
	 * and keeps it. */
	char a[32] = "", b[32] = "";

	find_collision(a, b, sizeof(a));
	CHECK(a[0] && b[0]);
	CHECK_INT(mfs_node_home("f", a), mfs_node_home("f", b));
	x = mfs_node_number(t, f, a);
	y = mfs_node_number(t, f, b);
	CHECK(x != y);
	CHECK_INT(x, mfs_node_home("f", a));
	CHECK_INT(mfs_node_number(t, f, b), y);
	CHECK_INT(mfs_node_number(t, f, a), x);
	n = mfs_node_lookup(t, f, b, b, NULL, MFS_VIEW_TEXT, -1);
	CHECK(n && n->number == y);
	mfs_node_forget(t, n, 1);
	/* In the other order, on another mount: b has the home number. */
	CHECK_INT(mfs_node_number(t2, f, b), mfs_node_home("f", b));
	CHECK(mfs_node_number(t2, f, a) != mfs_node_number(t2, f, b));

	/* 200,000 paths: all distinct, none 0 or 1 (the tables grow). */
	size_t count = 200000;
	uint32_t *all = malloc(count * sizeof(*all));

	CHECK(all != NULL);
	for (size_t i = 0; all && i < count; i++) {
		char name[32];

		snprintf(name, sizeof(name), "file-%zu", i);
		all[i] = mfs_node_number(t, i % 2 ? f : g, name);
		CHECK(all[i] > 1);
	}
	if (all) {
		size_t dups = 0;

		qsort(all, count, sizeof(*all), cmp_u32);
		for (size_t i = 1; i < count; i++)
			dups += all[i] == all[i - 1];
		CHECK_INT(dups, 0);
		CHECK_INT(mfs_node_number(t, g, "file-0"),
			  mfs_node_number(t, g, "file-0"));
	}
	free(all);
	mfs_node_table_free(t);
	mfs_node_table_free(t2);
}

/* A function of two arguments: its first level is argument directories
 * (created on lookup, freed on forget), its second results. */
static void test_levels(void)
{
	static const struct memofs_arg two[] = {
		{ "Q", MEMOFS_ARGS_REAL, NULL, 0, 1 },
		{ NULL, MEMOFS_ARGS_COLUMNS, NULL, 0, 0 },
	};
	struct memofs_function def = {
		.name = "q", .version = "1", .compute = nop, MEMOFS_ARGV(two),
	};
	mfs_node_table *t = NULL;
	struct mfs_node *d, *d2, *res;
	const reg_fn *q;
	reg *r = NULL;

	CHECK_INT(reg_new(&r), 0);
	CHECK_INT(memofs_register(r, &def), 0);
	q = reg_find(r, "q");
	CHECK_INT(mfs_node_table_new(r, &t), 0);
	CHECK(mfs_node_fndir(t, 0)->depth == 0);
	d = mfs_node_lookup(t, q, "0.5", "0.5", NULL, MFS_VIEW_TEXT, -1);
	CHECK(d && d->kind == MFS_ARGDIR && d->depth == 1);
	res = mfs_node_lookup(t, q, "0.5/price", "0.5/col0", NULL, MFS_VIEW_TEXT, -1);
	CHECK(res && res->kind == MFS_RESULT && res->depth == 2);
	CHECK_STR(res->arg, "0.5/col0");
	/* the number is the path's, the same as readdir asks */
	CHECK_INT(res->number, mfs_node_number(t, q, "0.5/price"));
	CHECK_INT(d->number, mfs_node_number(t, q, "0.5"));
	CHECK(d->number != res->number);
	d2 = mfs_node_lookup(t, q, "0.5", "0.5", NULL, MFS_VIEW_TEXT, -1);
	CHECK(d2 == d && d->nlookup == 2);
	/* a held directory outlives its last forget until released */
	mfs_node_hold(d);
	mfs_node_forget(t, d, 2);
	CHECK(d->nlookup == 0);
	mfs_node_release(t, d);		/* freed now (ASan checks) */
	mfs_node_forget(t, res, 1);
	d = mfs_node_lookup(t, q, "0.5", "0.5", NULL, MFS_VIEW_TEXT, -1);
	CHECK(d && d->nlookup == 1 && d->number == mfs_node_number(t, q, "0.5"));
	mfs_node_table_free(t);		/* frees d too */
	reg_free(r);
}

int main(void)
{
	reg *r = test_registry();

	test_numbers(r);
	test_levels();
	reg_free(r);
	return check_report("node");
}
