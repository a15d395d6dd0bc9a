/* cmdfile.c -- the functions file parser (see cmdfile.h).
 *
 * cmdfile_parse() reads the whole file (at most CMDFILE_SIZE_MAX bytes)
 * into one buffer with read(2) and hands it to cmdfile_parse_buf(), which
 * walks it line by line.  A line is a span of that buffer, never written
 * to; each value is copied into its field of the struct cmdfile as soon as
 * it is parsed, so the struct owns everything at every step and a failed
 * parse is undone by one cmdfile_free().  What spans lines is checked when
 * a function ends (at the next "[NAME]" or at the end of the file): the
 * required keys and placeholders against 'args'.  Duplicate names and list
 * items are found by sorting, so a 1 MiB file of tiny functions is not
 * quadratic.
 *
 * It runs, opens or looks up nothing but the file itself, and keeps no
 * state outside one parse.  Called at start-up, from one thread.
 */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "functions/cmdfile.h"
#include "data/quote.h"
#include "util/errmsg.h"
#include "util/file.h"
#include "util/mem.h"
#include "util/name.h"

#define CMDFILE_NAME_MAX UTIL_NAME_MAX	/* a function name or list item */
#define CMDFILE_VERSION_MAX 255
#define CMDFILE_DESC_MAX 1024
#define CMDFILE_TIMEOUT_LEN 64	/* longer timeout values are refused */
#define CMDFILE_READ_HINT 4096	/* first buffer when the size is unknown */

/* Where messages go and which file they name. */
struct cmdfile_msg {
	const char *path;
	char *err;
	size_t errlen;
};

/* One parse of one buffer.  The function being read is the last of
 * f->fns, when f->n > 0. */
struct cmdfile_parser {
	struct cmdfile_msg m;
	struct cmdfile *f;	/* the result, owned until handed out */
	size_t cap;		/* room in f->fns */
	size_t argcap;		/* room in the current function's argv */
	unsigned line;		/* the line being parsed, from 1 */
	unsigned seen;		/* keys of the current function: 1 << key */
};

/* A string to sort with its place in the original order. */
struct cmdfile_sorted {
	const char *s;
	size_t i;
};

/* The text of each placeholder, indexed by enum cmdfile_ph. */
static const char *const cmdfile_ph_text[] = {
	[CMDFILE_ARG] = "{arg}",
	[CMDFILE_FILE] = "{file}",
	[CMDFILE_DATA] = "{data}",
	[CMDFILE_COL] = "{col}",
	[CMDFILE_ARG1] = "{arg1}",
	[CMDFILE_ARG1 + 1] = "{arg2}",
	[CMDFILE_ARG1 + 2] = "{arg3}",
	[CMDFILE_ARG1 + 3] = "{arg4}",
};
_Static_assert(CMDFILE_ARG1 + MEMOFS_ARGS_MAX == CMDFILE_NPH_END,
	       "one {argN} per argument a function may take");
#define CMDFILE_NPH (sizeof(cmdfile_ph_text) / sizeof(*cmdfile_ph_text))

/* ---- Messages ---------------------------------------------------------- */

/* Writes "<path>: <what>" to m->err and returns rc. */
__attribute__((format(printf, 3, 4)))
static int cmdfile_fail(const struct cmdfile_msg *m, int rc, const char *fmt,
			...)
{
	va_list ap;

	va_start(ap, fmt);
	rc = util_path_verror(m->err, m->errlen, m->path, rc, fmt, ap);
	va_end(ap);
	return rc;
}

static int cmdfile_nomem(const struct cmdfile_msg *m)
{
	return cmdfile_fail(m, -ENOMEM, "%s", strerror(ENOMEM));
}

