/* test_units.c -- unit test of sizes and durations (util/units.c). */
#include <errno.h>
#include <stdint.h>

#include "check.h"
#include "util/units.h"

static void size_ok(const char *s, uint64_t want)
{
	uint64_t v = 12345;

	CHECK_INT(units_parse_size(s, &v), 0);
	CHECK(v == want);
}

static void size_bad(const char *s, int rc)
{
	uint64_t v = 12345;

	CHECK_INT(units_parse_size(s, &v), rc);
	CHECK(v == 12345);		/* untouched */
}

static void dur_ok(const char *s, uint64_t secs)
{
	uint64_t v = 1;

	CHECK_INT(units_parse_duration(s, &v), 0);
	CHECK(v == secs * 1000000000u);
}

static void dur_bad(const char *s, int rc)
{
	uint64_t v = 1;

	CHECK_INT(units_parse_duration(s, &v), rc);
	CHECK(v == 1);
}

static void progress_ok(const char *s, double want)
{
	double v = -1;

	CHECK_INT(units_parse_progress(s, &v), 0);
	CHECK(v > want - 1e-12 && v < want + 1e-12);
}

static void progress_bad(const char *s)
{
	double v = -1;

	CHECK_INT(units_parse_progress(s, &v), -EINVAL);
	CHECK(v == -1);
}

static void progress_cases(void)
{
	progress_ok("memofs-progress: 0%", 0.0);
	progress_ok("memofs-progress: 42%", 0.42);
	progress_ok("memofs-progress: 99.5%", 0.995);
	progress_ok("memofs-progress: 100%", 1.0);
	progress_ok("memofs-progress: 007%", 0.07);
	progress_bad("memofs-progress: 100.1%");
	progress_bad("memofs-progress: 101%");
	progress_bad("memofs-progress: 1000%");
	progress_bad("memofs-progress: 0042%");
	progress_bad("memofs-progress: -1%");
	progress_bad("memofs-progress: 42");
	progress_bad("memofs-progress: 42% ");
	progress_bad("memofs-progress: 42%%");
	progress_bad("memofs-progress:  42%");
	progress_bad("memofs-progress: .5%");
	progress_bad("memofs-progress: 5.%");
	progress_bad("memofs-progress: 5.1234567891%");
	progress_bad("memofs-progress: nan%");
	progress_bad("memofs-progress: 1e1%");
	progress_bad("memofs-progress 42%");
	progress_bad("progress: 42%");
	progress_bad("");
}

int main(void)
{
	size_ok("0", 0);
	size_ok("4096", 4096);
	size_ok("64K", 64u << 10);
	size_ok("64k", 64u << 10);
	size_ok("5G", 5ull << 30);
	size_ok("5g", 5ull << 30);
	size_ok("3M", 3u << 20);
	size_ok("2T", 2ull << 40);
	size_ok("1KiB", 1024);
	size_ok("1MB", 1u << 20);
	size_ok("18446744073709551615", UINT64_MAX);
	size_ok("16777215T", 16777215ull << 40);
	size_bad("", -EINVAL);
	size_bad("K", -EINVAL);
	size_bad("-1", -EINVAL);
	size_bad("+1", -EINVAL);
	size_bad(" 1", -EINVAL);
	size_bad("1 ", -EINVAL);
	size_bad("1.5G", -EINVAL);
	size_bad("0x10", -EINVAL);
	size_bad("5X", -EINVAL);
	size_bad("5GG", -EINVAL);
	size_bad("5Gi", -EINVAL);
	size_bad("5 G", -EINVAL);
	size_bad("5\x07", -EINVAL);
	size_bad("5@", -EINVAL);
	size_bad("18446744073709551616", -ERANGE);
	size_bad("16777216T", -ERANGE);
	size_bad("184467440737095516161/", -EINVAL);	/* both: bad text */
	size_bad("99999999999999999999X", -EINVAL);
	dur_ok("0", 0);
	dur_ok("30", 30);
	dur_ok("30s", 30);
	dur_ok("90m", 5400);
	dur_ok("2h", 7200);
	dur_ok("7d", 7 * 86400);
	dur_ok("2w", 14 * 86400);
	dur_bad("", -EINVAL);
	dur_bad("d", -EINVAL);
	dur_bad("1.5h", -EINVAL);
	dur_bad("7y", -EINVAL);
	dur_bad("7dd", -EINVAL);
	dur_bad("-7d", -EINVAL);
	dur_bad("7D", -EINVAL);
	dur_bad("18446744073709551615", -ERANGE);	/* as ns */
	dur_bad("99999999999999999999", -ERANGE);
	progress_cases();
	return check_report("units");
}
