#!/usr/bin/env bash
# One variant of the OpenSSH scenario, run inside tests/harness/netns-run (own pcscd):
#   pcscd + vpcd bridge (card) → ssh-agent with `ssh-add -s <module>` (PIN via SSH_ASKPASS) →
#   baseline signatures → pcscd killed (SIGTERM / SIGKILL alternately) and restarted E2E_RESTARTS
#   times; after each restart: time until the first good signature (up to E2E_DEADLINE s), then
#   E2E_SIGS more. Never `ssh-add -e/-s` again. Every signature is verified (ssh-keygen -Y verify).
#
# Environment: E2E_VARIANT (name), E2E_PREFIX (OpenSC prefix), E2E_WORKDIR, E2E_BRIDGE_ARGS (card
# selection for vpcd-bridge, or "none" for a real token), E2E_PIN; optional E2E_RESTARTS (4), E2E_SIGS (3), E2E_DEADLINE (6),
# E2E_DOWN (0.5 s pcscd stays down), E2E_OPENSC_DEBUG (OpenSC debug level into opensc-debug.log),
# E2E_SSH_CONFIRM=1 (`ssh-add -c -s`: the agent asks SSH_ASKPASS to confirm every use; answered yes and
# counted in confirmations), E2E_SSH_EXPECT=refuse (a user-consent key: every attempt must be refused
# cleanly, see below), E2E_HANG (30 s: an attempt with no answer by then counts as hung).
# E2E_MODULE (the module ssh-add -s loads; default E2E_PREFIX/lib/opensc-pkcs11.so).
# Writes E2E_WORKDIR/result.env (shell-sourceable) and E2E_WORKDIR/signatures.log.
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/../harness/lib.sh"

variant=${E2E_VARIANT:?}
prefix=${E2E_PREFIX:?}
restarts=${E2E_RESTARTS:-4}
sigs=${E2E_SIGS:-3}
deadline_s=${E2E_DEADLINE:-6}
down=${E2E_DOWN:-0.5}
module=${E2E_MODULE:-$prefix/lib/opensc-pkcs11.so}
hang_s=${E2E_HANG:-30}
expect=${E2E_SSH_EXPECT:-sign}

harness_init "${E2E_WORKDIR:?}"
W=$HARNESS_DIR
result="$W/result.env"
siglog="$W/signatures.log"
: >"$siglog"

sig_ok=0
sig_fail=0
survived=0
outage_fail=0 # failed attempts between "service back" and the first good signature (recovered restarts)
recovery_ms=()
first_fail_reason=""
hung=0           # attempts with no answer within hang_s (timeout)
max_attempt_ms=0 # the longest attempt

write_result()
{
	local status=$1 reason=${2:-}
	{
		echo "variant=$variant"
		echo "status=$status"
		printf 'reason=%q\n' "$reason"
		echo "sig_ok=$sig_ok"
		echo "sig_fail=$sig_fail"
		echo "restarts=$HARNESS_RESTARTS"
		echo "restarts_planned=$restarts"
		echo "restarts_survived=$survived"
		echo "outage_fail=$outage_fail"
		echo "recovery_ms=(${recovery_ms[*]})"
		printf 'first_fail_reason=%q\n' "$first_fail_reason"
		echo "confirmations=$(grep -c ' confirm ' "$W/askpass.log" 2>/dev/null)"
		echo "pin_prompts=$(grep -c ' pin ' "$W/askpass.log" 2>/dev/null)"
		echo "hung=$hung"
		echo "max_attempt_ms=$max_attempt_ms"
		echo "expect=$expect"
	} >"$result"
}

setup_failed()
{
	harness_log "setup failed: $*"
	write_result setup-failed "$*"
	exit 0
}

# OpenSC configuration of this run (default reader driver: pcsc-lite, i.e. our pcscd).
if [ -n "${E2E_OPENSC_DEBUG:-}" ]; then
	harness_opensc_conf "$(printf '\tdebug = %s;\n\tdebug_file = %s/opensc-debug.log;\n' "$E2E_OPENSC_DEBUG" "$W")"
else
	harness_opensc_conf
fi

[ -r "$module" ] || setup_failed "no PKCS#11 module $module"

