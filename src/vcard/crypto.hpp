// SPDX-License-Identifier: LGPL-2.1-or-later
// Symmetric primitives over OpenSSL 3 EVP with RAII owners. Every failure
// drains the OpenSSL error queue into a vcard::CryptoError.
#pragma once

#include "card.hpp"
#include "secure_bytes.hpp"

#include <openssl/bn.h>
#include <openssl/evp.h>

#include <memory>
#include <string>

namespace vcard {
namespace crypto {

struct EvpPkeyDeleter {
	void operator()(EVP_PKEY *p) const { EVP_PKEY_free(p); }
};
struct EvpPkeyCtxDeleter {
	void operator()(EVP_PKEY_CTX *p) const { EVP_PKEY_CTX_free(p); }
};
struct EvpCipherCtxDeleter {
	void operator()(EVP_CIPHER_CTX *p) const { EVP_CIPHER_CTX_free(p); }
};
struct EvpMdCtxDeleter {
	void operator()(EVP_MD_CTX *p) const { EVP_MD_CTX_free(p); }
};
struct EvpMacDeleter {
	void operator()(EVP_MAC *p) const { EVP_MAC_free(p); }
};
struct EvpMacCtxDeleter {
	void operator()(EVP_MAC_CTX *p) const { EVP_MAC_CTX_free(p); }
};
struct BnDeleter {
	void operator()(BIGNUM *p) const { BN_clear_free(p); }
};
struct BnCtxDeleter {
	void operator()(BN_CTX *p) const { BN_CTX_free(p); }
};
using EvpPkey = std::unique_ptr<EVP_PKEY, EvpPkeyDeleter>;
using EvpPkeyCtx = std::unique_ptr<EVP_PKEY_CTX, EvpPkeyCtxDeleter>;
using EvpCipherCtx = std::unique_ptr<EVP_CIPHER_CTX, EvpCipherCtxDeleter>;
using EvpMdCtx = std::unique_ptr<EVP_MD_CTX, EvpMdCtxDeleter>;
using EvpMac = std::unique_ptr<EVP_MAC, EvpMacDeleter>;
using EvpMacCtx = std::unique_ptr<EVP_MAC_CTX, EvpMacCtxDeleter>;
using Bn = std::unique_ptr<BIGNUM, BnDeleter>;
using BnCtx = std::unique_ptr<BN_CTX, BnCtxDeleter>;

// Throws CryptoError("<where>: <OpenSSL error queue>").
[[noreturn]] void fail(const std::string &where);

Bytes random_bytes(std::size_t n);

// Raw block-cipher operations without padding; input must be block aligned.
// cipher: "DES-EDE-CBC" (16-byte key), "DES-EDE-ECB", "DES-EDE3-ECB"
// (24-byte key), "AES-128-CBC", "AES-128-ECB". Empty iv = zeros.
Bytes cipher(const char *name, const std::uint8_t *key, std::size_t key_len, const Bytes &iv,
	const Bytes &in, bool encrypt);

// Single DES CBC, built from two-key EDE with K1 = K2 (DES is only in the
// legacy provider of OpenSSL 3).
Bytes des_cbc(const std::uint8_t *key8, const Bytes &iv, const Bytes &in, bool encrypt);

// ISO/IEC 9797-1 MAC algorithm 3 (retail MAC), key = K1||K2, data already padded.
Bytes retail_mac(const std::uint8_t *key16, const Bytes &iv8, const Bytes &padded);

// RFC 4493 AES-CMAC (16 bytes).
Bytes aes_cmac(const std::uint8_t *key16, const Bytes &in);

Bytes digest(const char *md, const Bytes &in);

// ISO/IEC 9797-1 method 2 padding: always appends 80, then zeros.
Bytes pad80(const Bytes &in, std::size_t block);
// Strips method-2 padding; returns false if it is malformed.
bool unpad80(Bytes &in);

Bn bn_from(const Bytes &b);
Bytes bn_to(const BIGNUM *bn, std::size_t len);

} // namespace crypto
} // namespace vcard
