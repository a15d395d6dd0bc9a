#!/usr/bin/env bash
# setup.sh -- install what memofs needs from Debian 12 and build it.
#
#   bash mount-scripts/setup.sh [BUILD_DIR]     (default: build)
#
# Installs the Debian packages (when run as root and any is missing),
# configures meson once and builds.  Safe to run again: it only does what
# is missing.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-build}
packages=(build-essential meson ninja-build pkg-config fuse3 libfuse3-dev
          librocksdb-dev libxxhash-dev libfmt-dev zlib1g-dev libbz2-dev
          liblzma-dev libzstd-dev zstd python3-pytest python3-numpy
          python3-pandas
          python3-joblib rsync libhiredis-dev redis-server libssl-dev)

missing=()
for p in "${packages[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' ||
		missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	if [ "$(id -u)" -ne 0 ]; then
		echo "setup: missing packages: ${missing[*]}; run as root or" \
		     "install them with apt-get" >&2
		exit 1
	fi
	echo "setup: installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq "${missing[@]}" >/dev/null
fi

cd "$here"
if [ ! -f "$build/build.ninja" ]; then
	meson setup "$build" >/dev/null
fi
ninja -C "$build" >/dev/null
echo "setup: built $here/$build/fs/memofs"
