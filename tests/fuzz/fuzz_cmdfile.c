/* fuzz_cmdfile.c -- libFuzzer target: cmdfile_parse_buf() on arbitrary
 * bytes as a functions file, with every allocation made to fail in turn.
 *
 * cmdfile.c is compiled into this file (#include, not linked; see
 * run.sh's includes()) with malloc, calloc, realloc, strdup and strndup
 * renamed to wrappers that count calls and can fail the k-th, so the
 * -ENOMEM exit of every allocation is walked, and ASan's leak check sees
 * whether each unwinds completely.
 *
 * Invariants, for each input:
 *   - the result is 0 or -EINVAL (-EFBIG only past CMDFILE_SIZE_MAX);
 *   - a refusal leaves *out alone and writes one line that fits in err,
 *     starting with the path and ": " (when there is room) and, for a
 *     content error, "line N: " with N a line of the input;
 *   - a parsed file: names valid and unique, each on its "[NAME]" line, in
 *     order; version and description as cmdfile.h allows; 'args' one
 *     argument of any kind or several of columns, files (one at most),
 *     number and integer with finite ranges; 'args' and the list agree,
 *     items valid, trimmed, unique; argc >= 1, argv[argc] == NULL, ph[0]
 *     literal, each placeholder's argv its own text and consistent with
 *     'args' ({argK}: K arguments at least); the timeout 0 or finite and
 *     > 0;
 *   - printed back as a functions file (every literal argument single-
 *     quoted, placeholders bare), it parses to the same functions: this
 *     checks the tokenizer against a naive quoting of its output;
 *   - failing allocation k (for every k when the parse makes few, else
 *     for a few k picked from the input) gives -ENOMEM, "PATH: Cannot
 *     allocate memory", *out untouched and no leak;
 *   - for some inputs, cmdfile_parse() on the same bytes in a file gives
 *     the same result, message and functions.
 */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "functions/cmdfile.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* ---- allocation failures ----------------------------------------------- */

/* Allocations cmdfile.c made, and how many more succeed before one fails
 * (-1: none fails).  Set around each parse; libFuzzer runs one input at a
 * time on one thread. */
static size_t fz_allocs;
static long fz_alloc_left = -1;

static int fz_alloc_fails(void)
{
	fz_allocs++;
	if (fz_alloc_left < 0)
		return 0;
	return fz_alloc_left-- == 0;
}

static void *fz_malloc(size_t n)
{
	return fz_alloc_fails() ? NULL : malloc(n);
}

static void *fz_calloc(size_t n, size_t size)
{
	return fz_alloc_fails() ? NULL : calloc(n, size);
}

static void *fz_realloc(void *p, size_t n)
{
	return fz_alloc_fails() ? NULL : realloc(p, n);
}

static char *fz_strdup(const char *s)
{
	return fz_alloc_fails() ? NULL : strdup(s);
}

static char *fz_strndup(const char *s, size_t n)
{
	return fz_alloc_fails() ? NULL : strndup(s, n);
}

#define malloc fz_malloc
#define calloc fz_calloc
#define realloc fz_realloc
#define strdup fz_strdup
#define strndup fz_strndup
#include "functions/cmdfile.c"
/* The whole-file reader and the array growth cmdfile calls allocate too:
 * compiled here as well, so that their failures are walked. */
#include "util/file.c"
#include "util/mem.c"
#undef malloc
#undef calloc
#undef realloc
#undef strdup
#undef strndup

/* ---- the checks -------------------------------------------------------- */

#define FZ_PATH "fz.ini"

/* Message lengths to try: the normal one, none, and ones too short. */
static const size_t fz_errlens[] = { CMDFILE_ERR_MAX, 0, 1, 8, 24, 64 };

static size_t fz_hash(const uint8_t *data, size_t size)
{
	size_t h = size;

	for (size_t i = 0; i < size; i++)
		h = h * 31 + data[i];
	return h;
}

static size_t fz_lines(const uint8_t *data, size_t size)
{
	size_t n = 1;

	for (size_t i = 0; i < size; i++)
		n += data[i] == '\n';
	return n;
}

