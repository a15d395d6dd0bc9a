/* test_atod.c -- unit test of atod_decimal() (data/atod.cc) against
 * glibc's strtod(), the reference csv.c must match bit for bit.
 *
 * Named hard cases (round-half-even ties, the neighbours of 2^53 + 1,
 * the classic hard strtod() inputs, the edges of the subnormals and of
 * overflow, 20+ digit mantissas, exponents of many digits), the forms it
 * must decline (inf, nan, hex, blanks, out of range) and where a read
 * stops; Python's and NumPy's repr() test values (fmt_vectors.h) read
 * back to their doubles; then random decimals of every printf shape and
 * of 17 to 40 digits, and random bit patterns printed with 17 digits,
 * each against strtod().
 */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "data/atod.h"

struct fmt_case {
	double x;
	const char *repr;
};

#include "fmt_vectors.h"

static int same_double(double a, double b)
{
	return memcmp(&a, &b, sizeof(a)) == 0;
}

/* s, read by atod_decimal() and by strtod(): both read all of it, to the
 * same bits.  Returns 1 when they agree. */
static int agrees(const char *s)
{
	double got = -7.0, want;
	const char *end = s + strlen(s), *q;
	char *e;

	q = atod_decimal(s, end, &got);
	errno = 0;
	want = strtod(s, &e);
	if (q == end && e == end && same_double(got, want))
		return 1;
	fprintf(stderr, "  '%s': atod %s %a, strtod read %td: %a\n", s,
		q == end ? "read all:" : q ? "stopped early:" : "declined:",
		got, e - s, want);
	return 0;
}

/* s is declined: NULL, and *v left alone. */
static int declines(const char *s)
{
	double v = -7.0;

	return atod_decimal(s, s + strlen(s), &v) == NULL && v == -7.0;
}

static void test_hard(void)
{
	static const char *const hard[] = {
		/* 2^53 + 1 and its neighbours: ties to even, and just off */
		"9007199254740991", "9007199254740992", "9007199254740993",
		"9007199254740994", "9007199254740995", "9007199254740997",
		"9007199254740993.0000000000000000000001",
		"9007199254740992.9999999999999999999999",
		"9.007199254740993e15", "-9007199254740993",
		/* exact ties elsewhere: 1 + 2^-53, 2^-1074 * 1.5 */
		"1.00000000000000011102230246251565404236316680908203125",
		"1.00000000000000011102230246251565404236316680908203124",
		"1.00000000000000011102230246251565404236316680908203126",
		"7.4109846876186981626485318930233205854758970392148714663837852375101326090531312779794975454245398856969484704316857659638998506553390969459816219401617281718945106978546710679176872575177347315553307795408549809608457500958111373034747658096871009590975442271004757307809711118935784838675653998783503015228055934046593739791790738723868299395818481660169122019456499931289798411362062484498678713572180352209017023903285791732520220528974020802906854021606612375549983402671300035812486479041385743401875520901590172592547146296175134159774938718574737870961645638908718119841271673056017045493004705269590165763776884908267986972573366521765567941072508764337560846003984904972149117463085539556354188641513168478436313080237596295773983001708984374999e-324",
		"2.4703282292062327208828439643411068618252990130716238221279284125033775363510437593264991818081799618989828234772285886546332835517796989819938739800539093906315035659515570226392290858392449105184435931802849936536152500319370457678249219365623669863658480757001585769269903706311928279558551332927834338409351978015531246597263579574622766465272827220056374006485499977096599470454020828166226237857393450736339007967761930577506740176324673600968951340535537458516661134223766678604162159680461914467291840300530057530849048765391711386591646239524912623653881879636239373280423891018672348497668235089863388587925628302755995657524455507255189313690836254779186948667994968324049705821028513185451396213837722826145437693412532098591327667236328126e-324",
		/* the classic hard inputs (Paxson, Clinger, PHP, Java bugs) */
		"2.2250738585072011e-308", "2.2250738585072012e-308",
		"2.2250738585072014e-308", "2.225073858507201136057409796709131975934819546351645648023426109724822222021076945516529523908135087914149158913039621106870086438694594645527657207407820621743379988141063267329253552286881372149012981122451451889849057222307285255133155755015914397476397983411801999323962548289017107081850690630666655994938275772572015763062690663332647565300009245888316433037779791869612049497390377829704905051080609940730262937128958950003583799967207254304360284078895771796150945516748243471030702609144621572289880258182545180325707018860872113128079512233426288368622321503775666622503982534335974568884423900265498198385487948292206894721689831099698365846814022854243330660339850886445804001034933970427567186443383770486037861622771738545623065874679014086723327636718749999999999999999999999999999999999999e-308",
		"2.2250738585072011360574097967091319759348195463516456480234261097248222220210769455165295239081350879141491589130396211068700864386945946455276572074078206217433799881410632673292535522868813721490129811224514518898490572223072852551331557550159143974763979834118019993239625482890171070818506906306666559949382757725720157630626906633326475653000092458883164330377797918696120494973903778297049050510806099407302629371289589500035837999672072543043602840788957717961509455167482434710307026091446215722898802581825451803257070188608721131280795122334262883686223215037756666225039825343359745688844239002654981983854879482922068947216898310996983658468140228542433306603398508864458040010349339704275671864433837704860378616227717385456230658746790140867233276367187500000000000000000000000000000000000000e-308",
		"1.7976931348623157e308", "1.7976931348623158e308",
		"1.797693134862315708145274237317043567980705675258449965989174768031572607800285387605895586327668781715404589535143824642343213268894641827684675467035375169860499105765512820762454900903893289440758685084551339423045832369032229481658085593321233482747978262041447231687381771809192998812504040261841248583679e308",
		"4.9406564584124654e-324", "4.9e-324", "5e-324", "3e-324",
		"2.4703282292062328e-324", "1e-310", "-1e-310",
		"2.2250738585072009e-308", "4.4501477170144023e-308",
		"0.1", "0.2", "0.3", "1e23", "8.98846567431158e307",
		"7.038531e-26", "9.109e-31", "3.571e266", "3.08984926168550152811e-32",
		"1.00000005960464477550", "1.0000000596046447755",
		"2.2250738585072013e-308", "9214843084008499",
		"0.500000000000000166533453693773481063544750213623046875",
		"3.518437208883201171875e13", "62.5364939768271845828",
		"8.10109172351e-10", "1.50000000000000011102230246251565404236316680908203125",
		"9007199254740993.5", "179769313486231580793728971405301e276",
		"123456789012345678901234567890", "1234567890123456789012345678901234567890e-20",
		/* exponents of many digits, leading zeros, signs, no digits
		 * on one side of the point */
		"1e0000000000000000000000000000000000000000000000005",
		"1e-0000000000000000000000000000000000000000000000005",
		"1E+000000000000000000000000000000000000000000000000300",
		"0.00000000000000000000000000000000000000000000000000001e60",
		"100000000000000000000000000000000000000000000000000e-60",
		"000000000000000000000000000000000000000000001.5",
		"-0", "+0", "-0.0", "+0.0e-999999999999", "0e999999999999",
		"+1", "+.5", "-.5", "5.", "-5.e3", ".5e1", "1.5E-3",
		"0.47298583148997897", "-0.0051270781322723565",
		"1.2345678901234567e-05", "-1.7007356340383315",
	};

	for (size_t i = 0; i < sizeof(hard) / sizeof(hard[0]); i++)
		CHECK(agrees(hard[i]));
}

