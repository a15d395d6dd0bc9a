/* test_resolve.c -- unit test of the one resolver (resolve.h): canonical
 * numbers, levels of several kinds, whole paths, splitting, listing, the
 * declarations a plugin may make (and may not), keys of several
 * arguments, and the numeric kernels of fn_args.h. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "csvfile.h"
#include "engine/key.h"
#include "functions/fn_args.h"
#include "functions/fn_builtin.h"
#include "functions/reg.h"
#include "functions/resolve.h"

static int nop(memofs_ctx *ctx, const char *arg, void *udata)
{
	return 0;
}

/* ---- numbers ------------------------------------------------------------- */

static void test_numbers(void)
{
	const struct memofs_arg qdef = { "Q", MEMOFS_ARGS_REAL, NULL, 0, 1 };
	const struct memofs_arg ndef = { "N", MEMOFS_ARGS_INTEGER, NULL, -5,
					 1000 };
	struct resolve_arg q, n;
	double x = -1;
	const char *good_q[] = { "0", "1", "0.5", "0.9", "0.1", "1e-05",
				 "0.0001", "0.3333333333333333", "5e-324",
				 "0.30000000000000004", NULL };
	const double good_q_val[] = { 0, 1, 0.5, 0.9, 0.1, 1e-05, 0.0001,
				      1.0 / 3, 5e-324, 0.1 + 0.2 };
	const char *bad_q[] = { "", "0.90", ".9", "9e-1", "+0.9", "1.0",
				"-0", "-0.0", "0.0", "00", "01", "1.5", "-0.1",
				"nan", "NaN", "inf", "-inf", "infinity",
				"0x1p-1", " 0.5", "0.5 ", "0,5", "1e-400",
				"1e400", "0.1e0", "1E-05", "1e-5",
				"0.333333333333333333333", "0.5\n", "five",
				NULL };
	const char *good_n[] = { "0", "7", "-5", "-1", "1000", NULL };
	const char *bad_n[] = { "-0", "+7", "07", "7.0", "7e0", "1001", "-6",
				"0x7", "1e3", " 7", "", "-", NULL };

	CHECK_INT(resolve_arg_init(&q, &qdef, 0), 0);
	CHECK_INT(resolve_arg_init(&n, &ndef, 0), 0);
	CHECK_STR(q.label, "Q");
	for (int i = 0; good_q[i]; i++) {
		CHECK_INT(resolve_parse_number(&q, good_q[i], &x), 0);
		CHECK(x == good_q_val[i]);
	}
	for (int i = 0; bad_q[i]; i++) {
		CHECK_INT(resolve_parse_number(&q, bad_q[i], &x), -ENOENT);
		if (resolve_parse_number(&q, bad_q[i], &x) == 0)
			fprintf(stderr, "  accepted '%s'\n", bad_q[i]);
	}
	for (int i = 0; good_n[i]; i++)
		CHECK_INT(resolve_parse_number(&n, good_n[i], &x), 0);
	CHECK(x == 1000);
	for (int i = 0; bad_n[i]; i++) {
		CHECK_INT(resolve_parse_number(&n, bad_n[i], &x), -ENOENT);
		if (resolve_parse_number(&n, bad_n[i], &x) == 0)
			fprintf(stderr, "  accepted '%s'\n", bad_n[i]);
	}
	/* a column level parses no number */
	n.kind = ARGS_COLUMNS;
	CHECK_INT(resolve_parse_number(&n, "7", &x), -ENOENT);
	resolve_arg_clear(&q);
	resolve_arg_clear(&n);
}

