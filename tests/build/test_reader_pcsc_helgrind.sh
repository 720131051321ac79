#!/usr/bin/env bash
# The reader driver's unit tests (src/tests/unittests/reader-pcsc in the patched tree) under valgrind's
# helgrind: the thread cases (a signer recovering while pcsc_detect_readers lists, sc_cancel while a
# waiter renews its wait context, sc_release_context while a waiter blocks) with real mutexes must be
# free of data races and lock-order errors. Also `make check-reader-helgrind`.
# Suppressions: tests/build/helgrind.supp (each one justified there).
set -u
: "${OPENSC_PATCHED_SRC:?}"
: "${top_srcdir:?}"
d="$OPENSC_PATCHED_SRC/src/tests/unittests"
[ -f "$d/Makefile" ] || { echo "FAIL: $d is not configured"; exit 1; }
command -v valgrind >/dev/null || { echo "SKIP: valgrind is not installed (bootstrap installs it)"; exit 77; }
log=$(mktemp); trap 'rm -f "$log"' EXIT
# a fresh make (our MAKEFLAGS would select our tests there), only the two check objects
if ! env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u MAKEOVERRIDES make -C "$d" reader-pcsc libfakepcsc.la >"$log" 2>&1; then
	tail -n 30 "$log"; echo "FAIL: cannot build reader-pcsc in the patched tree"; exit 1
fi
cd "$d" || exit 1
rc=0
"$OPENSC_PATCHED_SRC/libtool" --mode=execute valgrind --tool=helgrind --error-exitcode=3 \
	--suppressions="$top_srcdir/tests/build/helgrind.supp" ./reader-pcsc >"$log" 2>&1 || rc=$?
grep -E '^\[  (PASSED|FAILED) |ERROR SUMMARY' "$log"
if [ $rc -ne 0 ]; then
	grep -B3 -A25 'Possible data race|lock order|unlocked a not-locked|Thread #[0-9]+:' "$log" | head -n 150
	echo "FAIL: reader-pcsc under helgrind (exit $rc)"
	exit 1
fi
grep -q '^\[  PASSED  \] [1-9]' "$log" || { echo "FAIL: no reader-pcsc case ran"; exit 1; }
grep -q 'ERROR SUMMARY: 0 errors' "$log" || { echo "FAIL: helgrind reported errors"; exit 1; }
echo "PASS: reader-pcsc unit tests clean under helgrind"
