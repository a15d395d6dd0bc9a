/* mfs_cli.h -- memofs's commands on a mount: stats and clear.
 *
 *   memofs stats MOUNTPOINT [--json]
 *   memofs clear MOUNTPOINT [FUNCTION[/ARGUMENT]]
 *
 * Both talk to the daemon through MOUNTPOINT/.memofs (mfs_ctl.h): stats
 * copies .memofs/stats (or stats.json) to stdout, clear sends the
 * MFS_IOC_CLEAR ioctl to .memofs/clear.  (To mount a DATA file named
 * "stats" or "clear" from the current directory, write ./stats.)
 */
#ifndef MEMOFS_MFS_CLI_H
#define MEMOFS_MFS_CLI_H

/* Runs the command argv[1] names and returns the exit status (0, or 1
 * after a message on stderr), or -1 when argv[1] names no command. */
int mfs_cli_main(int argc, char **argv);

#endif