/* A content error: "<path>: line <line>: <what>", -EINVAL. */
__attribute__((format(printf, 3, 4)))
static int cmdfile_bad(const struct cmdfile_parser *p, unsigned line,
		       const char *fmt, ...)
{
	char what[CMDFILE_ERR_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	return cmdfile_fail(&p->m, -EINVAL, "line %u: %s", line, what);
}

/* ---- Text -------------------------------------------------------------- */

static int cmdfile_blank(char ch)
{
	return ch == ' ' || ch == '\t';
}

static int cmdfile_control(char ch)
{
	return (unsigned char)ch < 0x20 || ch == 0x7f;
}

/* Drops the blanks around the span *s, *n. */
static void cmdfile_trim(const char **s, size_t *n)
{
	while (*n > 0 && cmdfile_blank(**s)) {
		(*s)++;
		(*n)--;
	}
	while (*n > 0 && cmdfile_blank((*s)[*n - 1]))
		(*n)--;
}

static int cmdfile_is(const char *s, size_t n, const char *word)
{
	return strlen(word) == n && memcmp(s, word, n) == 0;
}


static int cmdfile_sorted_cmp(const void *a, const void *b)
{
	const struct cmdfile_sorted *x = a, *y = b;
	int c = strcmp(x->s, y->s);

	if (c)
		return c;
	return (x->i > y->i) - (x->i < y->i);
}

/* Sorts v and finds, of the strings given more than once, the one whose
 * second copy comes first: returns 1 with the places of its first two
 * copies in *first and *second, or 0 when all differ. */
static int cmdfile_find_dup(struct cmdfile_sorted *v, size_t n,
			    size_t *first, size_t *second)
{
	int found = 0;

	qsort(v, n, sizeof(*v), cmdfile_sorted_cmp);
	for (size_t j = 1; j < n; j++) {
		if (strcmp(v[j - 1].s, v[j].s) != 0)
			continue;
		if (!found || v[j].i < *second) {
			*first = v[j - 1].i;
			*second = v[j].i;
			found = 1;
		}
	}
	return found;
}

/* ---- The object -------------------------------------------------------- */

int cmdfile_fn_param(const struct cmdfile_fn *fn, enum args_kind kind)
{
	int found = -1;

	for (size_t i = 0; i < fn->nparams; i++) {
		if (fn->params[i].kind != kind)
			continue;
		if (found >= 0)
			return -1;
		found = (int)i;
	}
	return found;
}

static void cmdfile_param_clear(struct cmdfile_param *a)
{
	util_strv_free(a->listed, a->nlisted);
	a->listed = NULL;
	a->nlisted = 0;
}

static void cmdfile_fn_clear(struct cmdfile_fn *fn)
{
	for (size_t i = 0; i < fn->nparams; i++)
		cmdfile_param_clear(&fn->params[i]);
	util_strv_free(fn->list, fn->nlist);
	util_strv_free(fn->argv, fn->argc);
	free(fn->ph);
	free(fn->name);
	free(fn->version);
	free(fn->description);
}

void cmdfile_free(struct cmdfile *f)
{
	if (!f)
		return;
	for (size_t i = 0; i < f->n; i++)
		cmdfile_fn_clear(&f->fns[i]);
	free(f->fns);
	free(f->path);
	free(f);
}

static struct cmdfile_fn *cmdfile_current(const struct cmdfile_parser *p)
{
	return p->f->n ? &p->f->fns[p->f->n - 1] : NULL;
}

/* Starts function name[0..n) on the current line. */
static int cmdfile_add_fn(struct cmdfile_parser *p, const char *name,
			  size_t n)
{
	struct cmdfile *f = p->f;
	struct cmdfile_fn *fn;

	if (util_grow(&f->fns, &p->cap, f->n + 1, sizeof(*f->fns), 8) != 0)
		return cmdfile_nomem(&p->m);
	fn = &f->fns[f->n];
	memset(fn, 0, sizeof(*fn));
	fn->name = strndup(name, n);
	if (!fn->name)
		return cmdfile_nomem(&p->m);
	fn->line = p->line;
	f->n++;
	p->seen = 0;
	p->argcap = 0;
	return 0;
}

/* ---- Keys -------------------------------------------------------------- */

enum cmdfile_key {
	CMDFILE_KEY_DESCRIPTION,
	CMDFILE_KEY_VERSION,
	CMDFILE_KEY_ARGS,
	CMDFILE_KEY_COMMAND,
	CMDFILE_KEY_TIMEOUT,
	CMDFILE_KEY_OUTPUT,
};

static int cmdfile_set_description(struct cmdfile_parser *p,
				   struct cmdfile_fn *fn, const char *v,
				   size_t n)
{
	if (n > CMDFILE_DESC_MAX)
		return cmdfile_bad(p, p->line, "description longer than %u "
				   "bytes", CMDFILE_DESC_MAX);
	for (size_t i = 0; i < n; i++)
		if (v[i] != '\t' && cmdfile_control(v[i]))
			return cmdfile_bad(p, p->line, "control character "
					   "in the description");
	fn->description = strndup(v, n);
	return fn->description ? 0 : cmdfile_nomem(&p->m);
}

static int cmdfile_set_version(struct cmdfile_parser *p,
			       struct cmdfile_fn *fn, const char *v, size_t n)
{
	if (n == 0)
		return cmdfile_bad(p, p->line, "empty version");
	if (n > CMDFILE_VERSION_MAX)
		return cmdfile_bad(p, p->line, "version longer than %u bytes",
				   CMDFILE_VERSION_MAX);
	for (size_t i = 0; i < n; i++)
		if (cmdfile_control(v[i]))
			return cmdfile_bad(p, p->line, "control character "
					   "in the version");
	fn->version = strndup(v, n);
	return fn->version ? 0 : cmdfile_nomem(&p->m);
}

/* Refuses a list naming an item twice. */
static int cmdfile_check_list(struct cmdfile_parser *p,
			      const struct cmdfile_fn *fn)
{
	struct cmdfile_sorted *v = calloc(fn->nlist, sizeof(*v));
	size_t first, second;
	int rc = 0;

	if (!v)
		return cmdfile_nomem(&p->m);
	for (size_t i = 0; i < fn->nlist; i++)
		v[i] = (struct cmdfile_sorted){ fn->list[i], i };
	if (cmdfile_find_dup(v, fn->nlist, &first, &second)) {
		char show[QUOTE_BUF];

		quote_bytes(show, fn->list[second], strlen(fn->list[second]));
		rc = cmdfile_bad(p, p->line, "list item '%s' given twice",
				 show);
	}
	free(v);
	return rc;
}

/* One item of a list: s[0..n), untrimmed. */
static int cmdfile_add_item(struct cmdfile_parser *p, struct cmdfile_fn *fn,
			    const char *s, size_t n)
{
	cmdfile_trim(&s, &n);
	if (n == 0)
		return cmdfile_bad(p, p->line, "empty item in the list");
	if (!util_name_component(s, n)) {
		char show[QUOTE_BUF];

		quote_bytes(show, s, n);
		return cmdfile_bad(p, p->line, "list item '%s' is no file "
				   "name (1 to %u bytes, no '/' or control "
				   "character, not . or ..)", show,
				   CMDFILE_NAME_MAX);
	}
	fn->list[fn->nlist] = strndup(s, n);
	if (!fn->list[fn->nlist])
		return cmdfile_nomem(&p->m);
	fn->nlist++;
	return 0;
}

/* The items after "list:", v[0..n) trimmed. */
static int cmdfile_parse_list(struct cmdfile_parser *p, struct cmdfile_fn *fn,
			      const char *v, size_t n)
{
	size_t items = 1, start = 0;
	int rc;

	if (n == 0)
		return cmdfile_bad(p, p->line, "'list:' needs at least one "
				   "item");
	for (size_t i = 0; i < n; i++)
		items += v[i] == ',';
	fn->list = calloc(items, sizeof(*fn->list));
	if (!fn->list)
		return cmdfile_nomem(&p->m);
	for (size_t i = 0; i <= n; i++) {
		if (i < n && v[i] != ',')
			continue;
		rc = cmdfile_add_item(p, fn, v + start, i - start);
		if (rc)
			return rc;
		start = i + 1;
	}
	fn->args = ARGS_LIST;
	fn->params[0].kind = ARGS_LIST;
	fn->nparams = 1;
	return cmdfile_check_list(p, fn);
}

/* "LO..HI" in s[0..n) (trimmed), for kind: 0 and the bounds, or -1. */
static int cmdfile_parse_range(const char *s, size_t n, enum args_kind kind,
			       struct cmdfile_param *out)
{
	char buf[64], *dots, *end;

	if (n == 0 || n >= sizeof(buf))
		return -1;
	memcpy(buf, s, n);
	buf[n] = '\0';
	dots = strstr(buf, "..");
	if (!dots || dots == buf || !dots[2])
		return -1;
	*dots = '\0';
	out->min = strtod(buf, &end);
	if (*end)
		return -1;
	out->max = strtod(dots + 2, &end);
	if (*end || !isfinite(out->min) || !isfinite(out->max) ||
	    out->min > out->max)
		return -1;
	if (kind == ARGS_INTEGER &&
	    (out->min != floor(out->min) || out->max != floor(out->max) ||
	     fabs(out->min) > 9007199254740992.0 ||
	     fabs(out->max) > 9007199254740992.0))
		return -1;
	return 0;
}

/* The values a number argument lists, s[0..n) after the ':' of
 * "number(0..1: 0.5 0.9)", split at blanks into out->listed (NULL-ended);
 * the registry checks that each is canonical and in range. */
static int cmdfile_parse_listed(struct cmdfile_parser *p,
				struct cmdfile_param *out, const char *s,
				size_t n)
{
	size_t count = 0;
	char show[QUOTE_BUF];

	for (size_t i = 0; i < n; i++)	/* starts of blank-separated words */
		count += !cmdfile_blank(s[i]) &&
			 (i == 0 || cmdfile_blank(s[i - 1]));
	if (count == 0)
		return cmdfile_bad(p, p->line, "no value listed after ':'");
	out->listed = calloc(count + 1, sizeof(*out->listed));
	if (!out->listed)
		return cmdfile_nomem(&p->m);
	for (size_t i = 0; i < n;) {
		size_t k = i;

		while (k < n && !cmdfile_blank(s[k]))
			k++;
		if (k > i && !util_name_component(s + i, k - i)) {
			quote_bytes(show, s + i, k - i);
			return cmdfile_bad(p, p->line, "listed value '%s' is "
					   "no file name", show);
		}
		if (k > i) {
			out->listed[out->nlisted] = strndup(s + i, k - i);
			if (!out->listed[out->nlisted])
				return cmdfile_nomem(&p->m);
			out->nlisted++;
		}
		i = k < n ? k + 1 : k;
	}
	return 0;
}

/* "LO..HI" or "LO..HI: V1 V2..." of a number argument, s[0..n). */
static int cmdfile_parse_ranged(struct cmdfile_parser *p,
				struct cmdfile_param *out, const char *s,
				size_t n, const char *whole, size_t wn)
{
	const char *colon = memchr(s, ':', n), *r = s;
	size_t rn = colon ? (size_t)(colon - s) : n;
	char show[QUOTE_BUF];

	cmdfile_trim(&r, &rn);
	if (cmdfile_parse_range(r, rn, out->kind, out) != 0) {
		quote_bytes(show, whole, wn);
		return cmdfile_bad(p, p->line, "bad range in '%s' (LO..HI, "
				   "finite, LO <= HI%s)", show,
				   out->kind == ARGS_INTEGER ?
				   ", integers up to 2^53" : "");
	}
	return colon ? cmdfile_parse_listed(p, out, colon + 1,
					    (size_t)(s + n - colon - 1))
		     : 0;
}

/* One argument of a list "columns, number(0..1)": s[0..n) trimmed. */
static int cmdfile_parse_param(struct cmdfile_parser *p,
			       struct cmdfile_param *out, const char *s,
			       size_t n)
{
	static const struct {
		const char *word;
		enum args_kind kind;
	} ranged[] = {
		{ "number", ARGS_REAL }, { "integer", ARGS_INTEGER },
	};
	char show[QUOTE_BUF];
	int rc;

	cmdfile_trim(&s, &n);
	memset(out, 0, sizeof(*out));
	if (cmdfile_is(s, n, "columns") || cmdfile_is(s, n, "files")) {
		out->kind = s[0] == 'c' ? ARGS_COLUMNS : ARGS_FILES;
		return 0;
	}
	for (size_t k = 0; k < sizeof(ranged) / sizeof(ranged[0]); k++) {
		size_t w = strlen(ranged[k].word);

		if (n < w + 2 || memcmp(s, ranged[k].word, w) != 0 ||
		    s[w] != '(' || s[n - 1] != ')')
			continue;
		out->kind = ranged[k].kind;
		rc = cmdfile_parse_ranged(p, out, s + w + 1, n - w - 2, s, n);
		if (rc)
			cmdfile_param_clear(out);
		return rc;
	}
	quote_bytes(show, s, n);
	return cmdfile_bad(p, p->line, "'args' must be columns, files, "
			   "number(LO..HI), integer(LO..HI), several of "
			   "these joined by commas, or list: A, B, ... (not "
			   "'%s')", show);
}

/* "columns, number(0..1)": one argument per comma-separated kind. */
static int cmdfile_parse_params(struct cmdfile_parser *p,
				struct cmdfile_fn *fn, const char *v,
				size_t n)
{
	size_t start = 0, files = 0;
	int rc;

	fn->nparams = 0;
	for (size_t i = 0; i <= n; i++) {
		if (i < n && v[i] != ',')
			continue;
		if (fn->nparams == MEMOFS_ARGS_MAX)
			return cmdfile_bad(p, p->line, "more than %d "
					   "arguments", MEMOFS_ARGS_MAX);
		rc = cmdfile_parse_param(p, &fn->params[fn->nparams],
					 v + start, i - start);
		if (rc)
			return rc;
		files += fn->params[fn->nparams++].kind == ARGS_FILES;
		start = i + 1;
	}
	if (files > 1)
		return cmdfile_bad(p, p->line, "at most one 'files' argument");
	fn->args = fn->nparams == 1 ? fn->params[0].kind : 0;
	return 0;
}

static int cmdfile_set_args(struct cmdfile_parser *p, struct cmdfile_fn *fn,
			    const char *v, size_t n)
{
	fn->args_line = p->line;
	if (n >= 4 && memcmp(v, "list", 4) == 0) {
		const char *rest = v + 4;
		size_t rn = n - 4;

		cmdfile_trim(&rest, &rn);
		if (rn > 0 && rest[0] == ':') {
			rest++;
			rn--;
			cmdfile_trim(&rest, &rn);
			return cmdfile_parse_list(p, fn, rest, rn);
		}
	}
	return cmdfile_parse_params(p, fn, v, n);
}

/* ---- The command ------------------------------------------------------- */

/* An argv element being read. */
struct cmdfile_word {
	char *text;		/* room for the whole command */
	size_t len;
	int quoted;		/* a quote or a backslash is part of it */
	enum cmdfile_ph hit;	/* first placeholder in unquoted text */
};

/* The placeholder starting first in s[0..n), or CMDFILE_LITERAL. */
static enum cmdfile_ph cmdfile_find_ph(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (s[i] != '{')
			continue;
		for (size_t k = CMDFILE_ARG; k < CMDFILE_NPH; k++) {
			size_t len = strlen(cmdfile_ph_text[k]);

			if (n - i >= len &&
			    memcmp(s + i, cmdfile_ph_text[k], len) == 0)
				return (enum cmdfile_ph)k;
		}
	}
	return CMDFILE_LITERAL;
}

