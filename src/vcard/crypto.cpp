// SPDX-License-Identifier: LGPL-2.1-or-later
#include "crypto.hpp"

#include "error.hpp"

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/params.h>
#include <openssl/rand.h>

namespace vcard {
namespace crypto {

void fail(const std::string &where)
{
	std::string msg = where;
	unsigned long e;
	char buf[256];
	bool first = true;
	while ((e = ERR_get_error()) != 0) {
		ERR_error_string_n(e, buf, sizeof buf);
		msg += first ? ": " : "; ";
		msg += buf;
		first = false;
	}
	throw CryptoError(msg);
}

Bytes random_bytes(std::size_t n)
{
	Bytes out(n);
	if (n && RAND_bytes(out.data(), static_cast<int>(n)) != 1)
		fail("RAND_bytes");
	return out;
}

Bytes cipher(const char *name, const std::uint8_t *key, std::size_t key_len, const Bytes &iv,
	const Bytes &in, bool encrypt)
{
	std::unique_ptr<EVP_CIPHER, void (*)(EVP_CIPHER *)> c(EVP_CIPHER_fetch(nullptr, name, nullptr),
		EVP_CIPHER_free);
	if (!c)
		fail(std::string("EVP_CIPHER_fetch ") + name);
	if (static_cast<std::size_t>(EVP_CIPHER_get_key_length(c.get())) != key_len)
		throw CryptoError(std::string("cipher ") + name + ": wrong key length");
	const std::size_t bs = static_cast<std::size_t>(EVP_CIPHER_get_block_size(c.get()));
	if (in.size() % bs)
		throw CryptoError(std::string("cipher ") + name + ": input not block aligned");
	Bytes ivbuf(static_cast<std::size_t>(EVP_CIPHER_get_iv_length(c.get())), 0);
	for (std::size_t i = 0; i < ivbuf.size() && i < iv.size(); i++)
		ivbuf[i] = iv[i];
	EvpCipherCtx ctx(EVP_CIPHER_CTX_new());
	if (!ctx)
		fail("EVP_CIPHER_CTX_new");
	if (EVP_CipherInit_ex2(ctx.get(), c.get(), key, ivbuf.empty() ? nullptr : ivbuf.data(), encrypt ? 1 : 0,
		    nullptr) != 1)
		fail(std::string("EVP_CipherInit_ex2 ") + name);
	EVP_CIPHER_CTX_set_padding(ctx.get(), 0);
	Bytes out(in.size() + bs);
	int l1 = 0, l2 = 0;
	if (!in.empty() && EVP_CipherUpdate(ctx.get(), out.data(), &l1, in.data(), static_cast<int>(in.size())) != 1)
		fail(std::string("EVP_CipherUpdate ") + name);
	if (EVP_CipherFinal_ex(ctx.get(), out.data() + l1, &l2) != 1)
		fail(std::string("EVP_CipherFinal_ex ") + name);
	out.resize(static_cast<std::size_t>(l1 + l2));
	return out;
}

Bytes des_cbc(const std::uint8_t *key8, const Bytes &iv, const Bytes &in, bool encrypt)
{
	SecureBytes k(16);
	for (int i = 0; i < 8; i++)
		k[i] = k[i + 8] = key8[i];
	return cipher("DES-EDE-CBC", k.data(), k.size(), iv, in, encrypt);
}

Bytes retail_mac(const std::uint8_t *key16, const Bytes &iv8, const Bytes &padded)
{
	Bytes c = des_cbc(key16, iv8, padded, true);
	Bytes last(c.end() - 8, c.end());
	Bytes t = des_cbc(key16 + 8, Bytes(), last, false);
	return des_cbc(key16, Bytes(), t, true);
}

Bytes aes_cmac(const std::uint8_t *key16, const Bytes &in)
{
	EvpMac mac(EVP_MAC_fetch(nullptr, "CMAC", nullptr));
	if (!mac)
		fail("EVP_MAC_fetch CMAC");
	EvpMacCtx ctx(EVP_MAC_CTX_new(mac.get()));
	if (!ctx)
		fail("EVP_MAC_CTX_new");
	char cname[] = "AES-128-CBC";
	OSSL_PARAM params[] = {
		OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_CIPHER, cname, 0),
		OSSL_PARAM_construct_end(),
	};
	if (EVP_MAC_init(ctx.get(), key16, 16, params) != 1)
		fail("EVP_MAC_init CMAC");
	if (!in.empty() && EVP_MAC_update(ctx.get(), in.data(), in.size()) != 1)
		fail("EVP_MAC_update CMAC");
	Bytes out(16);
	std::size_t len = 0;
	if (EVP_MAC_final(ctx.get(), out.data(), &len, out.size()) != 1)
		fail("EVP_MAC_final CMAC");
	out.resize(len);
	return out;
}

Bytes digest(const char *md, const Bytes &in)
{
	std::unique_ptr<EVP_MD, void (*)(EVP_MD *)> m(EVP_MD_fetch(nullptr, md, nullptr), EVP_MD_free);
	if (!m)
		fail(std::string("EVP_MD_fetch ") + md);
	Bytes out(EVP_MAX_MD_SIZE);
	unsigned int len = 0;
	if (EVP_Digest(in.data(), in.size(), out.data(), &len, m.get(), nullptr) != 1)
		fail(std::string("EVP_Digest ") + md);
	out.resize(len);
	return out;
}

Bytes pad80(const Bytes &in, std::size_t block)
{
	Bytes out(in);
	out.push_back(0x80);
	while (out.size() % block)
		out.push_back(0x00);
	return out;
}

bool unpad80(Bytes &in)
{
	std::size_t i = in.size();
	while (i > 0 && in[i - 1] == 0x00)
		i--;
	if (i == 0 || in[i - 1] != 0x80)
		return false;
	in.resize(i - 1);
	return true;
}

Bn bn_from(const Bytes &b)
{
	Bn bn(BN_bin2bn(b.data(), static_cast<int>(b.size()), nullptr));
	if (!bn)
		fail("BN_bin2bn");
	return bn;
}

Bytes bn_to(const BIGNUM *bn, std::size_t len)
{
	Bytes out(len);
	if (BN_bn2binpad(bn, out.data(), static_cast<int>(len)) < 0)
		fail("BN_bn2binpad");
	return out;
}

} // namespace crypto
} // namespace vcard
