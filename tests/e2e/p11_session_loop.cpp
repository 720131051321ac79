// SPDX-License-Identifier: LGPL-2.1-or-later
// A long-lived raw PKCS#11 client: loads a module (dlopen), opens ONE session, logs in once, then
// signs (CKM_SHA256_RSA_PKCS) at a fixed interval with that same session and key handle until
// SIGTERM/SIGINT or --duration-ms, verifying every signature with OpenSSL. It never re-opens the
// session, logs in again or reloads the module: what a long-running agent does.
//
//   p11-session-loop --module PATH --pin PIN [--interval-ms 100] [--duration-ms 0 (until signal)] [--reopen]
//                    [--poll-slots 1]
//
// --reopen: what a caller that handles token removal does (NSS, a browser): when the session is gone
// (CKR_DEVICE_REMOVED, CKR_SESSION_HANDLE_INVALID, CKR_SESSION_CLOSED, CKR_TOKEN_NOT_PRESENT,
// CKR_USER_NOT_LOGGED_IN), look for the token again in the same process, open a new session, log in
// again and go on, printing "<ms> REOPEN serial=<token serial> same|other key=same|other" (or
// "<ms> REOPEN-FAIL <what> rv=0x.." while the token is not back). Without it the first session is
// used until the end, whatever happens.
//
// --poll-slots 1: C_GetSlotList(CK_FALSE, NULL, &n) before every signature, as NSS, p11-kit and
// pkcs11-helper poll (a failure of it is logged as "POLL rv=0x.." and does not count).
//
// Output, one line per attempt: "<epoch ms> OK" or "<epoch ms> FAIL <what> rv=0x..", then a summary
// "summary ok=N fail=M session=0x.. ". Exit 0 after a clean run (whatever the signatures did), 2 on
// a setup failure (no module, token, key, login).
// OpenSC's own standalone pkcs11.h (from the pinned release tree: -I$(OPENSC_STOCK_SRC)/src/pkcs11).
#include "pkcs11.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/rand.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <dlfcn.h>
#include <memory>
#include <string>
#include <vector>

