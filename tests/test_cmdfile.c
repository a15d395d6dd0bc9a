/* test_cmdfile.c -- unit test of the functions file parser: every key and
 * default, comments and line ends, list items, command quoting and
 * placeholders, each content error with its exact message and line, and
 * reading from a file (missing, a directory, a FIFO, too large). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "functions/cmdfile.h"

#define P "t.ini"

/* A struct cmdfile that a failed parse must leave in *out. */
static struct cmdfile sentinel;

/* Parses text (len bytes) and expects success; NULL when it failed. */
static struct cmdfile *parse_len(const char *text, size_t len)
{
	struct cmdfile *f = &sentinel;
	char err[CMDFILE_ERR_MAX] = "";
	int rc = cmdfile_parse_buf(P, text, len, &f, err, sizeof(err));

	CHECK_INT(rc, 0);
	if (rc) {
		fprintf(stderr, "  input: %s\n  error: %s\n", text, err);
		return NULL;
	}
	CHECK(f != &sentinel);
	CHECK_STR(f->path, P);
	return f;
}

static struct cmdfile *parse(const char *text)
{
	return parse_len(text, strlen(text));
}

/* Parses text and expects the one function of it. */
static struct cmdfile *parse_one(const char *text)
{
	struct cmdfile *f = parse(text);

	if (f && f->n != 1) {
		CHECK_INT(f->n, 1);
		cmdfile_free(f);
		return NULL;
	}
	return f;
}

/* Expects text (len bytes) to fail with rc and the message P ": " msg,
 * leaving *out alone. */
static void bad_len(const char *text, size_t len, int want_rc,
		    const char *msg)
{
	struct cmdfile *f = &sentinel;
	char err[CMDFILE_ERR_MAX], want[CMDFILE_ERR_MAX];
	int rc;

	memset(err, 'x', sizeof(err));
	rc = cmdfile_parse_buf(P, text, len, &f, err, sizeof(err));
	snprintf(want, sizeof(want), "%s: %s", P, msg);
	CHECK_INT(rc, want_rc);
	CHECK(f == &sentinel);
	CHECK_STR(err, want);
	if (rc != want_rc || strcmp(err, want) != 0)
		fprintf(stderr, "  input: %.*s\n", (int)len, text);
	if (rc == 0 && f != &sentinel)
		cmdfile_free(f);
}

static void bad(const char *text, const char *msg)
{
	bad_len(text, strlen(text), -EINVAL, msg);
}

/* Checks fn's argv and placeholders against want (NULL-terminated). */
static void check_argv(const struct cmdfile_fn *fn, const char *const *want,
		       const enum cmdfile_ph *ph)
{
	size_t n = 0;

	while (want[n])
		n++;
	CHECK_INT(fn->argc, n);
	if (fn->argc != n)
		return;
	for (size_t i = 0; i < n; i++) {
		CHECK_STR(fn->argv[i], want[i]);
		CHECK_INT(fn->ph[i], ph ? ph[i] : CMDFILE_LITERAL);
	}
	CHECK(fn->argv[n] == NULL);
}

/* The argv of "[f]\nargs = list: x\ncommand = <command>\n". */
static void check_command(const char *command, const char *const *want)
{
	char text[4096];
	struct cmdfile *f;

	snprintf(text, sizeof(text), "[f]\nargs = list: x\ncommand = %s\n",
		 command);
	f = parse_one(text);
	if (!f)
		return;
	check_argv(&f->fns[0], want, NULL);
	cmdfile_free(f);
}

/* Expects "[f]\nargs = <args>\ncommand = <command>\n" to fail on line 3
 * with msg. */
static void bad_command(const char *args, const char *command,
			const char *msg)
{
	char text[4096], want[CMDFILE_ERR_MAX];

	snprintf(text, sizeof(text), "[f]\nargs = %s\ncommand = %s\n", args,
		 command);
	snprintf(want, sizeof(want), "line 3: %s", msg);
	bad(text, want);
}

/* Expects "[f]\nargs = files\ncommand = x\n<key> = <value>\n" to fail on
 * line 4 with msg. */
static void bad_value(const char *key, const char *value, const char *msg)
{
	char text[4096], want[CMDFILE_ERR_MAX];

	snprintf(text, sizeof(text), "[f]\nargs = files\ncommand = x\n"
		 "%s = %s\n", key, value);
	snprintf(want, sizeof(want), "line 4: %s", msg);
	bad(text, want);
}

/* A string of n copies of ch (n < 2048). */
static const char *repeat(char ch, size_t n)
{
	static char buf[2048];

	memset(buf, ch, n);
	buf[n] = '\0';
	return buf;
}

/* ---- good files -------------------------------------------------------- */

static void test_minimal(void)
{
	static const char *const want[] = { "wc", "-l", "{file}", NULL };
	static const enum cmdfile_ph ph[] = { CMDFILE_LITERAL, CMDFILE_LITERAL,
					      CMDFILE_FILE };
	struct cmdfile *f = parse_one("[lines]\nargs = files\n"
				      "command = wc -l {file}\n");
	const struct cmdfile_fn *fn;

	if (!f)
		return;
	fn = &f->fns[0];
	CHECK_STR(fn->name, "lines");
	CHECK_STR(fn->version, "1");
	CHECK_STR(fn->description, "");
	CHECK_INT(fn->args, ARGS_FILES);
	CHECK(fn->list == NULL);
	CHECK_INT(fn->nlist, 0);
	check_argv(fn, want, ph);
	CHECK(fn->timeout == 0);
	CHECK_INT(fn->output, MEMOFS_BYTES);
	CHECK_INT(fn->line, 1);
	CHECK_INT(fn->command_line, 3);
	cmdfile_free(f);
}