static int ref_control(unsigned char ch)
{
	return ch < 0x20 || ch == 0x7f;
}

static int ref_blank(char ch)
{
	return ch == ' ' || ch == '\t';
}

/* A file name: 1..255 bytes, no '/', no control character, not . or .. */
static int ref_item(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 255 || !strcmp(s, ".") || !strcmp(s, ".."))
		return 0;
	for (; *s; s++)
		if (*s == '/' || ref_control((unsigned char)*s))
			return 0;
	return 1;
}

static int ref_name(const char *s)
{
	if (!ref_item(s))
		return 0;
	return strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
		      "0123456789_.-") == strlen(s);
}

/* A refusal: rc, *out untouched, the message as cmdfile.h promises. */
static void check_refusal(int rc, const struct cmdfile *out,
			  const struct cmdfile *sentinel, const char *err,
			  size_t errlen, size_t lines, const char *path)
{
	size_t plen = strlen(path);
	unsigned long line;
	char *end;

	FZ_CHECK(rc < 0);
	FZ_CHECK(out == sentinel);
	if (errlen == 0)
		return;
	FZ_CHECK(memchr(err, '\0', errlen) != NULL);
	FZ_CHECK(strchr(err, '\n') == NULL);
	/* The path, then ": ", as much as fits. */
	for (size_t i = 0; i < plen + 2 && i + 1 < errlen; i++)
		FZ_CHECK(err[i] == (i < plen ? path[i] : ": "[i - plen]));
	if (errlen < CMDFILE_ERR_MAX)
		return;
	if (rc == -ENOMEM) {
		FZ_CHECK(strcmp(err + plen + 2, strerror(ENOMEM)) == 0);
		return;
	}
	if (rc == -EFBIG) {
		FZ_CHECK(strcmp(err + plen + 2, "larger than 1 MiB") == 0);
		return;
	}
	FZ_CHECK(rc == -EINVAL);
	FZ_CHECK(strncmp(err + plen + 2, "line ", 5) == 0);
	line = strtoul(err + plen + 7, &end, 10);
	FZ_CHECK(line >= 1 && line <= lines);
	FZ_CHECK(strncmp(end, ": ", 2) == 0 && end[2] != '\0');
}

/* The input's line k (from 1) begins, after blanks, with "[NAME]". */
static void check_header_line(const uint8_t *data, size_t size, unsigned k,
			      const char *name)
{
	const char *p = (const char *)data, *end = p + size;
	size_t n = strlen(name);

	for (unsigned i = 1; i < k; i++) {
		p = memchr(p, '\n', (size_t)(end - p));
		FZ_CHECK(p != NULL);
		p++;
	}
	while (p < end && ref_blank(*p))
		p++;
	FZ_CHECK((size_t)(end - p) >= n + 2);
	FZ_CHECK(p[0] == '[' && memcmp(p + 1, name, n) == 0 && p[n + 1] == ']');
}

static void check_list(const struct cmdfile_fn *fn)
{
	if (fn->args != ARGS_LIST) {
		FZ_CHECK(fn->list == NULL && fn->nlist == 0);
		return;
	}
	FZ_CHECK(fn->list != NULL && fn->nlist >= 1);
	for (size_t i = 0; i < fn->nlist; i++) {
		const char *s = fn->list[i];

		FZ_CHECK(ref_item(s));
		FZ_CHECK(!strchr(s, ','));
		FZ_CHECK(!ref_blank(s[0]) && !ref_blank(s[strlen(s) - 1]));
		for (size_t j = 0; j < i; j++)
			FZ_CHECK(strcmp(fn->list[j], s) != 0);
	}
}

/* 'args': one argument of any kind, or several of columns, files (at
 * most one), numbers and integers with finite ranges. */
