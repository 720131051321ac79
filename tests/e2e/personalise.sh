#!/usr/bin/env bash
# Personalise a virtual ePass2003 the way a user personalises a real one, run inside
# tests/harness/netns-run: blank image (vcard-tool create) → vpcd bridge → own pcscd →
# OpenSC's pkcs15-init (PKCS#15 with one PIN, an RSA-2048 key generated on the card).
#
#   personalise.sh OUTPUT_IMAGE WORKDIR
# Environment: OPENSC_PREFIX (whose pkcs15-init to use), VCARD_TOOL (default $top_builddir/vcard-tool),
# E2E_PIN (123456), E2E_PUK (12345678), E2E_KEY (rsa/2048), E2E_SM_VARIANT (vcard-tool's default),
# E2E_CARD_SERIAL (the token serial, 0102030405060708), E2E_USER_CONSENT (unset: a normal key; N > 0: the key needs the PIN before each use, pkcs15-init
# --user-consent N, CKA_ALWAYS_AUTHENTICATE in PKCS#11).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/../harness/lib.sh"

output=$1
harness_init "$2"
prefix=${OPENSC_PREFIX:?}
vcard_tool=${VCARD_TOOL:-${top_builddir:-.}/vcard-tool}
pin=${E2E_PIN:-123456}
puk=${E2E_PUK:-12345678}
key=${E2E_KEY:-rsa/2048}
harness_opensc_conf

image="$HARNESS_DIR/card.json"
rm -f "$image"
variant_args=()
[ -n "${E2E_SM_VARIANT:-}" ] && variant_args=(--variant "$E2E_SM_VARIANT")
"$vcard_tool" create "$image" "${variant_args[@]}" --serial "${E2E_CARD_SERIAL:-0102030405060708}" >"$HARNESS_DIR/personalise.log" 2>&1 ||
	harness_die "vcard-tool create failed: $(cat "$HARNESS_DIR/personalise.log")"

harness_start_pcscd
harness_start_bridge --card "$image"
harness_wait_card "$prefix" 10 || harness_die "$HARNESS_WAIT_ERROR"
run()
{
	echo "+ $*" >>"$HARNESS_DIR/personalise.log"
	"$@" >>"$HARNESS_DIR/personalise.log" 2>&1 || harness_die "failed: $* (see $HARNESS_DIR/personalise.log)"
}
run "$prefix/bin/pkcs15-init" --create-pkcs15 --profile pkcs15+onepin --pin "$pin" --puk "$puk" --label VirtualEpass
consent_args=()
[ -n "${E2E_USER_CONSENT:-}" ] && consent_args=(--user-consent "$E2E_USER_CONSENT")
run "$prefix/bin/pkcs15-init" --generate-key "$key" --auth-id 01 --pin "$pin" --label "e2e key" "${consent_args[@]}"
run "$prefix/bin/pkcs15-tool" --list-keys
harness_stop_bridge # SIGTERM: the bridge saves the image
cp "$image" "$output.tmp" && mv -f "$output.tmp" "$output"
harness_log "personalised ePass2003 image: $output (PIN $pin, key $key)"
