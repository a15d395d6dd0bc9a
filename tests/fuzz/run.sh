#!/usr/bin/env bash
# tests/fuzz/run.sh -- build and run the libFuzzer targets of tests/fuzz/.
#
#   tests/fuzz/run.sh [BUILD_DIR [SECONDS]]   fuzz each target SECONDS
#                                             (default 30) in turn
#   tests/fuzz/run.sh --regress [BUILD_DIR]   run every corpus file once
#                                             through its target (fast: CI)
#
# BUILD_DIR defaults to build-fuzz at the top of the repository.  Each
# target is built with clang, libFuzzer, ASan and UBSan (asserts on) into
# BUILD_DIR/fuzz_NAME.  Fuzzing works on a copy of the seed corpus,
# BUILD_DIR/corpus/NAME (kept between runs, so coverage accumulates; the
# repository's corpus is never written); crashing inputs go to
# BUILD_DIR/crashes/NAME/.  FUZZ_TARGETS="csv npy" limits the run to some
# targets.  One summary line per target; exits 1 when any target crashed,
# leaked, timed out or failed to build.
#
# A crash found here becomes a regression test: copy the input into
# tests/fuzz/corpus/NAME/ (named for what it is) with the fix.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
regress=0
if [ "${1:-}" = "--regress" ]; then
	regress=1
	shift
fi
build=${1:-$root/build-fuzz}
seconds=${2:-30}
targets=${FUZZ_TARGETS:-csv npy dz path fmt cmdfile record numtext units remote_url atod}
cc=${CC_FUZZ:-clang}

case $seconds in
'' | *[!0-9]*) echo "run.sh: SECONDS must be a number: $seconds" >&2; exit 2 ;;
esac
mkdir -p "$build" && build=$(cd "$build" && pwd) || exit 2

# memofs_config.h, which meson's configure_file() writes into its build
# directory (reg.c includes it): the same here, rewritten only on change.
version=$(sed -n "s/^ *version: '\(.*\)',\$/\1/p" "$root/meson.build" |
	head -n 1)
# RocksDB is loaded at run time by its SONAME (compute/engine/rdb.h), as
# meson.build finds it.
soname=$(objdump -p "$(${CC:-cc} -print-file-name=librocksdb.so)" |
	sed -n 's/^ *SONAME *//p')
{
	printf '#define MEMOFS_VERSION "%s"\n' "$version"
	printf '#define MEMOFS_ROCKSDB_SONAME "%s"\n' "$soname"
} >"$build/memofs_config.h.new"
if cmp -s "$build/memofs_config.h.new" "$build/memofs_config.h"; then
	rm -f "$build/memofs_config.h.new"
else
	mv "$build/memofs_config.h.new" "$build/memofs_config.h"
fi

cflags=(-g -O1 -fsanitize=fuzzer,address,undefined
	-fno-sanitize-recover=all -D_GNU_SOURCE -std=gnu11
	-Wall -Wextra -I"$root/compute" -I"$root/include" -I"$build")
cxx_cc=${CXX_FUZZ:-clang++}
cxxflags=(-g -O1 -fsanitize=fuzzer-no-link,address,undefined
	-fno-sanitize-recover=all -std=c++17 -Wall -Wextra -I"$root/compute")
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

# The compute sources and libraries each target needs.
sources() {
	case $1 in
	csv | npy | dz) echo data/ds.c data/csv.c data/npy.c data/stream.c \
		data/decompress.c util/log.c data/quote.c data/rng.c \
		util/clock.c util/file.c util/mem.c util/errmsg.c ;;
	path) echo data/ds.c data/csv.c data/npy.c data/stream.c \
		data/decompress.c \
		util/log.c data/quote.c data/rng.c \
		util/clock.c util/file.c util/mem.c util/errmsg.c util/name.c \
		functions/reg.c functions/resolve.c functions/argdir.c \
		functions/fn_builtin.c functions/fn_table.c \
		functions/ctx.c engine/memo.c engine/result.c engine/lru.c \
		engine/pool.c engine/key.c engine/store.c engine/rdb.c \
		engine/evict.c \
		data/fmt.c data/numtext.c engine/remote.c engine/remote_url.c ;;
	fmt) echo data/fmt.c ;;
	record) echo engine/result.c engine/store.c engine/rdb.c engine/key.c \
		data/fmt.c \
		data/numtext.c util/log.c util/clock.c util/mem.c ;;
	numtext) echo data/numtext.c ;;
	units) echo util/units.c ;;
	cmdfile) echo data/quote.c util/clock.c util/name.c util/errmsg.c ;;
		# and cmdfile.c, util/file.c, util/mem.c: see includes()
	remote_url) echo engine/remote_url.c ;;
	esac
}
# The C++ sources each target needs, compiled with clang++ on their own
# (fmt.c's digits come from libfmt through data/dtoa.cc, csv.c's numbers
# from libstdc++'s from_chars through data/atod.cc).
cxx_sources() {
	case $1 in
	csv | npy | dz) echo data/atod.cc ;;
	path) echo data/dtoa.cc data/atod.cc ;;
	fmt | record) echo data/dtoa.cc ;;
	atod) echo data/atod.cc ;;
	esac
}
# The compute sources a target #includes instead of linking (to wrap the
# allocator they call): not compiled on their own, but a reason to rebuild.
includes() {
	case $1 in
	cmdfile) echo functions/cmdfile.c util/file.c util/mem.c ;;
	esac
}
# decompress.c's libraries (Debian: zlib1g-dev, libbz2-dev, liblzma-dev,
# libzstd-dev).
compress="-lz -lbz2 -llzma -lzstd"
libs() {
	case $1 in
	csv | npy | dz) echo -lxxhash -lstdc++ -lm -lpthread $compress ;;
	path) echo -lhiredis -lcrypto -lxxhash -lfmt -lstdc++ -lm -ldl \
		-lpthread $compress ;;
	fmt) echo -lfmt -lstdc++ -lm ;;
	record) echo -lxxhash -lfmt -lstdc++ -lm -ldl -lpthread ;;
	numtext) echo -lm ;;
	units) echo ;;
	cmdfile) echo -lxxhash -lm ;;
	remote_url) echo ;;
	atod) echo -lstdc++ ;;
	esac
}
# Per-target libFuzzer options: fmt's inputs are 8 bytes a value.
options() {
	case $1 in
	fmt) echo -max_len=64 ;;
	*) echo -max_len=4096 ;;
	esac
}