static void check_params(const struct cmdfile_fn *fn)
{
	size_t files = 0;

	FZ_CHECK(fn->nparams >= 1 && fn->nparams <= MEMOFS_ARGS_MAX);
	FZ_CHECK(fn->args == (fn->nparams == 1 ? fn->params[0].kind : 0));
	for (size_t i = 0; i < fn->nparams; i++) {
		const struct cmdfile_param *a = &fn->params[i];

		FZ_CHECK(a->kind == ARGS_COLUMNS || a->kind == ARGS_FILES ||
			 a->kind == ARGS_REAL || a->kind == ARGS_INTEGER ||
			 (a->kind == ARGS_LIST && fn->nparams == 1));
		files += a->kind == ARGS_FILES;
		FZ_CHECK(a->listed ? a->listed[a->nlisted] == NULL
				   : a->nlisted == 0);
		for (size_t j = 0; j < a->nlisted; j++) {
			FZ_CHECK(ref_item(a->listed[j]));
			for (const char *c = a->listed[j]; *c; c++)
				FZ_CHECK(!ref_blank(*c));
		}
		if (a->kind != ARGS_REAL && a->kind != ARGS_INTEGER) {
			FZ_CHECK(a->nlisted == 0);
			continue;
		}
		FZ_CHECK(isfinite(a->min) && isfinite(a->max) &&
			 a->min <= a->max);
		if (a->kind == ARGS_INTEGER)
			FZ_CHECK(a->min == floor(a->min) &&
				 a->max == floor(a->max));
	}
	FZ_CHECK(files <= 1);
}

static void check_argv(const struct cmdfile_fn *fn)
{
	FZ_CHECK(fn->argc >= 1 && fn->argv && fn->ph);
	FZ_CHECK(fn->argv[fn->argc] == NULL);
	FZ_CHECK(fn->ph[0] == CMDFILE_LITERAL);
	for (size_t i = 0; i < fn->argc; i++) {
		enum cmdfile_ph ph = fn->ph[i];

		FZ_CHECK(fn->argv[i] != NULL);
		FZ_CHECK(ph >= CMDFILE_LITERAL && ph < CMDFILE_NPH_END);
		if (ph == CMDFILE_LITERAL)
			continue;
		FZ_CHECK(strcmp(fn->argv[i], cmdfile_ph_text[ph]) == 0);
		if (ph == CMDFILE_FILE)
			FZ_CHECK(cmdfile_fn_param(fn, ARGS_FILES) >= 0);
		if (ph == CMDFILE_COL)
			FZ_CHECK(cmdfile_fn_param(fn, ARGS_COLUMNS) >= 0);
		if (ph == CMDFILE_ARG)
			FZ_CHECK(fn->nparams == 1);
		if (ph >= CMDFILE_ARG1)
			FZ_CHECK((size_t)(ph - CMDFILE_ARG1) < fn->nparams);
	}
}

static void check_fn(const struct cmdfile_fn *fn, const uint8_t *data,
		     size_t size, size_t lines)
{
	size_t vlen = strlen(fn->version), dlen = strlen(fn->description);

	FZ_CHECK(ref_name(fn->name));
	FZ_CHECK(vlen >= 1 && vlen <= 255);
	for (size_t i = 0; i < vlen; i++)
		FZ_CHECK(!ref_control((unsigned char)fn->version[i]));
	FZ_CHECK(dlen <= 1024);
	for (size_t i = 0; i < dlen; i++)
		FZ_CHECK(fn->description[i] == '\t' ||
			 !ref_control((unsigned char)fn->description[i]));
	FZ_CHECK(dlen == 0 || (!ref_blank(fn->description[0]) &&
			       !ref_blank(fn->description[dlen - 1])));
	check_params(fn);
	check_list(fn);
	check_argv(fn);
	FZ_CHECK(fn->timeout == 0 || (isfinite(fn->timeout) &&
				      fn->timeout > 0));
	FZ_CHECK(fn->line >= 1 && fn->line < fn->command_line);
	FZ_CHECK(fn->command_line <= lines);
	if (data)
		check_header_line(data, size, fn->line, fn->name);
}

/* data is NULL for a file printed here (its lines are not the input's). */
static void check_file(const struct cmdfile *f, const uint8_t *data,
		       size_t size, const char *path)
{
	size_t lines = data ? fz_lines(data, size) : UINT32_MAX;

	FZ_CHECK(strcmp(f->path, path) == 0);
	FZ_CHECK(f->n == 0 || f->fns != NULL);
	for (size_t i = 0; i < f->n; i++) {
		check_fn(&f->fns[i], data, size, lines);
		if (i > 0)
			FZ_CHECK(f->fns[i - 1].line < f->fns[i].line);
		for (size_t j = 0; j < i; j++)
			FZ_CHECK(strcmp(f->fns[i].name, f->fns[j].name) != 0);
	}
}