/* Appends element text[0..len) with placeholder kind ph to fn's argv. */
static int cmdfile_push_arg(struct cmdfile_parser *p, struct cmdfile_fn *fn,
			    const char *text, size_t len, enum cmdfile_ph ph)
{
	size_t cap = p->argcap;	/* argv and ph grow alike */

	if (util_grow(&fn->argv, &cap, fn->argc + 2, sizeof(*fn->argv), 8) ||
	    util_grow(&fn->ph, &p->argcap, fn->argc + 2, sizeof(*fn->ph), 8))
		return cmdfile_nomem(&p->m);
	fn->argv[fn->argc] = strndup(text, len);
	if (!fn->argv[fn->argc])
		return cmdfile_nomem(&p->m);
	fn->ph[fn->argc] = ph;
	fn->argv[++fn->argc] = NULL;
	return 0;
}

/* Adds the element read into w, a placeholder when it is exactly one. */
static int cmdfile_end_word(struct cmdfile_parser *p, struct cmdfile_fn *fn,
			    const struct cmdfile_word *w)
{
	enum cmdfile_ph ph = w->hit;
	const char *text = cmdfile_ph_text[ph];

	if (ph != CMDFILE_LITERAL && (w->quoted || w->len != strlen(text)))
		return cmdfile_bad(p, p->line, "%s must be a whole argument "
				   "(quote it for the text)", text);
	if (ph != CMDFILE_LITERAL && fn->argc == 0)
		return cmdfile_bad(p, p->line, "the program cannot be a "
				   "placeholder (%s)", text);
	return cmdfile_push_arg(p, fn, w->text, w->len, ph);
}

