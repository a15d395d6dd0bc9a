/* mfs_cli.c -- memofs stats and memofs clear (see mfs_cli.h). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "mfs_cli.h"
#include "mfs_ctl.h"

/* Opens MOUNTPOINT/.memofs/name for reading, or says why not. */
static int mfs_cli_open(const char *cmd, const char *mnt, const char *name)
{
	char path[PATH_MAX];
	int fd;

	if (snprintf(path, sizeof(path), "%s/%s/%s", mnt, MFS_CTL_DIR, name) >=
	    (int)sizeof(path)) {
		fprintf(stderr, "memofs %s: %s: path too long\n", cmd, mnt);
		return -1;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		fprintf(stderr, "memofs %s: %s: %s\n", cmd, mnt,
			errno == ENOENT ? "not a memofs mount point"
					: strerror(errno));
	return fd;
}

static int mfs_cli_stats(int argc, char **argv)
{
	int json = argc == 4 && strcmp(argv[3], "--json") == 0;
	char buf[65536];
	ssize_t n;
	int fd;

	if (argc < 3 || argc > 4 || (argc == 4 && !json)) {
		fprintf(stderr, "usage: memofs stats MOUNTPOINT [--json]\n");
		return 1;
	}
	fd = mfs_cli_open("stats", argv[2], json ? "stats.json" : "stats");
	if (fd < 0)
		return 1;
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		if (fwrite(buf, 1, (size_t)n, stdout) != (size_t)n)
			break;
	if (n < 0)
		fprintf(stderr, "memofs stats: %s: %s\n", argv[2],
			strerror(errno));
	close(fd);
	return n < 0 || fflush(stdout) != 0 ? 1 : 0;
}

static const char *mfs_cli_clear_error(int err)
{
	switch (err) {
	case EPERM:
		return "only the user who mounted it, or root, may clear it";
	case ENOENT:
		return "no such function or argument";
	case ENOTTY:
		return "this memofs cannot clear (too old?)";
	default:
		return strerror(err);
	}
}

static int mfs_cli_clear(int argc, char **argv)
{
	struct mfs_ctl_clear c;
	int fd, n;

	if (argc < 3 || argc > 4) {
		fprintf(stderr, "usage: memofs clear MOUNTPOINT "
			"[FUNCTION[/ARGUMENT]]\n");
		return 1;
	}
	/* An empty what means everything to the ioctl: an empty FUNCTION
	 * (a shell's unset "$FN") must not. */
	if (argc == 4 && !argv[3][0]) {
		fprintf(stderr, "memofs clear: %s: an empty FUNCTION names "
			"nothing (give none to clear every result)\n", argv[2]);
		return 1;
	}
	memset(&c, 0, sizeof(c));
	if (argc == 4 && snprintf(c.what, sizeof(c.what), "%s", argv[3]) >=
				 (int)sizeof(c.what)) {
		fprintf(stderr, "memofs clear: %s: too long\n", argv[3]);
		return 1;
	}
	fd = mfs_cli_open("clear", argv[2], "clear");
	if (fd < 0)
		return 1;
	n = ioctl(fd, MFS_IOC_CLEAR, &c);
	if (n < 0)
		fprintf(stderr, "memofs clear: %s%s%s: %s\n", argv[2],
			argc == 4 ? " " : "", argc == 4 ? argv[3] : "",
			mfs_cli_clear_error(errno));
	else
		printf("cleared %d stored result%s\n", n, n == 1 ? "" : "s");
	close(fd);
	return n < 0 ? 1 : 0;
}

int mfs_cli_main(int argc, char **argv)
{
	if (argc < 2)
		return -1;
	if (strcmp(argv[1], "stats") == 0)
		return mfs_cli_stats(argc, argv);
	if (strcmp(argv[1], "clear") == 0)
		return mfs_cli_clear(argc, argv);
	return -1;
}
