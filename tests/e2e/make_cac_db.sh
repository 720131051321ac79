#!/usr/bin/env bash
# Create the NSS database behind the libcacard CAC (vpcd-bridge --cac DIR): three self-signed
# RSA-2048 certificates cert1, cert2, cert3 with their private keys; the database password is the
# card PIN.   make_cac_db.sh DIR [PIN]     (needs certutil: Debian package libnss3-tools)
set -euo pipefail
dir=$1
pin=${2:-${E2E_PIN:-123456}}
command -v certutil >/dev/null || { echo "missing: certutil (Debian package libnss3-tools)" >&2; exit 1; }
rm -rf "$dir"
mkdir -p "$dir"
printf '%s\n' "$pin" >"$dir/.pw"
head -c 2048 /dev/urandom >"$dir/.noise"
certutil -N -d "sql:$dir" -f "$dir/.pw"
for n in 1 2 3; do
	certutil -S -d "sql:$dir" -f "$dir/.pw" -z "$dir/.noise" -n "cert$n" -s "CN=opensc-recovery CAC cert$n" \
		-x -t "CT,C,C" -k rsa -g 2048 -Z SHA256 -v 120 --keyUsage digitalSignature,keyEncipherment >/dev/null 2>&1 ||
		{ echo "certutil could not create cert$n" >&2; exit 1; }
done
rm -f "$dir/.pw" "$dir/.noise"
