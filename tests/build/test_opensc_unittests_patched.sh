#!/usr/bin/env bash
# OpenSC's own unit tests (src/tests/unittests) pass in the patched tree: our series must not break
# upstream's tests (and brings its own there).
set -u
: "${OPENSC_PATCHED_SRC:?}"
d="$OPENSC_PATCHED_SRC/src/tests/unittests"
[ -f "$d/Makefile" ] || { echo "FAIL: $d is not configured"; exit 1; }
log=$(mktemp); trap 'rm -f "$log"' EXIT
# Run OpenSC's own harness as a fresh make: our make's command-line variables (automake's TEST_LOGS,
# a TESTS= given by the user) travel in MAKEFLAGS and would select our tests in OpenSC's tree.
if env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u MAKEOVERRIDES make -C "$d" check -j2 >"$log" 2>&1; then
	rc=0
else
	rc=1
fi
grep -E '^(# (TOTAL|PASS|SKIP|XFAIL|FAIL|XPASS|ERROR):|(PASS|FAIL|ERROR|SKIP): )' "$log"
if [ $rc -ne 0 ]; then
	for f in "$d"/*.log; do grep -q '^FAIL\|FAILED' "$f" 2>/dev/null && { echo "--- $f"; tail -n 30 "$f"; }; done
	tail -n 30 "$log"
	echo "FAIL: OpenSC unit tests failed in the patched tree"
	exit 1
fi
grep -q '^# PASS: *[1-9]' "$log" || { echo "FAIL: no OpenSC unit test ran"; exit 1; }
echo "PASS: OpenSC unit tests in the patched tree"
