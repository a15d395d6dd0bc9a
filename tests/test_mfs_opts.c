/* test_mfs_opts.c -- unit test of the command line (fs/mfs_opts.c).
 *
 * Each good command line is checked field by field against what
 * mfs_opts.h promises; each bad one (unknown options, every numeric
 * option out of range or not a number, names with control bytes, missing
 * and extra arguments) must fail with -EINVAL and a one-line message that
 * names the offending text.  Every parse, good or bad, is freed.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "engine/remote.h"
#include "mfs_opts.h"

#define MAXARGS 16

/* Parses the NULL-terminated argument list after "memofs". */
static int parse(struct mfs_opts *o, char *err, const char *const *args)
{
	char *argv[MAXARGS + 2] = { (char *)"memofs" };
	int argc = 1;

	for (; *args && argc <= MAXARGS; args++)
		argv[argc++] = (char *)*args;
	err[0] = '\0';
	return mfs_opts_parse(argc, argv, o, err, MFS_ERR_MAX);
}

#define ARGS(...) ((const char *const[]){ __VA_ARGS__, NULL })

static void test_defaults(void)
{
	struct mfs_opts o;
	char err[MFS_ERR_MAX];
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);

	CHECK_INT(parse(&o, err, ARGS("/mnt/m")), 0);
	CHECK_STR(o.mountpoint, "/mnt/m");
	CHECK(o.data == NULL);
	CHECK_INT(o.workers, cpus > 0 ? cpus : 1);
	CHECK_INT(o.uid, -1);
	CHECK_INT(o.gid, -1);
	CHECK_INT(o.umask, -1);
	CHECK(!o.foreground && !o.debug && !o.quiet && !o.stat_compute);
	CHECK(o.cache_dir == NULL && o.kernel_flags == NULL);
	CHECK(o.delay == 0 && o.timeout == 0);
	CHECK(o.table.sep == 0 && o.table.header == DS_HEADER_DETECT &&
	      o.table.skiprows == 0 && o.table.comment == 0);
	mfs_opts_free(&o);
}

/* The CSV options: each separator name, header=N|none, skiprows, comment;
 * the last given wins. */
static void test_table(void)
{
	static const struct {
		const char *opt;
		char sep;
	} seps[] = {
		{ "sep=comma", ',' }, { "sep=semicolon", ';' },
		{ "sep=tab", '\t' }, { "sep=\\t", '\t' }, { "sep=pipe", '|' },
		{ "sep=whitespace", DS_SEP_WHITESPACE },
		{ "sep=space", DS_SEP_WHITESPACE }, { "sep=;", ';' },
		{ "sep=:", ':' }, { "sep=#", '#' },
	};
	struct mfs_opts o;
	char err[MFS_ERR_MAX];

	for (size_t i = 0; i < sizeof(seps) / sizeof(seps[0]); i++) {
		CHECK_INT(parse(&o, err, ARGS("-o", seps[i].opt, "/m")), 0);
		CHECK_INT(o.table.sep, seps[i].sep);
		mfs_opts_free(&o);
	}
	CHECK_INT(parse(&o, err, ARGS("-o", "header=none,skiprows=3",
				      "-o", "comment=%,sep=tab", "/m")), 0);
	CHECK_INT(o.table.header, DS_HEADER_NONE);
	CHECK_INT(o.table.skiprows, 3);
	CHECK_INT(o.table.comment, '%');
	CHECK_INT(o.table.sep, '\t');
	mfs_opts_free(&o);
	CHECK_INT(parse(&o, err, ARGS("-o", "header=none,header=2", "/m")), 0);
	CHECK_INT(o.table.header, 2);
	mfs_opts_free(&o);
	CHECK_INT(parse(&o, err, ARGS("-o", "header=0", "/m")), 0);
	CHECK_INT(o.table.header, 0);
	mfs_opts_free(&o);
}

