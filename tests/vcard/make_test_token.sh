#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Personalises a ready test token through stock OpenSC's pkcs15-init and the
# in-process PC/SC provider:
#   make_test_token.sh IMAGE [3des|aes|fips]
# pkcs15+onepin, user PIN 123456, PUK 12345678, the objects of OpenSC's
# p11test reference token (src/tests/p11test/epass2003_ref.json):
#   01 "RSA2k key" (RSA-2048, sign) with a certificate,
#   02 "RSA2k encryption key" (RSA-2048, decrypt), 03 "Private Key" (EC P-256).
# Environment: VCARD_TOKEN_CERT=0 skips the certificate (the p11test reference
# token had none); VCARD_TOKEN_OPTIONS="name=value ..." sets card options.
set -eu
image=${1:?usage: make_test_token.sh IMAGE [variant]}
variant=${2:-${VCARD_VARIANT:-aes}}
: "${top_builddir:?}" "${OPENSC_STOCK_PREFIX:?}" "${VPCSC_LIBRARY:?}"
case $image in /*) ;; *) image=$PWD/$image ;; esac
B=$OPENSC_STOCK_PREFIX/bin
work=$(mktemp -d "${TMPDIR:-/tmp}/vcard-token.XXXXXX")
trap 'rm -rf "$work"' EXIT
# profile_dir and LD_LIBRARY_PATH: the prefix given, even when the build tree was copied elsewhere
# (OpenSC bakes its prefix into the profile path and the RUNPATH of its programs)
cat >"$work/opensc.conf" <<CONF
app default { profile_dir = "$OPENSC_STOCK_PREFIX/share/opensc"; reader_driver pcsc { provider_library = "$VPCSC_LIBRARY"; } }
CONF
export LD_LIBRARY_PATH=$OPENSC_STOCK_PREFIX/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
cat >"$work/scenario.json" <<JSON
{ "readers": [ { "name": "Virtual ePass2003", "card": "token" } ],
  "cards": { "token": { "type": "image", "path": "$image" } } }
JSON
export OPENSC_CONF=$work/opensc.conf VPCSC_SCENARIO=$work/scenario.json
q() { "$@" >>"$work/log" 2>&1 || { echo "make_test_token: failed: $*" >&2; tail -20 "$work/log" >&2; exit 1; }; }
opts=()
for o in ${VCARD_TOKEN_OPTIONS:-}; do opts+=(--option "$o"); done
q "$top_builddir/vcard-tool" create "$image" --variant "$variant" --serial 0011223344556677 --force "${opts[@]}"
q "$B/pkcs15-init" --create-pkcs15 --profile pkcs15+onepin --pin 123456 --puk 12345678 --label VirtualEpass
q "$B/pkcs15-init" --generate-key rsa/2048 --auth-id 01 --pin 123456 --id 01 --label "RSA2k key" \
	--key-usage sign
q "$B/pkcs15-init" --generate-key rsa/2048 --auth-id 01 --pin 123456 --id 02 \
	--label "RSA2k encryption key" --key-usage decrypt
q "$B/pkcs15-init" --generate-key ec/prime256v1 --auth-id 01 --pin 123456 --id 03 --label "Private Key" \
	--key-usage sign
if [ "${VCARD_TOKEN_CERT:-1}" = 0 ]; then
	echo "test token: $image (variant $variant, no certificate, user PIN 123456, PUK 12345678)"
	exit 0
fi
# A certificate for key 01: issued by a throw-away CA over the card's public key.
q "$B/pkcs15-tool" --read-public-key 01 -o "$work/k01.pub"
q openssl req -x509 -newkey rsa:2048 -nodes -keyout "$work/ca.key" -subj /CN=vcard-test-ca -days 3650 \
	-out "$work/ca.crt"
q openssl req -new -newkey rsa:2048 -nodes -keyout "$work/tmp.key" -subj "/CN=RSA2k key" -out "$work/k01.csr"
q openssl x509 -req -in "$work/k01.csr" -CA "$work/ca.crt" -CAkey "$work/ca.key" -CAcreateserial \
	-force_pubkey "$work/k01.pub" -days 3650 -out "$work/k01.crt"
q "$B/pkcs15-init" --store-certificate "$work/k01.crt" --id 01 --pin 123456 --label "RSA2k key"
echo "test token: $image (variant $variant, user PIN 123456, PUK 12345678)"
