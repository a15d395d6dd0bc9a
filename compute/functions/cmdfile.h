/* cmdfile.h -- the functions file: command-backed functions, declared.
 *
 * A functions file (-o functions=FILE) declares functions whose result is
 * the standard output of a program.  cmdfile only parses: it never runs,
 * opens or looks up anything named in the file (no code execution while
 * parsing), and it does not know the dataset.  Called at start-up, from
 * one thread.
 *
 * Format (UTF-8 or any bytes but NUL; LF or CRLF line ends):
 *
 *     # a comment: a line whose first non-blank character is '#' or ';'
 *     [lines]                      a function: [NAME], NAME as in memofs.h
 *     description = Lines of each input file     (optional, default "")
 *     version = 2                  (optional, default "1"; printable text)
 *     args = files                 (required) columns | files | list: a, b
 *                                  or several: columns, number(0..1)
 *     command = wc -l {file}       (required) the argv template
 *     timeout = 30                 (optional) seconds, > 0, e.g. 0.5
 *     output = float64             (optional) bytes (the default) |
 *                                  float64 | int64: the standard output
 *                                  is numbers, one per line (numtext.h),
 *                                  a typed result with a .npy view
 *
 * Blank lines are ignored.  Keys and values are trimmed of blanks (space,
 * tab); a value runs to the end of its line ('#' inside a value is text).
 * Each key at most once per function; each NAME at most once per file.
 *
 * Several arguments (one path level each, resolve.h): a comma-separated
 * list of up to MEMOFS_ARGS_MAX of "columns", "files" (at most one),
 * "number(LO..HI)" (a real in [LO, HI]) and "integer(LO..HI)" (LO, HI
 * integers, |LO|, |HI| <= 2^53); "number(0..1: 0.5 0.9)" also names the
 * values its directory lists (blank-separated; the registry refuses one
 * not spelled canonically or out of range, resolve.h).  "list:" takes the whole value, so a list
 * is only ever the one argument.
 *
 * "list:" items are separated by commas and trimmed; each is a file name
 * (1..255 bytes, no '/', no control character, not "." or ".."), no
 * duplicates, at least one.
 *
 * The command is split into argv elements at blanks, with POSIX-shell-like
 * quoting but nothing else of a shell: '...' keeps everything literally,
 * "..." keeps everything but \" and \\, and outside quotes a backslash
 * keeps the next character.  An unquoted element that is exactly {arg},
 * {file}, {data} or {col} is a placeholder, replaced by one whole argv
 * element when the command runs:
 *     {arg}   the argument (file name, list item, or "colN");
 *     {file}  the absolute path of the argument's file (args = files only);
 *     {data}  the absolute path of DATA (file or directory);
 *     {col}   the column number N of "colN" (exactly one columns
 *             argument);
 *     {argK}  argument K (1-based; a file's name, a list item, "colN",
 *             a canonical number); {arg} needs a single argument.
 * A placeholder inside a larger unquoted element ("--in={file}") is an
 * error; a quoted one ('{arg}') is literal text.  The program (the first
 * element) cannot be a placeholder.
 */
#ifndef MEMOFS_CMDFILE_H
#define MEMOFS_CMDFILE_H

#include <stddef.h>

#include "functions/args.h"
#include "memofs.h"

#define CMDFILE_ERR_MAX 512
#define CMDFILE_SIZE_MAX (1u << 20)	/* larger files are refused */

enum cmdfile_ph {
	CMDFILE_LITERAL = 0,	/* argv[i] is used as it is */
	CMDFILE_ARG,
	CMDFILE_FILE,
	CMDFILE_DATA,
	CMDFILE_COL,
	CMDFILE_ARG1,		/* {arg1}; {argK} is CMDFILE_ARG1 + K - 1 */
	CMDFILE_NPH_END = CMDFILE_ARG1 + MEMOFS_ARGS_MAX,
};

/* One declared argument (a path level). */
struct cmdfile_param {
	enum args_kind kind;
	double min, max;	/* ARGS_REAL, ARGS_INTEGER */
	char **listed;		/* the values listed, NULL-ended, or NULL */
	size_t nlisted;
};

struct cmdfile_fn {
	char *name;
	char *version;		/* "1" when not given */
	char *description;	/* "" when not given */
	enum args_kind args;	/* the one argument's kind; 0: several */
	struct cmdfile_param params[MEMOFS_ARGS_MAX];
	size_t nparams;		/* 1..MEMOFS_ARGS_MAX */
	char **list;		/* ARGS_LIST: nlist items, else NULL */
	size_t nlist;
	char **argv;		/* argc elements and a NULL; placeholders */
	enum cmdfile_ph *ph;	/* hold their own text, e.g. "{arg}" */
	size_t argc;		/* >= 1 */
	double timeout;		/* seconds; 0 when not given */
	enum memofs_dtype output; /* MEMOFS_BYTES when not given */
	unsigned line;		/* line of "[NAME]" */
	unsigned command_line;	/* line of "command =" */
	unsigned args_line;	/* line of "args =" */
};

struct cmdfile {
	char *path;		/* as given to cmdfile_parse() */
	struct cmdfile_fn *fns;	/* in file order */
	size_t n;
};

/* Reads and parses the file at path.  Returns 0 and *out (caller frees
 * with cmdfile_free()), or a negative errno and a one-line message in err
 * (errlen bytes; CMDFILE_ERR_MAX is enough), always starting with the
 * path:
 *   "f.ini: No such file or directory"   (-ENOENT, etc. from open/read)
 *   "f.ini: not a regular file"          (-EINVAL)
 *   "f.ini: larger than 1 MiB"           (-EFBIG)
 *   "f.ini: line 3: unknown key 'comand'" and other content errors
 *   (-EINVAL), e.g. "line 7: [lines]: missing 'command'",
 *   "line 4: unterminated quote", "line 2: 'args' given twice",
 *   "line 9: function 'wc' declared twice (first on line 1)",
 *   "line 5: {file} needs 'args = files'",
 *   "line 5: {file} must be a whole argument (quote it for the text)".
 * A file with no function at all is valid (n = 0).  *out is untouched on
 * failure. */
int cmdfile_parse(const char *path, struct cmdfile **out, char *err,
		  size_t errlen);

/* Parses len bytes of buf (need not be NUL-terminated) as if read from a
 * file named path.  Same results as cmdfile_parse(). */
int cmdfile_parse_buf(const char *path, const char *buf, size_t len,
		      struct cmdfile **out, char *err, size_t errlen);

void cmdfile_free(struct cmdfile *f);

/* The index of fn's only argument of kind, or -1 (none, or several). */
int cmdfile_fn_param(const struct cmdfile_fn *fn, enum args_kind kind);	/* cmdfile_free(NULL) is a no-op */

#endif