/* What a declaration may be. */
static void test_declarations(void)
{
	static const char *const sugg[] = { "0.5", "0.9", NULL };
	static const char *const bad_sugg[] = { "0.5", "0.90", NULL };
	static const char *const out_sugg[] = { "2", NULL };
	static const char *const dup_sugg[] = { "0.5", "0.5", NULL };
	static const char *const items[] = { "a", "b c", NULL };
	static const char *const no_items[] = { NULL };
	struct memofs_arg bad[] = {
		{ NULL, MEMOFS_ARGS_REAL, NULL, 1, 0 },		/* empty */
		{ NULL, MEMOFS_ARGS_REAL, NULL, 0, INFINITY },
		{ NULL, MEMOFS_ARGS_REAL, NULL, NAN, 1 },
		{ NULL, MEMOFS_ARGS_INTEGER, NULL, 0.5, 3 },
		{ NULL, MEMOFS_ARGS_INTEGER, NULL, 0, 1e300 },
		{ NULL, MEMOFS_ARGS_REAL, bad_sugg, 0, 1 },
		{ NULL, MEMOFS_ARGS_REAL, out_sugg, 0, 1 },
		{ NULL, MEMOFS_ARGS_REAL, dup_sugg, 0, 1 },
		{ NULL, MEMOFS_ARGS_LIST, NULL, 0, 0 },
		{ NULL, MEMOFS_ARGS_LIST, no_items, 0, 0 },
		{ NULL, (enum memofs_args)3, NULL, 0, 0 },	/* files */
		{ NULL, (enum memofs_args)0, NULL, 0, 0 },
		{ NULL, (enum memofs_args)99, NULL, 0, 0 },
		{ "a b", MEMOFS_ARGS_COLUMNS, NULL, 0, 0 },
		{ "", MEMOFS_ARGS_COLUMNS, NULL, 0, 0 },
		{ "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456", MEMOFS_ARGS_COLUMNS,
		  NULL, 0, 0 },
	};
	const struct memofs_arg files = { NULL, (enum memofs_args)ARGS_FILES,
					  NULL, 0, 0 };
	const struct memofs_arg good = { "Q", MEMOFS_ARGS_REAL, sugg, 0, 1 };
	const struct memofs_arg list = { NULL, MEMOFS_ARGS_LIST, items, 0, 0 };
	struct resolve_arg a;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CHECK_INT(resolve_arg_init(&a, &bad[i], 0), -EINVAL);
		if (resolve_arg_init(&a, &bad[i], 0) == 0) {
			fprintf(stderr, "  accepted declaration %zu\n", i);
			resolve_arg_clear(&a);
		}
	}
	CHECK_INT(resolve_arg_init(&a, &files, 1), 0);	/* commands may */
	CHECK_STR(a.label, "FILE");
	resolve_arg_clear(&a);
	CHECK_INT(resolve_arg_init(&a, &good, 0), 0);
	CHECK_INT(a.nlist, 2);
	CHECK_STR(a.list[1], "0.9");
	resolve_arg_clear(&a);
	CHECK_INT(resolve_arg_init(&a, &list, 0), 0);
	CHECK_STR(a.label, "ITEM");
	resolve_arg_clear(&a);
}

/* ---- a registry with functions of several arguments ------------------------ */

