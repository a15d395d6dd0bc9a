#!/usr/bin/env bash
# tests/lint.sh -- static analysis of compute/ and fs/ with cppcheck.
#
#   tests/lint.sh
#
# Exits 0 only when cppcheck reports nothing: every finding is either fixed
# or suppressed, with a reason, in tests/cppcheck-suppressions.txt.  The
# "information" checks are on so that a suppression matching nothing any
# more is reported too.  Installs cppcheck with apt-get when it is missing
# and this runs as root (as .ci/run does).
set -uo pipefail
cd "$(dirname "$0")/.." || exit 2

if ! command -v cppcheck >/dev/null; then
	if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
			cppcheck >/dev/null || exit 2
	else
		echo "lint.sh: cppcheck is not installed" >&2
		exit 2
	fi
fi

cppcheck --enable=warning,style,performance,portability,information \
	--inline-suppr --std=c11 --library=posix -q --error-exitcode=1 \
	--suppress=missingIncludeSystem \
	--suppressions-list=tests/cppcheck-suppressions.txt \
	-I compute -I include -I fs compute fs
rc=$?
if [ $rc = 0 ]; then
	echo "lint: cppcheck $(cppcheck --version | sed 's/^Cppcheck //'):" \
		"compute fs clean"
else
	echo "lint: cppcheck found problems (exit $rc)"
fi
exit $rc