static void test_good(void)
{
	struct mfs_opts o;
	char err[MFS_ERR_MAX];

	CHECK_INT(parse(&o, err, ARGS("-d", "-o", "workers=3,delay=0.5",
				      "-oquiet,stat=compute,cache=/c",
				      "-o", "plugin=/a.so,plugin=/b.so",
				      "-o", "functions=/f,timeout=2.5",
				      "data.csv", "/mnt/m")), 0);
	CHECK(o.foreground && o.debug && o.quiet && o.stat_compute);
	CHECK_INT(o.workers, 3);
	CHECK(o.delay == 0.5 && o.timeout == 2.5);
	CHECK_STR(o.cache_dir, "/c");
	CHECK_INT(o.nplugins, 2);
	CHECK(o.nplugins == 2 && strcmp(o.plugins[0], "/a.so") == 0 &&
	      strcmp(o.plugins[1], "/b.so") == 0);
	CHECK(o.nfunctions == 1 && strcmp(o.functions[0], "/f") == 0);
	CHECK_STR(o.data, "data.csv");
	CHECK_STR(o.mountpoint, "/mnt/m");
	mfs_opts_free(&o);

	/* fstab's options: kernel flags kept in order, no-ops accepted. */
	CHECK_INT(parse(&o, err, ARGS("-o", "rw,nosuid,noatime,nodev,"
				      "uid=1000,gid=0,umask=027,"
				      "fsname=memo,subtype=memofs,"
				      "auto_unmount,allow_other", "/m")), 0);
	CHECK_STR(o.kernel_flags, "nosuid,nodev");
	CHECK_INT(o.uid, 1000);
	CHECK_INT(o.gid, 0);
	CHECK_INT(o.umask, 027);
	CHECK_STR(o.fsname, "memo");
	CHECK_STR(o.subtype, "memofs");
	CHECK(o.auto_unmount && o.allow_other);
	mfs_opts_free(&o);

	/* "--" ends the options: "-f" is then the mount point. */
	CHECK_INT(parse(&o, err, ARGS("--", "-f")), 0);
	CHECK_STR(o.mountpoint, "-f");
	CHECK(!o.foreground);
	mfs_opts_free(&o);

	/* --help and --version need no mount point; --functions takes DATA
	 * at most. */
	CHECK_INT(parse(&o, err, ARGS("--help")), 0);
	CHECK(o.show_help && o.mountpoint == NULL);
	mfs_opts_free(&o);
	CHECK_INT(parse(&o, err, ARGS("-V")), 0);
	CHECK(o.show_version);
	mfs_opts_free(&o);
	CHECK_INT(parse(&o, err, ARGS("--functions", "d.npy")), 0);
	CHECK(o.list_functions && o.mountpoint == NULL);
	CHECK_STR(o.data, "d.npy");
	mfs_opts_free(&o);
}

/* A bad command line: -EINVAL, one line naming what. */
static void check_bad(const char *const *args, const char *what)
{
	struct mfs_opts o;
	char err[MFS_ERR_MAX];

	CHECK_INT(parse(&o, err, args), -EINVAL);
	CHECK(err[0] != '\0' && strchr(err, '\n') == NULL);
	if (!strstr(err, what))
		fprintf(stderr, "message '%s' does not name '%s'\n", err,
			what);
	CHECK(strstr(err, what) != NULL);
	mfs_opts_free(&o);
}