static void test_levels(void)
{
	static const char *const sugg[] = { "0.5", "1", NULL };
	static const char *const items[] = { "lo", "hi", NULL };
	static const struct memofs_arg three[] = {
		{ "Q", MEMOFS_ARGS_REAL, sugg, 0, 1 },
		{ NULL, MEMOFS_ARGS_COLUMNS, NULL, 0, 0 },
		{ "SIDE", MEMOFS_ARGS_LIST, items, 0, 0 },
	};
	struct memofs_function def = {
		.name = "q3", .version = "1", .compute = nop,
		MEMOFS_ARGV(three),
	};
	char path[] = "/tmp/memofs-test-resolve-XXXXXX";
	ds *d = load_csv("price,qty\n1,2\n3,4\n", path);
	char canon[REG_ARG_MAX + 1], name[REG_NAME_MAX + 1];
	const char *part[RESOLVE_ARGS_MAX];
	size_t len[RESOLVE_ARGS_MAX];
	struct resolve_listing l;
	const reg_fn *f;
	reg *r = NULL;

	CHECK(d != NULL);
	if (!d)
		return;
	CHECK_INT(reg_new(&r), 0);
	CHECK_INT(memofs_register(r, &def), 0);
	CHECK_INT(reg_bind_dataset(r, d), 0);
	f = reg_find(r, "q3");
	CHECK_INT(reg_fn_nargs(f), 3);
	CHECK_STR(reg_fn_arg(f, 1)->label, "COLUMN");

	/* one level at a time */
	CHECK_INT(resolve_name(r, f, 0, "0.25", 1, canon, sizeof(canon)), 0);
	CHECK_STR(canon, "0.25");
	CHECK_INT(resolve_name(r, f, 0, "0.250", 0, canon, sizeof(canon)),
		  -ENOENT);
	CHECK_INT(resolve_name(r, f, 1, "qty", 0, canon, sizeof(canon)), 0);
	CHECK_STR(canon, "col1");
	CHECK_INT(resolve_name(r, f, 1, "0.5", 0, canon, sizeof(canon)),
		  -ENOENT);
	CHECK_INT(resolve_name(r, f, 2, "hi", 0, canon, sizeof(canon)), 0);
	CHECK_INT(resolve_name(r, f, 2, "col0", 0, canon, sizeof(canon)),
		  -ENOENT);
	CHECK_INT(resolve_name(r, f, 3, "hi", 0, canon, sizeof(canon)),
		  -ENOENT);
	CHECK_INT(resolve_name(r, f, 0, "0.25", 0, canon, 4), -ENAMETOOLONG);
	CHECK(!resolve_takes_files(r, f));
	CHECK_INT(resolve_level_stat(r, f, 0, NULL), -ENOTDIR);

	/* whole paths: as many names as arguments */
	CHECK_INT(resolve_path(r, f, "0.5/price/lo", canon, sizeof(canon)), 0);
	CHECK_STR(canon, "0.5/col0/lo");
	CHECK_INT(resolve_path(r, f, "0.5/price", canon, sizeof(canon)),
		  -ENOENT);
	CHECK_INT(resolve_path(r, f, "0.5/price/lo/x", canon, sizeof(canon)),
		  -ENOENT);
	CHECK_INT(resolve_path(r, f, "0.5//lo", canon, sizeof(canon)),
		  -ENOENT);
	CHECK_INT(resolve_path(r, f, "/0.5/col0/lo", canon, sizeof(canon)),
		  -ENOENT);
	CHECK_INT(resolve_path(r, f, "0.5/col0/lo/", canon, sizeof(canon)),
		  -ENOENT);
	CHECK_INT(resolve_path(r, f, "", canon, sizeof(canon)), -ENOENT);
	CHECK_INT(resolve_path(r, f, "0.5/col0/lo", canon, 8), -ENAMETOOLONG);

	/* splitting the canonical form back */
	CHECK_INT(resolve_split(f, "0.5/col0/lo", part, len), 0);
	CHECK(len[0] == 3 && len[1] == 4 && len[2] == 2);
	CHECK(strncmp(part[1], "col0", len[1]) == 0);
	CHECK_INT(resolve_split(f, "0.5/col0", part, len), -EINVAL);
	CHECK_INT(resolve_split(f, "0.5/col0/lo/x", part, len), -EINVAL);
	CHECK_INT(resolve_split(f, "0.5//lo", part, len), -EINVAL);

	/* listing each level */
	CHECK_INT(resolve_listing_get(r, f, 0, 1, &l), 0);
	CHECK_INT(resolve_listing_count(&l), 2);
	CHECK_INT(resolve_listing_name(&l, 1, name, sizeof(name)), 0);
	CHECK_STR(name, "1");
	CHECK_INT(resolve_listing_name(&l, 2, name, sizeof(name)), -ERANGE);
	resolve_listing_release(&l);
	CHECK_INT(resolve_listing_get(r, f, 1, 1, &l), 0);
	CHECK_INT(resolve_listing_count(&l), 4);	/* col0 col1 price qty */
	CHECK_INT(resolve_listing_name(&l, 3, name, sizeof(name)), 0);
	CHECK_STR(name, "qty");
	CHECK_INT(resolve_listing_name(&l, 3, name, 3), -ERANGE);
	resolve_listing_release(&l);
	CHECK_INT(resolve_listing_get(r, f, 2, 1, &l), 0);
	CHECK_INT(resolve_listing_count(&l), 2);
	resolve_listing_release(&l);
	CHECK_INT(resolve_listing_get(r, f, 3, 1, &l), -ENOTDIR);
	reg_free(r);
	ds_free(d);
	unlink(path);
}

