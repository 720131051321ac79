# shellcheck shell=bash
# Shared by the service-lifecycle tests (tests/e2e/test_lifecycle_*.sh): one variant run of
# lifecycle_scenario.sh in its own namespace, the stock-vs-patched table, the verdict helpers.
# Source after common.sh.

# e2e_run_lifecycle_variant NAME PREFIX WORKDIR CARD (E2E_LIFECYCLE and its knobs in the environment)
e2e_run_lifecycle_variant()
{
	local name=$1 prefix=$2 work=$3 card=$4
	mkdir -p "$work"
	E2E_VARIANT=$name E2E_PREFIX=$prefix E2E_WORKDIR=$work \
		E2E_BRIDGE_ARGS="$(e2e_card_args "$work" "$card")${E2E_BRIDGE_EXTRA:+ $E2E_BRIDGE_EXTRA}" \
		P11_CLIENT="${P11_CLIENT:-$e2e_build/tests/e2e/p11-session-loop}" \
		PCSCD_SOCKET_HOLDER="${PCSCD_SOCKET_HOLDER:-$e2e_build/pcscd-socket-holder}" \
		timeout 600 "$E2E_HARNESS/netns-run" "$E2E_DIR/lifecycle_scenario.sh" 2>&1 | tee "$work/scenario.out" |
		sed "s/^/  [$name] /"
	[ -r "$work/result.env" ]
}

# e2e_lifecycle_table STOCK_RESULT PATCHED_RESULT
e2e_lifecycle_table()
{
	local s=$1 p=$2 mode
	mode=$(e2e_result "$p" mode 2>/dev/null || e2e_result "$s" mode 2>/dev/null)
	lcol()
	{
		local f=$1 what=$2 v out=""
		if [ ! -r "$f" ]; then echo "not run"; return; fi
		if [ "$(e2e_result "$f" status)" != done ]; then echo "setup failed"; return; fi
		case $what in
		ops) echo "$(e2e_result "$f" ops_ok) OK / $(e2e_result "$f" ops_fail) failed" ;;
		gap) echo "$(e2e_result "$f" fail_in_gap)" ;;
		after) echo "$(e2e_result "$f" fail_after_back)" ;;
		rec) echo "$(e2e_result "$f" events_recovered) of $(e2e_result "$f" events)" ;;
		list)
			for v in $(e2e_result "$f" "$3"); do
				if [ "$v" = - ]; then out="$out never"; else out="$out ${v}$4"; fi
			done
			echo "${out# }"
			;;
		*) e2e_result "$f" "$what" ;;
		esac
	}
	row() { printf '%-40s | %-28s | %-28s\n' "$1" "$(lcol "$s" "${@:2}")" "$(lcol "$p" "${@:2}")"; }
	printf '%-40s | %-28s | %-28s\n' "lifecycle: $mode" "stock OpenSC 0.27.1" "patched OpenSC 0.27.1"
	printf '%-40s-+-%-28s-+-%-28s\n' "----------------------------------------" "----------------------------" "----------------------------"
	row "signatures OK / failed" ops
	case $mode in
	socket)
		row "  failed between kill and re-activation" gap
		row "  failed after re-activation" after
		row "pcscd re-activated by a client" activations
		row "kill -> re-activation" list back_ms ms
		;;
	sigstop)
		row "  failed while hung" gap
		row "  failed after SIGCONT" after
		row "client CPU during the hang" list cpu_ms ms
		row "longest time without a signature" max_gap_ms
		;;
	*)
		row "  failed inside the gap" gap
		row "    of which CKR_GENERAL_ERROR" general_error_in_gap
		row "    by CK_RV, per event" list fail_rv_in_gap ""
		row "  failed after the service/token back" after
		;;
	esac
	row "events recovered" rec
	row "back -> first good signature" list first_ok_ms ms
}

# e2e_lifecycle_run_both WORKDIR IMAGE → runs stock, then patched (if built), prints the table;
# sets patched_ran.
e2e_lifecycle_run_both()
{
	local work=$1 image=$2
	e2e_run_lifecycle_variant stock "$OPENSC_STOCK_PREFIX" "$work/stock" "$image"
	patched_ran=0
	if e2e_variant_available "${OPENSC_PATCHED_PREFIX:-}"; then
		e2e_run_lifecycle_variant patched "$OPENSC_PATCHED_PREFIX" "$work/patched" "$image"
		patched_ran=1
	fi
	echo
	e2e_lifecycle_table "$work/stock/result.env" "$work/patched/result.env"
	echo
}