namespace {

using Bytes = std::vector<unsigned char>;

struct EvpPkeyFree {
	void operator()(EVP_PKEY *p) const { EVP_PKEY_free(p); }
};
struct EvpPkeyCtxFree {
	void operator()(EVP_PKEY_CTX *p) const { EVP_PKEY_CTX_free(p); }
};
struct EvpMdCtxFree {
	void operator()(EVP_MD_CTX *p) const { EVP_MD_CTX_free(p); }
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
struct DlClose {
	void operator()(void *h) const { dlclose(h); }
};

long long now_ms()
{
	return std::chrono::duration_cast<std::chrono::milliseconds>(
		       std::chrono::system_clock::now().time_since_epoch())
		.count();
}

int setup_error(const char *what, CK_RV rv)
{
	std::printf("%lld SETUP-FAIL %s rv=0x%lx\n", now_ms(), what, static_cast<unsigned long>(rv));
	std::fflush(stdout);
	return 2;
}

bool get_attribute(CK_FUNCTION_LIST_PTR p11, CK_SESSION_HANDLE session, CK_OBJECT_HANDLE object,
		   CK_ATTRIBUTE_TYPE type, Bytes &value)
{
	CK_ATTRIBUTE attr = {type, nullptr, 0};
	if (p11->C_GetAttributeValue(session, object, &attr, 1) != CKR_OK ||
	    attr.ulValueLen == static_cast<CK_ULONG>(-1))
		return false;
	value.resize(attr.ulValueLen);
	attr.pValue = value.data();
	return p11->C_GetAttributeValue(session, object, &attr, 1) == CKR_OK;
}

bool find_object(CK_FUNCTION_LIST_PTR p11, CK_SESSION_HANDLE session, CK_OBJECT_CLASS cls, const Bytes &id,
		 CK_OBJECT_HANDLE &found)
{
	CK_KEY_TYPE rsa = CKK_RSA;
	std::vector<CK_ATTRIBUTE> tmpl = {{CKA_CLASS, &cls, sizeof cls}, {CKA_KEY_TYPE, &rsa, sizeof rsa}};
	if (!id.empty())
		tmpl.push_back({CKA_ID, const_cast<unsigned char *>(id.data()), id.size()});
	if (p11->C_FindObjectsInit(session, tmpl.data(), tmpl.size()) != CKR_OK)
		return false;
	CK_ULONG count = 0;
	const CK_RV rv = p11->C_FindObjects(session, &found, 1, &count);
	p11->C_FindObjectsFinal(session);
	return rv == CKR_OK && count == 1;
}

std::unique_ptr<EVP_PKEY, EvpPkeyFree> rsa_public_key(const Bytes &modulus, const Bytes &exponent)
{
	std::unique_ptr<BIGNUM, BnFree> n(BN_bin2bn(modulus.data(), static_cast<int>(modulus.size()), nullptr));
	std::unique_ptr<BIGNUM, BnFree> e(BN_bin2bn(exponent.data(), static_cast<int>(exponent.size()), nullptr));
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

bool verify(EVP_PKEY *key, const Bytes &data, const Bytes &signature)
{
	std::unique_ptr<EVP_MD_CTX, EvpMdCtxFree> md(EVP_MD_CTX_new());
	return md && EVP_DigestVerifyInit_ex(md.get(), nullptr, "SHA256", nullptr, nullptr, key, nullptr) == 1 &&
	       EVP_DigestVerify(md.get(), signature.data(), signature.size(), data.data(), data.size()) == 1;
}

// One session with the token's RSA key and its public half.
struct Login {
	CK_SESSION_HANDLE session = CK_INVALID_HANDLE;
	CK_OBJECT_HANDLE key = CK_INVALID_HANDLE;
	Bytes modulus;
	std::string serial;
	std::unique_ptr<EVP_PKEY, EvpPkeyFree> public_key;
};

// Finds the first token, opens a session, logs in, finds the key. On failure: what failed in `what`.
CK_RV open_login(CK_FUNCTION_LIST_PTR p11, std::string &pin, Login &out, const char *&what)
{
	// The usual two calls (size, then list): OpenSC looks for new readers only on the first, so a
	// token whose reader came back under another name is found only this way (as NSS finds it).
	CK_ULONG nslots = 0;
	what = "C_GetSlotList (no token)";
	CK_RV rv = p11->C_GetSlotList(CK_TRUE, nullptr, &nslots);
	if (rv != CKR_OK)
		return rv;
	std::vector<CK_SLOT_ID> slots(nslots + 1);
	nslots = slots.size();
	rv = p11->C_GetSlotList(CK_TRUE, slots.data(), &nslots);
	if (rv != CKR_OK)
		return rv;
	if (nslots == 0)
		return CKR_TOKEN_NOT_PRESENT;
	CK_TOKEN_INFO info{};
	what = "C_GetTokenInfo";
	if ((rv = p11->C_GetTokenInfo(slots[0], &info)) != CKR_OK)
		return rv;
	out.serial.assign(reinterpret_cast<const char *>(info.serialNumber), sizeof info.serialNumber);
	out.serial.erase(out.serial.find_last_not_of(' ') + 1);
	what = "C_OpenSession";
	if ((rv = p11->C_OpenSession(slots[0], CKF_SERIAL_SESSION | CKF_RW_SESSION, nullptr, nullptr,
				     &out.session)) != CKR_OK)
		return rv;
	what = "C_Login";
	rv = p11->C_Login(out.session, CKU_USER, reinterpret_cast<CK_UTF8CHAR_PTR>(&pin[0]), pin.size());
	if (rv != CKR_OK && rv != CKR_USER_ALREADY_LOGGED_IN)
		return rv;
	what = "no RSA private key";
	if (!find_object(p11, out.session, CKO_PRIVATE_KEY, Bytes(), out.key))
		return CKR_GENERAL_ERROR;
	Bytes id, exponent;
	get_attribute(p11, out.session, out.key, CKA_ID, id);
	CK_OBJECT_HANDLE pub = CK_INVALID_HANDLE;
	if (!find_object(p11, out.session, CKO_PUBLIC_KEY, id, pub))
		pub = out.key; // OpenSC also exposes the modulus on the private key
	what = "no public key (CKA_MODULUS)";
	if (!get_attribute(p11, out.session, pub, CKA_MODULUS, out.modulus) ||
	    !get_attribute(p11, out.session, pub, CKA_PUBLIC_EXPONENT, exponent))
		return CKR_GENERAL_ERROR;
	what = "OpenSSL public key";
	out.public_key = rsa_public_key(out.modulus, exponent);
	return out.public_key ? CKR_OK : CKR_GENERAL_ERROR;
}

bool session_gone(CK_RV rv)
{
	return rv == CKR_DEVICE_REMOVED || rv == CKR_SESSION_HANDLE_INVALID || rv == CKR_SESSION_CLOSED ||
	       rv == CKR_TOKEN_NOT_PRESENT || rv == CKR_USER_NOT_LOGGED_IN;
}

void usage(std::FILE *out)
{
	std::fprintf(out, "usage: p11-session-loop --module PATH --pin PIN [--interval-ms MS] [--duration-ms MS] [--reopen]"
			  " [--poll-slots 0|1]\n");
}

} // namespace

int main(int argc, char **argv)
{
	std::string module, pin;
	long interval_ms = 100, duration_ms = 0;
	bool reopen = false;
	bool poll_slots = false;
	for (int i = 1; i < argc; ++i) {
		const std::string a = argv[i];
		if (a == "--help") {
			usage(stdout);
			return 0;
		}
		if (a == "--reopen") {
			reopen = true;
			continue;
		}
		if (i + 1 >= argc) {
			usage(stderr);
			return 2;
		}
		const char *v = argv[++i];
		if (a == "--module")
			module = v;
		else if (a == "--pin")
			pin = v;
		else if (a == "--interval-ms")
			interval_ms = std::strtol(v, nullptr, 10);
		else if (a == "--duration-ms")
			duration_ms = std::strtol(v, nullptr, 10);
		else if (a == "--poll-slots")
			poll_slots = std::strtol(v, nullptr, 10) != 0;
		else {
			usage(stderr);
			return 2;
		}
	}
	if (module.empty() || pin.empty() || interval_ms <= 0) {
		usage(stderr);
		return 2;
	}
	setvbuf(stdout, nullptr, _IOLBF, 0);

	// Stop requests arrive synchronously (sigtimedwait is also the sleep between signatures).
	sigset_t stop;
	sigemptyset(&stop);
	sigaddset(&stop, SIGTERM);
	sigaddset(&stop, SIGINT);
	sigprocmask(SIG_BLOCK, &stop, nullptr);

	std::unique_ptr<void, DlClose> handle(dlopen(module.c_str(), RTLD_NOW | RTLD_LOCAL));
	if (!handle) {
		std::printf("%lld SETUP-FAIL dlopen %s\n", now_ms(), dlerror());
		return 2;
	}
	auto get_list = reinterpret_cast<CK_C_GetFunctionList>(dlsym(handle.get(), "C_GetFunctionList"));
	CK_FUNCTION_LIST_PTR p11 = nullptr;
	if (!get_list || get_list(&p11) != CKR_OK || !p11)
		return setup_error("C_GetFunctionList", CKR_GENERAL_ERROR);
	CK_RV rv = p11->C_Initialize(nullptr);
	if (rv != CKR_OK)
		return setup_error("C_Initialize", rv);

	Login login;
	const char *what = "";
	if ((rv = open_login(p11, pin, login, what)) != CKR_OK)
		return setup_error(what, rv);
	CK_SESSION_HANDLE session = login.session;
	CK_OBJECT_HANDLE key = login.key;
	const Bytes modulus = login.modulus;
	const std::string serial = login.serial;
	auto public_key = std::move(login.public_key);
	std::printf("%lld READY session=0x%lx key=0x%lx modulus_bits=%zu serial=%s\n", now_ms(),
		    static_cast<unsigned long>(session), static_cast<unsigned long>(key), modulus.size() * 8,
		    serial.c_str());

	const long long end = duration_ms > 0 ? now_ms() + duration_ms : 0;
	unsigned long ok = 0, fail = 0;
	for (unsigned long n = 1;; ++n) {
		Bytes data(64);
		RAND_bytes(data.data(), static_cast<int>(data.size()));
		CK_MECHANISM mech = {CKM_SHA256_RSA_PKCS, nullptr, 0};
		Bytes signature(modulus.size());
		CK_ULONG sig_len = signature.size();
		what = "C_SignInit";
		if (poll_slots) {
			CK_ULONG count = 0;
			CK_RV prv = p11->C_GetSlotList(CK_FALSE, nullptr, &count);
			if (prv != CKR_OK)
				std::printf("%lld POLL rv=0x%lx n=%lu\n", now_ms(), static_cast<unsigned long>(prv), n);
		}
		rv = p11->C_SignInit(session, &mech, key);
		if (rv == CKR_OK) {
			what = "C_Sign";
			rv = p11->C_Sign(session, data.data(), data.size(), signature.data(), &sig_len);
		}
		if (rv != CKR_OK) {
			++fail;
			std::printf("%lld FAIL %s rv=0x%lx n=%lu\n", now_ms(), what, static_cast<unsigned long>(rv), n);
			if (reopen && session_gone(rv)) {
				Login again;
				const char *step = "";
				const CK_RV r2 = open_login(p11, pin, again, step);
				if (r2 == CKR_OK) {
					session = again.session;
					key = again.key;
					const bool same_key = again.modulus == modulus;
					std::printf("%lld REOPEN serial=%s %s key=%s session=0x%lx\n", now_ms(),
						    again.serial.c_str(), again.serial == serial ? "same" : "other",
						    same_key ? "same" : "other", static_cast<unsigned long>(session));
					if (same_key)
						public_key = std::move(again.public_key);
				} else {
					std::printf("%lld REOPEN-FAIL %s rv=0x%lx\n", now_ms(), step,
						    static_cast<unsigned long>(r2));
				}
			}
		} else {
			signature.resize(sig_len);
			if (verify(public_key.get(), data, signature)) {
				++ok;
				std::printf("%lld OK n=%lu\n", now_ms(), n);
			} else {
				++fail;
				std::printf("%lld FAIL verify rv=0x0 n=%lu\n", now_ms(), n);
			}
		}
		if (end && now_ms() >= end)
			break;
		struct timespec wait = {interval_ms / 1000, (interval_ms % 1000) * 1000000L};
		if (sigtimedwait(&stop, nullptr, &wait) > 0)
			break;
	}
	std::printf("%lld summary ok=%lu fail=%lu session=0x%lx\n", now_ms(), ok, fail, static_cast<unsigned long>(session));
	p11->C_Logout(session);
	p11->C_CloseSession(session);
	p11->C_Finalize(nullptr);
	return 0;
}