/* Whether a and b declare the same functions (lines aside). */
static void check_same(const struct cmdfile *a, const struct cmdfile *b)
{
	FZ_CHECK(a->n == b->n);
	for (size_t i = 0; i < a->n; i++) {
		const struct cmdfile_fn *x = &a->fns[i], *y = &b->fns[i];

		FZ_CHECK(strcmp(x->name, y->name) == 0);
		FZ_CHECK(strcmp(x->version, y->version) == 0);
		FZ_CHECK(strcmp(x->description, y->description) == 0);
		FZ_CHECK(x->args == y->args && x->nlist == y->nlist);
		FZ_CHECK(x->nparams == y->nparams);
		for (size_t j = 0; j < x->nparams; j++) {
			FZ_CHECK(x->params[j].kind == y->params[j].kind &&
				 fz_same_bits(x->params[j].min,
					      y->params[j].min) &&
				 fz_same_bits(x->params[j].max,
					      y->params[j].max));
			FZ_CHECK(x->params[j].nlisted == y->params[j].nlisted);
			for (size_t k = 0; k < x->params[j].nlisted; k++)
				FZ_CHECK(strcmp(x->params[j].listed[k],
						y->params[j].listed[k]) == 0);
		}
		for (size_t j = 0; j < x->nlist; j++)
			FZ_CHECK(strcmp(x->list[j], y->list[j]) == 0);
		FZ_CHECK(x->argc == y->argc);
		for (size_t j = 0; j < x->argc; j++) {
			FZ_CHECK(x->ph[j] == y->ph[j]);
			FZ_CHECK(strcmp(x->argv[j], y->argv[j]) == 0);
		}
		FZ_CHECK(fz_same_bits(x->timeout, y->timeout));
	}
}

/* ---- printing back ----------------------------------------------------- */

/* Writes s single-quoted: ' becomes '\''. */
static void print_quoted(FILE *out, const char *s)
{
	fputc('\'', out);
	for (; *s; s++) {
		if (*s == '\'')
			fputs("'\\''", out);
		else
			fputc(*s, out);
	}
	fputc('\'', out);
}

static void print_fn(FILE *out, const struct cmdfile_fn *fn)
{
	static const char *const args[] = { [ARGS_COLUMNS] = "columns",
					    [ARGS_LIST] = "list: ",
					    [ARGS_FILES] = "files",
					    [ARGS_REAL] = "number",
					    [ARGS_INTEGER] = "integer" };

	fprintf(out, "\n# %s\n [%s]\t\r\n", fn->name, fn->name);
	fprintf(out, "description =\t%s\n", fn->description);
	fprintf(out, "version=%s\n", fn->version);
	if (fn->timeout > 0)
		fprintf(out, "timeout = %.17g\n", fn->timeout);
	fputs("args = ", out);
	for (size_t i = 0; i < fn->nparams; i++) {
		const struct cmdfile_param *a = &fn->params[i];

		fprintf(out, "%s%s", i ? " ,\t" : "", args[a->kind]);
		if (a->kind != ARGS_REAL && a->kind != ARGS_INTEGER)
			continue;
		fprintf(out, "(%.17g..%.17g", a->min, a->max);
		for (size_t j = 0; j < a->nlisted; j++)
			fprintf(out, "%s%s", j ? "\t" : " : ", a->listed[j]);
		fputc(')', out);
	}
	for (size_t i = 0; i < fn->nlist; i++)
		fprintf(out, "%s%s", i ? " ,\t" : "", fn->list[i]);
	fputs("\ncommand =", out);
	for (size_t i = 0; i < fn->argc; i++) {
		fputc(' ', out);
		if (fn->ph[i] == CMDFILE_LITERAL)
			print_quoted(out, fn->argv[i]);
		else
			fputs(fn->argv[i], out);
	}
	fputc('\n', out);
}