/* Reads the '...' or "..." at s[*i] into w; moves *i past it. */
static int cmdfile_read_quoted(struct cmdfile_parser *p, const char *s,
			       size_t n, size_t *i, struct cmdfile_word *w)
{
	char q = s[*i];
	size_t k = *i + 1;

	for (; k < n && s[k] != q; k++) {
		if (q == '"' && s[k] == '\\' && k + 1 < n &&
		    (s[k + 1] == '"' || s[k + 1] == '\\'))
			k++;
		w->text[w->len++] = s[k];
	}
	if (k == n)
		return cmdfile_bad(p, p->line, "unterminated quote");
	w->quoted = 1;
	*i = k + 1;
	return 0;
}

/* Reads the unquoted text at s[*i] into w, up to a blank, a quote or a
 * backslash; moves *i past it. */
static void cmdfile_read_plain(const char *s, size_t n, size_t *i,
			       struct cmdfile_word *w)
{
	size_t k = *i;
	enum cmdfile_ph ph;

	while (k < n && !cmdfile_blank(s[k]) && s[k] != '\'' && s[k] != '"' &&
	       s[k] != '\\')
		k++;
	ph = cmdfile_find_ph(s + *i, k - *i);
	if (w->hit == CMDFILE_LITERAL)
		w->hit = ph;
	memcpy(w->text + w->len, s + *i, k - *i);
	w->len += k - *i;
	*i = k;
}

