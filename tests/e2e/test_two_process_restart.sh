#!/usr/bin/env bash
# End to end, two long-lived raw PKCS#11 client processes on ONE virtual ePass2003 (vpcd bridge) and
# ONE private pcscd: each p11-session-loop does one C_OpenSession + C_Login, then C_Sign every 100 ms
# with its own session and key handle, every signature verified, while pcscd is restarted (SIGTERM
# and SIGKILL). The two processes' secure-messaging sessions clash on the one token: each mutual
# authentication replaces the other process's SM session, and the card answers the loser's next
# secured command with 6985/6988.
# Expected: with stock OpenSC 0.27.1 both clients fail after the first restart (OpenSC #3395);
# patched OpenSC keeps both signing in their own sessions through every restart (it re-establishes
# the PC/SC context and heals the SM clash by re-authenticating, doc/recovery.md).
# Skips (77) only when something the scenario needs is not installed (named in the log), or when
# the patched OpenSC is not built (after checking that stock fails).
set -uo pipefail
. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/common.sh"

P11_CLIENT=${P11_CLIENT:-$e2e_build/tests/e2e/p11-session-loop}
export P11_CLIENT
if ! e2e_prereqs || [ ! -x "$P11_CLIENT" ]; then
	[ -x "$P11_CLIENT" ] || echo "missing: $P11_CLIENT (make tests/e2e/p11-session-loop)" >&2
	echo "SKIP: requirements missing (above)"
	exit 77
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/e2e-two-process.XXXXXX") || { echo "FAIL: no work directory"; exit 1; }
# --verbose: the bridge logs every APDU, to show the two processes' SM sessions really clashed.
export E2E_CLIENTS=2 E2E_RESTARTS=${E2E_RESTARTS:-4} E2E_DEADLINE=${E2E_DEADLINE:-4} E2E_BRIDGE_EXTRA=--verbose
echo "work directory (logs): $work"
image=$(e2e_personalise "$work") || { echo "FAIL: could not personalise the virtual ePass2003"; exit 1; }

e2e_run_both e2e_run_p11_variant "$work" "$image"
for v in stock patched; do
	f="$work/$v/result.env"
	if [ ! -r "$f" ] || [ "$(e2e_result "$f" status)" != "done" ]; then continue; fi
	printf '%-8s per client: signatures OK (%s), failed (%s; before the first restart: %s), restarts survived (%s of %s), setup retries (%s)\n' \
		"$v" "$(e2e_result "$f" client_sig_ok)" "$(e2e_result "$f" client_sig_fail)" \
		"$(e2e_result "$f" client_fail_before_restart)" "$(e2e_result "$f" client_restarts_survived)" \
		"$(e2e_result "$f" restarts)" "$(e2e_result "$f" client_setup_retries)"
done
echo
e2e_verdict "$work" "$patched_ran"
rc=$?
# Both processes, not just one of them: stock fails in each client, patched survives in each.
s="$work/stock/result.env"
if [ -r "$s" ] && [ "$(e2e_result "$s" status)" = "done" ]; then
	read -r -a s_surv <<<"$(e2e_result "$s" client_restarts_survived)"
	read -r -a s_fail <<<"$(e2e_result "$s" client_sig_fail)"
	if [ "${#s_surv[@]}" != 2 ]; then
		echo "FAIL: stock ran ${#s_surv[@]} client(s), not 2"
		rc=1
	fi
	for c in "${!s_surv[@]}"; do
		if [ "${s_surv[$c]}" != 0 ] || [ "${s_fail[$c]}" = 0 ]; then
			echo "FAIL: stock client $((c + 1)) survived ${s_surv[$c]} restart(s) with ${s_fail[$c]} failure(s)"
			rc=1
		fi
	done
fi
p="$work/patched/result.env"
if [ "$patched_ran" = 1 ] && [ -r "$p" ] && [ "$(e2e_result "$p" status)" = "done" ]; then
	read -r -a p_surv <<<"$(e2e_result "$p" client_restarts_survived)"
	read -r -a p_early <<<"$(e2e_result "$p" client_fail_before_restart)"
	read -r -a p_retries <<<"$(e2e_result "$p" client_setup_retries)"
	if [ "${#p_surv[@]}" != 2 ]; then
		echo "FAIL: patched ran ${#p_surv[@]} client(s), not 2"
		rc=1
	fi
	for c in "${!p_surv[@]}"; do
		if [ "${p_surv[$c]}" != "$(e2e_result "$p" restarts_planned)" ]; then
			echo "FAIL: patched client $((c + 1)) survived ${p_surv[$c]} of $(e2e_result "$p" restarts_planned) restarts"
			rc=1
		fi
		# the SM clash alone (no restart yet) must cost no login and no signature either
		if [ "${p_retries[$c]:-x}" != 0 ]; then
			echo "FAIL: patched client $((c + 1)): setup (C_Login) had to be retried ${p_retries[$c]:-?} time(s) (SM clash not healed)"
			rc=1
		fi
		if [ "${p_early[$c]:-x}" != 0 ]; then
			echo "FAIL: patched client $((c + 1)): ${p_early[$c]:-?} signature(s) failed before the first restart (SM clash not healed)"
			rc=1
		fi
	done
fi
# The clash itself: the card refused a secured command with a bare 6985/6988 (its SM session had
# been replaced by the other process's mutual authentication) in each variant's run.
for v in stock patched; do
	[ "$v" = patched ] && [ "$patched_ran" = 0 ] && continue
	[ -r "$work/$v/bridge.log" ] || continue
	refused=$(grep -cE 'R: 69 8[58] \(2\)$' "$work/$v/bridge.log")
	auths=$(grep -c 'C: 80 50 00 00 ' "$work/$v/bridge.log")
	if [ "$refused" = 0 ]; then
		echo "FAIL: $v: the card never answered a bare 6985/6988; the two processes' SM sessions did not clash"
		rc=1
	else
		echo "ok: $v: SM sessions clashed ($refused bare 6985/6988 answers, $auths mutual authentications)"
	fi
done
e2e_finish "$work" "$rc"
