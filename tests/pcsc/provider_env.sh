# SPDX-License-Identifier: LGPL-2.1-or-later
# Sourced by the shell tests that run stock OpenSC tools through libvpcsc.
#
#   provider_env <name> <tool>...
#
# Skips the test (exit 77) unless every <tool> is in $OPENSC_STOCK_PREFIX/bin, fails it if the
# provider is not built, makes a fresh $work (removed at exit) with an opensc.conf that loads the
# provider (exported as OPENSC_CONF), clears the provider's environment, and sets $prefix, $lib,
# $failures and fail() (print a FAIL line, count it).
provider_env() {
	local name=$1 t
	shift
	prefix=${OPENSC_STOCK_PREFIX:-}
	for t in "$@"; do
		if [ -z "$prefix" ] || [ ! -x "$prefix/bin/$t" ]; then
			echo "SKIP: no stock $t (OPENSC_STOCK_PREFIX=${OPENSC_STOCK_PREFIX:-unset})"
			exit 77
		fi
	done
	lib=${VPCSC_LIBRARY:-${top_builddir:-.}/.libs/libvpcsc.so}
	if [ ! -f "$lib" ]; then
		echo "FAIL: provider $lib not built"
		exit 1
	fi
	work=$(mktemp -d "/tmp/vpcsc-$name-XXXXXX")
	trap 'rm -rf "$work"' EXIT
	cat >"$work/opensc.conf" <<CONF
app default {
	reader_driver pcsc {
		provider_library = "$lib";
	}
}
CONF
	export OPENSC_CONF=$work/opensc.conf
	unset VPCSC_SCENARIO VPCSC_SCENARIO_JSON VPCSC_EVENT_LOG VPCSC_STATS_FILE VPCSC_SEED
	failures=0
}

fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
