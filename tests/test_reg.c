/* test_reg.c -- unit test of the registry and argument names. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "csvfile.h"
#include "functions/fn_builtin.h"
#include "functions/reg.h"
#include "functions/resolve.h"
#include "listing.h"

static int nop(memofs_ctx *ctx, const char *arg, void *udata)
{
	return 0;
}

static void test_definitions(void)
{
	static const char *const list[] = { "a", "b c", "-x", NULL };
	static const char *const bad_list[] = { "ok", "x/y", NULL };
	struct memofs_function def = { "f", "1", "desc", MEMOFS_ARGS_LIST,
				       list, nop, NULL, MEMOFS_BYTES,
				       MEMOFS_SHAPE_VECTOR, NULL, 0, 0 };
	char buf[64];
	reg *r = NULL;

	CHECK_INT(reg_new(&r), 0);
	CHECK_INT(memofs_register(r, &def), 0);
	CHECK_INT(memofs_register(r, &def), -EEXIST);
	def.name = "g";
	CHECK_INT(reg_add(r, &def, "abc"), 0);
	CHECK_STR(reg_fn_version(reg_find(r, "g")), "1+abc");
	CHECK_STR(reg_fn_version(reg_find(r, "f")), "1");
	CHECK_STR(reg_fn_description(reg_find(r, "f")), "desc");
	CHECK(reg_find(r, "h") == NULL);
	CHECK_INT(reg_count(r), 2);

	const char *bad_names[] = { "", ".", "..", "a/b", "a b", "é", NULL };
	for (int i = 0; bad_names[i]; i++) {
		def.name = bad_names[i];
		CHECK_INT(memofs_register(r, &def), -EINVAL);
	}
	def.name = "h";
	def.arg_list = bad_list;
	CHECK_INT(memofs_register(r, &def), -EINVAL);
	def.arg_list = NULL;
	CHECK_INT(memofs_register(r, &def), -EINVAL);
	def.arg_list = list;
	def.compute = NULL;
	CHECK_INT(memofs_register(r, &def), -EINVAL);
	CHECK_INT(memofs_register(r, NULL), -EINVAL);
	CHECK_INT(reg_count(r), 2);

	const reg_fn *f = reg_find(r, "f");
	CHECK_INT(arg_count(r, f), 3);
	CHECK_INT(arg_name(r, f, 1, buf, sizeof(buf)), 0);
	CHECK_STR(buf, "b c");
	CHECK_INT(arg_name(r, f, 1, buf, 2), -ERANGE);
	CHECK_INT(resolve_name(r, f, 0, "-x", 0, buf, sizeof(buf)), 0);
	CHECK_STR(buf, "-x");
	CHECK_INT(resolve_name(r, f, 0, "c", 0, buf, sizeof(buf)), -ENOENT);
	reg_free(r);
}

static void test_parse_column(void)
{
	size_t col = 99;
	const char *bad[] = { "col", "col00", "col01", "col-1", "col+1",
			      "colNaN", "col 1", "col1 ", "col4", "Col1",
			      "col18446744073709551616", "col1e0", "col0x1",
			      "", "col99999999999999999999999", NULL };

	CHECK_INT(resolve_parse_column("col0", 4, &col), 0);
	CHECK_INT(col, 0);
	CHECK_INT(resolve_parse_column("col3", 4, &col), 0);
	CHECK_INT(col, 3);
	for (int i = 0; bad[i]; i++) {
		CHECK_INT(resolve_parse_column(bad[i], 4, &col), -ENOENT);
		if (resolve_parse_column(bad[i], 4, &col) == 0)
			fprintf(stderr, "  accepted '%s'\n", bad[i]);
	}
}

static void test_columns(void)
{
	char path[] = "/tmp/memofs-test-reg-XXXXXX";
	ds *d = load_csv("price,qty,price,col0,a/b,color,weight\n"
			 "1,2,3,4,5,6,7\n", path);
	double delay = 0;
	char buf[REG_NAME_MAX + 1];
	reg *r = NULL;
	const reg_fn *mean;

	CHECK(d != NULL);
	if (!d)
		return;
	CHECK_INT(reg_new(&r), 0);
	CHECK_INT(fn_register_builtins(r, &delay), 0);
	CHECK_INT(reg_bind_dataset(r, d), 0);
	mean = reg_find(r, "mean");
	CHECK(mean != NULL);
	/* col0..col6, then qty, color, weight (price duplicated, col0 and
	 * a/b unusable). */
	CHECK_INT(arg_count(r, mean), 10);
	CHECK_INT(arg_name(r, mean, 6, buf, sizeof(buf)), 0);
	CHECK_STR(buf, "col6");
	CHECK_INT(arg_name(r, mean, 7, buf, sizeof(buf)), 0);
	CHECK_STR(buf, "qty");
	CHECK_INT(arg_name(r, mean, 8, buf, sizeof(buf)), 0);
	CHECK_STR(buf, "color");
	CHECK_INT(arg_name(r, mean, 9, buf, sizeof(buf)), 0);
	CHECK_STR(buf, "weight");
	CHECK_INT(resolve_name(r, mean, 0, "weight", 0, buf, sizeof(buf)), 0);
	CHECK_STR(buf, "col6");
	CHECK_INT(resolve_name(r, mean, 0, "col2", 0, buf, sizeof(buf)), 0);
	CHECK_STR(buf, "col2");
	CHECK_INT(resolve_name(r, mean, 0, "price", 0, buf, sizeof(buf)),
		  -ENOENT);
	CHECK_INT(resolve_name(r, mean, 0, "col7", 0, buf, sizeof(buf)),
		  -ENOENT);
	CHECK_INT(resolve_name(r, mean, 0, "weight", 0, buf, 4), -ENAMETOOLONG);
	const char *names[] = { "column", "sum", "mean", "var", "std", "min",
				"max", "median", "nansum", "nanmean", "nanvar",
				"nanstd", "nanmin", "nanmax", "nanmedian",
				"count", "size", "nunique", "value_counts",
				NULL };
	for (int i = 0; names[i]; i++)
		CHECK(reg_find(r, names[i]) != NULL);
	CHECK_INT(reg_count(r), 19);
	reg_free(r);
	ds_free(d);
	unlink(path);
}