harness_start_pcscd
# E2E_BRIDGE_ARGS=none: no virtual card; a real token on a USB reader (found by pcscd's CCID driver).
if [ "${E2E_BRIDGE_ARGS:?}" != none ]; then
	# shellcheck disable=SC2086
	harness_start_bridge $E2E_BRIDGE_ARGS
fi

harness_wait_card "$prefix" 10 || setup_failed "$HARNESS_WAIT_ERROR"

# The user, non-interactively: ssh-add asks for the PIN through SSH_ASKPASS, and ssh-agent asks
# there whether to allow each use of a key added with `ssh-add -c` (SSH_ASKPASS_PROMPT=confirm);
# every question is logged in askpass.log. Exported before ssh-agent starts: it inherits them.
cat >"$W/askpass" <<-'ASKPASS'
	#!/bin/sh
	if [ "${SSH_ASKPASS_PROMPT:-}" = confirm ]; then
		echo "$(date +%s%3N) confirm $1" >>"$E2E_ASKPASS_LOG"
		exit 0
	fi
	echo "$(date +%s%3N) pin $1" >>"$E2E_ASKPASS_LOG"
	printf '%s\n' "$E2E_PIN"
ASKPASS
chmod 700 "$W/askpass"
: >"$W/askpass.log"
export E2E_PIN SSH_ASKPASS="$W/askpass" SSH_ASKPASS_REQUIRE=force E2E_ASKPASS_LOG="$W/askpass.log"

# ssh-agent in the foreground (-D) so the harness owns its PID; the module's real path is allowed.
export SSH_AUTH_SOCK="$W/agent.sock"
harness_spawn ssh-agent ssh-agent -D -a "$SSH_AUTH_SOCK" -P "$(readlink -f "$module")" >"$W/ssh-agent.log" 2>&1
for _ in $(seq 1 100); do [ -S "$SSH_AUTH_SOCK" ] && break; sleep 0.05; done
[ -S "$SSH_AUTH_SOCK" ] || setup_failed "ssh-agent socket did not appear"

add_args=(-s)
[ "${E2E_SSH_CONFIRM:-0}" = 1 ] && add_args=(-c -s)
if ! timeout 60 ssh-add "${add_args[@]}" "$module" </dev/null >"$W/ssh-add.log" 2>&1; then
	setup_failed "ssh-add -s failed: $(tr '\r\n' '  ' <"$W/ssh-add.log")"
fi
ssh-add -L >"$W/agent-keys.pub" 2>>"$W/ssh-add.log" || setup_failed "the agent lists no key from the token"
head -n1 "$W/agent-keys.pub" >"$W/id.pub"
echo "e2e@opensc-recovery $(cut -d' ' -f1,2 "$W/id.pub")" >"$W/allowed_signers"
harness_log "$variant: agent holds $(wc -l <"$W/agent-keys.pub") key(s) from the token; signing with $(cut -c1-40 "$W/id.pub")..."

attempt=0
# One signature through the agent, verified; 0 when good.
sign_once()
{
	attempt=$((attempt + 1))
	local msg="$W/msg" out t0 took
	printf 'opensc-recovery e2e %s attempt %d %s\n' "$variant" "$attempt" "$(harness_now_ms)" >"$msg"
	rm -f "$msg.sig"
	t0=$(harness_now_ms)
	out=$(timeout "$hang_s" ssh-keygen -q -Y sign -f "$W/id.pub" -n e2e "$msg" 2>&1)
	local rc=$?
	took=$(($(harness_now_ms) - t0))
	((took > max_attempt_ms)) && max_attempt_ms=$took
	if [ $rc = 124 ]; then
		hung=$((hung + 1))
		out="no answer within ${hang_s}s (hang)"
	fi
	if [ $rc != 0 ]; then
		echo "$(harness_now_ms) attempt=$attempt FAIL sign (${took} ms): $(echo "$out" | tr '\r\n' '  ')" >>"$siglog"
		[ -n "$first_fail_reason" ] || first_fail_reason=$(echo "$out" | tr '\r\n' '  ')
		sig_fail=$((sig_fail + 1))
		return 1
	fi
	if ! out=$(ssh-keygen -Y verify -f "$W/allowed_signers" -I e2e@opensc-recovery -n e2e -s "$msg.sig" <"$msg" 2>&1); then
		echo "$(harness_now_ms) attempt=$attempt FAIL verify: $(echo "$out" | tr '\r\n' '  ')" >>"$siglog"
		[ -n "$first_fail_reason" ] || first_fail_reason="verify: $(echo "$out" | tr '\r\n' '  ')"
		sig_fail=$((sig_fail + 1))
		return 1
	fi
	echo "$(harness_now_ms) attempt=$attempt OK" >>"$siglog"
	sig_ok=$((sig_ok + 1))
	return 0
}

