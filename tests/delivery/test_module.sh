#!/usr/bin/env bash
# make module: one self-contained opensc-pkcs11.so. Checks: it exports only PKCS#11 entry points (C_*,
# among them C_GetFunctionList, C_GetInterfaceList, C_GetInterface); no RUNPATH/RPATH and no libopensc
# among its NEEDED; the configured opensc.conf path is compiled in and OPENSC_CONF overrides it;
# pkcs11-tool --show-info shows the fork; and no symbol interposition either way with another
# libopensc in the same process:
#   1. stock pkcs11-tool (linked with the stock libopensc.so) loads our module: our module's libopensc
#      code must run (its debug log says "OpenSC version: 0.27.1+recovery1"), not the stock one;
#   2. our module loaded RTLD_GLOBAL first, then the stock onepin-opensc-pkcs11.so: the stock module's
#      libopensc must still run its own code ("OpenSC version: 0.27.1");
#   3. the stock onepin-opensc-pkcs11.so loaded RTLD_GLOBAL first (its C_* and, through its
#      libopensc.so, every sc_* symbol global), then ours: ours must still answer with its own functions
#      and its own libopensc.
# Each is also run with a control: the same archives linked without the version script (every libopensc
# symbol exported), which must show the interposition — so the checks can fail.
set -uo pipefail
. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/common.sh"
dl_need_module
stock=${OPENSC_STOCK_PREFIX:-}
[ -x "$stock/bin/pkcs11-tool" ] && [ -r "$stock/lib/onepin-opensc-pkcs11.so" ] ||
	{ echo "FAIL: stock OpenSC not built (OPENSC_STOCK_PREFIX='$stock')"; exit 1; }
