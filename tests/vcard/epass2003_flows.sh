#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# End-to-end flows of stock OpenSC 0.27.1 against the virtual ePass2003,
# through the in-process PC/SC provider (libvpcsc), in one SM variant:
#   epass2003_flows.sh [3des|aes|fips|plain]      (default: $VCARD_VARIANT or aes)
# Needs: OPENSC_STOCK_PREFIX, VPCSC_LIBRARY, top_builddir; openssl(1).
set -u
variant=${1:-${VCARD_VARIANT:-aes}}
: "${top_builddir:?}" "${OPENSC_STOCK_PREFIX:?}" "${VPCSC_LIBRARY:?}"
B=$OPENSC_STOCK_PREFIX/bin
MOD=$OPENSC_STOCK_PREFIX/lib/opensc-pkcs11.so
TOOL=$top_builddir/vcard-tool
for f in "$B/pkcs15-init" "$B/pkcs11-tool" "$MOD" "$VPCSC_LIBRARY" "$TOOL"; do
	[ -e "$f" ] || { echo "SKIP: $f missing"; exit 77; }
done
command -v openssl >/dev/null || { echo "SKIP: openssl missing"; exit 77; }

work=$(mktemp -d "${TMPDIR:-/tmp}/vcard-flows.XXXXXX")
trap 'rm -rf "$work"' EXIT
cd "$work"
fails=0
ok() { echo "ok   - $*"; }
bad() { echo "FAIL - $*"; fails=$((fails + 1)); }
check() { local what=$1; shift; if "$@" >>log 2>&1; then ok "$what"; else bad "$what"; fi; }
check_not() { local what=$1; shift; if "$@" >>log 2>&1; then bad "$what"; else ok "$what"; fi; }

cat >opensc.conf <<CONF
app default { reader_driver pcsc { provider_library = "$VPCSC_LIBRARY"; } }
CONF
cat >scenario.json <<JSON
{ "readers": [ { "name": "Virtual ePass2003", "card": "token" } ],
  "cards": { "token": { "type": "image", "path": "$work/token.img" } } }
JSON
export OPENSC_CONF=$work/opensc.conf VPCSC_SCENARIO=$work/scenario.json VCARD_APDU_LOG=$work/apdu.jsonl

tries() { "$TOOL" dump token.img | awk '/type 04 kid 01/ { print $6 }'; }

echo "== variant $variant"
check "create blank image" "$TOOL" create token.img --variant "$variant" --serial 0102030405060708
check "opensc-tool -n says epass2003" bash -c "'$B/opensc-tool' -n | grep -qx epass2003"
check "opensc-tool --serial" bash -c "'$B/opensc-tool' --serial | grep -q '01 02 03 04 05 06 07 08'"
check "pkcs15-init --create-pkcs15" "$B/pkcs15-init" --create-pkcs15 --profile pkcs15+onepin \
	--pin 123456 --puk 12345678 --label VirtualEpass
check "generate RSA-2048" "$B/pkcs15-init" --generate-key rsa/2048 --auth-id 01 --pin 123456 \
	--id 01 --label "RSA2k key"
check "generate EC P-256" "$B/pkcs15-init" --generate-key ec/prime256v1 --auth-id 01 --pin 123456 \
	--id 03 --label "Private Key"
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out imp.pem 2>>log
openssl req -new -x509 -key imp.pem -subj /CN=vcard-import -days 30 -out imp.crt 2>>log
check "import RSA-2048 key" "$B/pkcs15-init" --store-private-key imp.pem --auth-id 01 --pin 123456 \
	--id 02 --label "RSA2k encryption key" --key-usage sign,decrypt
check "store certificate" "$B/pkcs15-init" --store-certificate imp.crt --id 02 --pin 123456
"$B/pkcs15-tool" -D >dump.txt 2>>log
check "pkcs15-tool -D lists the RSA key" grep -q "Private RSA Key \[RSA2k key\]" dump.txt
check "pkcs15-tool -D lists the EC key" grep -q "Private EC Key \[Private Key\]" dump.txt
check "pkcs15-tool -D lists the certificate" grep -q "X.509 Certificate" dump.txt
check "pkcs11-tool --test --login" bash -c "'$B/pkcs11-tool' --module '$MOD' --test --login --pin 123456 2>&1 | tee -a p11test.txt | grep -q 'No errors'"

