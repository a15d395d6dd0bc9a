/* csvfile.h -- a dataset from CSV text, for the C unit tests: the text is
 * written to a new mkstemp() file and loaded with ds_load().
 * Header-only (static functions). */
#ifndef MEMOFS_TEST_CSVFILE_H
#define MEMOFS_TEST_CSVFILE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "data/ds.h"

/* Writes text to a new file made from the template path (its XXXXXX are
 * replaced: the caller unlinks it) and loads it.  The dataset (caller
 * frees), or NULL with why on stderr. */
static inline ds *load_csv(const char *text, char *path)
{
	char err[DS_ERR_MAX];
	ds *d = NULL;
	int fd = mkstemp(path);

	if (fd < 0)
		return NULL;
	if (write(fd, text, strlen(text)) != (ssize_t)strlen(text)) {
		close(fd);
		return NULL;
	}
	close(fd);
	if (ds_load(path, &d, err, sizeof(err)) != 0)
		fprintf(stderr, "ds_load: %s\n", err);
	return d;
}

#endif
