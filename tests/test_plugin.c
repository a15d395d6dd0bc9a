/* test_plugin.c -- unit test of plugin loading (plugin.c).
 *
 * Loads the variants built from tests/plugins/variants.c (their paths come
 * in argv) into a registry: a good plugin registers its functions with the
 * file's digest in their versions; every refusal returns its documented
 * errno with a one-line message naming the file, and leaves no function of
 * the refused plugin behind.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "functions/plugin.h"
#include "functions/reg.h"

static int nop(memofs_ctx *ctx, const char *arg, void *udata)
{
	return 0;
}

/* A registry with one function named "taken", as a built-in would be. */
static reg *registry(void)
{
	struct memofs_function def = { "taken", "1", "", MEMOFS_ARGS_COLUMNS,
				       NULL, nop, NULL, MEMOFS_BYTES, 0, NULL, 0, 0 };
	reg *r = NULL;

	CHECK_INT(reg_new(&r), 0);
	CHECK_INT(memofs_register(r, &def), 0);
	return r;
}

static int is_hex16(const char *s)
{
	if (strlen(s) != 16)
		return 0;
	return strspn(s, "0123456789abcdef") == 16;
}

static void test_good(const char *path)
{
	char err[512] = "";
	plugin *p = NULL;
	reg *r = registry();
	const char *v;

	CHECK_INT(plugin_load(r, path, &p, err, sizeof(err)), 0);
	CHECK(p != NULL);
	CHECK_INT(reg_count(r), 3);
	v = reg_fn_version(reg_find(r, "tp_one"));
	CHECK(v && strncmp(v, "3+", 2) == 0 && is_hex16(v + 2));
	CHECK_STR(reg_fn_version(reg_find(r, "tp_two")), v);
	CHECK_STR(reg_fn_description(reg_find(r, "tp_one")), "first");
	CHECK_STR(reg_fn_version(reg_find(r, "taken")), "1");
	/* Loading it again clashes with itself. */
	CHECK_INT(plugin_load(r, path, &p, err, sizeof(err)), -EEXIST);
	CHECK(strstr(err, "function 'tp_one' is already registered") != NULL);
	reg_free(r);
	plugin_free(p);
	plugin_free(NULL);
}

/* Loads path into a fresh registry, expecting rc and a message holding
 * want and the path; nothing of the plugin may stay registered. */
static void refused(const char *path, int rc, const char *want)
{
	char err[512] = "";
	plugin *p = NULL;
	reg *r = registry();

	CHECK_INT(plugin_load(r, path, &p, err, sizeof(err)), rc);
	CHECK(p == NULL);
	if (!strstr(err, want) || !strstr(err, path))
		fprintf(stderr, "message for %s: '%s' (want '%s')\n", path,
			err, want);
	CHECK(strstr(err, want) != NULL && strstr(err, path) != NULL);
	CHECK(strchr(err, '\n') == NULL);
	CHECK(reg_find(r, "tp_one") == NULL);
	reg_free(r);
}

static void test_not_a_plugin(void)
{
	char path[] = "/tmp/test_plugin_XXXXXX";
	int fd = mkstemp(path);

	CHECK(fd >= 0);
	CHECK(write(fd, "not ELF\n", 8) == 8);
	close(fd);
	refused(path, -ENOEXEC, "cannot load");
	unlink(path);
	refused("/nonexistent/p.so", -ENOENT, "No such file");
}

int main(int argc, char **argv)
{
	if (argc != 7) {
		fprintf(stderr, "usage: test_plugin OK NO_ABI OTHER_ABI "
			"NO_INIT INIT_FAILS CLASH\n");
		return 2;
	}
	test_good(argv[1]);
	refused(argv[2], -EPROTO, "no memofs_plugin_abi symbol");
	refused(argv[3], -EPROTO, "built for memofs ABI 2, this memofs "
		"loads ABI 1 to 1");
	refused(argv[4], -ENOSYS, "no memofs_plugin_init function");
	refused(argv[5], -EPERM, "memofs_plugin_init failed: Operation not "
		"permitted");
	refused(argv[6], -EEXIST, "function 'taken' is already registered");
	test_not_a_plugin();
	return check_report("test_plugin");
}
