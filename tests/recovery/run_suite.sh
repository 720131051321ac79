#!/usr/bin/env bash
# The recovery suite: every case against stock and against patched OpenSC, side by side.
#
#   run_suite.sh            (from `make check` / `make check-recovery`)
#
# A case is a RECOVERY case when its expected outcomes for stock and patched differ (matrix.tsv,
# pkcs11.tsv): it must FAIL on stock (stock's outcome is not the required one) and PASS on patched.
# Every other case is a BASELINE case and must pass on both. Exit 0 only if all of that holds.
#
#   run_suite.sh --remeasure-stock
#                           rewrite the expected_stock column of matrix.tsv and pkcs11.tsv in the source
#                           tree from what stock does now (after a change of libvpcsc's or the virtual
#                           card's semantics); a baseline row's expected_patched follows it. Review the
#                           diff (git diff tests/recovery) before committing it.
#
# Environment: top_srcdir, top_builddir, VPCSC_LIBRARY, OPENSC_STOCK_PREFIX, OPENSC_PATCHED_PREFIX
# (set by make), RECOVERY_LIBOPENSC_STOCK/_PATCHED (see below); RECOVERY_CASES=glob to run a subset; RECOVERY_OUT=dir for the raw reports.
# RECOVERY_WRAPPER: a command line each program runs under (make check-recovery-valgrind: valgrind ...),
# with RECOVERY_TIME_SCALE (case_table.h) to stretch the harness's waits and timeouts accordingly. A
# program that exits non-zero but wrote its report (RECOVERY_STRICT: a case crashed, hung or exited
# non-zero, e.g. valgrind's --error-exitcode) is still judged; the suite then exits 1.
# RECOVERY_STOCK_ENV: VAR=VALUE words (no spaces inside a value) in the environment of the stock
# variant's programs only. RECOVERY_STOCK_NONFATAL=1: a stock program's non-zero exit after its report
# does not fail the suite by itself (its cases are still judged).
# RECOVERY_EXPECT=NAME: the rows of matrix.NAME.tsv / pkcs11.NAME.tsv (same columns; each row's note says why)
# replace the rows with the same id in matrix.tsv / pkcs11.tsv, for a build whose stock behaviour differs
# there (make check-recovery-master: RECOVERY_EXPECT=master, OpenSC master). Only the expected outcomes of
# those rows change; every other row and the verdict rules stay.
set -u
remeasure=0
[ "${1:-}" = --remeasure-stock ] && remeasure=1
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top_srcdir=${top_srcdir:-$(cd "$here/../.." && pwd)}
top_builddir=${top_builddir:-$(pwd)}
export top_srcdir top_builddir

die() { echo "run_suite: $*" >&2; exit 99; }
[ -n "${VPCSC_LIBRARY:-}" ] && [ -r "$VPCSC_LIBRARY" ] || die "VPCSC_LIBRARY ('${VPCSC_LIBRARY:-}') is not readable: build libvpcsc.la"

keep=${RECOVERY_OUT:+1}
out=${RECOVERY_OUT:-$(mktemp -d "${TMPDIR:-/tmp}/recovery-suite.XXXXXX")}
mkdir -p "$out"