/* output = bytes | float64 | int64; anything else, or twice, is an
 * error. */
static void test_output(void)
{
	static const struct {
		const char *value;
		enum memofs_dtype dtype;
	} ok[] = { { "bytes", MEMOFS_BYTES }, { "float64", MEMOFS_FLOAT64 },
		   { "int64", MEMOFS_INT64 }, { "  float64\t", MEMOFS_FLOAT64 } };
	static const char *const no[] = { "", "f8", "Float64", "float", "text",
					  "float64 int64", "int32" };
	char text[256], msg[128];

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		struct cmdfile *f;

		snprintf(text, sizeof(text), "[f]\nargs = columns\n"
			 "command = x\noutput = %s\n", ok[i].value);
		f = parse_one(text);
		if (!f)
			continue;
		CHECK_INT(f->fns[0].output, ok[i].dtype);
		cmdfile_free(f);
	}
	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
		snprintf(msg, sizeof(msg), "'output' must be bytes, float64 or "
			 "int64 (not '%s')", no[i]);
		bad_value("output", no[i], msg);
	}
	bad("[f]\noutput = int64\noutput = int64\n",
	    "line 3: 'output' given twice");
}

static void test_all_keys(void)
{
	static const char *const want[] = { "python3", "s.py", "{arg}",
					    "{data}", NULL };
	static const enum cmdfile_ph ph[] = { CMDFILE_LITERAL, CMDFILE_LITERAL,
					      CMDFILE_ARG, CMDFILE_DATA };
	struct cmdfile *f = parse_one(
		"# header\n"
		"[pick.v-2_x]\n"
		"timeout = 0.5\n"
		"command = python3 s.py {arg} {data}\n"
		"description = Lines of each input file\n"
		"version = 2.1 (beta) \xce\xb2\n"
		"args = list: a, b c, -x\n");
	const struct cmdfile_fn *fn;

	if (!f)
		return;
	fn = &f->fns[0];
	CHECK_STR(fn->name, "pick.v-2_x");
	CHECK_STR(fn->description, "Lines of each input file");
	CHECK_STR(fn->version, "2.1 (beta) \xce\xb2");
	CHECK_INT(fn->args, ARGS_LIST);
	CHECK_INT(fn->nlist, 3);
	if (fn->nlist == 3) {
		CHECK_STR(fn->list[0], "a");
		CHECK_STR(fn->list[1], "b c");
		CHECK_STR(fn->list[2], "-x");
	}
	check_argv(fn, want, ph);
	CHECK(fn->timeout == 0.5);
	CHECK_INT(fn->line, 2);
	CHECK_INT(fn->command_line, 4);
	cmdfile_free(f);
}

static void test_several(void)
{
	struct cmdfile *f = parse("[a]\nargs = files\ncommand = x\n"
				  "\n"
				  "[b]\nargs = columns\ncommand = y {col}\n"
				  "timeout = 30\n"
				  "[c]\ncommand = z\nargs = list: q\n");

	if (!f)
		return;
	CHECK_INT(f->n, 3);
	if (f->n == 3) {
		CHECK_STR(f->fns[0].name, "a");
		CHECK_STR(f->fns[1].name, "b");
		CHECK_STR(f->fns[2].name, "c");
		CHECK_INT(f->fns[0].line, 1);
		CHECK_INT(f->fns[1].line, 5);
		CHECK_INT(f->fns[2].line, 9);
		CHECK_INT(f->fns[2].command_line, 10);
		CHECK_INT(f->fns[1].args, ARGS_COLUMNS);
		CHECK_INT(f->fns[1].ph[1], CMDFILE_COL);
		CHECK(f->fns[1].timeout == 30);
		CHECK(f->fns[0].timeout == 0);
		CHECK_STR(f->fns[2].version, "1");
		CHECK_STR(f->fns[2].description, "");
	}
	cmdfile_free(f);
}

static void test_no_functions(void)
{
	const char *texts[] = { "", "\n", "# only a comment\n", "\r\n  \t\n",
				"; x\n#\n;", NULL };

	for (int i = 0; texts[i]; i++) {
		struct cmdfile *f = parse(texts[i]);

		if (!f)
			continue;
		CHECK_INT(f->n, 0);
		cmdfile_free(f);
	}
	cmdfile_free(NULL);
}

static void test_layout(void)
{
	static const char *const want[] = { "echo", "#", "not", "a",
					    "comment;", NULL };
	struct cmdfile *f = parse_one(
		"# comment\r\n"
		"   # indented comment\n"
		"\t; semicolon comment = with [brackets]\n"
		"\n"
		"   \t\n"
		"\r\n"
		"  [f]  \r\n"
		"\t args\t=\tlist :  a ,b,  c  d  ,\te\t\r\n"
		"description=  x # y ; z  \r\n"
		"version\t=3\n"
		"   command   =   echo # not a comment;   \r\n"
		"timeout = 1e1");
	const struct cmdfile_fn *fn;

	if (!f)
		return;
	fn = &f->fns[0];
	CHECK_INT(fn->line, 7);
	CHECK_INT(fn->command_line, 11);
	CHECK_STR(fn->description, "x # y ; z");
	CHECK_STR(fn->version, "3");
	CHECK_INT(fn->nlist, 4);
	if (fn->nlist == 4) {
		CHECK_STR(fn->list[0], "a");
		CHECK_STR(fn->list[1], "b");
		CHECK_STR(fn->list[2], "c  d");
		CHECK_STR(fn->list[3], "e");
	}
	check_argv(fn, want, NULL);
	CHECK(fn->timeout == 10);
	cmdfile_free(f);

	/* Empty optional values; a last line without LF, one with a CR. */
	f = parse_one("[f]\ndescription =\nargs = files\ncommand = x\r");
	if (f) {
		CHECK_STR(f->fns[0].description, "");
		CHECK_STR(f->fns[0].argv[0], "x");
		cmdfile_free(f);
	}
}

