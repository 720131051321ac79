// SPDX-License-Identifier: LGPL-2.1-or-later
// One PKCS#11 module (opensc-pkcs11.so) loaded with dlopen: initialise, one session, one login, the
// signing key pair found once, and signatures on that session and key handle.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "pkcs11.h"

namespace soak {

struct SigningKey {
	CK_OBJECT_HANDLE handle = CK_INVALID_HANDLE;
	std::string id_hex;
	std::string label;
	std::vector<std::uint8_t> modulus;
	std::vector<std::uint8_t> exponent;
};

// Where an operation stopped: C_SignInit or C_Sign (rv), or it signed.
struct SignResult {
	CK_RV rv = CKR_OK;
	bool init_failed = false;
	std::size_t sig_len = 0;
};

class Pkcs11Module {
public:
	// dlopen + C_GetFunctionList + C_Initialize; throws SetupError.
	explicit Pkcs11Module(const std::string &path);
	Pkcs11Module(const Pkcs11Module &) = delete;
	Pkcs11Module &operator=(const Pkcs11Module &) = delete;
	// C_Finalize if still initialised. The module stays mapped (OpenSC may have threads).
	~Pkcs11Module();

	// C_GetInfo's library description, e.g. "OpenSC smartcard framework"
	std::string description() const;
	// The slots with a token (C_GetSlotList(CK_TRUE)); throws SetupError.
	std::vector<CK_SLOT_ID> token_slots();
	// A R/W session on the slot; throws SetupError.
	CK_SESSION_HANDLE open_session(CK_SLOT_ID slot);
	// C_Login(CKU_USER) on the session (its token); throws SetupError. Called once per token.
	void login(CK_SESSION_HANDLE session, const std::string &pin);
	// The RSA private key with CKA_SIGN (the one with CKA_ID == id_hex if given) and its public
	// values (public key object with the same CKA_ID, else the private key's own attributes).
	SigningKey find_signing_key(CK_SESSION_HANDLE session, const std::string &id_hex);
	// C_SignInit + C_Sign (CKM_SHA256_RSA_PKCS) on the session; never throws.
	SignResult sign(CK_SESSION_HANDLE session, CK_OBJECT_HANDLE key, const std::vector<std::uint8_t> &data,
			std::uint8_t *sig, std::size_t sig_size) noexcept;
	// C_GetSessionInfo's state ("RW_USER": still logged in) or its error; never throws.
	std::string session_state(CK_SESSION_HANDLE session) const;
	// The function list, for the poller thread (the module is initialised with CKF_OS_LOCKING_OK).
	CK_FUNCTION_LIST_PTR functions() const noexcept { return f_; }
	// C_Finalize now (idempotent); returns its rv.
	CK_RV finalize() noexcept;
	long login_calls() const noexcept { return login_calls_; }

private:
	std::vector<CK_OBJECT_HANDLE> find(CK_SESSION_HANDLE session, CK_ATTRIBUTE *tmpl, CK_ULONG count);
	std::vector<std::uint8_t> attribute(CK_SESSION_HANDLE session, CK_OBJECT_HANDLE obj, CK_ATTRIBUTE_TYPE type);

	std::string path_;
	void *dl_ = nullptr;
	CK_FUNCTION_LIST_PTR f_ = nullptr;
	bool initialized_ = false;
	long login_calls_ = 0;
};

} // namespace soak
