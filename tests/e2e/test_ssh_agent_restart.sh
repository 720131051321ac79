#!/usr/bin/env bash
# End to end, through OpenSSH's real ssh-agent and a real pcscd (private namespaces, vpcd bridge,
# virtual ePass2003): `ssh-add -s opensc-pkcs11.so` once, then signatures across pcscd restarts
# (SIGTERM and SIGKILL), every signature verified, no `ssh-add -e/-s` after a restart.
# Expected: stock OpenSC 0.27.1 fails after the first restart (OpenSC #3395, "agent refused
# operation"); patched OpenSC survives every restart.
# Skips (77) only when something the scenario needs is not installed (named in the log), or when
# the patched OpenSC is not built (after checking that stock fails).
set -uo pipefail
. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/common.sh"

if ! e2e_prereqs; then
	echo "SKIP: requirements missing (above)"
	exit 77
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/e2e-ssh-agent.XXXXXX")
export E2E_RESTARTS=${E2E_RESTARTS:-4} E2E_SIGS=${E2E_SIGS:-3} E2E_DEADLINE=${E2E_DEADLINE:-5}
echo "work directory (logs): $work"

image=$(e2e_personalise "$work") || { echo "FAIL: could not personalise the virtual ePass2003"; exit 1; }
echo "personalised card image: $image"

failures=0
e2e_run_ssh_variant stock "$OPENSC_STOCK_PREFIX" "$work/stock" "$image"
patched_ran=0
if e2e_variant_available "${OPENSC_PATCHED_PREFIX:-}"; then
	e2e_run_ssh_variant patched "$OPENSC_PATCHED_PREFIX" "$work/patched" "$image"
	patched_ran=1
fi
echo
e2e_table "$work/stock/result.env" "$work/patched/result.env"
echo

# stock: the scenario must reproduce the bug — working before, failing after every restart.
s="$work/stock/result.env"
if [ ! -r "$s" ] || [ "$(e2e_result "$s" status)" != done ]; then
	echo "FAIL: stock scenario did not run: $(e2e_result "$s" reason 2>/dev/null)"
	failures=$((failures + 1))
elif [ "$(e2e_result "$s" restarts_survived)" != 0 ] || [ "$(e2e_result "$s" sig_fail)" = 0 ]; then
	echo "FAIL: stock OpenSC survived pcscd restarts; the scenario no longer reproduces OpenSC #3395"
	failures=$((failures + 1))
else
	echo "ok: stock fails after a pcscd restart as measured ($(e2e_result "$s" first_fail_reason | cut -c1-80))"
fi

if [ $patched_ran = 0 ]; then
	echo "patched OpenSC not available (OPENSC_PATCHED_PREFIX='${OPENSC_PATCHED_PREFIX:-}')"
	[ $failures = 0 ] && { rm -rf "$work"; echo "SKIP: patched variant not built"; exit 77; }
	exit 1
fi
p="$work/patched/result.env"
if [ ! -r "$p" ] || [ "$(e2e_result "$p" status)" != done ]; then
	echo "FAIL: patched scenario did not run: $(e2e_result "$p" reason 2>/dev/null)"
	failures=$((failures + 1))
elif [ "$(e2e_result "$p" restarts_survived)" != "$(e2e_result "$p" restarts_planned)" ] ||
	[ "$(e2e_result "$p" restarts)" != "$(e2e_result "$p" restarts_planned)" ]; then
	echo "FAIL: patched OpenSC survived $(e2e_result "$p" restarts_survived) of $(e2e_result "$p" restarts_planned) restarts"
	failures=$((failures + 1))
else
	echo "ok: patched survived every restart ($(e2e_result "$p" outage_fail) attempt(s) failed while the card was not yet back)"
fi

if [ $failures = 0 ]; then
	rm -rf "$work"
	exit 0
fi
echo "logs kept in $work"
exit 1
