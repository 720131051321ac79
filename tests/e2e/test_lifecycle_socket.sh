#!/usr/bin/env bash
# Socket activation (Debian's default, pcscd.socket): pcscd-socket-holder keeps pcscd's listening
# socket; pcscd is killed (SIGTERM, then SIGKILL) and nobody restarts it — the next connection to the
# held socket does, as systemd would. With the patched module that connection is its own
# re-establish, queued on the socket until the new pcscd accepts it, so no signature should fail at
# all: not after the restart, and not across it.
# Expected: stock OpenSC never connects again (OpenSC #3395): pcscd is not re-activated and every
# signature after the kill fails. Patched: pcscd re-activated by the module at each kill, 0 failed
# signatures. E2E_EVENTS (2), E2E_WINDOW (5 s), E2E_KILL_AT (in-flight: pcscd dies while an APDU of
# the client is in flight, the case that is deterministic; "idle" lets the signal land whenever it
# does — make check-lifecycle alternates both; lifecycle_scenario.sh). pcscd dying with a request
# unread in its socket (which an idle kill hits now and then) is test_lifecycle_socket_queued.sh.
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/common.sh"
. "$here/lifecycle.sh"
export E2E_EVENTS=${E2E_EVENTS:-2} E2E_WINDOW=${E2E_WINDOW:-5} E2E_KILL_AT=${E2E_KILL_AT:-in-flight}

e2e_lifecycle_main socket e2e_lifecycle_socket_verdict
