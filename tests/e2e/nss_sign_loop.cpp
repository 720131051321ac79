// SPDX-License-Identifier: LGPL-2.1-or-later
// A long-lived NSS client, as Firefox/Thunderbird use a token: NSS loads the PKCS#11 module itself
// (SECMOD_LoadUserModule), the user logs in once (PK11_Authenticate through NSS's password callback),
// then the client signs at a fixed interval with the token's RSA key through NSS (PK11_Sign on a
// SHA-256 DigestInfo), verifying every signature with OpenSSL against the public key read at
// start. A second thread sits in SECMOD_WaitForAnyTokenEvent as Firefox's SmartCardMonitoringThread
// does and, on each event, asks NSS whether the token is present and whether its series changed.
// Before each signature the client asks NSS PK11_IsPresent and PK11_IsLoggedIn, so NSS runs its own
// presence checks (C_GetSessionInfo / C_GetSlotInfo on its slot session, re-initialising the token
// when it thinks the token went away).
//
//   nss-sign-loop --module PATH --pin PIN [--interval-ms 100] [--duration-ms 0 (until signal)]
//                 [--relogin] (answer NSS's later PIN requests; default: refuse them, as a user who
//                 is not asked again would) [--no-event-thread] (no SECMOD_WaitForAnyTokenEvent thread)
//
// Output (same "<epoch ms> OK|FAIL" lines as p11-session-loop, so p11_scenario.sh analyses both):
//   "<ms> READY slot=<name> series=<n> modulus_bits=<n>", then per attempt "<ms> OK n=<n>" or
//   "<ms> FAIL <what> err=<NSS error> n=<n>", and these events:
//   "<ms> LOGIN-NEEDED <why>"  NSS asked for the PIN again (password callback) or the token no longer
//                              counts as logged in: the user would have had to log in again
//   "<ms> SERIES <old> -> <new>" NSS re-initialised the token (it considered it removed/reinserted)
//   "<ms> EVENT present=<0|1> series=<n>" / "<ms> EVENT-ERROR err=<NSS error>" from the event thread
//   summary: "<ms> summary ok=N fail=M login_needed=L series_changes=S events=E event_errors=X"
// Exit 0 after a run (whatever the signatures did), 2 on a setup failure ("SETUP-FAIL" line).
#include <nss.h>
#include <nspr.h>
#include <keyhi.h>
#include <pk11pub.h>
#include <secerr.h>
#include <secmod.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <memory>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

