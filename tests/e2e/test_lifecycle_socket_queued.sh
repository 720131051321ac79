#!/usr/bin/env bash
# Socket activation, pcscd dying with a request of the client unread in its socket: right after a
# signature pcscd is stopped (SIGSTOP) for 0.3 s, so the client's next C_Sign writes its
# SCardBeginTransaction and waits; then pcscd gets SIGTERM / SIGKILL. The kernel resets the
# connection (unread data) and libpcsclite 1.9.9 reports the reset as SCARD_W_SECURITY_VIOLATION
# (0x8010006A), not as SCARD_E_NO_SERVICE / SCARD_F_COMM_ERROR. Same expectations as
# test_lifecycle_socket.sh: stock fails and is never re-activated; patched re-activates pcscd and no
# signature fails.
# Series v1 does not count 0x8010006A as "service lost": the call fails once (C_Sign ->
# CKR_GENERAL_ERROR) before the next call recovers — with SIGKILL every time, with SIGTERM
# sometimes. Listed in XFAIL_TESTS (tests/e2e/local.mk) until the series handles it; an XPASS
# then fails `make check` on purpose.
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/common.sh"
. "$here/lifecycle.sh"
export E2E_EVENTS=${E2E_EVENTS:-2} E2E_WINDOW=${E2E_WINDOW:-5} E2E_KILL_AT=${E2E_KILL_AT:-queued}
e2e_lifecycle_main socket e2e_lifecycle_socket_verdict
