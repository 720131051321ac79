#!/usr/bin/env bash
# The patched build identifies itself (opensc-tool -i, PKCS#11 C_GetInfo library description) while
# keeping the numeric library version; the stock build does not.
set -u
fail() { echo "FAIL: $*"; exit 1; }
: "${OPENSC_STOCK_PREFIX:?}" "${OPENSC_PATCHED_PREFIX:?}"
export OPENSC_CONF=/dev/null
s=$("$OPENSC_STOCK_PREFIX/bin/opensc-tool" -i | head -n1) || fail "stock opensc-tool -i failed"
p=$("$OPENSC_PATCHED_PREFIX/bin/opensc-tool" -i | head -n1) || fail "patched opensc-tool -i failed"
echo "stock:   $s"; echo "patched: $p"
case "$s" in "OpenSC 0.27.1 "*) ;; *) fail "stock does not report plain 0.27.1: $s" ;; esac
case "$p" in "OpenSC 0.27.1+recovery"*) ;; *) fail "patched does not report the fork suffix: $p" ;; esac

info() { "$1/bin/pkcs11-tool" --module "$1/lib/opensc-pkcs11.so" --show-info 2>&1; }
si=$(info "$OPENSC_STOCK_PREFIX"); pi=$(info "$OPENSC_PATCHED_PREFIX")
sl=$(grep -m1 '^Library' <<<"$si"); pl=$(grep -m1 '^Library' <<<"$pi")
echo "stock   C_GetInfo: $sl"; echo "patched C_GetInfo: $pl"
grep -q 'OpenSC smartcard framework (ver 0.27)' <<<"$sl" || fail "stock library line unexpected: $sl"
grep -q '+recovery' <<<"$pl" || fail "patched library description lacks the fork suffix: $pl"
grep -q '(ver 0.27)' <<<"$pl" || fail "patched numeric library version changed: $pl"
[ "$sl" != "$pl" ] || fail "stock and patched report the same identity"
echo "PASS: identities differ, numeric version equal"