static void test_bad(void)
{
	check_bad(ARGS("/m", "-x"), "'-x'");
	check_bad(ARGS("-o", "nosuchopt", "/m"), "nosuchopt");
	check_bad(ARGS("-o", "quiet=1", "/m"), "quiet=1");
	check_bad(ARGS("-o"), "-o needs");
	check_bad(ARGS("-o", "workers=0", "/m"), "workers=0");
	check_bad(ARGS("-o", "workers=1025", "/m"), "workers=1025");
	check_bad(ARGS("-o", "workers=2x", "/m"), "workers=2x");
	check_bad(ARGS("-o", "workers=", "/m"), "workers=");
	check_bad(ARGS("-o", "workers=-1", "/m"), "workers=-1");
	check_bad(ARGS("-o", "delay=-1", "/m"), "delay=-1");
	check_bad(ARGS("-o", "delay=nan", "/m"), "delay=nan");
	check_bad(ARGS("-o", "delay=86401", "/m"), "delay=86401");
	/* No hexadecimal, signs or blanks where strtod/strtol take them. */
	check_bad(ARGS("-o", "delay=0x10", "/m"), "delay=0x10");
	check_bad(ARGS("-o", "delay= 2", "/m"), "delay= 2");
	check_bad(ARGS("-o", "delay=+2", "/m"), "delay=+2");
	check_bad(ARGS("-o", "timeout=0x1p3", "/m"), "timeout=0x1p3");
	check_bad(ARGS("-o", "workers= 2", "/m"), "workers= 2");
	check_bad(ARGS("-o", "workers=+2", "/m"), "workers=+2");
	check_bad(ARGS("-o", "workers=0x2", "/m"), "workers=0x2");
	check_bad(ARGS("-o", "timeout=0", "/m"), "timeout=0");
	check_bad(ARGS("-o", "timeout=inf", "/m"), "timeout=inf");
	check_bad(ARGS("-o", "stat=yes", "/m"), "stat=yes");
	/* A value with a newline or an escape is quoted: one line. */
	check_bad(ARGS("-o", "stat=a\nb", "/m"), "stat=a\\x0ab");
	check_bad(ARGS("-o", "timeout=1\n2", "/m"), "timeout=1\\x0a2");
	check_bad(ARGS("-o", "max_age=7d\nx", "/m"), "max_age=7d\\x0ax");
	check_bad(ARGS("-o", "workers=2\n", "/m"), "workers=2\\x0a");
	check_bad(ARGS("-o", "delay=\x1b[31m", "/m"), "delay=\\x1b[31m");
	check_bad(ARGS("-o", "cache=", "/m"), "cache=");
	check_bad(ARGS("-o", "plugin=", "/m"), "plugin=");
	check_bad(ARGS("-o", "functions=", "/m"), "functions=");
	check_bad(ARGS("-o", "uid=-5", "/m"), "uid=");
	check_bad(ARGS("-o", "uid=4294967295", "/m"), "uid=");
	check_bad(ARGS("-o", "gid=x", "/m"), "gid=");
	check_bad(ARGS("-o", "umask=888", "/m"), "umask=");
	check_bad(ARGS("-o", "umask=1000", "/m"), "umask=");
	check_bad(ARGS("-o", "subtype=a/b", "/m"), "subtype=");
	check_bad(ARGS("-o", "fsname=a\tb", "/m"), "fsname=");
	check_bad(ARGS("-o", "sep=", "/m"), "sep=");
	check_bad(ARGS("-o", "sep=ab", "/m"), "sep=ab");
	check_bad(ARGS("-o", "sep=a", "/m"), "sep=a");
	check_bad(ARGS("-o", "sep=1", "/m"), "sep=1");
	check_bad(ARGS("-o", "sep=.", "/m"), "sep=.");
	check_bad(ARGS("-o", "sep=-", "/m"), "sep=-");
	check_bad(ARGS("-o", "sep=\"", "/m"), "sep=");
	check_bad(ARGS("-o", "sep=\x01", "/m"), "sep=");
	check_bad(ARGS("-o", "sep", "/m"), "'-o sep'");
	check_bad(ARGS("-o", "header=", "/m"), "header=");
	check_bad(ARGS("-o", "header=-1", "/m"), "header=-1");
	check_bad(ARGS("-o", "header=+1", "/m"), "header=+1");
	check_bad(ARGS("-o", "header=1000000001", "/m"), "header=1000000001");
	check_bad(ARGS("-o", "header=no", "/m"), "header=no");
	check_bad(ARGS("-o", "skiprows=x", "/m"), "skiprows=x");
	check_bad(ARGS("-o", "skiprows= 1", "/m"), "skiprows=");
	check_bad(ARGS("-o", "skiprows=0x1", "/m"), "skiprows=0x1");
	check_bad(ARGS("-o", "comment=", "/m"), "comment=");
	check_bad(ARGS("-o", "comment=##", "/m"), "comment=##");
	check_bad(ARGS("-o", "comment= ", "/m"), "comment=");
	check_bad(ARGS("-o", "comment=\"", "/m"), "comment=");
	check_bad(ARGS("-f"), "missing MOUNTPOINT");
	check_bad(ARGS("a", "b", "c"), "'c'");
	check_bad(ARGS("--functions", "a", "b"), "--functions");
}

