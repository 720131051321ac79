#!/usr/bin/env bash
# End to end, OpenSSL + libp11 as the caller (stunnel, nginx, curl use a token so) through a real
# pcscd (private namespaces, vpcd bridge, virtual ePass2003): `openssl s_server` serves TLS with the
# token's key (libp11's pkcs11 engine, key pkcs11:type=private, a certificate made for that key
# before the run; one process, one login), `openssl s_client` handshakes against it every 100 ms
# (TLS 1.2 ECDHE-RSA: the server signs each key exchange on the token, s_client verifies the
# signature with the certificate) while pcscd is killed (SIGTERM / SIGKILL alternately) and restarted.
# Expected: with stock OpenSC 0.27.1 handshakes fail after the first restart (OpenSC #3395); with
# patched OpenSC the same s_server keeps handshaking through every restart, no handshake failing
# after pcscd is back.
# Skips (77) only when something the scenario needs is not installed (named in the log), or when
# the patched OpenSC is not built (after checking that stock fails).
set -uo pipefail
. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/common.sh"

if ! e2e_prereqs || ! e2e_libp11_engine >/dev/null || ! command -v openssl >/dev/null; then
	command -v openssl >/dev/null || echo "missing: openssl (Debian package openssl)" >&2
	echo "SKIP: requirements missing (above)"
	exit 77
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/e2e-libp11.XXXXXX")
export E2E_RESTARTS=${E2E_RESTARTS:-2} E2E_DEADLINE=${E2E_DEADLINE:-4}
echo "work directory (logs): $work"
image=$(e2e_personalise "$work") || { echo "FAIL: could not personalise the virtual ePass2003"; exit 1; }

e2e_run_both e2e_run_tls_variant "$work" "$image"
echo
e2e_verdict_callers "$work" "$patched_ran"
e2e_finish "$work" $?