/* The hook of a versioned function: udata is an int, the version now;
 * negative: the hook fails with that errno. */
static int version_of(void *udata, char *suffix)
{
	int v = *(int *)udata;

	if (v < 0)
		return v;
	snprintf(suffix, REG_SUFFIX_MAX + 1, "v%d", v);
	return 0;
}

static void test_versioned(void)
{
	static const char *const list[] = { "a", NULL };
	char long_version[REG_NAME_MAX + 2], buf[REG_VERSION_BUF];
	int now = 1;
	struct memofs_function def = { "f", "2", "desc", MEMOFS_ARGS_LIST,
				       list, nop, &now, MEMOFS_BYTES,
				       MEMOFS_SHAPE_VECTOR, NULL, 0, 0 };
	const reg_fn *f;
	reg *r = NULL;

	CHECK_INT(reg_new(&r), 0);
	CHECK_INT(reg_add_versioned(r, &def, version_of), 0);
	f = reg_find(r, "f");
	CHECK(reg_fn_versioned(f));
	CHECK_STR(reg_fn_version(f), "2+v1");
	CHECK_STR(reg_fn_version_now(f, buf), "2+v1");
	now = 7;
	CHECK_STR(reg_fn_version_now(f, buf), "2+v7");
	CHECK_STR(reg_fn_version(f), "2+v1");	/* as registered */
	now = -EIO;
	CHECK_STR(reg_fn_version_now(f, buf), "2+?");
	def.name = "g";		/* a failing hook fails the registration */
	CHECK_INT(reg_add_versioned(r, &def, version_of), -EIO);
	memset(long_version, 'x', sizeof(long_version) - 1);
	long_version[sizeof(long_version) - 1] = '\0';
	def.version = long_version;
	now = 1;
	CHECK_INT(reg_add_versioned(r, &def, version_of), -EINVAL);
	def.version = "1";
	CHECK_INT(reg_add(r, &def, NULL), 0);
	f = reg_find(r, "g");
	CHECK(!reg_fn_versioned(f));
	CHECK(reg_fn_version_now(f, buf) == reg_fn_version(f));
	reg_free(r);
}