static void test_args(void)
{
	struct cmdfile *f;

	f = parse_one("[f]\nargs = list:x\ncommand = c\n");
	if (f) {
		CHECK_INT(f->fns[0].nlist, 1);
		CHECK_STR(f->fns[0].list[0], "x");
		cmdfile_free(f);
	}
	/* Anything but '/' and control characters: a name, not code. */
	f = parse_one("[f]\nargs = list: $(touch x), ; rm -rf y, '\"', "
		      "\xc3\xa9t\xc3\xa9, ..., .a, a=b, [x]\ncommand = c\n");
	if (f) {
		const char *want[] = { "$(touch x)", "; rm -rf y", "'\"'",
				       "\xc3\xa9t\xc3\xa9", "...", ".a",
				       "a=b", "[x]" };

		CHECK_INT(f->fns[0].nlist, 8);
		for (size_t i = 0; i < 8 && i < f->fns[0].nlist; i++)
			CHECK_STR(f->fns[0].list[i], want[i]);
		cmdfile_free(f);
	}
	f = parse_one("[f]\nargs = list: " "x,y  z, "
		      "123456789012345678901234567890123456789012345678901234"
		      "567890123456789012345678901234567890123456789012345678"
		      "901234567890123456789012345678901234567890123456789012"
		      "345678901234567890123456789012345678901234567890123456"
		      "789012345678901234567890123456789012345\ncommand = c\n");
	if (f) {
		CHECK_INT(f->fns[0].nlist, 3);
		CHECK_STR(f->fns[0].list[1], "y  z");
		CHECK_INT(strlen(f->fns[0].list[2]), 255);
		cmdfile_free(f);
	}
}

/* Several arguments: kinds, ranges, listed values, {argK}. */
static void test_several_args(void)
{
	struct cmdfile *f;

	f = parse_one("[f]\nargs = columns , number(-0.5..1e3: 0.5  1\t2),"
		      "files,integer(-3..7)\ncommand = c {arg4} {arg1} {col} "
		      "{file}\n");
	if (f) {
		const struct cmdfile_fn *fn = &f->fns[0];

		CHECK_INT(fn->nparams, 4);
		CHECK_INT(fn->args, 0);
		CHECK_INT(fn->args_line, 2);
		CHECK_INT(fn->params[0].kind, ARGS_COLUMNS);
		CHECK_INT(fn->params[1].kind, ARGS_REAL);
		CHECK(fn->params[1].min == -0.5 && fn->params[1].max == 1e3);
		CHECK_INT(fn->params[1].nlisted, 3);
		CHECK_STR(fn->params[1].listed[2], "2");
		CHECK(fn->params[1].listed[3] == NULL);
		CHECK_INT(fn->params[2].kind, ARGS_FILES);
		CHECK_INT(fn->params[3].kind, ARGS_INTEGER);
		CHECK(fn->params[3].min == -3 && fn->params[3].max == 7);
		CHECK_INT(fn->params[3].nlisted, 0);
		CHECK_INT(fn->ph[1], CMDFILE_ARG1 + 3);
		CHECK_INT(fn->ph[2], CMDFILE_ARG1);
		CHECK_INT(cmdfile_fn_param(fn, ARGS_FILES), 2);
		cmdfile_free(f);
	}
	f = parse_one("[f]\nargs = columns\ncommand = c {arg1} {arg}\n");
	if (f) {		/* one argument: {arg} and {arg1} alike */
		CHECK_INT(f->fns[0].nparams, 1);
		CHECK_INT(f->fns[0].args, ARGS_COLUMNS);
		cmdfile_free(f);
	}
	bad("[f]\nargs = columns, number(0..1:)\ncommand = c\n",
	    "line 2: no value listed after ':'");
	bad("[f]\nargs = columns, number(0..1: a/b)\ncommand = c\n",
	    "line 2: listed value 'a/b' is no file name");
	bad("[f]\nargs = columns, number(1..0)\ncommand = c\n",
	    "line 2: bad range in 'number(1..0)' (LO..HI, finite, LO <= HI)");
	bad("[f]\nargs = columns, integer(0..1e300)\ncommand = c\n",
	    "line 2: bad range in 'integer(0..1e300)' (LO..HI, finite, LO <= "
	    "HI, integers up to 2^53)");
	bad("[f]\nargs = files, columns, files\ncommand = c\n",
	    "line 2: at most one 'files' argument");
	bad("[f]\nargs = columns,columns,columns,columns,columns\n"
	    "command = c\n", "line 2: more than 4 arguments");
	bad("[f]\nargs = columns, number(0..1)\ncommand = c {arg}\n",
	    "line 3: {arg} needs a single argument: use {arg1}..{arg2}");
	bad("[f]\nargs = columns, number(0..1)\ncommand = c {arg3}\n",
	    "line 3: {arg3}: the function takes 2 arguments");
	bad("[f]\nargs = columns\ncommand = c {arg2}\n",
	    "line 3: {arg2}: the function takes 1 argument");
	bad("[f]\nargs = columns, columns\ncommand = c {col}\n",
	    "line 3: {col} needs 'args = columns' (one columns argument; else "
	    "use {argN})");
	bad("[f]\nargs = columns, number(0..1)\ncommand = c {file}\n",
	    "line 3: {file} needs 'args = files'");
}