# The case tables: the source tree's, or merged with the RECOVERY_EXPECT overrides (in $out)
matrix_libopensc=${RECOVERY_MATRIX:-$top_srcdir/tests/recovery/matrix.tsv}
matrix_pkcs11=${RECOVERY_PKCS11_MATRIX:-$top_srcdir/tests/recovery/pkcs11.tsv}
merge_expectations()
{
	local base=$1 over=$2 merged=$3
	awk -F'\t' -v OFS='\t' -v over="$over" '
		FILENAME == over { if (!/^#/ && NF >= 6 && $1 != "id") { row[$1] = $0; used[$1] = 0 } next }
		!/^#/ && NF >= 6 && ($1 in row) { print row[$1]; used[$1] = 1; next }
		{ print }
		END { for (id in used) if (!used[id]) { print "run_suite: " over ": no case " id > "/dev/stderr"; bad = 1 }
			exit bad }' "$over" "$base" >"$merged"
}
if [ -n "${RECOVERY_EXPECT:-}" ]; then
	[ $remeasure = 0 ] || die "--remeasure-stock rewrites the source tables; unset RECOVERY_EXPECT"
	for suite in libopensc pkcs11; do
		if [ $suite = libopensc ]; then base=$matrix_libopensc; over=$top_srcdir/tests/recovery/matrix.$RECOVERY_EXPECT.tsv
		else base=$matrix_pkcs11; over=$top_srcdir/tests/recovery/pkcs11.$RECOVERY_EXPECT.tsv; fi
		[ -r "$over" ] || continue
		merge_expectations "$base" "$over" "$out/$suite.expect.tsv" || die "bad override table $over"
		echo "run_suite: $suite: expectations of $(basename "$over") ($(grep -cv '^#\|^id' "$over") row(s))" >&2
		if [ $suite = libopensc ]; then matrix_libopensc=$out/$suite.expect.tsv; else matrix_pkcs11=$out/$suite.expect.tsv; fi
	done
fi
export RECOVERY_MATRIX=$matrix_libopensc RECOVERY_PKCS11_MATRIX=$matrix_pkcs11

# suite NAME VARIANT COMMAND...: one report (id entry fault timing outcome expected match_stock match_patched)
run_report()
{
	local name=$1 variant=$2
	shift 2
	if [ ! -x "$1" ]; then
		echo "run_suite: missing $1 (make check builds it)" >&2
		return 1
	fi
	# RECOVERY_REUSE_REPORTS=1 with RECOVERY_OUT: a report already there is judged, not re-run
	if [ "${RECOVERY_REUSE_REPORTS:-0}" = 1 ] && [ -s "$out/$name.$variant.tsv" ]; then
		echo "run_suite: reusing $out/$name.$variant.tsv" >&2
		return 0
	fi
	# RECOVERY_STOCK_ENV: VAR=VALUE words set for the stock variant's programs only (make
	# check-recovery-asan: stock's sanitizer reports do not abort, they are judged apart)
	local -a venv=()
	[ "$variant" != stock ] || read -r -a venv <<<"${RECOVERY_STOCK_ENV:-}"
	# shellcheck disable=SC2086 # the wrapper is a command line
	env ${venv[@]+"${venv[@]}"} ${RECOVERY_WRAPPER:-} "$@" --report >"$out/$name.$variant.tsv" 2>"$out/$name.$variant.err"
	local rc=$?
	if [ $rc -ne 0 ] && [ -s "$out/$name.$variant.tsv" ] && [ "$variant" = stock ] &&
		[ "${RECOVERY_STOCK_NONFATAL:-0}" = 1 ]; then
		# RECOVERY_STOCK_NONFATAL=1 (the sanitizer and valgrind targets, which judge stock's own
		# reports apart): a stock case that crashed or exited non-zero is judged by its verdict only
		# (a recovery case must fail on stock anyway; a baseline case that crashes is WRONG)
		echo "run_suite: $name ($variant) exited $rc after its report; judging it (RECOVERY_STOCK_NONFATAL)" >&2
	elif [ $rc -ne 0 ] && [ -s "$out/$name.$variant.tsv" ]; then
		echo "run_suite: $name ($variant) exited $rc after its report (a case crashed, hung or exited" \
			"non-zero); judging it, the suite will fail; see $out/$name.$variant.err" >&2
		abnormal=1
	elif [ $rc -ne 0 ]; then
		echo "run_suite: $name ($variant) failed to run (exit $rc); see $out/$name.$variant.err" >&2
		tail -n 20 "$out/$name.$variant.err" >&2
		return 1
	fi
}

ok=1
abnormal=0
bin=$top_builddir/tests/recovery
# RECOVERY_LIBOPENSC_STOCK/_PATCHED: the libopensc-level programs built against another pair of OpenSC
# builds (make check-recovery-master: OpenSC master)
run_report libopensc stock "${RECOVERY_LIBOPENSC_STOCK:-$bin/test_recovery_libopensc_stock}" || ok=0
run_report libopensc patched "${RECOVERY_LIBOPENSC_PATCHED:-$bin/test_recovery_libopensc_patched}" || ok=0
if [ -x "$bin/test_recovery_pkcs11" ]; then
	OPENSC_PREFIX=$OPENSC_STOCK_PREFIX RECOVERY_VARIANT=stock \
		run_report pkcs11 stock "$bin/test_recovery_pkcs11" || ok=0
	OPENSC_PREFIX=$OPENSC_PATCHED_PREFIX RECOVERY_VARIANT=patched \
		run_report pkcs11 patched "$bin/test_recovery_pkcs11" || ok=0
fi
[ $ok = 1 ] || die "a suite could not run"

if [ $remeasure = 1 ]; then
	for suite in libopensc pkcs11; do
		[ -r "$out/$suite.stock.tsv" ] || continue
		matrix=$top_srcdir/tests/recovery/matrix.tsv
		[ $suite = pkcs11 ] && matrix=$top_srcdir/tests/recovery/pkcs11.tsv
		[ -s "$out/$suite.stock.tsv" ] || continue
		awk -F'\t' -v OFS='\t' -v report="$out/$suite.stock.tsv" '
			FILENAME == report { now[$1] = $5; next }
			/^#/ || NF < 6 || $1 == "id" { print; next }
			($1 in now) && now[$1] != $5 {
				if ($5 == $6) $6 = now[$1]
				print "  " $1 ": " $5 " -> " now[$1] > "/dev/stderr"
				$5 = now[$1]
			}
			{ print }' "$out/$suite.stock.tsv" "$matrix" >"$matrix.tmp" && mv -f "$matrix.tmp" "$matrix"
	done
	echo "run_suite: expected_stock re-measured; review: git -C '$top_srcdir' diff tests/recovery"
	exit 0
fi

# Join the reports per case and judge.
verdicts=$out/verdicts.tsv
: >"$verdicts"
for suite in libopensc pkcs11; do
	[ -r "$out/$suite.stock.tsv" ] || continue
	matrix=$matrix_libopensc
	[ $suite = pkcs11 ] && matrix=$matrix_pkcs11
	awk -F'\t' -v OFS='\t' -v suite="$suite" -v m="$matrix" -v sr="$out/$suite.stock.tsv" -v pr="$out/$suite.patched.tsv" '
		FILENAME == m && !/^#/ && NF >= 6 && $1 != "id" { es[$1] = $5; ep[$1] = $6; order[++n] = $1 }
		FILENAME == sr { so[$1] = $5; sms[$1] = $7; smp[$1] = $8 }
		FILENAME == pr { po[$1] = $5; pmp[$1] = $8 }
		END {
			for (i = 1; i <= n; i++) {
				id = order[i]
				if (!(id in so) || !(id in po)) continue
				kind = (es[id] == ep[id]) ? "baseline" : "recovery"
				stock_pass = smp[id] == 1; patched_pass = pmp[id] == 1
				if (kind == "recovery")
					good = !stock_pass && patched_pass
				else
					good = stock_pass && patched_pass
				print suite, id, kind, (stock_pass ? "pass" : "FAIL"), (patched_pass ? "pass" : "FAIL"),
					(sms[id] == 1 ? "yes" : "NO"), (good ? "ok" : "WRONG"), so[id], po[id], ep[id]
			}
		}' "$matrix" "$out/$suite.stock.tsv" "$out/$suite.patched.tsv" >>"$verdicts"
done

[ -s "$verdicts" ] || die "no cases were judged"

printf '%-9s %-46s %-8s %-5s %-7s %-7s %s\n' suite case kind stock patched stockdoc verdict
awk -F'\t' '{ printf "%-9s %-46s %-8s %-5s %-7s %-7s %s\n", $1, $2, $3, $4, $5, $6, $7 }' "$verdicts"
echo
echo "Outcomes (stock | patched | required):"
awk -F'\t' '$7 != "ok" || ENVIRON["RECOVERY_VERBOSE"] != "" {
	printf "  %s/%s\n    stock:    %s\n    patched:  %s\n    required: %s\n", $1, $2, $8, $9, $10 }' "$verdicts"

total=$(wc -l <"$verdicts")
rec=$(awk -F'\t' '$3 == "recovery"' "$verdicts" | wc -l)
wrong=$(awk -F'\t' '$7 != "ok"' "$verdicts" | wc -l)
undoc=$(awk -F'\t' '$6 != "yes"' "$verdicts" | wc -l)
stock_fail=$(awk -F'\t' '$3 == "recovery" && $4 == "FAIL"' "$verdicts" | wc -l)
patched_pass=$(awk -F'\t' '$5 == "pass"' "$verdicts" | wc -l)
echo
echo "cases: $total ($rec recovery, $((total - rec)) baseline); recovery cases failing on stock: $stock_fail/$rec;" \
	"cases passing on patched: $patched_pass/$total; stock outcomes differing from the documented ones: $undoc"
echo "reports: $out"
if [ "$wrong" -ne 0 ]; then
	echo "run_suite: $wrong case(s) WRONG (a recovery case passing on stock or failing on patched, or a baseline case failing)"
	exit 1
fi
if [ "$abnormal" -ne 0 ]; then
	echo "run_suite: a program exited non-zero after its report (RECOVERY_STRICT); see $out/*.err"
	exit 1
fi
[ -n "$keep" ] || rm -rf "$out"
exit 0