/* Reads the element starting at s[*i] (not a blank) and adds it to fn. */
static int cmdfile_read_word(struct cmdfile_parser *p, struct cmdfile_fn *fn,
			     const char *s, size_t n, size_t *i, char *text)
{
	struct cmdfile_word w = { text, 0, 0, CMDFILE_LITERAL };
	int rc;

	while (*i < n && !cmdfile_blank(s[*i])) {
		if (s[*i] == '\'' || s[*i] == '"') {
			rc = cmdfile_read_quoted(p, s, n, i, &w);
			if (rc)
				return rc;
		} else if (s[*i] == '\\') {
			if (*i + 1 == n)
				return cmdfile_bad(p, p->line, "'\\' at the "
						   "end of the command");
			w.text[w.len++] = s[*i + 1];
			w.quoted = 1;
			*i += 2;
		} else {
			cmdfile_read_plain(s, n, i, &w);
		}
	}
	return cmdfile_end_word(p, fn, &w);
}

static int cmdfile_set_command(struct cmdfile_parser *p,
			       struct cmdfile_fn *fn, const char *v, size_t n)
{
	char *text;
	size_t i = 0;
	int rc = 0;

	if (n == 0)
		return cmdfile_bad(p, p->line, "empty command");
	fn->command_line = p->line;
	text = malloc(n);
	if (!text)
		return cmdfile_nomem(&p->m);
	while (rc == 0 && i < n) {
		if (cmdfile_blank(v[i]))
			i++;
		else
			rc = cmdfile_read_word(p, fn, v, n, &i, text);
	}
	free(text);
	return rc;
}

