/* mfs_mountinfo.c -- a mount point's line in /proc/self/mountinfo and its
 * readahead (see mfs_mountinfo.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mfs_mountinfo.h"

#define MFS_MOUNTINFO_LINE (4096 + 512)

/* abs as mountinfo writes it: ' ', '\t', '\n' and '\\' as "\ooo". */
static void mfs_mountinfo_escape(const char *abs, char *esc, size_t len)
{
	char *p = esc;

	for (const char *q = abs; *q && p < esc + len - 5; q++)
		p += (*q == ' ' || *q == '\t' || *q == '\n' || *q == '\\')
			     ? sprintf(p, "\\%03o", (unsigned char)*q)
			     : sprintf(p, "%c", *q);
	*p = '\0';
}

int mfs_mountinfo_find(const char *abs, char *dev, size_t devlen)
{
	char line[MFS_MOUNTINFO_LINE], esc[MFS_MOUNTINFO_LINE];
	FILE *f = fopen("/proc/self/mountinfo", "re");
	int found = 0;

	if (!f)
		return 0;
	mfs_mountinfo_escape(abs, esc, sizeof(esc));
	while (fgets(line, sizeof(line), f)) {
		char mp[sizeof(line)], majmin[32];

		if (sscanf(line, "%*s %*s %31s %*s %4607s", majmin, mp) != 2 ||
		    strcmp(mp, esc) != 0)
			continue;
		found = 1;
		if (dev)
			snprintf(dev, devlen, "%s", majmin);
	}
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