/* A plugin's definitions: sizes, kinds, counts. */
static void test_plugin_definitions(void)
{
	static const struct memofs_arg one_col[] = {
		{ NULL, MEMOFS_ARGS_COLUMNS, NULL, 0, 0 },
	};
	static const struct memofs_arg five[] = {
		{ NULL, MEMOFS_ARGS_COLUMNS, NULL, 0, 0 },
		{ NULL, MEMOFS_ARGS_COLUMNS, NULL, 0, 0 },
		{ NULL, MEMOFS_ARGS_COLUMNS, NULL, 0, 0 },
		{ NULL, MEMOFS_ARGS_COLUMNS, NULL, 0, 0 },
		{ NULL, MEMOFS_ARGS_COLUMNS, NULL, 0, 0 },
	};
	static const struct memofs_arg with_files[] = {
		{ NULL, MEMOFS_ARGS_COLUMNS, NULL, 0, 0 },
		{ NULL, (enum memofs_args)3, NULL, 0, 0 },
	};
	/* A newer plugin's struct memofs_arg, longer than ours. */
	struct bigger_arg {
		struct memofs_arg a;
		double future;
	} big[2] = {
		{ { "Q", MEMOFS_ARGS_REAL, NULL, 0, 1 }, 42 },
		{ { NULL, MEMOFS_ARGS_COLUMNS, NULL, 0, 0 }, 43 },
	};
	struct memofs_function def = {
		.name = "p", .version = "1", .compute = nop,
		MEMOFS_ARGV(one_col),
	};
	char canon[REG_ARG_MAX + 1];
	reg *r = NULL;

	CHECK_INT(reg_new(&r), 0);
	CHECK_INT(memofs_register(r, &def), 0);
	CHECK_INT(reg_fn_nargs(reg_find(r, "p")), 1);
	def.name = "five";
	def.argv = five;
	def.nargs = 5;			/* more than MEMOFS_ARGS_MAX */
	CHECK_INT(memofs_register(r, &def), -EINVAL);
	def.argv = with_files;
	def.nargs = 2;			/* files: commands only */
	CHECK_INT(memofs_register(r, &def), -EINVAL);
	def.argv = NULL;
	CHECK_INT(memofs_register(r, &def), -EINVAL);
	def.argv = one_col;
	def.nargs = 1;
	def.arg_size = 8;		/* smaller than any memofs_arg */
	CHECK_INT(memofs_register(r, &def), -EINVAL);
	def.name = "big";
	def.argv = &big[0].a;
	def.nargs = 2;
	def.arg_size = sizeof(big[0]);
	CHECK_INT(memofs_register(r, &def), 0);
	CHECK_INT(reg_fn_nargs(reg_find(r, "big")), 2);
	CHECK_STR(reg_fn_arg(reg_find(r, "big"), 0)->label, "Q");
	CHECK(reg_fn_arg(reg_find(r, "big"), 1)->kind == ARGS_COLUMNS);
	/* no dataset bound: a column level resolves nothing, lists nothing */
	CHECK_INT(resolve_name(r, reg_find(r, "big"), 1, "col0", 0, canon,
			       sizeof(canon)), -ENOENT);
	/* an ABI-1 plugin (the size before argv): one argument by args */
	def.name = "old";
	def.args = MEMOFS_ARGS_COLUMNS;
	CHECK_INT(memofs_register_size(r, &def,
				       offsetof(struct memofs_function, argv)),
		  0);
	CHECK_INT(reg_fn_nargs(reg_find(r, "old")), 1);
	reg_free(r);
}

/* Keys: one argument hashes as before; each argument is its own field. */
static void test_keys(void)
{
	uint8_t a[KEY_LEN], b[KEY_LEN];
	const char *one[] = { "col0" }, *two[] = { "0.5", "col0" };
	const char *joined[] = { "0.5/col0" }, *moved[] = { "0.5/", "col0" };
	size_t len1[] = { 4 }, len2[] = { 3, 4 }, lenj[] = { 8 },
	       lenm[] = { 4, 4 };

	key_make(a, "f", "1", "col0", NULL, 0);
	key_make_args(b, "f", "1", one, len1, 1, NULL, 0);
	CHECK(memcmp(a, b, KEY_LEN) == 0);
	key_make_args(a, "f", "1", two, len2, 2, NULL, 0);
	key_make_args(b, "f", "1", joined, lenj, 1, NULL, 0);
	CHECK(memcmp(a, b, KEY_LEN) != 0);
	key_make_args(b, "f", "1", moved, lenm, 2, NULL, 0);
	CHECK(memcmp(a, b, KEY_LEN) != 0);
	key_make_args(b, "f", "1", two, len2, 1, NULL, 0);
	CHECK(memcmp(a, b, KEY_LEN) != 0);
}