# E2E_SSH_EXPECT=refuse (a key that needs the PIN before each use, which the agent cannot ask for):
# every attempt must be refused, each within E2E_HANG seconds (no hang), before and after each
# restart; nothing else is measured.
if [ "$expect" = refuse ]; then
	for ((i = 0; i < sigs; i++)); do
		if sign_once; then setup_failed "a signature with the user-consent key succeeded (expected a refusal)"; fi
	done
	[ $hung = 0 ] || setup_failed "the baseline attempts hung (no answer within ${hang_s}s)"
	harness_log "$variant: $sigs baseline attempts refused, each within $max_attempt_ms ms ($(echo "$first_fail_reason" | cut -c1-80))"
	for ((r = 1; r <= restarts; r++)); do
		if ((r % 2)); then sig=TERM; else sig=KILL; fi
		harness_restart_pcscd "$sig" "$down"
		echo "$(harness_now_ms) restart=$r SIG$sig service back at $HARNESS_BACK_MS" >>"$siglog"
		sleep 1 # pcscd reports the card
		hung_before=$hung ok_before=$sig_ok
		for ((i = 0; i < sigs; i++)); do sign_once || true; done
		[ $hung = "$hung_before" ] && [ $sig_ok = "$ok_before" ] && survived=$((survived + 1))
		harness_log "$variant: restart $r (SIG$sig): $sigs attempts, hung $((hung - hung_before)), signed $((sig_ok - ok_before)); longest attempt so far $max_attempt_ms ms"
	done
	write_result done
	harness_log "$variant: refused $sig_fail (of which hung $hung), signed $sig_ok, restarts with clean refusals $survived/$HARNESS_RESTARTS"
	exit 0
fi

for ((i = 0; i < sigs; i++)); do
	sign_once || setup_failed "baseline signature failed before any restart: $first_fail_reason"
done
harness_log "$variant: $sigs baseline signatures OK"

for ((r = 1; r <= restarts; r++)); do
	if ((r % 2)); then sig=TERM; else sig=KILL; fi
	harness_restart_pcscd "$sig" "$down"
	echo "$(harness_now_ms) restart=$r SIG$sig service back at $HARNESS_BACK_MS" >>"$siglog"
	back=$HARNESS_BACK_MS
	deadline=$((back + deadline_s * 1000))
	recovered=0
	fail_before=$sig_fail
	while (($(harness_now_ms) < deadline)); do
		if sign_once; then
			recovered=1
			recovery_ms+=($(($(harness_now_ms) - back)))
			outage_fail=$((outage_fail + sig_fail - fail_before))
			break
		fi
		sleep 0.1
	done
	if [ $recovered = 0 ]; then
		recovery_ms+=(-)
		harness_log "$variant: restart $r (SIG$sig): no good signature within ${deadline_s}s"
		# Keep the failure count comparable: the same number of further attempts.
		for ((i = 0; i < sigs; i++)); do sign_once || true; done
		continue
	fi
	all=1
	for ((i = 0; i < sigs; i++)); do sign_once || all=0; done
	if [ $all = 1 ]; then survived=$((survived + 1)); fi
	harness_log "$variant: restart $r (SIG$sig): first good signature after ${recovery_ms[-1]} ms; following $sigs: $([ $all = 1 ] && echo OK || echo 'not all OK')"
done

write_result done
harness_log "$variant: signatures OK $sig_ok, failed $sig_fail, restarts survived $survived/$HARNESS_RESTARTS"
