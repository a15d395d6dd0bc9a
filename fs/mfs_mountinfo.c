/* mfs_mountinfo.c -- a mount point's line in /proc/self/mountinfo and its
 * readahead (see mfs_mountinfo.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mfs_mountinfo.h"

/* abs as mountinfo writes it: ' ', '\t', '\n' and '\\' as "\ooo"; esc
 * has room for 4 * strlen(abs) + 1 bytes. */
static void mfs_mountinfo_escape(const char *abs, char *esc)
{
	char *p = esc;

	for (const char *q = abs; *q; q++)
		p += (*q == ' ' || *q == '\t' || *q == '\n' || *q == '\\')
			     ? sprintf(p, "\\%03o", (unsigned char)*q)
			     : sprintf(p, "%c", *q);
	*p = '\0';
}

/* The fields of a mountinfo line, in place: the third (MAJOR:MINOR) and
 * the fifth (the mount point, escaped).  1, or 0 for a short line. */
static int mfs_mountinfo_fields(char *line, char **majmin, char **mp)
{
	char *save = NULL, *f = strtok_r(line, " \n", &save);

	for (int i = 1; f && i < 5; i++) {
		if (i == 3)
			*majmin = f;
		f = strtok_r(NULL, " \n", &save);
	}
	*mp = f;
	return f != NULL;
}

/* Lines are read whole (getline()): a mount point of PATH_MAX bytes of
 * blanks is four times as long escaped. */
int mfs_mountinfo_find(const char *abs, char *dev, size_t devlen)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	char *line = NULL, *esc = malloc(4 * strlen(abs) + 1);
	size_t cap = 0;
	int found = 0;

	if (!f || !esc) {
		if (f)
			fclose(f);
		free(esc);
		return 0;
	}
	mfs_mountinfo_escape(abs, esc);
	while (getline(&line, &cap, f) > 0) {
		char *majmin = NULL, *mp;

		if (!mfs_mountinfo_fields(line, &majmin, &mp) ||
		    strcmp(mp, esc) != 0)
			continue;
		found = 1;
		if (dev)
			snprintf(dev, devlen, "%s", majmin);
	}
	free(line);
	free(esc);
	fclose(f);
	return found;
}

int mfs_readahead_raise(const char *abs, unsigned kb)
{
	char dev[32], path[64], buf[32];
	unsigned long now;
	ssize_t n;
	int fd, rc = 0;

	if (!mfs_mountinfo_find(abs, dev, sizeof(dev)) || strchr(dev, '/'))
		return -ENOENT;
	snprintf(path, sizeof(path), "/sys/class/bdi/%s/read_ahead_kb", dev);
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = pread(fd, buf, sizeof(buf) - 1, 0);
	if (n < 0) {
		rc = -errno;
		goto out;
	}
	buf[n] = '\0';
	now = strtoul(buf, NULL, 10);
	if (now >= kb)
		goto out;
	n = snprintf(buf, sizeof(buf), "%u\n", kb);
	if (pwrite(fd, buf, (size_t)n, 0) != n)
		rc = errno ? -errno : -EIO;
out:
	close(fd);
	return rc;
}