static void test_remote(void)
{
	struct mfs_opts o;
	char err[MFS_ERR_MAX];

	CHECK_INT(parse(&o, err, ARGS("/m")), 0);
	CHECK(!o.remote && !o.remote_readonly && o.remote_prefix == NULL);
	CHECK_INT(o.remote_timeout_ms, REMOTE_TIMEOUT_MS);
	CHECK_INT(o.remote_max_value, REMOTE_MAX_VALUE);
	mfs_opts_free(&o);
	CHECK_INT(parse(&o, err, ARGS("-o", "remote=redis://10.0.0.5:7000/2,"
				      "remote_prefix=team.a,remote_readonly",
				      "-o", "remote_timeout=250,"
				      "remote_max_value=16M,"
				      "remote_password_file=/etc/pw,"
				      "remote_key_file=/etc/k", "/m")),
		  0);
	CHECK(o.remote && !o.remote_url.is_unix && o.remote_readonly);
	CHECK_STR(o.remote_url.host, "10.0.0.5");
	CHECK_INT(o.remote_url.port, 7000);
	CHECK_INT(o.remote_url.db, 2);
	CHECK_STR(o.remote_prefix, "team.a");
	CHECK_INT(o.remote_timeout_ms, 250);
	CHECK_INT(o.remote_max_value, 16u << 20);
	CHECK_STR(o.remote_password_file, "/etc/pw");
	CHECK_STR(o.remote_key_file, "/etc/k");
	mfs_opts_free(&o);
	CHECK_INT(parse(&o, err, ARGS("-o", "remote=unix:/run/r.sock,"
				      "remote_max_value=512M", "/m")), 0);
	CHECK(o.remote && o.remote_url.is_unix);
	CHECK_STR(o.remote_url.path, "/run/r.sock");
	CHECK_INT(o.remote_max_value, 512u << 20);
	mfs_opts_free(&o);
	CHECK_INT(parse(&o, err, ARGS("-o", "remote=redis://h,"
				      "remote_max_value=1", "/m")), 0);
	CHECK_INT(o.remote_max_value, 1);
	mfs_opts_free(&o);
	/* The units of every size option (units_parse_size()). */
	CHECK_INT(parse(&o, err, ARGS("-o", "remote=redis://h,"
				      "remote_max_value=2KB", "/m")), 0);
	CHECK_INT(o.remote_max_value, 2048);
	mfs_opts_free(&o);
	CHECK_INT(parse(&o, err, ARGS("-o", "remote=redis://h,"
				      "remote_max_value=64m,max_size=64MiB",
				      "/m")), 0);
	CHECK_INT(o.remote_max_value, 64u << 20);
	CHECK_INT(o.max_size, 64u << 20);
	mfs_opts_free(&o);

	check_bad(ARGS("-o", "remote=", "/m"), "remote=");
	check_bad(ARGS("-o", "remote=redis://u:p@h", "/m"), "password");
	check_bad(ARGS("-o", "remote=rediss://h", "/m"), "TLS");
	check_bad(ARGS("-o", "remote=redis://h:65536", "/m"), "port");
	check_bad(ARGS("-o", "remote=unix:rel", "/m"), "absolute");
	check_bad(ARGS("-o", "remote", "/m"), "remote");
	check_bad(ARGS("-o", "remote=redis://h,remote_prefix=", "/m"),
		  "remote_prefix=");
	check_bad(ARGS("-o", "remote=redis://h,remote_prefix=a:b", "/m"),
		  "remote_prefix=");
	check_bad(ARGS("-o", "remote=redis://h,remote_readonly=1", "/m"),
		  "remote_readonly=1");
	check_bad(ARGS("-o", "remote=redis://h,remote_timeout=0", "/m"),
		  "remote_timeout=0");
	check_bad(ARGS("-o", "remote=redis://h,remote_timeout=600001", "/m"),
		  "remote_timeout=600001");
	check_bad(ARGS("-o", "remote=redis://h,remote_timeout=+5", "/m"),
		  "remote_timeout=+5");
	check_bad(ARGS("-o", "remote=redis://h,remote_max_value=0", "/m"),
		  "remote_max_value=0");
	check_bad(ARGS("-o", "remote=redis://h,remote_max_value=513M", "/m"),
		  "remote_max_value=513M");
	check_bad(ARGS("-o", "remote=redis://h,remote_max_value=1G", "/m"),
		  "remote_max_value=1G");
	check_bad(ARGS("-o", "remote=redis://h,remote_max_value=2kb", "/m"),
		  "remote_max_value=2kb");
	check_bad(ARGS("-o", "remote=redis://h,remote_max_value=1e400", "/m"),
		  "remote_max_value=1e400");
	check_bad(ARGS("-o", "remote=redis://h,remote_max_value=", "/m"),
		  "remote_max_value=");
	check_bad(ARGS("-o", "remote=redis://h,remote_max_value=-1", "/m"),
		  "remote_max_value=-1");
	check_bad(ARGS("-o", "remote=redis://h,remote_max_value="
		       "99999999999999999999", "/m"), "remote_max_value=");
	check_bad(ARGS("-o", "remote=redis://h,remote_password_file=", "/m"),
		  "remote_password_file=");
	check_bad(ARGS("-o", "remote=redis://h,remote_key_file=", "/m"),
		  "remote_key_file=");
	/* remote_* without remote=URL. */
	check_bad(ARGS("-o", "remote_readonly", "/m"), "need -o remote");
	check_bad(ARGS("-o", "remote_timeout=1000", "/m"), "need -o remote");
	check_bad(ARGS("-o", "remote_prefix=x", "/m"), "need -o remote");
	check_bad(ARGS("-o", "remote_key_file=/k", "/m"), "need -o remote");
}

int main(void)
{
	test_defaults();
	test_good();
	test_table();
	test_bad();
	test_remote();
	return check_report("mfs_opts");
}
