#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Smoke test of the soak driver (seconds): ~60 signatures with a fault every ~5 operations
#  - patched OpenSC: every fault recovered, every operation OK, no BADSIG, no leaked PC/SC context or
#    card handle, still logged in with a single C_Login;
#  - stock OpenSC: must NOT recover (shows that this test can fail);
#  - bad input: exit 2 and a message naming the bad argument.
set -u
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/common.sh"
soak_init
work=$(mktemp -d "${TMPDIR:-/tmp}/soak-smoke.XXXXXX")
trap 'rm -rf "$work"' EXIT
token=$(soak_token "$work") || exit 1
token_sum=$(sha256sum <"$token")
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
ok() { echo "ok: $*"; }

# check NAME JSON JQ-EXPR: the expression must be true
check()
{
	if [ "$(jq -r "$3" "$2")" = true ]; then ok "$1"; else fail "$1 ($3 on $2: $(jq -c "$3" "$2"))"; fi
}

common=(--token "$token" --iterations 60 --fault-every 5 --seed 7 --require-pin-for-key)

# --- patched: everything recovers
"$SOAK_DRIVER" --module "$PATCHED_MODULE" "${common[@]}" --label patched --json "$work/patched.json" \
	>"$work/patched.out" 2>&1
rc=$?
cat "$work/patched.out"
if [ $rc != 0 ]; then
	fail "patched: exit $rc"
else
	j=$work/patched.json
	check "patched: faults were injected (>= 5)" "$j" '.faults.injected >= 5'
	check "patched: all four fault kinds injected" "$j" '(.faults.by_kind | keys | length) == 4'
	check "patched: every fault recovered" "$j" '.faults.recovered == .faults.injected'
	check "patched: every operation OK" "$j" '.outcomes.OK == .operations and .operations == 60'
	check "patched: no BADSIG" "$j" '.outcomes.BADSIG == 0'
	check "patched: no more live contexts/handles at the end than after warm-up" "$j" \
		'.provider.end.contexts <= .provider.after_warmup.contexts and .provider.end.handles <= .provider.after_warmup.handles'
	check "patched: nothing left after C_Finalize" "$j" \
		'.provider.after_finalize.contexts == 0 and .provider.after_finalize.handles == 0'
	check "patched: one C_Login, still logged in" "$j" '.login_calls == 1 and .session_state_end == "RW_USER"'
fi

# --- stock: the same run must not recover
"$SOAK_DRIVER" --module "$STOCK_MODULE" "${common[@]}" --label stock --json "$work/stock.json" \
	>"$work/stock.out" 2>&1
rc=$?
cat "$work/stock.out"
if [ $rc != 0 ]; then
	fail "stock: exit $rc (the driver must exit 0 whatever the outcomes)"
else
	j=$work/stock.json
	check "stock: the same faults were injected" "$j" ".faults.injected == $(jq .faults.injected "$work/patched.json" 2>/dev/null || echo -1)"
	check "stock: does NOT recover every fault" "$j" '.faults.recovered < .faults.injected'
	check "stock: failed operations are counted by CKR name" "$j" '.outcomes.OK < .operations and (.outcomes | keys | length) > 2'
fi

# --- bad input: exit 2, a message naming the argument
# bad NAME WORD ARGS...: exit status 2 and WORD in the message
bad()
{
	local name=$1 word=$2
	shift 2
	"$SOAK_DRIVER" "$@" >"$work/bad.out" 2>&1
	local rc=$?
	if [ $rc = 2 ] && grep -q -- "$word" "$work/bad.out"; then
		ok "bad input: $name -> exit 2, names $word"
	else
		fail "bad input: $name -> exit $rc, message: $(head -1 "$work/bad.out")"
	fi
}
M=(--module "$PATCHED_MODULE")
T=(--token "$token")
bad "no --module" --module "${T[@]}"
bad "missing module file" --module --module "$work/nonexistent.so" "${T[@]}"
bad "module that is not a library" --module --module "$token" "${T[@]}"
bad "no --token" --token "${M[@]}"
bad "missing token image" --token "${M[@]}" --token "$work/nonexistent.img"
bad "token that is not a card image" --token "${M[@]}" --token "$here/common.sh"
bad "unknown fault name" bogus_fault "${M[@]}" "${T[@]}" --faults service_lost,bogus_fault
bad "--iterations not a number" --iterations "${M[@]}" "${T[@]}" --iterations 12x
bad "--iterations 0" --iterations "${M[@]}" "${T[@]}" --iterations 0
bad "--seconds negative" --seconds "${M[@]}" "${T[@]}" --seconds -1
bad "--fault-every 0" --fault-every "${M[@]}" "${T[@]}" --fault-every 0
bad "--seed not a number" --seed "${M[@]}" "${T[@]}" --seed abc
bad "option without its value" --json "${M[@]}" "${T[@]}" --json
bad "unknown option" --frobnicate "${M[@]}" "${T[@]}" --frobnicate
bad "--json in a missing directory" --json "${M[@]}" "${T[@]}" --json "$work/no/such/dir/x.json"
bad "--vpcsc not a provider" --vpcsc "${M[@]}" "${T[@]}" --vpcsc "$token"
bad "wrong --pin" --pin "${M[@]}" "${T[@]}" --pin 654321 --iterations 1
bad "no key with --key-id" --key-id "${M[@]}" "${T[@]}" --key-id ff --iterations 1

# the driver works on a copy: the user's image is never written (the runs above signed, lost PIN
# tries with the wrong PIN, changed access conditions with --require-pin-for-key)
if [ "$(sha256sum <"$token")" = "$token_sum" ]; then ok "the token image is unchanged"; else fail "the driver modified the token image"; fi

echo "smoke: $fails failure(s)"
[ $fails = 0 ]
