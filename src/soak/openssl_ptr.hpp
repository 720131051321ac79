// SPDX-License-Identifier: LGPL-2.1-or-later
// RAII owners for the OpenSSL objects the soak driver uses.
#pragma once

#include <memory>

#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

namespace soak {

struct OpensslFree {
	void operator()(EVP_PKEY *p) const noexcept { EVP_PKEY_free(p); }
	void operator()(EVP_PKEY_CTX *p) const noexcept { EVP_PKEY_CTX_free(p); }
	void operator()(EVP_MD_CTX *p) const noexcept { EVP_MD_CTX_free(p); }
	void operator()(BIGNUM *p) const noexcept { BN_free(p); }
	void operator()(OSSL_PARAM_BLD *p) const noexcept { OSSL_PARAM_BLD_free(p); }
	void operator()(OSSL_PARAM *p) const noexcept { OSSL_PARAM_free(p); }
};

using EvpPkeyPtr = std::unique_ptr<EVP_PKEY, OpensslFree>;
using EvpPkeyCtxPtr = std::unique_ptr<EVP_PKEY_CTX, OpensslFree>;
using EvpMdCtxPtr = std::unique_ptr<EVP_MD_CTX, OpensslFree>;
using BignumPtr = std::unique_ptr<BIGNUM, OpensslFree>;
using ParamBldPtr = std::unique_ptr<OSSL_PARAM_BLD, OpensslFree>;
using ParamPtr = std::unique_ptr<OSSL_PARAM, OpensslFree>;

} // namespace soak
