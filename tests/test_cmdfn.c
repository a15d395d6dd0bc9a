/* test_cmdfn.c -- unit test of command registration (functions/cmdfn.c).
 *
 * A functions file in a fresh directory is loaded into a registry: its
 * functions are found with their arguments, description and a version
 * that is the declared one plus "+" and 16 hex digits, which changes when
 * the script the command runs is edited and only then.  Refusals name the
 * file and line: a missing program, a name already registered, files as
 * arguments without a directory DATA.  The registry's cancel hook is
 * cmdfn_cancel().
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "functions/cmdfn.h"
#include "functions/fn_builtin.h"
#include "functions/reg.h"
#include "functions/resolve.h"
#include "listing.h"
#include "util/log.h"

static char dir[] = "/tmp/test_cmdfn.XXXXXX";
static const double no_delay = 0;

static void put(const char *name, const char *text)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	CHECK(f != NULL);
	if (!f)
		return;
	fputs(text, f);
	CHECK_INT(fclose(f), 0);
}

/* Loads dir/name into a fresh registry with the built-ins: rc, and the
 * message in err. */
static int load(const char *name, reg **r, cmdfn **c, char *err)
{
	struct cmdfn_data cd = { .path = NULL, .table = NULL, .files = NULL };
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	err[0] = '\0';
	CHECK_INT(reg_new(r), 0);
	CHECK_INT(fn_register_builtins(*r, &no_delay), 0);
	CHECK_INT(cmdfn_new(&cd, c), 0);
	return cmdfn_load(*c, *r, path, err, CMDFN_ERR_MAX);
}

static void unload(reg *r, cmdfn *c)
{
	reg_free(r);
	cmdfn_free(c);
}

static int is_hex(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!s[i] || !strchr("0123456789abcdef", s[i]))
			return 0;
	return s[n] == '\0';
}

static void test_registers(void)
{
	char err[CMDFN_ERR_MAX], buf[REG_VERSION_BUF], v1[REG_VERSION_BUF];
	char name[64];
	const reg_fn *f;
	const char *v;
	reg *r = NULL;
	cmdfn *c = NULL;

	put("hello.sh", "echo hello \"$1\"\n");
	put("f.ini", "[greet]\n"
		     "description = says hello\n"
		     "version = 3\n"
		     "args = list: alice, bob smith\n"
		     "command = sh ./hello.sh {arg}\n");
	CHECK_INT(load("f.ini", &r, &c, err), 0);
	CHECK_STR(err, "");
	f = reg_find(r, "greet");
	CHECK(f != NULL);
	if (!f) {
		unload(r, c);
		return;
	}
	CHECK(reg_fn_versioned(f));
	CHECK_STR(reg_fn_description(f), "says hello");
	CHECK_INT(arg_count(r, f), 2);
	CHECK_INT(arg_name(r, f, 0, name, sizeof(name)), 0);
	CHECK_STR(name, "alice");
	CHECK_INT(arg_name(r, f, 1, name, sizeof(name)), 0);
	CHECK_STR(name, "bob smith");
	CHECK_INT(resolve_name(r, f, 0, "carol", 0, name, sizeof(name)),
		  -ENOENT);
	v = reg_fn_version_now(f, buf);
	CHECK(strncmp(v, "3+", 2) == 0 && is_hex(v + 2, 16));
	snprintf(v1, sizeof(v1), "%s", v);
	/* The same files: the same version. */
	CHECK_STR(reg_fn_version_now(f, buf), v1);
	/* The script edited (another size, so the identity changes at
	 * once): another version. */
	put("hello.sh", "echo 'hello there' \"$1\"\n");
	v = reg_fn_version_now(f, buf);
	CHECK(strncmp(v, "3+", 2) == 0 && is_hex(v + 2, 16));
	CHECK(strcmp(v, v1) != 0);
	unload(r, c);
}

static void check_refused(const char *text, const char *what)
{
	char err[CMDFN_ERR_MAX];
	reg *r = NULL;
	cmdfn *c = NULL;

	put("bad.ini", text);
	CHECK(load("bad.ini", &r, &c, err) < 0);
	CHECK(strstr(err, "bad.ini: line ") != NULL);
	if (!strstr(err, what))
		fprintf(stderr, "'%s' does not say '%s'\n", err, what);
	CHECK(strstr(err, what) != NULL);
	CHECK(strchr(err, '\n') == NULL);
	unload(r, c);
}

static void test_refused(void)
{
	check_refused("[x]\nargs = list: a\ncommand = no-such-program-r11\n",
		      "not found");
	check_refused("[mean]\nargs = list: a\ncommand = echo\n",
		      "already registered");
	check_refused("[lines]\nargs = files\ncommand = cat {file}\n",
		      "directory");
}

static int hook_calls;

static void count(void *arg)
{
	(void)arg;
	hook_calls++;
}

/* cmdfn_load() put cmdfn_cancel() on the registry's cancel hooks, once
 * however many files it loads: reg_cancel() runs it (and a hook of our
 * own after it, so the list is intact). */
static void test_cancel_hook(void)
{
	char err[CMDFN_ERR_MAX], path[256];
	reg *r = NULL;
	cmdfn *c = NULL;

	put("a.ini", "[a]\nargs = list: x\ncommand = echo a\n");
	put("b.ini", "[b]\nargs = list: x\ncommand = echo b\n");
	CHECK_INT(load("a.ini", &r, &c, err), 0);
	snprintf(path, sizeof(path), "%s/b.ini", dir);
	CHECK_INT(cmdfn_load(c, r, path, err, sizeof(err)), 0);
	CHECK_INT(reg_on_cancel(r, count, NULL), 0);
	reg_cancel(r);		/* cmdfn_cancel(): nothing runs, no harm */
	reg_cancel(r);
	CHECK_INT(hook_calls, 2);
	CHECK(reg_find(r, "a") && reg_find(r, "b"));
	unload(r, c);
}

int main(void)
{
	char cmd[64];

	log_init(0, LOG_LVL_ERROR);
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	test_registers();
	test_refused();
	test_cancel_hook();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
	return check_report("cmdfn");
}
