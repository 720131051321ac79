// SPDX-License-Identifier: LGPL-2.1-or-later
#include "soak/pkcs11_module.hpp"

#include <dlfcn.h>

#include "soak/ckr_name.hpp"
#include "soak/error.hpp"

namespace soak {

namespace {

std::string
to_hex(const std::vector<std::uint8_t> &v)
{
	static const char digits[] = "0123456789abcdef";
	std::string s;
	for (std::uint8_t b : v) {
		s += digits[b >> 4];
		s += digits[b & 0x0F];
	}
	return s;
}

std::string
trimmed(const CK_UTF8CHAR *text, std::size_t len)
{
	std::string s(reinterpret_cast<const char *>(text), len);
	while (!s.empty() && (s.back() == ' ' || s.back() == '\0'))
		s.pop_back();
	return s;
}

void
check(CK_RV rv, const std::string &what)
{
	if (rv != CKR_OK)
		throw SetupError(what + ": " + ckr_name(rv));
}

} // namespace

Pkcs11Module::Pkcs11Module(const std::string &path) : path_(path)
{
	dl_ = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
	if (dl_ == nullptr) {
		const char *e = dlerror();
		throw SetupError("--module: cannot load " + path + ": " + (e ? e : "?"));
	}
	void *sym = dlsym(dl_, "C_GetFunctionList");
	if (sym == nullptr)
		throw SetupError("--module: " + path + " has no C_GetFunctionList: not a PKCS#11 module");
	auto get_list = reinterpret_cast<CK_RV (*)(CK_FUNCTION_LIST_PTR_PTR)>(sym);
	check(get_list(&f_), "C_GetFunctionList");
	CK_C_INITIALIZE_ARGS args{};
	args.flags = CKF_OS_LOCKING_OK;
	check(f_->C_Initialize(&args), "C_Initialize");
	initialized_ = true;
}

Pkcs11Module::~Pkcs11Module()
{
	finalize();
}

CK_RV
Pkcs11Module::finalize() noexcept
{
	if (!initialized_)
		return CKR_OK;
	initialized_ = false;
	return f_->C_Finalize(nullptr);
}

std::string
Pkcs11Module::description() const
{
	CK_INFO info{};
	if (f_->C_GetInfo(&info) != CKR_OK)
		return "?";
	return trimmed(info.libraryDescription, sizeof info.libraryDescription) + " " +
	       std::to_string(info.libraryVersion.major) + "." + std::to_string(info.libraryVersion.minor);
}

std::vector<CK_SLOT_ID>
Pkcs11Module::token_slots()
{
	CK_ULONG count = 0;
	check(f_->C_GetSlotList(CK_TRUE, nullptr, &count), "C_GetSlotList");
	if (count == 0)
		throw SetupError("no token: the module sees no slot with a token (is the image a personalised ePass2003?)");
	std::vector<CK_SLOT_ID> slots(count);
	check(f_->C_GetSlotList(CK_TRUE, slots.data(), &count), "C_GetSlotList");
	slots.resize(count);
	return slots;
}

CK_SESSION_HANDLE
Pkcs11Module::open_session(CK_SLOT_ID slot)
{
	CK_SESSION_HANDLE session = CK_INVALID_HANDLE;
	check(f_->C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, nullptr, nullptr, &session), "C_OpenSession");
	return session;
}

void
Pkcs11Module::login(CK_SESSION_HANDLE session, const std::string &pin)
{
	login_calls_++;
	std::vector<CK_UTF8CHAR> p(pin.begin(), pin.end());
	check(f_->C_Login(session, CKU_USER, p.data(), static_cast<CK_ULONG>(p.size())), "C_Login (--pin)");
}

std::vector<CK_OBJECT_HANDLE>
Pkcs11Module::find(CK_SESSION_HANDLE session, CK_ATTRIBUTE *tmpl, CK_ULONG count)
{
	check(f_->C_FindObjectsInit(session, tmpl, count), "C_FindObjectsInit");
	std::vector<CK_OBJECT_HANDLE> out;
	CK_OBJECT_HANDLE h[16];
	CK_ULONG n = 0;
	CK_RV rv;
	while ((rv = f_->C_FindObjects(session, h, 16, &n)) == CKR_OK && n > 0)
		out.insert(out.end(), h, h + n);
	f_->C_FindObjectsFinal(session);
	check(rv, "C_FindObjects");
	return out;
}