static void test_bad_args(void)
{
	char text[4096];

	bad("[f]\nargs = list: a,,b\ncommand = c\n",
	    "line 2: empty item in the list");
	bad("[f]\nargs = list: a, \t,b\ncommand = c\n",
	    "line 2: empty item in the list");
	bad("[f]\nargs = list: a,\ncommand = c\n",
	    "line 2: empty item in the list");
	bad("[f]\nargs = list: ,a\ncommand = c\n",
	    "line 2: empty item in the list");
	bad("[f]\nargs = list:\ncommand = c\n",
	    "line 2: 'list:' needs at least one item");
	bad("[f]\nargs = list:  \t\ncommand = c\n",
	    "line 2: 'list:' needs at least one item");
	bad("[f]\nargs = list: a, b, a\ncommand = c\n",
	    "line 2: list item 'a' given twice");
	bad("[f]\nargs = list: b, a, b ,a\ncommand = c\n",
	    "line 2: list item 'b' given twice");
	bad("[f]\nargs = list: a/b\ncommand = c\n",
	    "line 2: list item 'a/b' is no file name (1 to 255 bytes, no '/' "
	    "or control character, not . or ..)");
	bad("[f]\nargs = list: x, .\ncommand = c\n",
	    "line 2: list item '.' is no file name (1 to 255 bytes, no '/' "
	    "or control character, not . or ..)");
	bad("[f]\nargs = list: ..\ncommand = c\n",
	    "line 2: list item '..' is no file name (1 to 255 bytes, no '/' "
	    "or control character, not . or ..)");
	bad("[f]\nargs = list: a\x01" "b\ncommand = c\n",
	    "line 2: list item 'a\\x01b' is no file name (1 to 255 bytes, no "
	    "'/' or control character, not . or ..)");
	bad("[f]\nargs = list: a\x7f\ncommand = c\n",
	    "line 2: list item 'a\\x7f' is no file name (1 to 255 bytes, no "
	    "'/' or control character, not . or ..)");
	bad("[f]\nargs = list: a\tb\ncommand = c\n",
	    "line 2: list item 'a\\x09b' is no file name (1 to 255 bytes, no "
	    "'/' or control character, not . or ..)");
	bad("[f]\nargs = list: a\rb\ncommand = c\n",
	    "line 2: list item 'a\\x0db' is no file name (1 to 255 bytes, no "
	    "'/' or control character, not . or ..)");
	snprintf(text, sizeof(text), "[f]\nargs = list: %s\ncommand = c\n",
		 repeat('n', 256));
	bad(text, "line 2: list item 'nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn"
	    "...' is no file name (1 to 255 bytes, no '/' or control "
	    "character, not . or ..)");
	bad("[f]\nargs = file\ncommand = c\n",
	    "line 2: 'args' must be columns, files, number(LO..HI), "
	    "integer(LO..HI), several of these joined by commas, or list: "
	    "A, B, ... (not "
	    "'file')");
	bad("[f]\nargs = Files\ncommand = c\n",
	    "line 2: 'args' must be columns, files, number(LO..HI), "
	    "integer(LO..HI), several of these joined by commas, or list: "
	    "A, B, ... (not "
	    "'Files')");
	bad("[f]\nargs =\ncommand = c\n",
	    "line 2: 'args' must be columns, files, number(LO..HI), "
	    "integer(LO..HI), several of these joined by commas, or list: "
	    "A, B, ... (not "
	    "'')");
	bad("[f]\nargs = list a\ncommand = c\n",
	    "line 2: 'args' must be columns, files, number(LO..HI), "
	    "integer(LO..HI), several of these joined by commas, or list: "
	    "A, B, ... (not "
	    "'list a')");
	bad("[f]\nargs = list\ncommand = c\n",
	    "line 2: 'args' must be columns, files, number(LO..HI), "
	    "integer(LO..HI), several of these joined by commas, or list: "
	    "A, B, ... (not "
	    "'list')");
	bad("[f]\nargs = columns files\ncommand = c\n",
	    "line 2: 'args' must be columns, files, number(LO..HI), "
	    "integer(LO..HI), several of these joined by commas, or list: "
	    "A, B, ... (not "
	    "'columns files')");
}

static void test_quoting(void)
{
	static const char *const simple[] = { "a", "b", "c", NULL };
	static const char *const quotes[] = {
		"prog", "a b", "c \"d\" \\ e", "f g", "abc", "", "", "its",
		"x\\ny", "it's", "\\", "\t", "$HOME", "*", "a|b", NULL };
	static const char *const empty[] = { "", NULL };
	static const char *const empties[] = { "p", "", "", "x", NULL };
	static const char *const odd[] = { "p", "\x01\x0b\x0c\r", "\xc3\xa9",
					   NULL };

	check_command("a b c", simple);
	check_command("a \t  b\tc", simple);
	check_command("'a' \"b\" \\c", simple);
	check_command("prog 'a b' \"c \\\"d\\\" \\\\ e\" f\\ g a'b'\"c\" '' "
		      "\"\" 'it''s' \"x\\ny\" 'it'\\''s' \\\\ '\t' $HOME * "
		      "a|b", quotes);
	check_command("''", empty);
	check_command("p '' \"\" x", empties);
	check_command("p \x01\x0b\x0c\r \xc3\xa9", odd);
}