/* Prints f as a functions file and parses that: the same functions. */
static void check_round_trip(const struct cmdfile *f)
{
	struct cmdfile *again = NULL;
	char err[CMDFILE_ERR_MAX] = "", *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);
	int rc;

	FZ_CHECK(out != NULL);
	for (size_t i = 0; i < f->n; i++)
		print_fn(out, &f->fns[i]);
	FZ_CHECK(fclose(out) == 0);
	if (len > CMDFILE_SIZE_MAX) {	/* quoting made it too large */
		free(text);
		return;
	}
	rc = cmdfile_parse_buf("again", text, len, &again, err, sizeof(err));
	if (rc)
		fprintf(stderr, "printed back: %s\n%s\n", err, text);
	FZ_CHECK(rc == 0);
	check_file(again, NULL, 0, "again");
	check_same(f, again);
	cmdfile_free(again);
	free(text);
}

/* ---- the target -------------------------------------------------------- */

/* Parses data with allocation k failing: -ENOMEM and nothing kept. */
static void check_alloc_failure(const uint8_t *data, size_t size, size_t k)
{
	struct cmdfile sentinel, *f = &sentinel;
	char err[CMDFILE_ERR_MAX];
	int rc;

	fz_alloc_left = (long)k;
	rc = cmdfile_parse_buf(FZ_PATH, (const char *)data, size, &f, err,
			       sizeof(err));
	fz_alloc_left = -1;
	FZ_CHECK(rc == -ENOMEM);
	check_refusal(rc, f, &sentinel, err, sizeof(err), 0, FZ_PATH);
}

/* Every allocation when there are few, else 4 picked by h. */
static void check_alloc_failures(const uint8_t *data, size_t size,
				 size_t allocs, size_t h)
{
	if (allocs <= 16) {
		for (size_t k = 0; k < allocs; k++)
			check_alloc_failure(data, size, k);
		return;
	}
	for (int i = 0; i < 4; i++, h /= allocs)
		check_alloc_failure(data, size, h % allocs);
}

/* cmdfile_parse() on the same bytes in a file: the same answer. */
static void check_from_file(const uint8_t *data, size_t size, int want_rc,
			    const char *want_err, const struct cmdfile *want)
{
	const char *path = fz_write(data, size, FZ_DAT);
	struct cmdfile sentinel, *f = &sentinel;
	char err[CMDFILE_ERR_MAX];
	size_t plen = strlen(path);
	int rc = cmdfile_parse(path, &f, err, sizeof(err));

	FZ_CHECK(rc == want_rc);
	if (rc) {
		check_refusal(rc, f, &sentinel, err, sizeof(err),
			      fz_lines(data, size), path);
		FZ_CHECK(strcmp(err + plen, want_err + strlen(FZ_PATH)) == 0);
		return;
	}
	check_file(f, data, size, path);
	check_same(want, f);
	cmdfile_free(f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t h = fz_hash(data, size), allocs;
	size_t errlen = h % 4 ? CMDFILE_ERR_MAX
			      : fz_errlens[(h / 4) % (sizeof(fz_errlens) /
						      sizeof(*fz_errlens))];
	struct cmdfile sentinel, *f = &sentinel;
	char err[CMDFILE_ERR_MAX];
	int rc;

	memset(err, 'x', sizeof(err));
	fz_allocs = 0;
	rc = cmdfile_parse_buf(FZ_PATH, (const char *)data, size, &f,
			       errlen ? err : NULL, errlen);
	allocs = fz_allocs;
	if (rc) {
		FZ_CHECK(rc == -EINVAL ||
			 (rc == -EFBIG && size > CMDFILE_SIZE_MAX));
		check_refusal(rc, f, &sentinel, err, errlen,
			      fz_lines(data, size), FZ_PATH);
	} else {
		check_file(f, data, size, FZ_PATH);
		check_round_trip(f);
	}
	check_alloc_failures(data, size, allocs, h / 64);
	if (h % 8 == 1 && errlen == CMDFILE_ERR_MAX)
		check_from_file(data, size, rc, err, rc ? NULL : f);
	if (rc == 0)
		cmdfile_free(f);
	return 0;
}
