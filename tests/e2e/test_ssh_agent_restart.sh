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

e2e_run_both e2e_run_ssh_variant "$work" "$image"
echo
e2e_verdict "$work" "$patched_ran"
e2e_finish "$work" $?