static void test_placeholders(void)
{
	static const char *const cols[] = { "p", "{arg}", "{data}", "{col}",
					    "{col}", NULL };
	static const enum cmdfile_ph cols_ph[] = {
		CMDFILE_LITERAL, CMDFILE_ARG, CMDFILE_DATA, CMDFILE_COL,
		CMDFILE_COL };
	static const char *const files[] = { "p", "{file}", "--", "{arg}",
					     NULL };
	static const enum cmdfile_ph files_ph[] = {
		CMDFILE_LITERAL, CMDFILE_FILE, CMDFILE_LITERAL, CMDFILE_ARG };
	/* Quoted, escaped or near misses: text. */
	static const char *const literal[] = {
		"p", "{arg}", "{file}", "{col}", "{data}", "{arg}", "{ARG}",
		"{args}", "{arg", "arg}", "{}", "{ arg}", "{fi", "le}",
		"{arg}", NULL };
	struct cmdfile *f;

	f = parse_one("[c]\nargs = columns\ncommand = p {arg} {data} {col} "
		      "{col}\n");
	if (f) {
		check_argv(&f->fns[0], cols, cols_ph);
		cmdfile_free(f);
	}
	f = parse_one("[f]\nargs = files\ncommand = p {file} -- {arg}\n");
	if (f) {
		check_argv(&f->fns[0], files, files_ph);
		cmdfile_free(f);
	}
	/* With args = list, a quoted {file} or {col} is no error. */
	check_command("p '{arg}' \"{file}\" '{col}' \\{data} {ar\"\"g} {ARG} "
		      "{args} {arg arg} {} '{ arg}' {fi le} {ar'g}'", literal);
	check_command("p {arg\\}", (const char *const[]){ "p", "{arg}",
							     NULL });
}

static void test_bad_placeholders(void)
{
	bad_command("files", "cat --in={file}",
		    "{file} must be a whole argument (quote it for the text)");
	bad_command("list: x", "echo x{arg}",
		    "{arg} must be a whole argument (quote it for the text)");
	bad_command("list: x", "echo {arg}{arg}",
		    "{arg} must be a whole argument (quote it for the text)");
	bad_command("list: x", "echo {data}.csv",
		    "{data} must be a whole argument (quote it for the text)");
	bad_command("columns", "echo 'col='{col}",
		    "{col} must be a whole argument (quote it for the text)");
	bad_command("list: x", "echo {arg}\"x\"",
		    "{arg} must be a whole argument (quote it for the text)");
	bad_command("list: x", "echo \\x{arg}",
		    "{arg} must be a whole argument (quote it for the text)");
	bad_command("list: x", "echo '{arg}'{data}",
		    "{data} must be a whole argument (quote it for the text)");
	bad_command("list: x", "echo {{arg}}",
		    "{arg} must be a whole argument (quote it for the text)");
	bad_command("list: x", "--in={file}",
		    "{file} must be a whole argument (quote it for the text)");
	bad_command("list: x", "{arg} x",
		    "the program cannot be a placeholder ({arg})");
	bad_command("files", "{file}",
		    "the program cannot be a placeholder ({file})");
	bad_command("list: x", "{data}",
		    "the program cannot be a placeholder ({data})");
	bad_command("list: x", "cat {file}", "{file} needs 'args = files'");
	bad_command("columns", "cat {file}", "{file} needs 'args = files'");
	bad_command("files", "cat {file} {col}",
		    "{col} needs 'args = columns'");
	bad_command("list: x", "echo {col}", "{col} needs 'args = columns'");
	/* Checked when the function ends: args may come after command. */
	bad("[f]\ncommand = cat {file}\nargs = list: a\n[g]\n",
	    "line 2: {file} needs 'args = files'");
	bad("[f]\n\ncommand = cat {col}\nargs = files\n",
	    "line 3: {col} needs 'args = columns'");
}

/* ---- bad files --------------------------------------------------------- */

static void test_bad_commands(void)
{
	bad_command("files", "", "empty command");
	bad_command("files", " \t ", "empty command");
	bad_command("files", "echo 'open", "unterminated quote");
	bad_command("files", "echo \"open", "unterminated quote");
	bad_command("files", "echo \"a\\\"", "unterminated quote");
	bad_command("files", "echo 'a'\"", "unterminated quote");
	bad_command("files", "'", "unterminated quote");
	bad_command("files", "echo a\\", "'\\' at the end of the command");
	bad_command("files", "\\", "'\\' at the end of the command");
}

