#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# chart.sh STOCK.json PATCHED.json OUT.png: one picture of a make soak run, stock and patched together:
#   top:    signatures per second (OK operations) over the run, the faults marked under the curves;
#   bottom: the latency of the first operation after each fault (log scale), by fault kind for patched,
#           failed ones crossed.
# Needs gnuplot (Debian: gnuplot-nox). Exit 0 with the PNG written, 1 otherwise.
set -u
[ $# = 3 ] || { echo "usage: chart.sh STOCK.json PATCHED.json OUT.png" >&2; exit 2; }
stock=$1 patched=$2 png=$3
command -v gnuplot >/dev/null || { echo "chart.sh: gnuplot is needed (Debian: apt-get install gnuplot-nox)" >&2; exit 1; }
for f in "$stock" "$patched"; do [ -f "$f" ] || { echo "chart.sh: no $f" >&2; exit 1; }; done
d=$(mktemp -d "${TMPDIR:-/tmp}/soak-chart.XXXXXX")
trap 'rm -rf "$d"' EXIT

for v in stock patched; do
	if [ $v = stock ]; then j=$stock; else j=$patched; fi
	# OK signatures per second, in at most ~60 points of at least 0.5 s (adjacent buckets summed)
	jq -r '.timeline as $t | ($t.ok | length) as $n |
		([1, (($n + 59) / 60 | floor), ((0.5 / $t.bucket_s) | ceil)] | max) as $f |
		range(0; $n; $f) as $i | ([$t.ok[$i:$i + $f][]] | add) as $ok | ([$t.ok[$i:$i + $f]] | .[0] | length) as $k |
		"\(($i + $k / 2) * $t.bucket_s) \($ok / ($k * $t.bucket_s))"' "$j" >"$d/$v.rate"
	# the faults of the whole run (the timeline's buckets with a fault; fault_log holds the first 4096)
	jq -r '.timeline as $t | range(0; $t.faults | length) as $i | select($t.faults[$i] > 0) | "\(($i + 0.5) * $t.bucket_s)"' \
		"$j" >"$d/$v.marks"
	# one line per applied fault: time, latency of the next operation (ms), that operation OK (1/0), kind
	jq -r '.fault_log[] | select(.applied) | "\(.t_s) \([.first_op_ms, 0.001] | max) \(if .first_op_ok then 1 else 0 end) \(.kind)"' \
		"$j" >"$d/$v.faults"
	for k in service_lost service_down_up service_up_late card_reset none; do
		awk -v k=$k '$4 == k' "$d/$v.faults" >"$d/$v.$k"
	done
	jq -r '"\(.label): \(.operations) ops, \(.outcomes.OK) OK, \(.faults.injected) faults, \(.faults.recovered) recovered"' "$j" >"$d/$v.title"
done
s_first_fail=$(jq -r '[.outcome_runs[] | select(.[0] != "OK")][0][1] // empty' "$stock")
s_fail_t=""
if [ -n "$s_first_fail" ]; then
	s_fail_t=$(jq -r --argjson op "$s_first_fail" '[.fault_log[] | select(.before_op <= $op)] | last | .t_s // empty' "$stock")
fi
ymax=$(cat "$d/stock.rate" "$d/patched.rate" | awk 'BEGIN { m = 1 } $2 > m { m = $2 } END { print m * 1.25 }')
xmax=$(jq -s '[.[].elapsed_s] | max' "$stock" "$patched")

{
	cat <<GP
set terminal pngcairo size 1400,900 font "sans,11"
set output "$png"
set multiplot layout 2,1 title "make soak: stock vs patched OpenSC, PC/SC faults injected between signatures" font "sans,14"
set termoption noenhanced
set lmargin at screen 0.07
set rmargin at screen 0.76
set grid
set key outside right top
set xrange [0:$xmax]
set xlabel "time since the loop started (s)"
set ylabel "OK signatures per second"
set yrange [0:$ymax]
set title "Throughput (faults marked below the curves)\n$(cat "$d/patched.title")   |   $(cat "$d/stock.title")"
GP
	if [ -n "$s_fail_t" ]; then
		echo "set arrow 1 from $s_fail_t, graph 0.15 to $s_fail_t, graph 0.95 nohead dashtype 2 lc rgb '#d62728'"
		echo "set label 1 sprintf(\"stock stops signing: fault at %.2f s\", $s_fail_t) at $s_fail_t, graph 0.97 offset 0.5,0 tc rgb '#d62728'"
	fi
	cat <<GP
plot "$d/patched.rate" using 1:2 with lines lw 2 lc rgb '#1f77b4' title "patched: OK/s", \\
     "$d/stock.rate" using 1:2 with lines lw 2 lc rgb '#d62728' title "stock: OK/s", \\
     "$d/patched.marks" using 1:(0.07*$ymax) with points pt 9 ps 0.6 lc rgb '#1f77b4' title "fault (patched run)", \\
     "$d/stock.marks" using 1:(0.03*$ymax) with points pt 11 ps 0.6 lc rgb '#d62728' title "fault (stock run)"
unset arrow 1
unset label 1
set title "Latency of the first operation after each fault (failed: x; the first 4096 faults of each run)"
set ylabel "ms (log scale)"
set logscale y
set yrange [*:*]
set format y "%g"
GP
	plot="plot "
	sep=""
	for k in service_lost:'#1f77b4' service_down_up:'#2ca02c' service_up_late:'#9467bd' card_reset:'#ff7f0e' none:'#7f7f7f'; do
		name=${k%%:*} color=${k#*:}
		[ -s "$d/patched.$name" ] || continue
		plot+="$sep\"$d/patched.$name\" using 1:(\$3 == 1 ? \$2 : 1/0) with points pt 7 ps 0.8 lc rgb '$color' title \"patched: $name\""
		sep=", "
		plot+="$sep\"$d/patched.$name\" using 1:(\$3 == 0 ? \$2 : 1/0) with points pt 2 ps 1.2 lc rgb '$color' notitle"
	done
	if [ -s "$d/stock.faults" ]; then
		plot+="$sep\"$d/stock.faults\" using 1:(\$3 == 1 ? \$2 : 1/0) with points pt 6 ps 0.8 lc rgb '#d62728' title \"stock: OK\""
		sep=", "
		plot+="$sep\"$d/stock.faults\" using 1:(\$3 == 0 ? \$2 : 1/0) with points pt 2 ps 0.8 lc rgb '#d62728' title \"stock: failed\""
	fi
	[ -n "$sep" ] || plot+="NaN notitle"
	echo "$plot"
	echo "unset multiplot"
} >"$d/chart.gp"
gnuplot "$d/chart.gp" 2>"$d/gnuplot.err" || { cat "$d/gnuplot.err" >&2; exit 1; }
[ -s "$png" ] || { echo "chart.sh: gnuplot wrote no $png" >&2; cat "$d/gnuplot.err" >&2; exit 1; }