namespace {

using Bytes = std::vector<unsigned char>;

struct EvpPkeyFree {
	void operator()(EVP_PKEY *p) const { EVP_PKEY_free(p); }
};
struct EvpPkeyCtxFree {
	void operator()(EVP_PKEY_CTX *p) const { EVP_PKEY_CTX_free(p); }
};
struct BnFree {
	void operator()(BIGNUM *p) const { BN_free(p); }
};
struct ParamBldFree {
	void operator()(OSSL_PARAM_BLD *p) const { OSSL_PARAM_BLD_free(p); }
};
struct ParamFree {
	void operator()(OSSL_PARAM *p) const { OSSL_PARAM_free(p); }
};
struct PrivKeyFree {
	void operator()(SECKEYPrivateKey *k) const { SECKEY_DestroyPrivateKey(k); }
};
struct PubKeyFree {
	void operator()(SECKEYPublicKey *k) const { SECKEY_DestroyPublicKey(k); }
};
struct SlotFree {
	void operator()(PK11SlotInfo *s) const { PK11_FreeSlot(s); }
};

long long now_ms()
{
	return std::chrono::duration_cast<std::chrono::milliseconds>(
		       std::chrono::system_clock::now().time_since_epoch())
		.count();
}

const char *nss_error()
{
	const char *name = PR_ErrorToName(PR_GetError());
	return name ? name : "unknown";
}

std::string pin;
bool allow_relogin = false;
bool event_thread = true;
std::atomic<bool> logged_in_once{false};
std::atomic<unsigned long> login_needed{0};

// NSS's password callback: the PIN the first time; later requests mean NSS lost the login.
char *password_callback(PK11SlotInfo *, PRBool retry, void *)
{
	if (retry)
		return nullptr; // a wrong PIN: never try it twice
	if (logged_in_once) {
		++login_needed;
		std::printf("%lld LOGIN-NEEDED NSS asked for the PIN again (%s)\n", now_ms(),
			    allow_relogin ? "answered" : "refused");
		if (!allow_relogin)
			return nullptr;
	}
	return PORT_Strdup(pin.c_str());
}

std::unique_ptr<EVP_PKEY, EvpPkeyFree> rsa_public_key(const SECItem &modulus, const SECItem &exponent)
{
	std::unique_ptr<BIGNUM, BnFree> n(BN_bin2bn(modulus.data, static_cast<int>(modulus.len), nullptr));
	std::unique_ptr<BIGNUM, BnFree> e(BN_bin2bn(exponent.data, static_cast<int>(exponent.len), nullptr));
	std::unique_ptr<OSSL_PARAM_BLD, ParamBldFree> bld(OSSL_PARAM_BLD_new());
	if (!n || !e || !bld || !OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_N, n.get()) ||
	    !OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_E, e.get()))
		return nullptr;
	std::unique_ptr<OSSL_PARAM, ParamFree> params(OSSL_PARAM_BLD_to_param(bld.get()));
	std::unique_ptr<EVP_PKEY_CTX, EvpPkeyCtxFree> ctx(EVP_PKEY_CTX_new_from_name(nullptr, "RSA", nullptr));
	EVP_PKEY *raw = nullptr;
	if (!params || !ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
	    EVP_PKEY_fromdata(ctx.get(), &raw, EVP_PKEY_PUBLIC_KEY, params.get()) != 1)
		return nullptr;
	return std::unique_ptr<EVP_PKEY, EvpPkeyFree>(raw);
}

// RSASSA-PKCS1-v1_5 with SHA-256 over the 32-byte digest.
bool verify(EVP_PKEY *key, const Bytes &digest, const unsigned char *sig, size_t sig_len)
{
	std::unique_ptr<EVP_PKEY_CTX, EvpPkeyCtxFree> ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, key, nullptr));
	return ctx && EVP_PKEY_verify_init(ctx.get()) == 1 &&
	       EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_PADDING) == 1 &&
	       EVP_PKEY_CTX_set_signature_md(ctx.get(), EVP_sha256()) == 1 &&
	       EVP_PKEY_verify(ctx.get(), sig, sig_len, digest.data(), digest.size()) == 1;
}

Bytes sha256(const Bytes &data)
{
	Bytes out(32);
	unsigned int len = 0;
	EVP_Digest(data.data(), data.size(), out.data(), &len, EVP_sha256(), nullptr);
	return out;
}

// Firefox's SmartCardMonitoringThread: wait for any token event of the module, then ask NSS
// whether the token is present and whether its series moved.
void monitor(SECMODModule *module, const std::atomic<bool> &stopping, std::atomic<unsigned long> &events,
	     std::atomic<unsigned long> &event_errors)
{
	while (!stopping) {
		std::unique_ptr<PK11SlotInfo, SlotFree> slot(
			SECMOD_WaitForAnyTokenEvent(module, 0, PR_SecondsToInterval(1)));
		if (stopping)
			break;
		if (!slot) {
			if (PR_GetError() == SEC_ERROR_NO_EVENT)
				continue;
			// Firefox's thread ends here; this one keeps watching (and counts), so the module
			// keeps being polled through every outage.
			++event_errors;
			std::printf("%lld EVENT-ERROR err=%s\n", now_ms(), nss_error());
			std::this_thread::sleep_for(std::chrono::seconds(1));
			continue;
		}
		++events;
		const bool present = PK11_IsPresent(slot.get());
		std::printf("%lld EVENT present=%d series=%d\n", now_ms(), present ? 1 : 0,
			    PK11_GetSlotSeries(slot.get()));
	}
}

