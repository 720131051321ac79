#!/usr/bin/env bash
# A long-lived TLS server on the token's key through OpenSSL + libp11 (Debian's
# libengine-pkcs11-openssl, the "pkcs11" engine: bookworm ships libp11 0.4.12, an engine, and no
# pkcs11 provider), and TLS handshakes against it in a loop: the p11_scenario.sh client for libp11.
#
#   tls_handshake_loop.sh --module PATH --pin PIN [--interval-ms 100]
#
# 1. a self-signed certificate for the token's RSA key (openssl req -x509 through the engine, once);
# 2. `openssl s_server -engine pkcs11 -keyform engine -key pkcs11:type=private` with that certificate:
#    one process, one engine, one libp11 login for its whole life;
# 3. `openssl s_client` handshakes in a loop (TLS 1.2, ECDHE-RSA, RSA+SHA256: the server signs its
#    key exchange with the token's key on every handshake, and s_client verifies that signature with
#    the certificate; -verify_return_error makes any verification failure a failed handshake).
# Output: the p11-session-loop lines ("<ms> READY ...", "<ms> OK n=N" (handshake done, s_client says
# "Verification: OK" and "Signature type: RSA"), "<ms> FAIL <why> n=N",
# "<ms> summary ok=N fail=M"), so p11_scenario.sh analyses it unchanged. SIGTERM ends
# the loop (and the server). Work files under $E2E_WORKDIR/tls (else a temporary directory).
set -uo pipefail

module="" pin="" interval_ms=100
while [ $# -gt 0 ]; do
	case $1 in
	--module) module=$2; shift 2 ;;
	--pin) pin=$2; shift 2 ;;
	--interval-ms) interval_ms=$2; shift 2 ;;
	*) echo "usage: tls_handshake_loop.sh --module PATH --pin PIN [--interval-ms MS]" >&2; exit 2 ;;
	esac
done
now_ms() { date +%s%3N; }
setup_fail() { echo "$(now_ms) SETUP-FAIL $*"; exit 2; }
[ -r "$module" ] && [ -n "$pin" ] || setup_fail "usage: --module PATH --pin PIN"

engine=${TLS_ENGINE_PATH:-$(ls /usr/lib/*/engines-3/pkcs11.so /usr/lib/engines-3/pkcs11.so 2>/dev/null | head -n1)}
[ -r "$engine" ] || setup_fail "no libp11 pkcs11 engine (Debian package libengine-pkcs11-openssl)"
dir=${E2E_WORKDIR:+$E2E_WORKDIR/tls}
dir=${dir:-$(mktemp -d "${TMPDIR:-/tmp}/tls-loop.XXXXXX")}
mkdir -p "$dir"
port=${TLS_PORT:-4433}

# The engine as a real deployment configures it: OpenSSL's config names the module and the PIN.
cat >"$dir/openssl.cnf" <<-CNF
	openssl_conf = openssl_init
	[openssl_init]
	engines = engine_section
	[engine_section]
	pkcs11 = pkcs11_section
	[pkcs11_section]
	engine_id = pkcs11
	dynamic_path = $engine
	MODULE_PATH = $module
	PIN = $pin
	init = 0
	[req]
	distinguished_name = dn
	[dn]
CNF
export OPENSSL_CONF="$dir/openssl.cnf"
key_uri="pkcs11:type=private"

if ! openssl req -new -x509 -engine pkcs11 -keyform engine -key "$key_uri" -sha256 -days 2 \
	-subj "/CN=opensc-recovery e2e TLS" -out "$dir/cert.pem" >"$dir/req.log" 2>&1; then
	setup_fail "openssl req -x509 with the token's key: $(grep -v '^Engine' "$dir/req.log" | head -n 2 | tr '\n' ' ')"
fi

server_pid=""
start_server()
{
	openssl s_server -engine pkcs11 -keyform engine -key "$key_uri" -cert "$dir/cert.pem" \
		-accept "127.0.0.1:$port" -tls1_2 -www </dev/null >>"$dir/s_server.log" 2>&1 &
	server_pid=$!
}
start_server
stop=0
trap 'stop=1' TERM INT
ok=0 fail=0 n=0
pause=$(awk -v m="$interval_ms" 'BEGIN { printf "%.3f", m / 1000 }')
# The server is up when a handshake completes (it logs in and loads the key first).
ready=0
for _ in $(seq 1 100); do
	kill -0 "$server_pid" 2>/dev/null || setup_fail "s_server exited: $(grep -v '^Engine' "$dir/s_server.log" | head -n 3 | tr '\n' ' ')"
	if timeout 10 openssl s_client -connect "127.0.0.1:$port" -tls1_2 -cipher ECDHE-RSA-AES128-GCM-SHA256 \
		-sigalgs RSA+SHA256 -CAfile "$dir/cert.pem" -verify_return_error -brief </dev/null >"$dir/first.log" 2>&1; then
		ready=1
		break
	fi
	sleep 0.1
done
[ $ready = 1 ] || setup_fail "no handshake with s_server: $(tail -n 2 "$dir/first.log" | tr '\n' ' ')"
echo "$(now_ms) READY server=$server_pid cert=$dir/cert.pem $(grep -m1 -o 'Signature type: .*' "$dir/first.log")"

while [ $stop = 0 ]; do
	n=$((n + 1))
	if ! kill -0 "$server_pid" 2>/dev/null; then
		fail=$((fail + 1))
		echo "$(now_ms) FAIL s_server-died n=$n"
	else
		# In the background, so that SIGTERM (the scenario's end) is handled at once.
		timeout 10 openssl s_client -connect "127.0.0.1:$port" -tls1_2 -cipher ECDHE-RSA-AES128-GCM-SHA256 \
			-sigalgs RSA+SHA256 -CAfile "$dir/cert.pem" -verify_return_error -brief </dev/null >"$dir/client.out" 2>&1 &
		client=$!
		wait "$client"
		rc=$?
		if [ $stop = 1 ]; then
			kill "$client" 2>/dev/null
			wait "$client" 2>/dev/null
			break
		fi
		if [ $rc = 0 ] && grep -q '^Verification: OK' "$dir/client.out" && grep -q '^Signature type: RSA' "$dir/client.out"; then
			ok=$((ok + 1))
			echo "$(now_ms) OK n=$n"
		else
			fail=$((fail + 1))
			echo "$(now_ms) FAIL handshake rc=$rc $(grep -m1 -E 'error|alert|erify' "$dir/client.out" | tr -s ' ' | cut -c1-120) n=$n"
		fi
	fi
	[ $stop = 0 ] && sleep "$pause" &
	wait $! 2>/dev/null
done
echo "$(now_ms) summary ok=$ok fail=$fail"
kill "$server_pid" 2>/dev/null
wait "$server_pid" 2>/dev/null
exit 0