/* What is read exactly, by construction rather than by strtod(). */
static void test_exact(void)
{
	const char *s = "9007199254740993", *t = "12345";
	double v = 0;

	CHECK(atod_decimal(s, s + strlen(s), &v) == s + strlen(s));
	CHECK(same_double(v, 9007199254740992.0));	/* tie: even */
	s = "9007199254740995";
	CHECK(atod_decimal(s, s + strlen(s), &v) != NULL);
	CHECK(same_double(v, 9007199254740996.0));	/* tie: even */
	s = "-0";
	CHECK(atod_decimal(s, s + 2, &v) == s + 2);
	CHECK(same_double(v, -0.0));
	s = "4.9e-324";
	CHECK(atod_decimal(s, s + strlen(s), &v) != NULL);
	CHECK(same_double(v, 0x1p-1074));
	/* No NUL needed: the read stops at end. */
	CHECK(atod_decimal(t, t + 3, &v) == t + 3);
	CHECK(v == 123.0);
}

/* Where a read stops: the longest number, as strtod() reads it. */
static void test_prefix(void)
{
	static const struct {
		const char *s;
		size_t len;
		double v;
	} cases[] = {
		{ "1e+", 1, 1.0 }, { "1e", 1, 1.0 }, { "1E-x", 1, 1.0 },
		{ "1.5.3", 3, 1.5 }, { "12,3", 2, 12.0 }, { "7 ", 1, 7.0 },
		{ "2e3e4", 3, 2000.0 }, { "0x1p3", 1, 0.0 },
		{ "-3.25\n", 5, -3.25 }, { "1..2", 2, 1.0 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *s = cases[i].s, *q;
		char *e;
		double v = -7.0, w;

		q = atod_decimal(s, s + strlen(s), &v);
		CHECK(q == s + cases[i].len);
		CHECK(same_double(v, cases[i].v));
		w = strtod(s, &e);
		if (strncmp(s, "0x", 2) != 0)	/* strtod() reads hex */
			CHECK(e == q && same_double(v, w));
	}
}

static void test_declined(void)
{
	static const char *const no[] = {
		"", "+", "-", ".", "+.", "-.e5", "e5", "E5", " 1", "\t1",
		"+-1", "-+1", "--1", "++1", "inf", "-inf", "+inf", "Infinity",
		"INF", "nan", "-nan", "NaN", "nan(123)", "x1", "0", /* see below */
		"1e400", "-1e400", "1e-400", "-1e-400",
		"2.4703282292062327e-324", "1.7976931348623159e308",
		"1e99999999999999999999", "1e-99999999999999999999",
	};

	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
		if (strcmp(no[i], "0") == 0) {	/* the one that is not */
			CHECK(!declines(no[i]));
			continue;
		}
		if (!declines(no[i])) {
			CHECK(declines(no[i]));
			fprintf(stderr, "  '%s' was read\n", no[i]);
		}
	}
	/* What strtod() says about the out-of-range ones the caller asks. */
	errno = 0;
	CHECK(isinf(strtod("1e400", NULL)) && errno == ERANGE);
	errno = 0;
	CHECK(strtod("1e-400", NULL) == 0.0 && errno == ERANGE);
}