# build NAME: compiles BUILD_DIR/fuzz_NAME unless it is newer than every
# source it is made of.
build() {
	local t=$1 exe=$build/fuzz_$1 srcs=() deps=() objs=() cxx=() f o
	for f in $(sources "$t"); do srcs+=("$root/compute/$f"); done
	for f in $(includes "$t"); do deps+=("$root/compute/$f"); done
	for f in $(cxx_sources "$t"); do cxx+=("$root/compute/$f"); done
	for f in "$here/fuzz_$t.c" "$here"/*.h "$here"/../*.h "${srcs[@]}" \
		"${deps[@]}" "${cxx[@]}" "$root"/compute/*/*.h \
		"$root"/include/*.h; do
		if [ ! -e "$exe" ] || [ "$f" -nt "$exe" ]; then
			for f in "${cxx[@]}"; do
				o=$build/$(basename "$f" .cc).o
				"$cxx_cc" "${cxxflags[@]}" -c "$f" -o "$o" ||
					return 1
				objs+=("$o")
			done
			# shellcheck disable=SC2046
			"$cc" "${cflags[@]}" "$here/fuzz_$t.c" "${srcs[@]}" \
				"${objs[@]}" $(libs "$t") -o "$exe.tmp" &&
				mv "$exe.tmp" "$exe"
			return
		fi
	done
}

# stat LOG NAME: a libFuzzer -print_final_stats value.
stat() {
	sed -n "s/^stat::$2: *//p" "$1" | tail -n 1
}

status=0
for t in $targets; do
	seeds=$here/corpus/$t
	log=$build/fuzz_$t.log
	if [ ! -f "$here/fuzz_$t.c" ]; then
		echo "fuzz_$t: FAILED: no such target"
		status=1
		continue
	fi
	if ! build "$t" 2>"$build/fuzz_$t.build.log"; then
		echo "fuzz_$t: FAILED to build (see $build/fuzz_$t.build.log)"
		cat "$build/fuzz_$t.build.log" >&2
		status=1
		continue
	fi
	crashes=$build/crashes/$t
	mkdir -p "$crashes"
	if [ $regress = 1 ]; then
		files=("$seeds"/*)
		# shellcheck disable=SC2046
		"$build/fuzz_$t" $(options "$t") -timeout=25 \
			-artifact_prefix="$crashes/" "${files[@]}" \
			>"$log" 2>&1
		rc=$?
		if [ $rc = 0 ]; then
			echo "fuzz_$t: ok, ${#files[@]} corpus inputs"
		else
			echo "fuzz_$t: FAILED (exit $rc) on the corpus:"
			grep -E '^(Running|SUMMARY|.*FZ_CHECK|==[0-9]+==ERROR)' \
				"$log" | tail -n 5
			echo "  full log: $log"
			status=1
		fi
		continue
	fi
	work=$build/corpus/$t
	mkdir -p "$work"
	cp -n "$seeds"/* "$work"/
	dict=()
	[ -f "$here/$t.dict" ] && dict=(-dict="$here/$t.dict")
	# shellcheck disable=SC2046
	"$build/fuzz_$t" $(options "$t") "${dict[@]}" \
		-max_total_time="$seconds" -timeout=25 -rss_limit_mb=2048 \
		-print_final_stats=1 -artifact_prefix="$crashes/" \
		"$work" >"$log" 2>&1
	rc=$?
	runs=$(stat "$log" number_of_executed_units)
	rate=$(stat "$log" average_exec_per_sec)
	new=$(stat "$log" new_units_added)
	cov=$(grep -Eo 'cov: [0-9]+' "$log" | tail -n 1)
	size=$(find "$work" -type f | wc -l)
	if [ $rc = 0 ]; then
		echo "fuzz_$t: ok, ${runs:-?} runs in ${seconds} s" \
			"(${rate:-?}/s), ${cov:-cov: ?}, ${new:-0} new inputs," \
			"corpus $size"
	else
		echo "fuzz_$t: FAILED (exit $rc) after ${runs:-?} runs:"
		grep -E '^(SUMMARY|.*FZ_CHECK|==[0-9]+==ERROR)' "$log" |
			tail -n 5
		sed -n 's/.*Test unit written to /  input: /p' "$log"
		echo "  full log: $log"
		status=1
	fi
done
exit $status
