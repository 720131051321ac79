#!/usr/bin/env bash
# Create the NSS database behind the libcacard CAC (vpcd-bridge --cac DIR): three self-signed
# RSA-2048 certificates cert1, cert2, cert3 with their private keys.
#
#   make_cac_db.sh DIR [PIN]      (needs certutil: Debian package libnss3-tools)
#
# With a PIN the database password is the card PIN (VERIFY checks it). Without one (the default of
# the e2e tests) the keys need no login. Why the tests use no PIN: after a power cycle libcacard
# answers a signature without login with 6985 (conditions of use not satisfied) where a real CAC
# answers 6982 (security status not satisfied); OpenSC re-verifies a cached PIN only on the latter,
# so a PIN-protected libcacard CAC can never recover its login after a pcscd restart, patched or not.
# The login recovery is shown on the virtual ePass2003; the CAC shows the PC/SC-level recovery.
set -euo pipefail
dir=$1
pin=${2:-}
command -v certutil >/dev/null || { echo "missing: certutil (Debian package libnss3-tools)" >&2; exit 1; }
rm -rf "$dir"
mkdir -p "$dir"
head -c 2048 /dev/urandom >"$dir/.noise"
if [ -n "$pin" ]; then
	printf '%s\n' "$pin" >"$dir/.pw"
	certutil -N -d "sql:$dir" -f "$dir/.pw"
	pwargs=(-f "$dir/.pw")
else
	certutil -N -d "sql:$dir" --empty-password
	pwargs=()
fi
for n in 1 2 3; do
	certutil -S -d "sql:$dir" "${pwargs[@]}" -z "$dir/.noise" -n "cert$n" -s "CN=opensc-recovery CAC cert$n" \
		-x -t "CT,C,C" -k rsa -g 2048 -Z SHA256 -v 120 --keyUsage digitalSignature,keyEncipherment >/dev/null 2>&1 ||
		{ echo "certutil could not create cert$n" >&2; exit 1; }
done
rm -f "$dir/.pw" "$dir/.noise"
