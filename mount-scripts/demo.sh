#!/usr/bin/env bash
# demo.sh -- replay joblib's "Checkpoint using joblib.Memory and
# joblib.Parallel" example (shared/seed) through memofs.
#
#   bash mount-scripts/demo.sh [--delay SECONDS]
#
# It installs and builds first (mount-scripts/setup.sh) unless MEMOFS
# names a memofs binary.
# The seed computes the mean of each of the 4 columns of
# RandomState(42).randn(10000, 4), where extracting a column costs 2 s.
# Here the mount's demo dataset is that array, `column` is the costly step
# (-o delay=2) and each `mean/colN` reads its column through the cache:
#   1. sequential: 1 worker, the 4 means one after the other (~8 s)
#   2. first round: 2 workers, 4 readers at once (~4 s)
#   3. second round: the same reads, now from the cache (~0 s)
#   4. reuse: max/colN reuses the cached columns (~0 s)
# then unmounts, which clears the cache, like memory.clear().
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
delay=2
if [ "${1:-}" = "--delay" ]; then
	delay=$2
fi

# MEMOFS names an already built binary (the tests use it); else build.
memofs=${MEMOFS:-}
if [ -z "$memofs" ]; then
	bash "$here/mount-scripts/setup.sh" build >&2
	memofs=$here/build/fs/memofs
fi
mnt=$(mktemp -d /tmp/memofs-demo-XXXXXX)
mounted=0	# whether $mnt is ours to unmount (no mount table parsing)
cleanup() {
	if [ "$mounted" = 1 ]; then
		"$here/mount-scripts/memofs-mount" -u "$mnt" || true
	fi
	rmdir "$mnt" 2>/dev/null || true
}
trap cleanup EXIT

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }'; }

mount_demo() {
	MEMOFS=$memofs "$here/mount-scripts/memofs-mount" \
		-o "workers=$1,delay=$delay,quiet" "$mnt"
	mounted=1
}

unmount_demo() {
	mounted=0
	"$here/mount-scripts/memofs-mount" -u "$mnt"
}

# Reads FUNCTION/col0..col3, all at once, and prints the 4 results.
read_all() {
	local fn=$1 col pids=() out
	out=$(mktemp -d)
	for col in 0 1 2 3; do
		cat "$mnt/$fn/col$col" >"$out/$col" & pids+=($!)
	done
	wait "${pids[@]}"
	cat "$out"/0 "$out"/1 "$out"/2 "$out"/3 | tr '\n' ' '
	rm -r "$out"
}

echo "memofs demo: mean of each column of RandomState(42).randn(10000, 4),"
echo "the column extraction costing $delay s (the joblib example in shared/seed)"

mount_demo 1
start=$(now)
for col in 0 1 2 3; do cat "$mnt/mean/col$col" >/dev/null; done
echo
echo "Sequential processing"
echo "Elapsed time for the entire processing: $(elapsed "$start") s"
unmount_demo

mount_demo 2
start=$(now)
means=$(read_all mean)
echo
echo "First round - caching the data"
echo "Elapsed time for the entire processing: $(elapsed "$start") s"

start=$(now)
again=$(read_all mean)
echo
echo "Second round - reloading from the cache"
echo "Elapsed time for the entire processing: $(elapsed "$start") s"

start=$(now)
maxes=$(read_all max)
echo
echo "Reusing intermediate checkpoints"
echo "Elapsed time for the entire processing: $(elapsed "$start") s"

echo
echo "means: $means"
echo "maxes: $maxes"
[ "$means" = "$again" ] || { echo "demo: cached means differ" >&2; exit 1; }
unmount_demo
echo "unmounted: the cache is cleared"
