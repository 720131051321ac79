#!/usr/bin/env bash
# make module: one self-contained opensc-pkcs11.so. Checks: it exports only PKCS#11 entry points (C_*,
# among them C_GetFunctionList, C_GetInterfaceList, C_GetInterface); no RUNPATH/RPATH and no libopensc
# among its NEEDED; the configured opensc.conf path is compiled in and OPENSC_CONF overrides it;
# pkcs11-tool --show-info shows the fork; and no symbol interposition either way with another
# libopensc in the same process (tests/delivery/p11-two-modules loads them as applications do, without
# RTLD_DEEPBIND; which libopensc code ran is read from each context's debug line "OpenSC version: ..."):
#   1. the stock libopensc.so loaded RTLD_GLOBAL first (a program linked with it), then our module:
#      our module must run its own libopensc ("0.27.1+recovery1"), the library its own ("0.27.1");
#   2. our module loaded RTLD_GLOBAL first, then the stock libopensc.so: the library must still run its
#      own code, not ours;
#   3. the stock onepin-opensc-pkcs11.so loaded RTLD_GLOBAL first (its C_* global), then ours: ours must
#      answer with its own functions (-Bsymbolic) and its own libopensc.
# Each is also run with a control: the same archives linked without the version script and without
# -Bsymbolic, which must show the interposition, so the checks can fail.
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

versions() { sed -n 's/.*OpenSC version: \([^ ]*\).*/\1/Ip' "$1" | sort | tr '\n' ' ' | sed 's/ $//'; }
libopensc=$(readlink -f "$stock/lib/libopensc.so")
# coload NAME ITEM...: runs p11-two-modules with its own debug log; prints "<sorted versions> / <answers>"
coload()
{
	local name=$1
	shift
	rm -f "$tmp/$name.log"; mkconf "$tmp/$name.log" "$tmp/$name.conf"
	OPENSC_CONF="$tmp/$name.conf" "$two" "$@" >"$tmp/$name.out" 2>&1
	echo "$(versions "$tmp/$name.log") / $(sed -n 's/^[a-z]* [0-9]: //p' "$tmp/$name.out" | tr '\n' ';')"
}
want="0.27.1 0.27.1$DL_SUFFIX"
# 1.
got=$(coload d1 --global-lib "$libopensc" --module "$MODULE_SO"); sed 's/^/    /' "$tmp/d1.out"
dl_check "stock libopensc first, then ours: each runs its own libopensc ($got)" \
	[ "$got" = "$want / 0.27.1;$DL_PRODUCT 0.27;" ]
got=$(coload c1 --global-lib "$libopensc" --module "$tmp/exportall.so")
dl_check "control: interposed by the stock libopensc ($got)" [ "${got%% / *}" != "$want" ]
# 2.
got=$(coload d2 --global-module "$MODULE_SO" --global-lib "$libopensc"); sed 's/^/    /' "$tmp/d2.out"
dl_check "ours RTLD_GLOBAL first, then the stock libopensc: each runs its own ($got)" \
	[ "$got" = "$want / $DL_PRODUCT 0.27;0.27.1;" ]
got=$(coload c2 --global-module "$tmp/exportall.so" --global-lib "$libopensc")
dl_check "control: interposes on the stock libopensc ($got)" [ "${got%% / *}" != "$want" ]
# 3.
got=$(coload d3 --global-module "$stock/lib/onepin-opensc-pkcs11.so" --module "$MODULE_SO"); sed 's/^/    /' "$tmp/d3.out"
dl_check "stock module RTLD_GLOBAL first, then ours: ours answers with its own functions and libopensc ($got)" \
	[ "$got" = "$want / OpenSC smartcard framework 0.27;$DL_PRODUCT 0.27;" ]
got=$(coload c3 --global-module "$stock/lib/onepin-opensc-pkcs11.so" --module "$tmp/exportall.so")
dl_check "control: interposed by the stock module ($got)" [ "$got" != "$want / OpenSC smartcard framework 0.27;$DL_PRODUCT 0.27;" ]
dl_finish