std::vector<std::uint8_t>
Pkcs11Module::attribute(CK_SESSION_HANDLE session, CK_OBJECT_HANDLE obj, CK_ATTRIBUTE_TYPE type)
{
	CK_ATTRIBUTE a = {type, nullptr, 0};
	if (f_->C_GetAttributeValue(session, obj, &a, 1) != CKR_OK || a.ulValueLen == CK_UNAVAILABLE_INFORMATION)
		return {};
	std::vector<std::uint8_t> v(a.ulValueLen);
	a.pValue = v.data();
	if (f_->C_GetAttributeValue(session, obj, &a, 1) != CKR_OK)
		return {};
	v.resize(a.ulValueLen);
	return v;
}

SigningKey
Pkcs11Module::find_signing_key(CK_SESSION_HANDLE session, const std::string &id_hex)
{
	CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
	CK_KEY_TYPE type = CKK_RSA;
	CK_BBOOL yes = CK_TRUE;
	CK_ATTRIBUTE tmpl[] = {{CKA_CLASS, &cls, sizeof cls}, {CKA_KEY_TYPE, &type, sizeof type},
			{CKA_SIGN, &yes, sizeof yes}};
	SigningKey key;
	for (CK_OBJECT_HANDLE h : find(session, tmpl, 3)) {
		std::string id = to_hex(attribute(session, h, CKA_ID));
		if (!id_hex.empty() && id != id_hex)
			continue;
		key.handle = h;
		key.id_hex = id;
		std::vector<std::uint8_t> label = attribute(session, h, CKA_LABEL);
		key.label.assign(label.begin(), label.end());
		break;
	}
	if (key.handle == CK_INVALID_HANDLE)
		throw SetupError(id_hex.empty() ? std::string("no RSA private key with CKA_SIGN on the token")
						: "--key-id: no RSA signing key with CKA_ID " + id_hex + " on the token");
	std::vector<std::uint8_t> id = attribute(session, key.handle, CKA_ID);
	CK_OBJECT_CLASS pub_cls = CKO_PUBLIC_KEY;
	CK_ATTRIBUTE pub_tmpl[] = {{CKA_CLASS, &pub_cls, sizeof pub_cls}, {CKA_ID, id.data(), id.size()}};
	std::vector<CK_OBJECT_HANDLE> pubs = find(session, pub_tmpl, 2);
	CK_OBJECT_HANDLE from = pubs.empty() ? key.handle : pubs[0];
	key.modulus = attribute(session, from, CKA_MODULUS);
	key.exponent = attribute(session, from, CKA_PUBLIC_EXPONENT);
	if (key.modulus.empty() || key.exponent.empty())
		throw SetupError("key " + key.id_hex + ": cannot read its modulus and public exponent");
	return key;
}

std::string
Pkcs11Module::session_state(CK_SESSION_HANDLE session) const
{
	CK_SESSION_INFO info{};
	CK_RV rv = f_->C_GetSessionInfo(session, &info);
	if (rv != CKR_OK)
		return ckr_name(rv);
	switch (info.state) {
	case CKS_RW_USER_FUNCTIONS:
		return "RW_USER";
	case CKS_RW_PUBLIC_SESSION:
		return "RW_PUBLIC";
	default:
		return "OTHER";
	}
}

SignResult
Pkcs11Module::sign(CK_SESSION_HANDLE session, CK_OBJECT_HANDLE key, const std::vector<std::uint8_t> &data,
		std::uint8_t *sig, std::size_t sig_size) noexcept
{
	SignResult r;
	CK_MECHANISM mech = {CKM_SHA256_RSA_PKCS, nullptr, 0};
	r.rv = f_->C_SignInit(session, &mech, key);
	if (r.rv != CKR_OK) {
		r.init_failed = true;
		return r;
	}
	CK_ULONG len = static_cast<CK_ULONG>(sig_size);
	r.rv = f_->C_Sign(session, const_cast<CK_BYTE_PTR>(data.data()), static_cast<CK_ULONG>(data.size()), sig, &len);
	r.sig_len = len;
	return r;
}

} // namespace soak
