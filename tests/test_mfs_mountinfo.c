/* test_mfs_mountinfo.c -- unit test of fs/mfs_mountinfo.c: finding a
 * mount point in /proc/self/mountinfo, and who may raise a readahead. */
#include <errno.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "mfs_mountinfo.h"

/* /proc is a mount point: found, with the MAJOR:MINOR stat() gives. */
static void test_proc(void)
{
	char dev[32] = "", want[32];
	struct stat sb;

	CHECK_INT(stat("/proc", &sb), 0);
	snprintf(want, sizeof(want), "%u:%u", major(sb.st_dev),
		 minor(sb.st_dev));
	CHECK_INT(mfs_mountinfo_find("/proc", dev, sizeof(dev)), 1);
	CHECK_STR(dev, want);
	CHECK_INT(mfs_mountinfo_find("/proc", NULL, 0), 1);
	/* a short dev buffer is cut, NUL-terminated */
	memset(dev, 'x', sizeof(dev));
	CHECK_INT(mfs_mountinfo_find("/proc", dev, 2), 1);
	CHECK(dev[0] == want[0] && dev[1] == '\0');
}

/* Directories that are not mount points, whatever their name: one with
 * the characters mountinfo escapes, a prefix of a mount point, and a
 * PATH_MAX - 1 byte path of blanks, four times as long escaped (the
 * line buffer must not cut it, nor the comparison). */
static void test_not_mount_points(void)
{
	char *blanks = malloc(PATH_MAX);
	char dev[32] = "unchanged";

	CHECK(blanks != NULL);
	CHECK_INT(mfs_mountinfo_find("/pro", dev, sizeof(dev)), 0);
	CHECK_INT(mfs_mountinfo_find("/proc/", dev, sizeof(dev)), 0);
	CHECK_INT(mfs_mountinfo_find("/a b\\c\td\ne", dev, sizeof(dev)), 0);
	CHECK_INT(mfs_mountinfo_find("/proc\\040", dev, sizeof(dev)), 0);
	CHECK_STR(dev, "unchanged");
	blanks[0] = '/';
	memset(blanks + 1, ' ', PATH_MAX - 2);
	blanks[PATH_MAX - 1] = '\0';
	CHECK_INT(mfs_mountinfo_find(blanks, dev, sizeof(dev)), 0);
	memset(blanks + 1, '\\', PATH_MAX - 2);
	CHECK_INT(mfs_mountinfo_find(blanks, NULL, 0), 0);
	CHECK_INT(mfs_mountinfo_find("", NULL, 0), 0);
	free(blanks);
	CHECK_INT(mfs_readahead_raise("/a b\\c\td\ne", MFS_READAHEAD_KB),
		  -ENOENT);
}

/* The readahead of a mount that has one (/, when it is a block device's):
 * never lowered; another user than root may not touch it (-EACCES),
 * checked in a child that became nobody. */
static void test_readahead_rights(void)
{
	char dev[32], path[96], before[32] = "", after[32] = "";
	struct passwd *nobody = getpwnam("nobody");
	FILE *f;
	pid_t pid;
	int status;

	if (!mfs_mountinfo_find("/", dev, sizeof(dev)))
		return;
	snprintf(path, sizeof(path), "/sys/class/bdi/%s/read_ahead_kb", dev);
	f = fopen(path, "r");
	if (!f)
		return;		/* no bdi of its own (a virtual fs) */
	CHECK(fgets(before, sizeof(before), f) != NULL);
	fclose(f);
	if (geteuid() == 0 && strtoul(before, NULL, 10) >= 4) {
		CHECK_INT(mfs_readahead_raise("/", 4), 0);
		f = fopen(path, "r");
		CHECK(f && fgets(after, sizeof(after), f));
		if (f)
			fclose(f);
		CHECK_STR(after, before);	/* never lowered */
	}
	if (geteuid() != 0 || !nobody)
		return;
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		if (setgid(nobody->pw_gid) != 0 || setuid(nobody->pw_uid) != 0)
			_exit(2);
		_exit(mfs_readahead_raise("/", MFS_READAHEAD_KB) == -EACCES
			      ? 0 : 1);
	}
	CHECK_INT((int)waitpid(pid, &status, 0), (int)pid);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

int main(void)
{
	test_proc();
	test_not_mount_points();
	test_readahead_rights();
	return check_report("mfs_mountinfo");
}