/* ---- kernels ------------------------------------------------------------- */

static void test_kernels(void)
{
	double v[] = { 3, 1, 2, 10 }, w[4];
	double nanv[] = { 1, NAN, 2 };
	double x[] = { 1, 2, 3, 4, NAN }, y[] = { 2, 4, 6, INFINITY, 1 };
	size_t counts[4];
	double inf[] = { 1, INFINITY };
	/* ranges numpy cannot split: max - min overflows; bins / (max - min)
	 * overflows; a constant that widening by 0.5 leaves as it is */
	double wide[] = { 1e308, -1e308, 0 }, narrow[] = { 0, 5e-324 };
	double big[] = { 1.7e308, 1.7e308 }, tiny[] = { 1e-300, 2e-300 };

	memcpy(w, v, sizeof(v));
	CHECK(fn_quantile(w, 4, 0) == 1);
	memcpy(w, v, sizeof(v));
	CHECK(fn_quantile(w, 4, 1) == 10);
	memcpy(w, v, sizeof(v));
	CHECK(fn_quantile(w, 4, 0.5) == 2.5);	/* numpy: 2.5 */
	memcpy(w, v, sizeof(v));
	/* virtual index 3 * 0.9 between 3 and 10, gamma >= 0.5: numpy's
	 * _lerp() takes it from the upper value */
	CHECK(fn_quantile(w, 4, 0.9) == 10 - (10 - 3) * (1 - (3 * 0.9 - 2)));
	CHECK(isnan(fn_quantile(nanv, 3, 0.5)));
	CHECK(fn_quantile(w, 1, 0.3) == w[0]);
	CHECK_INT(fn_histogram(v, 4, 3, counts), 0);	/* edges 1, 4, 7, 10 */
	CHECK(counts[0] == 3 && counts[1] == 0 && counts[2] == 1);
	CHECK_INT(fn_histogram(v, 0, 2, counts), 0);
	CHECK(counts[0] == 0 && counts[1] == 0);
	CHECK_INT(fn_histogram(inf, 2, 2, counts), -EDOM);
	CHECK_INT(fn_histogram(nanv, 3, 2, counts), -EDOM);
	CHECK_INT(fn_histogram(wide, 3, 2, counts), -ERANGE);
	CHECK_INT(fn_histogram(narrow, 2, 2, counts), -ERANGE);
	CHECK_INT(fn_histogram(big, 2, 1, counts), -ERANGE);
	CHECK_INT(fn_histogram(tiny, 2, 3, counts), 0);	/* numpy: 1 0 1 */
	CHECK(counts[0] == 1 && counts[1] == 0 && counts[2] == 1);
	/* pairs (1,2) (2,4) (3,6): the nan and inf rows are left out */
	CHECK(fabs(fn_nancorr(x, y, 5, 0) - 1) < 1e-15);
	CHECK(fn_nancorr(x, y, 5, 1) == 2);
	CHECK(isnan(fn_nancorr(x, y, 1, 0)));	/* one pair */
	CHECK(isnan(fn_nancorr(x + 4, y + 4, 1, 1)));	/* no pair */
	CHECK(isnan(fn_var_ddof(v, 4, 4)));
	CHECK(fn_var_ddof(v, 4, 1) == 50.0 / 3);	/* mean 4: 1+9+4+36 */
	CHECK(fn_var_ddof(v, 4, 0) == 12.5);
	{	/* finite values that overflow: inf, as numpy; inf in: nan */
		const double ov1[] = { 1e308, 1e308, 5.0 };
		const double ov2[] = { 1e200, -1e200, 0.0 };
		const double inf1[] = { INFINITY, 1.0 };

		CHECK(isinf(fn_var_ddof(ov1, 3, 0)));
		CHECK(isinf(fn_var_ddof(ov2, 3, 1)));
		CHECK(isnan(fn_var_ddof(inf1, 2, 0)));
	}
}

int main(void)
{
	test_numbers();
	test_declarations();
	test_levels();
	test_plugin_definitions();
	test_keys();
	test_kernels();
	return check_report("test_resolve");
}
