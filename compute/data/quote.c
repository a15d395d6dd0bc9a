/* quote.c -- quoting bytes in a message (see quote.h). */
#include <assert.h>
#include <stdio.h>
#include <string.h>

#include "data/quote.h"

void quote_bytes(char out[QUOTE_BUF], const char *s, size_t n)
{
	size_t used = 0;

	for (size_t i = 0; i < n && i < QUOTE_MAX; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch == '\'' || ch == '\\') {
			out[used++] = '\\';
			out[used++] = (char)ch;
		} else if (ch < 0x20 || ch > 0x7e) {
			snprintf(out + used, 5, "\\x%02x", ch);
			used += 4;
		} else {
			out[used++] = (char)ch;
		}
	}
	if (n > QUOTE_MAX) {
		memcpy(out + used, "...", 3);
		used += 3;
	}
	assert(used < QUOTE_BUF);
	out[used] = '\0';
}
