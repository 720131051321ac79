#!/usr/bin/env bash
# The real-pcscd harness itself: private pcscd + vpcd bridge (scripted card) + OpenSC's opensc-tool;
# pcscd restarted with SIGTERM and SIGKILL; the card must answer after each restart and must have
# been power-cycled; nothing may be left running afterwards.
set -uo pipefail
. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/common.sh"
if ! harness_prereqs || ! e2e_variant_available "${OPENSC_STOCK_PREFIX:-}"; then
	echo "SKIP: requirements missing (above) or no stock OpenSC at '${OPENSC_STOCK_PREFIX:-}'"
	exit 77
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/e2e-harness.XXXXXX")
if ! OPENSC_PREFIX="$OPENSC_STOCK_PREFIX" "$E2E_HARNESS/netns-run" "$E2E_HARNESS/selftest.sh" "$work"; then
	echo "FAIL: harness self-test (logs in $work)"
	exit 1
fi
# The namespace took everything with it: no bridge from this run may survive.
if pgrep -f -- "$work" >/dev/null 2>&1; then
	echo "FAIL: a process of this run is still alive: $(pgrep -af -- "$work")"
	exit 1
fi
rm -rf "$work"
echo "ok: harness self-test"