# e2e_lifecycle_ran FILE: the scenario ran to its end (else prints why, returns 1)
e2e_lifecycle_ran()
{
	if [ ! -r "$1" ] || [ "$(e2e_result "$1" status)" != done ]; then
		echo "FAIL: $(basename "$(dirname "$1")") scenario did not run: $(e2e_result "$1" reason 2>/dev/null)"
		return 1
	fi
	if [ "$(e2e_result "$1" events)" != "$(e2e_result "$1" events_planned)" ]; then
		echo "FAIL: $(basename "$(dirname "$1")"): $(e2e_result "$1" events) of $(e2e_result "$1" events_planned) events"
		return 1
	fi
	return 0
}

# e2e_lifecycle_main MODE VERDICT: the whole test — requirements, personalisation, both variants,
# table, then VERDICT WORKDIR PATCHED_RAN (returns 0 pass, 1 fail, 77 skip); exits with its result.
e2e_lifecycle_main()
{
	local mode=$1 verdict=$2 work image rc
	if ! e2e_prereqs; then
		echo "SKIP: requirements missing (above)"
		exit 77
	fi
	if [ ! -x "${PCSCD_SOCKET_HOLDER:-$e2e_build/pcscd-socket-holder}" ]; then
		echo "missing: pcscd-socket-holder (make pcscd-socket-holder)"
		echo "SKIP: requirements missing (above)"
		exit 77
	fi
	export E2E_LIFECYCLE=$mode
	work=$(mktemp -d "${TMPDIR:-/tmp}/e2e-lifecycle-$mode.XXXXXX")
	echo "work directory (logs): $work"
	image=$(e2e_personalise "$work") || { echo "FAIL: could not personalise the virtual ePass2003"; exit 1; }
	e2e_lifecycle_run_both "$work" "$image"
	"$verdict" "$work" "$patched_ran"
	rc=$?
	e2e_finish "$work" "$rc"
}

# e2e_lifecycle_check_both WORKDIR PATCHED_RAN: the calling test's check_variant RESULT NAME on stock,
# then on patched; 77 when patched is not built and stock passed its check, 1 on any failure.
e2e_lifecycle_check_both()
{
	local bad=0
	check_variant "$1/stock/result.env" stock || bad=1
	if [ "$2" = 0 ]; then
		echo "patched OpenSC not available"
		[ $bad = 0 ] && return 77
		return 1
	fi
	check_variant "$1/patched/result.env" patched || bad=1
	return $bad
}

# e2e_lifecycle_socket_verdict WORKDIR PATCHED_RAN: stock is not re-activated and fails; patched
# re-activates pcscd itself at every kill and no signature fails at all.
e2e_lifecycle_socket_verdict()
{
	local s="$1/stock/result.env" p="$1/patched/result.env" bad=0
	if e2e_lifecycle_ran "$s"; then
		if [ "$(e2e_result "$s" ops_fail)" = 0 ] || [ "$(e2e_result "$s" events_recovered)" = "$(e2e_result "$s" events)" ]; then
			echo "FAIL: stock OpenSC kept signing across a socket-activated restart; the scenario no longer reproduces OpenSC #3395"
			bad=1
		else
			echo "ok: stock fails after the kill ($(e2e_result "$s" ops_fail) failed, pcscd re-activated $(e2e_result "$s" activations) time(s))"
		fi
	else
		bad=1
	fi
	if [ "$2" = 0 ]; then
		echo "patched OpenSC not available"
		[ $bad = 0 ] && return 77
		return 1
	fi
	if e2e_lifecycle_ran "$p"; then
		local ev act fail rec
		ev=$(e2e_result "$p" events) act=$(e2e_result "$p" activations) fail=$(e2e_result "$p" ops_fail)
		rec=$(e2e_result "$p" events_recovered)
		if [ "$act" != "$ev" ]; then
			echo "FAIL: patched: pcscd re-activated $act time(s) for $ev kill(s)"
			bad=1
		fi
		if [ "$rec" != "$ev" ]; then
			echo "FAIL: patched: $rec of $ev restarts recovered"
			bad=1
		fi
		if [ "$fail" != 0 ]; then
			echo "FAIL: patched: $fail signature(s) failed across the socket-activated restarts" \
				"($(e2e_result "$p" fail_in_gap) before re-activation, $(e2e_result "$p" fail_after_back) after; first: $(e2e_result "$p" first_fail_reason))"
			bad=1
		fi
		[ $bad = 0 ] && echo "ok: patched re-activated pcscd itself at each of $ev kills, 0 failed signatures"
	else
		bad=1
	fi
	return $bad
}