/* Reads v[0..n) as a number of seconds > 0 into *t; returns whether it
 * is one. */
static int cmdfile_seconds(const char *v, size_t n, double *t)
{
	char buf[CMDFILE_TIMEOUT_LEN], *end;

	if (n == 0 || n >= sizeof(buf))
		return 0;
	memcpy(buf, v, n);
	buf[n] = '\0';
	/* Decimal only: strtod() would also take "inf", "nan", hex and
	 * leading white space. */
	if (strspn(buf, "0123456789.eE+-") != n)
		return 0;
	errno = 0;
	*t = strtod(buf, &end);
	return end == buf + n && errno == 0 && isfinite(*t) && *t > 0;
}

static int cmdfile_set_timeout(struct cmdfile_parser *p,
			       struct cmdfile_fn *fn, const char *v, size_t n)
{
	char show[QUOTE_BUF];
	double t;

	if (cmdfile_seconds(v, n, &t)) {
		fn->timeout = t;
		return 0;
	}
	quote_bytes(show, v, n);
	return cmdfile_bad(p, p->line, "'timeout' must be a number of seconds "
			   "> 0, e.g. 30 or 0.5 (not '%s')", show);
}

static int cmdfile_set_output(struct cmdfile_parser *p,
			      struct cmdfile_fn *fn, const char *v, size_t n)
{
	static const struct {
		const char *name;
		enum memofs_dtype dtype;
	} outputs[] = {
		{ "bytes", MEMOFS_BYTES },
		{ "float64", MEMOFS_FLOAT64 },
		{ "int64", MEMOFS_INT64 },
	};
	char show[QUOTE_BUF];

	for (size_t i = 0; i < sizeof(outputs) / sizeof(outputs[0]); i++)
		if (n == strlen(outputs[i].name) &&
		    memcmp(v, outputs[i].name, n) == 0) {
			fn->output = outputs[i].dtype;
			return 0;
		}
	quote_bytes(show, v, n);
	return cmdfile_bad(p, p->line, "'output' must be bytes, float64 or "
			   "int64 (not '%s')", show);
}

typedef int (*cmdfile_setter)(struct cmdfile_parser *p,
			      struct cmdfile_fn *fn, const char *v, size_t n);

static const struct {
	const char *name;
	cmdfile_setter set;
} cmdfile_keys[] = {
	[CMDFILE_KEY_DESCRIPTION] = { "description", cmdfile_set_description },
	[CMDFILE_KEY_VERSION] = { "version", cmdfile_set_version },
	[CMDFILE_KEY_ARGS] = { "args", cmdfile_set_args },
	[CMDFILE_KEY_COMMAND] = { "command", cmdfile_set_command },
	[CMDFILE_KEY_TIMEOUT] = { "timeout", cmdfile_set_timeout },
	[CMDFILE_KEY_OUTPUT] = { "output", cmdfile_set_output },
};
#define CMDFILE_NKEYS (sizeof(cmdfile_keys) / sizeof(*cmdfile_keys))

/* ---- Lines ------------------------------------------------------------- */