static char hook_log[16];

static void note_hook(void *arg)
{
	size_t n = strlen(hook_log);

	if (n + 1 < sizeof(hook_log))
		hook_log[n] = *(const char *)arg;
}

/* reg_on_cancel()/reg_cancel(): every hook, in registration order, each
 * time; none on a NULL or hookless registry. */
static void test_cancel_hooks(void)
{
	static char letters[] = "abc";
	reg *r = NULL;

	reg_cancel(NULL);
	CHECK_INT(reg_new(&r), 0);
	if (!r)
		return;
	reg_cancel(r);
	CHECK_STR(hook_log, "");
	CHECK_INT(reg_on_cancel(r, note_hook, letters), 0);
	CHECK_INT(reg_on_cancel(r, note_hook, letters + 1), 0);
	CHECK_INT(reg_on_cancel(r, note_hook, letters + 2), 0);	/* past 2: grows */
	reg_cancel(r);
	CHECK_STR(hook_log, "abc");
	reg_cancel(r);
	CHECK_STR(hook_log, "abcabc");
	reg_free(r);
}

/* ARGS_NUMERIC lists and resolves the numeric columns only, and their
 * header names; ARGS_COLUMNS every column. */
static void test_numeric_columns(void)
{
	char path[] = "/tmp/memofs-test-reg-XXXXXX";
	ds *d = load_csv("city,pop,when,rate\nA,1,x,2.5\nB,2,y,\n", path);
	const char *want[] = { "col1", "col3", "pop", "rate" };
	char buf[REG_NAME_MAX + 1];
	const reg_fn *mean, *count;
	double delay = 0;
	reg *r = NULL;

	CHECK(d != NULL);
	if (!d)
		return;
	CHECK_INT(reg_new(&r), 0);
	CHECK_INT(fn_register_builtins(r, &delay), 0);
	CHECK_INT(reg_bind_dataset(r, d), 0);
	mean = reg_find(r, "mean");
	count = reg_find(r, "count");
	CHECK(mean && count);
	if (!mean || !count)
		goto out_free;
	CHECK_INT(arg_count(r, mean), 4);
	for (size_t i = 0; i < 4 && i < arg_count(r, mean); i++) {
		CHECK_INT(arg_name(r, mean, i, buf, sizeof(buf)), 0);
		CHECK_STR(buf, want[i]);
	}
	CHECK_INT(arg_count(r, count), 8);
	CHECK_INT(resolve_name(r, mean, 0, "city", 0, buf,
			       sizeof(buf)), -ENOENT);
	CHECK_INT(resolve_name(r, mean, 0, "col2", 0, buf,
			       sizeof(buf)), -ENOENT);
	CHECK_INT(resolve_name(r, mean, 0, "rate", 0, buf,
			       sizeof(buf)), 0);
	CHECK_STR(buf, "col3");
	CHECK_INT(resolve_name(r, count, 0, "city", 0, buf,
			       sizeof(buf)), 0);
	CHECK_STR(buf, "col0");
out_free:
	reg_free(r);
	ds_free(d);
	unlink(path);
}

int main(void)
{
	test_definitions();
	test_versioned();
	test_parse_column();
	test_columns();
	test_numeric_columns();
	test_cancel_hooks();
	return check_report("reg");
}