static void test_bad_keys(void)
{
	bad("[f]\nargs = list: x\ncomand = echo\n",
	    "line 3: unknown key 'comand'");
	bad("[f]\nArgs = files\n", "line 2: unknown key 'Args'");
	bad("[f]\n= files\n", "line 2: unknown key ''");
	bad("[f]\na'b\x01\\ = 1\n", "line 2: unknown key 'a\\'b\\x01\\\\'");
	bad("comand = x\n", "line 1: unknown key 'comand'");
	bad("[f]\nargs files\n", "line 2: expected '[NAME]', 'key = value' "
	    "or a comment, not 'args files'");
	bad("\n\nargs = files\n[f]\n",
	    "line 3: 'args' before any [NAME] line");
	bad("# c\ncommand = x\n", "line 2: 'command' before any [NAME] line");
	bad("[f]\nargs = files\ncommand = x\nargs = files\n",
	    "line 4: 'args' given twice");
	bad("[f]\nargs = files\ncommand = x\ncommand = x\n",
	    "line 4: 'command' given twice");
	bad("[f]\nversion = 1\nversion = 1\n",
	    "line 3: 'version' given twice");
	bad("[f]\ndescription =\ndescription = x\n",
	    "line 3: 'description' given twice");
	bad("[f]\ntimeout = 1\ntimeout = 2\n",
	    "line 3: 'timeout' given twice");
	/* Each function has its own keys. */
	bad("[f]\nargs = files\ncommand = x\n[g]\nargs = files\n"
	    "command = x\nargs = files\n", "line 7: 'args' given twice");
}

static void test_missing_keys(void)
{
	bad("[f]\ncommand = echo\n", "line 1: [f]: missing 'args'");
	bad("[f]\nargs = list: x\n", "line 1: [f]: missing 'command'");
	bad("[f]\n", "line 1: [f]: missing 'args'");
	bad("[a]\nargs = files\ncommand = x\n\n[lines]\nargs = files\n"
	    "[c]\nargs = files\ncommand = x\n",
	    "line 5: [lines]: missing 'command'");
	/* Reported before an error further down. */
	bad("[a]\nargs = files\n[b\n", "line 1: [a]: missing 'command'");
}

static void test_bad_sections(void)
{
	char text[4096], want[4096];

	bad("[x\n", "line 1: missing ']' after the function name");
	bad("[\n", "line 1: missing ']' after the function name");
	bad("[]\n", "line 1: invalid function name '' (1 to 255 of A-Z a-z "
	    "0-9 _ . -, not . or ..)");
	bad("[a b]\n", "line 1: invalid function name 'a b' (1 to 255 of "
	    "A-Z a-z 0-9 _ . -, not . or ..)");
	bad("[ a]\n", "line 1: invalid function name ' a' (1 to 255 of "
	    "A-Z a-z 0-9 _ . -, not . or ..)");
	bad("[..]\n", "line 1: invalid function name '..' (1 to 255 of "
	    "A-Z a-z 0-9 _ . -, not . or ..)");
	bad("[.]\n", "line 1: invalid function name '.' (1 to 255 of "
	    "A-Z a-z 0-9 _ . -, not . or ..)");
	bad("[a/b]\n", "line 1: invalid function name 'a/b' (1 to 255 of "
	    "A-Z a-z 0-9 _ . -, not . or ..)");
	bad("[\xc3\xa9]\n", "line 1: invalid function name '\\xc3\\xa9' (1 "
	    "to 255 of A-Z a-z 0-9 _ . -, not . or ..)");
	bad("[a[b]\n", "line 1: invalid function name 'a[b' (1 to 255 of "
	    "A-Z a-z 0-9 _ . -, not . or ..)");
	bad("[a]x\n", "line 1: text after ']'");
	bad("[a] # comment\n", "line 1: text after ']'");
	bad("[a]]\n", "line 1: text after ']'");
	bad("[a][b]\n", "line 1: text after ']'");
	snprintf(text, sizeof(text), "[%s]\n", repeat('n', 256));
	snprintf(want, sizeof(want), "line 1: invalid function name '%s...' "
		 "(1 to 255 of A-Z a-z 0-9 _ . -, not . or ..)",
		 repeat('n', 40));
	bad(text, want);

	snprintf(text, sizeof(text), "[%s]\nargs = files\ncommand = x\n",
		 repeat('n', 255));
	struct cmdfile *f = parse_one(text);
	if (f) {
		CHECK_INT(strlen(f->fns[0].name), 255);
		cmdfile_free(f);
	}
}

static void test_duplicate_functions(void)
{
	bad("[wc]\nargs = files\ncommand = wc\n\n"
	    "[x]\nargs = files\ncommand = x\n"
	    "[wc]\nargs = files\ncommand = wc\n",
	    "line 8: function 'wc' declared twice (first on line 1)");
	/* Of several, the earliest second declaration. */
	bad("[b]\nargs = files\ncommand = x\n"
	    "[a]\nargs = files\ncommand = x\n"
	    "[a]\nargs = files\ncommand = x\n"
	    "[b]\nargs = files\ncommand = x\n"
	    "[a]\nargs = files\ncommand = x\n",
	    "line 7: function 'a' declared twice (first on line 4)");
	/* Names are case-sensitive. */
	struct cmdfile *f = parse("[a]\nargs = files\ncommand = x\n"
				  "[A]\nargs = files\ncommand = x\n");
	if (f) {
		CHECK_INT(f->n, 2);
		cmdfile_free(f);
	}
}