/* Checks the current function, now complete, and fills in its defaults. */
static int cmdfile_end_fn(struct cmdfile_parser *p)
{
	struct cmdfile_fn *fn = cmdfile_current(p);

	if (!fn)
		return 0;
	if (!(p->seen & (1u << CMDFILE_KEY_ARGS)))
		return cmdfile_bad(p, fn->line, "[%s]: missing 'args'",
				   fn->name);
	if (!(p->seen & (1u << CMDFILE_KEY_COMMAND)))
		return cmdfile_bad(p, fn->line, "[%s]: missing 'command'",
				   fn->name);
	for (size_t i = 0; i < fn->argc; i++) {
		if (fn->ph[i] == CMDFILE_FILE &&
		    cmdfile_fn_param(fn, ARGS_FILES) < 0)
			return cmdfile_bad(p, fn->command_line, "{file} needs "
					   "'args = files'");
		if (fn->ph[i] == CMDFILE_COL &&
		    cmdfile_fn_param(fn, ARGS_COLUMNS) < 0)
			return cmdfile_bad(p, fn->command_line, "{col} needs "
					   "'args = columns'%s",
					   fn->nparams > 1 ? " (one columns "
					   "argument; else use {argN})" : "");
		if (fn->ph[i] == CMDFILE_ARG && fn->nparams > 1)
			return cmdfile_bad(p, fn->command_line, "{arg} needs "
					   "a single argument: use {arg1}.."
					   "{arg%zu}", fn->nparams);
		if (fn->ph[i] >= CMDFILE_ARG1 &&
		    (size_t)(fn->ph[i] - CMDFILE_ARG1) >= fn->nparams)
			return cmdfile_bad(p, fn->command_line, "%s: the "
					   "function takes %zu argument%s",
					   cmdfile_ph_text[fn->ph[i]],
					   fn->nparams,
					   fn->nparams == 1 ? "" : "s");
	}
	if (!fn->version && !(fn->version = strdup("1")))
		return cmdfile_nomem(&p->m);
	if (!fn->description && !(fn->description = strdup("")))
		return cmdfile_nomem(&p->m);
	return 0;
}

/* "[NAME]", s[0..n) trimmed and starting with '['. */
static int cmdfile_parse_section(struct cmdfile_parser *p, const char *s,
				 size_t n)
{
	const char *close = memchr(s, ']', n);
	int rc = cmdfile_end_fn(p);

	if (rc)
		return rc;
	if (!close)
		return cmdfile_bad(p, p->line, "missing ']' after the "
				   "function name");
	if (close != s + n - 1)
		return cmdfile_bad(p, p->line, "text after ']'");
	if (!util_name_function(s + 1, (size_t)(close - s - 1))) {
		char show[QUOTE_BUF];

		quote_bytes(show, s + 1, (size_t)(close - s - 1));
		return cmdfile_bad(p, p->line, "invalid function name '%s' "
				   "(1 to %u of A-Z a-z 0-9 _ . -, not . or "
				   "..)", show, CMDFILE_NAME_MAX);
	}
	return cmdfile_add_fn(p, s + 1, (size_t)(close - s - 1));
}

/* "key = value", s[0..n) trimmed. */
static int cmdfile_parse_key(struct cmdfile_parser *p, const char *s,
			     size_t n)
{
	const char *eq = memchr(s, '=', n), *v;
	char show[QUOTE_BUF];
	size_t kn, vn;

	if (!eq) {
		quote_bytes(show, s, n);
		return cmdfile_bad(p, p->line, "expected '[NAME]', 'key = "
				   "value' or a comment, not '%s'", show);
	}
	v = eq + 1;
	vn = (size_t)(s + n - v);
	cmdfile_trim(&v, &vn);
	kn = (size_t)(eq - s);
	cmdfile_trim(&s, &kn);
	quote_bytes(show, s, kn);
	for (size_t k = 0; k < CMDFILE_NKEYS; k++) {
		if (!cmdfile_is(s, kn, cmdfile_keys[k].name))
			continue;
		if (!cmdfile_current(p))
			return cmdfile_bad(p, p->line, "'%s' before any "
					   "[NAME] line", show);
		if (p->seen & (1u << k))
			return cmdfile_bad(p, p->line, "'%s' given twice",
					   show);
		p->seen |= 1u << k;
		return cmdfile_keys[k].set(p, cmdfile_current(p), v, vn);
	}
	return cmdfile_bad(p, p->line, "unknown key '%s'", show);
}