/* Python's and NumPy's repr() test values read back to their doubles. */
static void test_vectors(void)
{
	for (size_t i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
		const char *s = vectors[i].repr, *q;
		double v = -7.0;

		q = atod_decimal(s, s + strlen(s), &v);
		if (!isfinite(vectors[i].x)) {
			CHECK(q == NULL);
			continue;
		}
		if (q != s + strlen(s) || !same_double(v, vectors[i].x)) {
			CHECK(same_double(v, vectors[i].x));
			fprintf(stderr, "  '%s': %a, want %a\n", s, v,
				vectors[i].x);
		}
	}
}

/* splitmix64: a fixed sequence of well-mixed 64-bit patterns. */
static uint64_t next_bits(uint64_t *state)
{
	uint64_t z = (*state += UINT64_C(0x9e3779b97f4a7c15));

	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

/* Random doubles of every exponent (subnormals included) printed in the
 * shapes numpy.savetxt and pandas write, and random long decimals near
 * ties: all against strtod(). */
static void test_random(uint64_t *state, int n)
{
	char s[400];	/* "%.6f" of 1e308: 316 bytes */
	int bad = 0;

	for (int i = 0; i < n && bad < 10; i++) {
		uint64_t bits = next_bits(state);
		double x;

		memcpy(&x, &bits, sizeof(x));
		if (!isfinite(x))
			continue;
		if (i % 4 == 0)	/* values like a table's: randn-sized */
			x = ldexp((double)(bits >> 11), -53 - (int)(bits % 20));
		switch (i % 6) {	/* literal formats: -Wformat=2 */
		case 0: snprintf(s, sizeof(s), "%.17g", x); break;
		case 1: snprintf(s, sizeof(s), "%.16g", x); break;
		case 2: snprintf(s, sizeof(s), "%.15g", x); break;
		case 3: snprintf(s, sizeof(s), "%.18e", x); break;
		case 4: snprintf(s, sizeof(s), "%.6f", x); break;
		default: snprintf(s, sizeof(s), "%.25g", x); break;
		}
		if (!agrees(s))
			bad++;
	}
	for (int i = 0; i < n / 4 && bad < 10; i++) {
		/* 17 to 40 digits: a 17-digit value, then digits that put it
		 * on, just below or just above a tie */
		uint64_t b = next_bits(state);
		int k = snprintf(s, sizeof(s), "%.16e", (double)(b >> 11) *
				 0x1p-40);
		char *e = strchr(s, 'e'), exp[8];

		snprintf(exp, sizeof(exp), "%s", e);
		k = (int)(e - s);
		for (int j = (int)(b % 24); j > 0 && k < 60; j--)
			s[k++] = (char)('0' + next_bits(state) % 10);
		if (b & 1) {
			memset(s + k, b & 2 ? '0' : '9', 12);
			k += 12;
		}
		snprintf(s + k, sizeof(s) - (size_t)k, "%s", exp);
		if (!agrees(s))
			bad++;
	}
	CHECK_INT(bad, 0);
}

int main(int argc, char **argv)
{
	uint64_t state = 12;

	test_hard();
	test_exact();
	test_prefix();
	test_declined();
	test_vectors();
	test_random(&state, argc > 1 ? atoi(argv[1]) : 1000000);
	return check_report("atod");
}
