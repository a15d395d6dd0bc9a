/* quote.h -- quoting bytes from a user's file in a one-line message.
 *
 * The dataset readers (ds) and the functions file parser (cmdfile) name
 * the bad text they met ("not a number: 'abc'"); quote makes any bytes
 * safe and short for that.  Pure, so any thread may call it.
 */
#ifndef MEMOFS_QUOTE_H
#define MEMOFS_QUOTE_H

#include <stddef.h>

#define QUOTE_MAX 40			/* bytes of the text quoted */
#define QUOTE_BUF (QUOTE_MAX * 4 + 4)	/* escaped, plus "..." and NUL */

/* Writes s[0..n) to out for quoting in a message: at most QUOTE_MAX bytes
 * of it, quotes, backslashes and anything outside printable ASCII escaped
 * (\' \\ \xHH), "..." when cut short. */
void quote_bytes(char out[QUOTE_BUF], const char *s, size_t n);

#endif