static void test_bad_timeout(void)
{
	const char *bad_values[] = { "0", "-1", "abc", "1e999", "nan", "inf",
				     "", "0x10", "-0", "0.0", "1e-400", "1.5.2",
				     "+", ".", "e1", "1 s", "30s", "1,5",
				     "INF", "\x0b" "1", NULL };
	const struct {
		const char *text;
		double value;
	} good[] = { { "30", 30 }, { "0.5", 0.5 }, { "1e3", 1000 },
		     { "+2", 2 }, { ".25", 0.25 }, { "1E-3", 0.001 },
		     { "007", 7 } };
	char msg[256], text[256];

	for (int i = 0; bad_values[i]; i++) {
		char shown[64];
		const char *v = bad_values[i];

		if (v[0] == '\x0b')
			snprintf(shown, sizeof(shown), "\\x0b%s", v + 1);
		else
			snprintf(shown, sizeof(shown), "%s", v);
		snprintf(msg, sizeof(msg), "'timeout' must be a number of "
			 "seconds > 0, e.g. 30 or 0.5 (not '%s')", shown);
		bad_value("timeout", v, msg);
	}
	bad_value("timeout", repeat('1', 64), "'timeout' must be a number of "
		  "seconds > 0, e.g. 30 or 0.5 (not '111111111111111111111111"
		  "1111111111111111...')");
	for (size_t i = 0; i < sizeof(good) / sizeof(*good); i++) {
		snprintf(text, sizeof(text), "[f]\nargs = files\ncommand = x\n"
			 "timeout = %s\n", good[i].text);
		struct cmdfile *f = parse_one(text);

		if (!f)
			continue;
		CHECK(f->fns[0].timeout == good[i].value);
		cmdfile_free(f);
	}
}

static void test_version_description(void)
{
	char text[4096];
	struct cmdfile *f;

	bad_value("version", "", "empty version");
	bad_value("version", "a\x01" "b", "control character in the version");
	bad_value("version", "a\tb", "control character in the version");
	bad_value("version", "a\rb", "control character in the version");
	bad_value("version", "a\x7f", "control character in the version");
	bad_value("version", repeat('v', 256),
		  "version longer than 255 bytes");
	bad_value("description", "a\x01" "b",
		  "control character in the description");
	bad_value("description", "a\rb",
		  "control character in the description");
	bad_value("description", repeat('d', 1025),
		  "description longer than 1024 bytes");
	/* A CR before the LF is the line end, not part of the value. */
	bad("[f]\nargs = files\ncommand = x\nversion = 2\r\r\n",
	    "line 4: control character in the version");

	snprintf(text, sizeof(text), "[f]\nargs = files\ncommand = x\n"
		 "version = %s\ndescription = a\tb\r\n", repeat('v', 255));
	f = parse_one(text);
	if (f) {
		CHECK_INT(strlen(f->fns[0].version), 255);
		CHECK_STR(f->fns[0].description, "a\tb");
		cmdfile_free(f);
	}
	snprintf(text, sizeof(text), "[f]\nargs = files\ncommand = x\n"
		 "description = %s\n", repeat('d', 1024));
	f = parse_one(text);
	if (f) {
		CHECK_INT(strlen(f->fns[0].description), 1024);
		cmdfile_free(f);
	}
}

static void test_nul(void)
{
	static const char text[] = "[f]\nargs = files\ncomm\0and = x\n";
	static const char in_comment[] = "# a \0 b\n[f]\n";
	static const char at_end[] = "[f]\nargs = files\ncommand = x\n\0";

	bad_len(text, sizeof(text) - 1, -EINVAL, "line 3: NUL byte");
	bad_len(in_comment, sizeof(in_comment) - 1, -EINVAL,
		"line 1: NUL byte");
	bad_len(at_end, sizeof(at_end) - 1, -EINVAL, "line 4: NUL byte");
}

static void test_messages(void)
{
	struct cmdfile *f = &sentinel;
	const char *text = "[f]\nargs = files\ncomand = x\n";
	char err[16];

	/* A short buffer gets the message's beginning, terminated. */
	memset(err, 'x', sizeof(err));
	CHECK_INT(cmdfile_parse_buf(P, text, strlen(text), &f, err,
				    sizeof(err)), -EINVAL);
	CHECK_STR(err, "t.ini: line 3: ");
	CHECK_INT(cmdfile_parse_buf(P, text, strlen(text), &f, err, 1),
		  -EINVAL);
	CHECK_STR(err, "");
	CHECK_INT(cmdfile_parse_buf(P, text, strlen(text), &f, NULL, 0),
		  -EINVAL);
	CHECK(f == &sentinel);
	/* Line numbers past the first screen. */
	{
		char big[8192];
		size_t n = 0;

		for (int i = 0; i < 999; i++)
			n += (size_t)snprintf(big + n, sizeof(big) - n, "#\n");
		snprintf(big + n, sizeof(big) - n, "[f]\nargs = x\n");
		bad(big, "line 1001: 'args' must be columns, files, "
		    "number(LO..HI), integer(LO..HI), several of these "
		    "joined by commas, or list: A, B, ... (not 'x')");
	}
}

/* ---- sizes and files --------------------------------------------------- */

/* A 1 MiB file of tiny functions with one name given twice near the end:
 * accepted without it, refused with it, both quickly. */
static void test_many_functions(void)
{
	size_t cap = CMDFILE_SIZE_MAX, n = 0, count = 0;
	char *text = malloc(cap + 1), want[128];
	struct cmdfile *f;

	if (!text) {
		CHECK(text != NULL);
		return;
	}
	while (n + 128 < cap)
		n += (size_t)snprintf(text + n, cap + 1 - n,
				      "[f%zu]\nargs=files\ncommand=x\n",
				      count++);
	f = parse_len(text, n);
	if (f) {
		CHECK_INT(f->n, count);
		CHECK_STR(f->fns[count - 1].argv[0], "x");
		cmdfile_free(f);
	}
	snprintf(text + n, cap + 1 - n, "[f7]\nargs=files\ncommand=x\n");
	snprintf(want, sizeof(want), "line %zu: function 'f7' declared "
		 "twice (first on line 22)", 3 * count + 1);
	bad_len(text, strlen(text), -EINVAL, want);
	free(text);
}

