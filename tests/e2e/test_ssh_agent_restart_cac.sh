#!/usr/bin/env bash
# The OpenSSH scenario of test_ssh_agent_restart.sh on a second card type: a CAC emulated by
# libcacard (OpenSC's unmodified `cac` driver), to show the recovery is not ePass2003-specific.
# The CAC's keys need no login (make_cac_db.sh explains why): this shows the PC/SC-level recovery;
# the login recovery is shown by test_ssh_agent_restart.sh on the virtual ePass2003.
# Expected: stock fails after the first pcscd restart, patched survives every restart.
# Skips (77) only when libcacard (libcacard0) or certutil (libnss3-tools) is not installed, or
# when the patched OpenSC is not built (after checking that stock fails).
set -uo pipefail
. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/common.sh"

if ! e2e_prereqs; then
	echo "SKIP: requirements missing (above)"
	exit 77
fi
if ! ldconfig -p 2>/dev/null | grep 'libcacard\.so\.0' >/dev/null || ! command -v certutil >/dev/null; then
	echo "SKIP: libcacard.so.0 (Debian package libcacard0) or certutil (libnss3-tools) not installed"
	exit 77
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/e2e-ssh-agent-cac.XXXXXX")
export E2E_RESTARTS=${E2E_RESTARTS:-2} E2E_SIGS=${E2E_SIGS:-3} E2E_DEADLINE=${E2E_DEADLINE:-5}
echo "work directory (logs): $work"
image=$(e2e_make_cac "$work") || { echo "FAIL: could not create the CAC's NSS database"; exit 1; }

e2e_run_both e2e_run_ssh_variant "$work" "$image"
echo
e2e_verdict "$work" "$patched_ran"
e2e_finish "$work" $?