void usage(std::FILE *out)
{
	std::fprintf(out, "usage: nss-sign-loop --module PATH --pin PIN [--interval-ms MS] [--duration-ms MS] [--relogin] [--no-event-thread]\n");
}

int setup_fail(const std::string &what)
{
	std::printf("%lld SETUP-FAIL %s err=%s\n", now_ms(), what.c_str(), nss_error());
	std::fflush(stdout);
	// No NSS_Shutdown: the module may be blocked in C_WaitForSlotEvent.
	std::_Exit(2);
}

} // namespace

int main(int argc, char **argv)
{
	std::string module_path;
	long interval_ms = 100, duration_ms = 0;
	for (int i = 1; i < argc; ++i) {
		const std::string a = argv[i];
		if (a == "--help") {
			usage(stdout);
			return 0;
		}
		if (a == "--relogin") {
			allow_relogin = true;
			continue;
		}
		if (a == "--no-event-thread") {
			event_thread = false;
			continue;
		}
		if (i + 1 >= argc) {
			usage(stderr);
			return 2;
		}
		const char *v = argv[++i];
		if (a == "--module")
			module_path = v;
		else if (a == "--pin")
			pin = v;
		else if (a == "--interval-ms")
			interval_ms = std::strtol(v, nullptr, 10);
		else if (a == "--duration-ms")
			duration_ms = std::strtol(v, nullptr, 10);
		else {
			usage(stderr);
			return 2;
		}
	}
	if (module_path.empty() || pin.empty() || interval_ms <= 0) {
		usage(stderr);
		return 2;
	}
	setvbuf(stdout, nullptr, _IOLBF, 0);

	// Stop requests arrive synchronously (sigtimedwait is also the sleep between signatures); blocked
	// before any thread starts, so every thread inherits the mask.
	sigset_t stop;
	sigemptyset(&stop);
	sigaddset(&stop, SIGTERM);
	sigaddset(&stop, SIGINT);
	pthread_sigmask(SIG_BLOCK, &stop, nullptr);

	if (NSS_NoDB_Init(nullptr) != SECSuccess)
		return setup_fail("NSS_NoDB_Init");
	PK11_SetPasswordFunc(password_callback);
	std::string spec = "name=\"opensc-recovery e2e\" library=\"" + module_path + "\"";
	SECMODModule *module = SECMOD_LoadUserModule(&spec[0], nullptr, PR_FALSE);
	if (!module || !module->loaded)
		return setup_fail("SECMOD_LoadUserModule " + module_path);

	// The first slot with a token, as the certificate manager lists it.
	std::unique_ptr<PK11SlotInfo, SlotFree> slot;
	for (int i = 0; i < module->slotCount; ++i) {
		if (PK11_IsPresent(module->slots[i])) {
			slot.reset(PK11_ReferenceSlot(module->slots[i]));
			break;
		}
	}
	if (!slot)
		return setup_fail("no token in the module's slots");
	if (PK11_Authenticate(slot.get(), PR_TRUE, nullptr) != SECSuccess)
		return setup_fail("PK11_Authenticate (login)");
	logged_in_once = true;

	SECKEYPrivateKeyList *keys = PK11_ListPrivKeysInSlot(slot.get(), nullptr, nullptr);
	std::unique_ptr<SECKEYPrivateKey, PrivKeyFree> key;
	if (keys) {
		for (SECKEYPrivateKeyListNode *node = PRIVKEY_LIST_HEAD(keys); !PRIVKEY_LIST_END(node, keys);
		     node = PRIVKEY_LIST_NEXT(node)) {
			if (SECKEY_GetPrivateKeyType(node->key) == rsaKey) {
				key.reset(SECKEY_CopyPrivateKey(node->key));
				break;
			}
		}
		SECKEY_DestroyPrivateKeyList(keys);
	}
	if (!key)
		return setup_fail("no RSA private key on the token");
	std::unique_ptr<SECKEYPublicKey, PubKeyFree> pub(SECKEY_ConvertToPublicKey(key.get()));
	if (!pub || pub->keyType != rsaKey)
		return setup_fail("public key of the token's key");
	auto public_key = rsa_public_key(pub->u.rsa.modulus, pub->u.rsa.publicExponent);
	if (!public_key)
		return setup_fail("OpenSSL public key");
	const int sig_len = PK11_SignatureLen(key.get());
	int series = PK11_GetSlotSeries(slot.get());
	std::printf("%lld READY slot=\"%s\" token=\"%s\" series=%d modulus_bits=%d\n", now_ms(),
		    PK11_GetSlotName(slot.get()), PK11_GetTokenName(slot.get()), series, sig_len * 8);

	std::atomic<bool> stopping{false};
	std::atomic<unsigned long> events{0}, event_errors{0};
	std::thread watcher;
	if (event_thread)
		watcher = std::thread(monitor, module, std::cref(stopping), std::ref(events), std::ref(event_errors));

	// DigestInfo prefix of SHA-256 (RFC 8017, 9.2 note 1).
	static const unsigned char sha256_prefix[] = {0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01,
						      0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20};
	const long long end = duration_ms > 0 ? now_ms() + duration_ms : 0;
	unsigned long ok = 0, fail = 0, series_changes = 0;
	bool was_logged_in = true;
	for (unsigned long n = 1;; ++n) {
		// What an application asks NSS before using a token key.
		const bool present = PK11_IsPresent(slot.get());
		const int now_series = PK11_GetSlotSeries(slot.get());
		if (now_series != series) {
			++series_changes;
			std::printf("%lld SERIES %d -> %d (NSS re-initialised the token)\n", now_ms(), series, now_series);
			series = now_series;
		}
		const bool logged_in = present && PK11_IsLoggedIn(slot.get(), nullptr);
		if (present && !logged_in && was_logged_in) {
			++login_needed;
			std::printf("%lld LOGIN-NEEDED PK11_IsLoggedIn is false\n", now_ms());
		}
		if (present)
			was_logged_in = logged_in;

		Bytes data(64);
		RAND_bytes(data.data(), static_cast<int>(data.size()));
		const Bytes digest = sha256(data);
		Bytes info(sha256_prefix, sha256_prefix + sizeof sha256_prefix);
		info.insert(info.end(), digest.begin(), digest.end());
		SECItem to_sign = {siBuffer, info.data(), static_cast<unsigned int>(info.size())};
		Bytes sig_buf(sig_len > 0 ? sig_len : 512);
		SECItem sig = {siBuffer, sig_buf.data(), static_cast<unsigned int>(sig_buf.size())};
		if (!present) {
			++fail;
			std::printf("%lld FAIL PK11_IsPresent err=%s n=%lu\n", now_ms(), nss_error(), n);
		} else if (PK11_Sign(key.get(), &sig, &to_sign) != SECSuccess) {
			++fail;
			std::printf("%lld FAIL PK11_Sign err=%s n=%lu\n", now_ms(), nss_error(), n);
		} else if (!verify(public_key.get(), digest, sig.data, sig.len)) {
			++fail;
			std::printf("%lld FAIL verify err=- n=%lu\n", now_ms(), n);
		} else {
			++ok;
			std::printf("%lld OK n=%lu\n", now_ms(), n);
		}
		if (end && now_ms() >= end)
			break;
		struct timespec wait = {interval_ms / 1000, (interval_ms % 1000) * 1000000L};
		if (sigtimedwait(&stop, nullptr, &wait) > 0)
			break;
	}
	stopping = true;
	std::printf("%lld summary ok=%lu fail=%lu login_needed=%lu series_changes=%lu events=%lu event_errors=%lu\n",
		    now_ms(), ok, fail, login_needed.load(), series_changes, events.load(), event_errors.load());
	std::fflush(stdout);
	// The watcher may sit in C_WaitForSlotEvent; SECMOD_CancelWait would finalize the module under it.
	// The process ends here, as a browser's does.
	if (watcher.joinable())
		watcher.detach();
	std::_Exit(0);
}
