// SPDX-License-Identifier: LGPL-2.1-or-later
#include "soak/verifier.hpp"

#include <openssl/core_names.h>
#include <openssl/err.h>

#include "soak/error.hpp"

namespace soak {

namespace {

[[noreturn]] void
throw_openssl(const char *what)
{
	char buf[256] = "";
	unsigned long e = ERR_get_error();
	if (e != 0)
		ERR_error_string_n(e, buf, sizeof buf);
	ERR_clear_error();
	throw SetupError(std::string("public key: ") + what + (buf[0] ? std::string(": ") + buf : std::string()));
}

BignumPtr
to_bn(const std::vector<std::uint8_t> &v)
{
	BignumPtr bn(BN_bin2bn(v.data(), static_cast<int>(v.size()), nullptr));
	if (!bn)
		throw_openssl("BN_bin2bn");
	return bn;
}

} // namespace

Verifier::Verifier(const std::vector<std::uint8_t> &modulus, const std::vector<std::uint8_t> &exponent)
{
	if (modulus.empty() || exponent.empty())
		throw SetupError("public key: empty modulus or exponent");
	BignumPtr n = to_bn(modulus), e = to_bn(exponent);
	ParamBldPtr bld(OSSL_PARAM_BLD_new());
	if (!bld || OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_N, n.get()) != 1 ||
			OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_E, e.get()) != 1)
		throw_openssl("OSSL_PARAM_BLD");
	ParamPtr params(OSSL_PARAM_BLD_to_param(bld.get()));
	EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, "RSA", nullptr));
	if (!params || !ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1)
		throw_openssl("EVP_PKEY_fromdata_init");
	EVP_PKEY *pkey = nullptr;
	if (EVP_PKEY_fromdata(ctx.get(), &pkey, EVP_PKEY_PUBLIC_KEY, params.get()) != 1 || pkey == nullptr)
		throw_openssl("EVP_PKEY_fromdata");
	key_.reset(pkey);
}

bool
Verifier::verify(const std::vector<std::uint8_t> &data, const std::uint8_t *sig, std::size_t sig_len) const noexcept
{
	EvpMdCtxPtr md(EVP_MD_CTX_new());
	bool ok = md && EVP_DigestVerifyInit_ex(md.get(), nullptr, "SHA256", nullptr, nullptr, key_.get(), nullptr) == 1 &&
		  EVP_DigestVerify(md.get(), sig, sig_len, data.data(), data.size()) == 1;
	ERR_clear_error();
	return ok;
}

int
Verifier::bits() const noexcept
{
	return EVP_PKEY_get_bits(key_.get());
}

} // namespace soak