/* Writes len bytes of text to a new temporary file; returns its path
 * (static) or NULL. */
static const char *temp_file(const char *text, size_t len)
{
	static char path[64];
	int fd;

	snprintf(path, sizeof(path), "/tmp/test_cmdfile-XXXXXX");
	fd = mkstemp(path);
	if (fd < 0) {
		perror("mkstemp");
		return NULL;
	}
	if (write(fd, text, len) != (ssize_t)len) {
		perror("write");
		close(fd);
		unlink(path);
		return NULL;
	}
	close(fd);
	return path;
}

static void test_files(void)
{
	const char *text = "[f]\nargs = files\ncommand = x\n";
	struct cmdfile *f = &sentinel;
	char err[CMDFILE_ERR_MAX], want[CMDFILE_ERR_MAX + 64];
	const char *path = temp_file(text, strlen(text));
	char dir[] = "/tmp/test_cmdfile-dir-XXXXXX", fifo[64];

	CHECK(path != NULL);
	if (path) {
		CHECK_INT(cmdfile_parse(path, &f, err, sizeof(err)), 0);
		if (f != &sentinel) {
			CHECK_STR(f->path, path);
			CHECK_INT(f->n, 1);
			cmdfile_free(f);
		}
		unlink(path);
	}

	f = &sentinel;
	CHECK_INT(cmdfile_parse("/nonexistent/f.ini", &f, err, sizeof(err)),
		  -ENOENT);
	CHECK_STR(err, "/nonexistent/f.ini: No such file or directory");
	CHECK(f == &sentinel);

	CHECK(mkdtemp(dir) != NULL);
	CHECK_INT(cmdfile_parse(dir, &f, err, sizeof(err)), -EINVAL);
	snprintf(want, sizeof(want), "%s: not a regular file", dir);
	CHECK_STR(err, want);
	CHECK(f == &sentinel);

	/* A FIFO is refused without waiting for a writer. */
	snprintf(fifo, sizeof(fifo), "%s/fifo", dir);
	CHECK_INT(mkfifo(fifo, 0600), 0);
	CHECK_INT(cmdfile_parse(fifo, &f, err, sizeof(err)), -EINVAL);
	snprintf(want, sizeof(want), "%s: not a regular file", fifo);
	CHECK_STR(err, want);
	CHECK(f == &sentinel);
	unlink(fifo);
	rmdir(dir);

	/* A file whose size fstat() does not know (0), longer than the first
	 * buffer: read to its end all the same. */
	if (access("/proc/self/smaps", R_OK) == 0) {
		CHECK_INT(cmdfile_parse("/proc/self/smaps", &f, err,
					sizeof(err)), -EINVAL);
		CHECK(strncmp(err, "/proc/self/smaps: line 1: expected ",
			      35) == 0);
		CHECK(f == &sentinel);
	}

	/* A file with a content error names its path. */
	path = temp_file("[f]\nargs = files\n", 17);
	if (path) {
		CHECK_INT(cmdfile_parse(path, &f, err, sizeof(err)), -EINVAL);
		snprintf(want, sizeof(want), "%s: line 1: [f]: missing "
			 "'command'", path);
		CHECK_STR(err, want);
		CHECK(f == &sentinel);
		unlink(path);
	}
}

static void test_sizes(void)
{
	size_t max = CMDFILE_SIZE_MAX;
	char *text = malloc(max + 1), err[CMDFILE_ERR_MAX], want[128];
	struct cmdfile *f = &sentinel;
	const char *path;

	if (!text) {
		CHECK(text != NULL);
		return;
	}
	/* Exactly 1 MiB of comments: valid. */
	memset(text, '#', max + 1);
	text[max - 1] = '\n';
	path = temp_file(text, max);
	if (path) {
		CHECK_INT(cmdfile_parse(path, &f, err, sizeof(err)), 0);
		if (f != &sentinel) {
			CHECK_INT(f->n, 0);
			cmdfile_free(f);
			f = &sentinel;
		}
		unlink(path);
	}
	/* One byte more: refused, from a file and from a buffer. */
	path = temp_file(text, max + 1);
	if (path) {
		CHECK_INT(cmdfile_parse(path, &f, err, sizeof(err)), -EFBIG);
		snprintf(want, sizeof(want), "%s: larger than 1 MiB", path);
		CHECK_STR(err, want);
		CHECK(f == &sentinel);
		unlink(path);
	}
	bad_len(text, max + 1, -EFBIG, "larger than 1 MiB");
	free(text);
}

int main(void)
{
	test_minimal();
	test_all_keys();
	test_several();
	test_no_functions();
	test_layout();
	test_args();
	test_bad_args();
	test_several_args();
	test_quoting();
	test_placeholders();
	test_bad_placeholders();
	test_bad_commands();
	test_bad_keys();
	test_missing_keys();
	test_bad_sections();
	test_duplicate_functions();
	test_bad_timeout();
	test_output();
	test_version_description();
	test_nul();
	test_messages();
	test_many_functions();
	test_files();
	test_sizes();
	return check_report("test_cmdfile");
}