p11() { "$B/pkcs11-tool" --module "$MOD" --login --pin 123456 "$@"; }
head -c 100 /dev/urandom >msg
openssl dgst -sha256 -binary msg >msg.sha256
p11 --read-object --type pubkey --id 01 -o rsa.der >>log 2>&1
openssl pkey -pubin -inform DER -in rsa.der -out rsa.pub 2>>log
p11 --read-object --type pubkey --id 03 -o ec.der >>log 2>&1
openssl pkey -pubin -inform DER -in ec.der -out ec.pub 2>>log
openssl pkey -in imp.pem -pubout -out imp.pub 2>>log

p11 --sign --id 01 -m RSA-PKCS -i msg.sha256 -o s1 >>log 2>&1
check "RSA-PKCS signature verifies" openssl pkeyutl -verify -pubin -inkey rsa.pub -in msg.sha256 -sigfile s1 \
	-pkeyopt rsa_padding_mode:pkcs1
p11 --sign --id 01 -m SHA256-RSA-PKCS -i msg -o s2 >>log 2>&1
check "SHA256-RSA-PKCS signature verifies" openssl dgst -sha256 -verify rsa.pub -signature s2 msg
p11 --sign --id 02 -m SHA256-RSA-PKCS -i msg -o s3 >>log 2>&1
check "imported key signature verifies" openssl dgst -sha256 -verify imp.pub -signature s3 msg
p11 --sign --id 03 -m ECDSA --signature-format openssl -i msg.sha256 -o s4 >>log 2>&1
check "ECDSA signature verifies" openssl pkeyutl -verify -pubin -inkey ec.pub -in msg.sha256 -sigfile s4
p11 --sign --id 03 -m ECDSA-SHA256 --signature-format openssl -i msg -o s5 >>log 2>&1
check "ECDSA-SHA256 signature verifies" openssl dgst -sha256 -verify ec.pub -signature s5 msg
head -c 32 /dev/urandom >secret
openssl pkeyutl -encrypt -pubin -inkey imp.pub -in secret -out secret.enc 2>>log
p11 --decrypt --id 02 -m RSA-PKCS -i secret.enc -o secret.dec >>log 2>&1
check "RSA-PKCS decryption matches" cmp secret secret.dec

# The PIN never travels in clear: neither its ASCII form nor its key.
check_not "PIN ASCII absent from the wire log" grep -q '"side":"wire".*313233343536' apdu.jsonl
check "PIN key is in the plain log (INSTALL SECRET KEY)" grep -q '"side":"plain".*7C4A8D09CA3762AF61E59520943DC26494F8941B' apdu.jsonl
if [ "$variant" != plain ]; then
	check_not "PIN key absent from the wire log" grep -q '"side":"wire".*7C4A8D09CA3762AF61E59520943DC26494F8941B' apdu.jsonl
fi

# Try counters: wrong PIN decrements, blocks after the maximum, PUK unblocks.
check "counter starts at 6" test "$(tries)" = 6/6
check_not "wrong PIN refused" "$B/pkcs11-tool" --module "$MOD" --login --pin 000000 --list-objects
check "wrong PIN decrements" test "$(tries)" = 5/6
for i in 1 2 3 4 5; do "$B/pkcs11-tool" --module "$MOD" --login --pin 000000 --list-objects >>log 2>&1; done
check "blocked after the maximum" bash -c "'$TOOL' dump token.img | grep 'kid 01' | grep -q BLOCKED"
check_not "correct PIN refused while blocked" "$B/pkcs11-tool" --module "$MOD" --login --pin 123456 --list-objects
check "unblock with the PUK" "$B/pkcs15-tool" --unblock-pin --auth-id 01 --puk 12345678 --new-pin 123456
check "counter re-armed" test "$(tries)" = 6/6
check "login works after unblock" "$B/pkcs11-tool" --module "$MOD" --login --pin 123456 --list-objects
# PIN change (UPDATE SECRET KEY) and back, through both tools.
check "pkcs15-tool --change-pin" "$B/pkcs15-tool" --change-pin --auth-id 01 --pin 123456 --new-pin 654321
check_not "old PIN refused after change" "$B/pkcs11-tool" --module "$MOD" --login --pin 123456 --list-objects
check "pkcs11-tool --change-pin back" "$B/pkcs11-tool" --module "$MOD" --login --pin 654321 --change-pin --new-pin 123456
check "login with the restored PIN" "$B/pkcs11-tool" --module "$MOD" --login --pin 123456 --list-objects
check "vcard-tool dump --json redacts secrets" bash -c "! '$TOOL' dump token.img --json | grep -q 7C4A8D09"
check "erase card" "$B/pkcs15-init" --erase-card
check "erased image is blank" bash -c "'$TOOL' dump token.img | grep -q 'blank card'"

if [ "$fails" -ne 0 ]; then
	echo "---- log (tail)"; tail -40 log
	exit 1
fi
exit 0