two="$dl_build/tests/delivery/p11-two-modules"
[ -x "$two" ] || { echo "FAIL: $two not built"; exit 1; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/module-test.XXXXXX"); trap 'rm -rf "$tmp"' EXIT
export PCSCLITE_CSOCK_NAME="$tmp/no-pcscd" # never a system pcscd

# Exports
nm -D --defined-only "$MODULE_SO" | awk '{print $3}' | sort >"$tmp/exports"
others=$(grep -v '^C_' "$tmp/exports" | tr '\n' ' ')
dl_check "exports only C_* ($(wc -l <"$tmp/exports") symbols)${others:+; also: $others}" [ -z "$others" ]
for s in C_GetFunctionList C_GetInterfaceList C_GetInterface C_Initialize C_GetInfo C_Sign; do
	dl_check "exports $s" grep -qx "$s" "$tmp/exports"
done
dl_check "no sc_* symbol (libopensc) exported" sh -c "! nm -D --defined-only '$MODULE_SO' | grep -q ' sc_'"
dl_check "no libopensc symbol imported" sh -c "! nm -D --undefined-only '$MODULE_SO' | grep -q ' sc_'"
readelf -d "$MODULE_SO" >"$tmp/dynamic"
dl_check "no RUNPATH/RPATH" sh -c "! grep -q -E 'RUNPATH|RPATH' '$tmp/dynamic'"
dl_check "no libopensc among NEEDED ($(sed -n 's/.*Shared library: \[\(.*\)\]/\1/p' "$tmp/dynamic" | tr '\n' ' '))" \
	sh -c "! grep NEEDED '$tmp/dynamic' | grep -q libopensc"

# Configuration file
conf=$(sed -n 's/^conf=//p' "$MODULE_DIR/module.env")
dl_check "the configured configuration file $conf is compiled in" grep -q -a -F "$conf" "$MODULE_SO"

# pkcs11-tool --show-info, and OPENSC_CONF honoured (its debug_file is written)
mkconf() { printf 'app default {\n\tdebug = 3;\n\tdebug_file = %s;\n}\n' "$1" >"$2"; }
mkconf "$tmp/show.log" "$tmp/show.conf"
info=$(OPENSC_CONF="$tmp/show.conf" "$stock/bin/pkcs11-tool" --module "$MODULE_SO" --show-info 2>&1)
echo "$info" | sed 's/^/    /'
dl_check "pkcs11-tool --show-info: library '$DL_PRODUCT (ver 0.27)'" hasf "$info" "$DL_PRODUCT (ver 0.27)"
dl_check "OPENSC_CONF honoured (its debug_file written)" [ -s "$tmp/show.log" ]

# The control: libopensc's symbols exported (no version script).
src="$MODULE_DIR/src/src"
${CC:-cc} -shared -o "$tmp/exportall.so" -Wl,--whole-archive "$src/pkcs11/.libs/libopensc-pkcs11.a" -Wl,--no-whole-archive \
	"$src/libopensc/.libs/libopensc.a" "$src/common/.libs/libscdl.a" "$src/common/.libs/libcompat.a" \
	$(pkg-config --libs libcrypto) -lz -ldl -lpthread || { echo "FAIL: cannot link the control module"; exit 1; }

versions() { sed -n 's/.*OpenSC version: \([^ ]*\).*/\1/p' "$1" | sort | tr '\n' ' ' | sed 's/ $//'; }
# 1. stock libopensc in the process first (pkcs11-tool's own dependency), then the module
direction1()
{
	rm -f "$tmp/d1.log"; mkconf "$tmp/d1.log" "$tmp/d1.conf"
	OPENSC_CONF="$tmp/d1.conf" "$stock/bin/pkcs11-tool" --module "$1" --show-info >/dev/null 2>&1
	versions "$tmp/d1.log"
}
got=$(direction1 "$MODULE_SO")
dl_check "stock libopensc loaded first: our module runs its own libopensc (log: '$got')" [ "$got" = "0.27.1$DL_SUFFIX" ]
got=$(direction1 "$tmp/exportall.so")
dl_check "control (all symbols exported) is interposed by the stock libopensc (log: '$got')" [ "$got" != "0.27.1$DL_SUFFIX" ]
# 2. our module RTLD_GLOBAL first, then the stock module (and with it the stock libopensc.so)
direction2()
{
	rm -f "$tmp/d2.log"; mkconf "$tmp/d2.log" "$tmp/d2.conf"
	OPENSC_CONF="$tmp/d2.conf" "$two" --global "$1" "$stock/lib/onepin-opensc-pkcs11.so" >"$tmp/d2.out" 2>&1
	versions "$tmp/d2.log"
}
got=$(direction2 "$MODULE_SO")
sed 's/^/    /' "$tmp/d2.out"
dl_check "ours loaded RTLD_GLOBAL first: the stock module keeps its own libopensc (log: '$got')" [ "$got" = "0.27.1 0.27.1$DL_SUFFIX" ]
dl_check "both answer C_GetInfo in one process" grep -q 'SECOND: OpenSC smartcard framework' "$tmp/d2.out"
got=$(direction2 "$tmp/exportall.so")
dl_check "control loaded RTLD_GLOBAL first interposes on the stock libopensc (log: '$got')" [ "$got" != "0.27.1 0.27.1$DL_SUFFIX" ]
# 3. the stock module RTLD_GLOBAL first, then ours
direction3()
{
	rm -f "$tmp/d3.log"; mkconf "$tmp/d3.log" "$tmp/d3.conf"
	OPENSC_CONF="$tmp/d3.conf" "$two" --global "$stock/lib/onepin-opensc-pkcs11.so" "$1" >"$tmp/d3.out" 2>&1
	echo "$(versions "$tmp/d3.log") / $(sed -n 's/^SECOND: //p' "$tmp/d3.out")"
}
got=$(direction3 "$MODULE_SO")
sed 's/^/    /' "$tmp/d3.out"
dl_check "stock module RTLD_GLOBAL first: ours answers with its own functions and libopensc ($got)" \
	[ "$got" = "0.27.1 0.27.1$DL_SUFFIX / $DL_PRODUCT 0.27" ]
got=$(direction3 "$tmp/exportall.so")
dl_check "control after the stock module RTLD_GLOBAL is interposed ($got)" \
	[ "$got" != "0.27.1 0.27.1$DL_SUFFIX / $DL_PRODUCT 0.27" ]
dl_finish