static int cmdfile_parse_line(struct cmdfile_parser *p, const char *s,
			      size_t n)
{
	if (memchr(s, '\0', n))
		return cmdfile_bad(p, p->line, "NUL byte");
	if (n > 0 && s[n - 1] == '\r')
		n--;
	cmdfile_trim(&s, &n);
	if (n == 0 || s[0] == '#' || s[0] == ';')
		return 0;
	if (s[0] == '[')
		return cmdfile_parse_section(p, s, n);
	return cmdfile_parse_key(p, s, n);
}

/* Refuses a name declared twice. */
static int cmdfile_check_names(struct cmdfile_parser *p)
{
	const struct cmdfile *f = p->f;
	struct cmdfile_sorted *v = calloc(f->n ? f->n : 1, sizeof(*v));
	size_t first, second;
	int rc = 0;

	if (!v)
		return cmdfile_nomem(&p->m);
	for (size_t i = 0; i < f->n; i++)
		v[i] = (struct cmdfile_sorted){ f->fns[i].name, i };
	if (cmdfile_find_dup(v, f->n, &first, &second))
		rc = cmdfile_bad(p, f->fns[second].line, "function '%s' "
				 "declared twice (first on line %u)",
				 f->fns[second].name, f->fns[first].line);
	free(v);
	return rc;
}

static int cmdfile_parse_all(struct cmdfile_parser *p, const char *buf,
			     size_t len)
{
	size_t off = 0;
	int rc;

	while (off < len) {
		const char *s = buf + off;
		const char *nl = memchr(s, '\n', len - off);
		size_t n = nl ? (size_t)(nl - s) : len - off;

		p->line++;
		rc = cmdfile_parse_line(p, s, n);
		if (rc)
			return rc;
		off += n + (nl != NULL);
	}
	rc = cmdfile_end_fn(p);
	return rc ? rc : cmdfile_check_names(p);
}

int cmdfile_parse_buf(const char *path, const char *buf, size_t len,
		      struct cmdfile **out, char *err, size_t errlen)
{
	struct cmdfile_parser p = { .m = { path, err, errlen } };
	int rc;

	assert(path && out && (buf || len == 0));
	if (len > CMDFILE_SIZE_MAX)
		return cmdfile_fail(&p.m, -EFBIG, "larger than 1 MiB");
	p.f = calloc(1, sizeof(*p.f));
	if (!p.f)
		return cmdfile_nomem(&p.m);
	p.f->path = strdup(path);
	if (!p.f->path) {
		rc = cmdfile_nomem(&p.m);
		goto out_free_file;
	}
	rc = cmdfile_parse_all(&p, buf, len);
	if (rc)
		goto out_free_file;
	*out = p.f;
	return 0;

out_free_file:
	cmdfile_free(p.f);
	return rc;
}

/* ---- Reading ----------------------------------------------------------- */

/* Opens the regular file at m->path and reads it all into *out. */
static int cmdfile_read(const struct cmdfile_msg *m, char **out,
			size_t *outlen)
{
	/* O_NONBLOCK: opening a FIFO must not wait for a writer. */
	int fd = open(m->path, O_RDONLY | O_NONBLOCK | O_CLOEXEC), rc;
	struct stat st;

	if (fd < 0) {
		rc = -errno;
		return cmdfile_fail(m, rc, "%s", strerror(-rc));
	}
	if (fstat(fd, &st) != 0) {
		rc = -errno;
		cmdfile_fail(m, rc, "%s", strerror(-rc));
		goto out_close;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = cmdfile_fail(m, -EINVAL, "not a regular file");
		goto out_close;
	}
	if (st.st_size > (off_t)CMDFILE_SIZE_MAX) {
		rc = cmdfile_fail(m, -EFBIG, "larger than 1 MiB");
		goto out_close;
	}
	/* To the end, or to one byte past CMDFILE_SIZE_MAX (which
	 * cmdfile_parse_buf() then refuses). */
	rc = util_file_read_fd(fd, st.st_size > 0 ? (size_t)st.st_size
						  : CMDFILE_READ_HINT,
			       CMDFILE_SIZE_MAX, out, outlen);
	if (rc)
		cmdfile_fail(m, rc, "%s", strerror(-rc));
out_close:
	close(fd);
	return rc;
}

int cmdfile_parse(const char *path, struct cmdfile **out, char *err,
		  size_t errlen)
{
	struct cmdfile_msg m = { path, err, errlen };
	char *buf = NULL;
	size_t len = 0;
	int rc;

	assert(path && out);
	rc = cmdfile_read(&m, &buf, &len);
	if (rc)
		return rc;
	rc = cmdfile_parse_buf(path, buf, len, out, err, errlen);
	free(buf);
	return rc;
}
