// SPDX-License-Identifier: LGPL-2.1-or-later
#include "asym_key.hpp"

#include "crypto.hpp"
#include "error.hpp"
#include "hex.hpp"
#include "status_word.hpp"

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/param_build.h>

namespace vcard {

using namespace crypto;

namespace {

struct ParamBldDeleter {
	void operator()(OSSL_PARAM_BLD *p) const { OSSL_PARAM_BLD_free(p); }
};
struct ParamDeleter {
	void operator()(OSSL_PARAM *p) const { OSSL_PARAM_free(p); }
};
struct EcdsaSigDeleter {
	void operator()(ECDSA_SIG *p) const { ECDSA_SIG_free(p); }
};

EvpPkey keygen(const char *alg, const OSSL_PARAM *params)
{
	EvpPkeyCtx ctx(EVP_PKEY_CTX_new_from_name(nullptr, alg, nullptr));
	if (!ctx)
		fail(std::string("EVP_PKEY_CTX_new_from_name ") + alg);
	if (EVP_PKEY_keygen_init(ctx.get()) != 1)
		fail("EVP_PKEY_keygen_init");
	if (EVP_PKEY_CTX_set_params(ctx.get(), params) != 1)
		fail("EVP_PKEY_CTX_set_params");
	EVP_PKEY *raw = nullptr;
	if (EVP_PKEY_generate(ctx.get(), &raw) != 1)
		fail("EVP_PKEY_generate");
	return EvpPkey(raw);
}

Bytes get_bn_param(EVP_PKEY *pk, const char *name)
{
	BIGNUM *raw = nullptr;
	if (EVP_PKEY_get_bn_param(pk, name, &raw) != 1)
		fail(std::string("EVP_PKEY_get_bn_param ") + name);
	Bn bn(raw);
	return bn_to(bn.get(), static_cast<std::size_t>(BN_num_bytes(bn.get())));
}

} // namespace

AsymKey AsymKey::generate_rsa(unsigned bits)
{
	size_t b = bits;
	unsigned int e = 65537;
	OSSL_PARAM params[] = {
		OSSL_PARAM_construct_size_t(OSSL_PKEY_PARAM_RSA_BITS, &b),
		OSSL_PARAM_construct_uint(OSSL_PKEY_PARAM_RSA_E, &e),
		OSSL_PARAM_construct_end(),
	};
	EvpPkey pk = keygen("RSA", params);
	AsymKey k;
	k.type_ = Type::Rsa;
	k.n_ = get_bn_param(pk.get(), OSSL_PKEY_PARAM_RSA_N);
	k.e_ = get_bn_param(pk.get(), OSSL_PKEY_PARAM_RSA_E);
	k.d_ = SecureBytes(get_bn_param(pk.get(), OSSL_PKEY_PARAM_RSA_D));
	return k;
}

AsymKey AsymKey::generate_ec_p256()
{
	char group[] = "prime256v1";
	OSSL_PARAM params[] = {
		OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, group, 0),
		OSSL_PARAM_construct_end(),
	};
	EvpPkey pk = keygen("EC", params);
	AsymKey k;
	k.type_ = Type::Ec;
	Bytes d = get_bn_param(pk.get(), OSSL_PKEY_PARAM_PRIV_KEY);
	Bytes d32(32 - std::min<std::size_t>(32, d.size()), 0x00);
	d32.insert(d32.end(), d.begin(), d.end());
	k.d_ = SecureBytes(d32);
	OPENSSL_cleanse(d.data(), d.size());
	OPENSSL_cleanse(d32.data(), d32.size());
	Bytes pt(65);
	std::size_t len = 0;
	if (EVP_PKEY_get_octet_string_param(pk.get(), OSSL_PKEY_PARAM_PUB_KEY, pt.data(), pt.size(), &len) != 1)
		fail("EVP_PKEY_get_octet_string_param pub");
	pt.resize(len);
	if (len != 65 || pt[0] != 0x04)
		throw CryptoError("EC keygen: unexpected point encoding");
	k.point_ = pt;
	return k;
}

AsymKey AsymKey::empty_rsa()
{
	return AsymKey();
}

bool AsymKey::complete() const
{
	if (type_ == Type::Rsa)
		return !n_.empty() && !d_.empty();
	return point_.size() == 65 && d_.size() == 32;
}

unsigned AsymKey::bits() const
{
	if (type_ == Type::Ec)
		return 256;
	Bn n = bn_from(n_);
	return static_cast<unsigned>(BN_num_bits(n.get()));
}

static Bytes strip_leading_zeros(const Bytes &b)
{
	std::size_t i = 0;
	while (i + 1 < b.size() && b[i] == 0)
		i++;
	return Bytes(b.begin() + static_cast<std::ptrdiff_t>(i), b.end());
}

void AsymKey::set_rsa_modulus(const Bytes &n)
{
	type_ = Type::Rsa;
	n_ = strip_leading_zeros(n);
}

void AsymKey::set_rsa_private_exponent(const Bytes &d)
{
	type_ = Type::Rsa;
	d_ = SecureBytes(d);
}

Bytes AsymKey::rsa_private(const Bytes &in) const
{
	if (type_ != Type::Rsa || !complete())
		throw CardStatus(Sw::RefDataNotUsable);
	const std::size_t k = n_.size();
	if (in.size() != k)
		throw CardStatus(Sw::WrongLength);
	Bn n = bn_from(n_);
	Bn m = bn_from(in);
	if (BN_cmp(m.get(), n.get()) >= 0)
		throw CardStatus(Sw::WrongData);
	Bn d(BN_secure_new());
	if (!d || !BN_bin2bn(d_.data(), static_cast<int>(d_.size()), d.get()))
		fail("BN_bin2bn d");
	BN_set_flags(d.get(), BN_FLG_CONSTTIME);
	BnCtx ctx(BN_CTX_secure_new());
	Bn r(BN_new());
	if (!ctx || !r)
		fail("BN_CTX_new");
	if (BN_mod_exp_mont_consttime(r.get(), m.get(), d.get(), n.get(), ctx.get(), nullptr) != 1)
		fail("BN_mod_exp_mont_consttime");
	return bn_to(r.get(), k);
}

Bytes AsymKey::ecdsa_sign(const Bytes &e) const
{
	if (type_ != Type::Ec || !complete())
		throw CardStatus(Sw::RefDataNotUsable);
	if (e.empty() || e.size() > 64)
		throw CardStatus(Sw::WrongLength);
	std::unique_ptr<OSSL_PARAM_BLD, ParamBldDeleter> bld(OSSL_PARAM_BLD_new());
	Bn d = bn_from(d_.to_bytes());
	if (!bld || OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) != 1 ||
		OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_PRIV_KEY, d.get()) != 1 ||
		OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, point_.data(), point_.size()) != 1)
		fail("OSSL_PARAM_BLD EC");
	std::unique_ptr<OSSL_PARAM, ParamDeleter> params(OSSL_PARAM_BLD_to_param(bld.get()));
	if (!params)
		fail("OSSL_PARAM_BLD_to_param");
	EvpPkeyCtx fctx(EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr));
	EVP_PKEY *raw = nullptr;
	if (!fctx || EVP_PKEY_fromdata_init(fctx.get()) != 1 ||
		EVP_PKEY_fromdata(fctx.get(), &raw, EVP_PKEY_KEYPAIR, params.get()) != 1)
		fail("EVP_PKEY_fromdata EC");
	EvpPkey pk(raw);
	EvpPkeyCtx sctx(EVP_PKEY_CTX_new_from_pkey(nullptr, pk.get(), nullptr));
	if (!sctx || EVP_PKEY_sign_init(sctx.get()) != 1)
		fail("EVP_PKEY_sign_init");
	std::size_t len = 0;
	if (EVP_PKEY_sign(sctx.get(), nullptr, &len, e.data(), e.size()) != 1)
		fail("EVP_PKEY_sign size");
	Bytes der(len);
	if (EVP_PKEY_sign(sctx.get(), der.data(), &len, e.data(), e.size()) != 1)
		fail("EVP_PKEY_sign");
	der.resize(len);
	const unsigned char *p = der.data();
	std::unique_ptr<ECDSA_SIG, EcdsaSigDeleter> sig(d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der.size())));
	if (!sig)
		fail("d2i_ECDSA_SIG");
	Bytes out = bn_to(ECDSA_SIG_get0_r(sig.get()), 32);
	Bytes s = bn_to(ECDSA_SIG_get0_s(sig.get()), 32);
	out.insert(out.end(), s.begin(), s.end());
	return out;
}

AsymKey AsymKey::public_part() const
{
	AsymKey k;
	k.type_ = type_;
	k.n_ = n_;
	k.e_ = e_;
	k.point_ = point_;
	return k;
}

nlohmann::json AsymKey::to_json() const
{
	nlohmann::json j;
	j["type"] = type_ == Type::Rsa ? "rsa" : "ec";
	if (type_ == Type::Rsa) {
		j["n"] = to_hex(n_);
		j["e"] = to_hex(e_);
	} else {
		j["curve"] = "prime256v1";
		j["point"] = to_hex(point_);
	}
	if (!d_.empty())
		j["d"] = to_hex(d_.data(), d_.size());
	return j;
}

AsymKey AsymKey::from_json(const nlohmann::json &j)
{
	AsymKey k;
	const std::string t = j.at("type").get<std::string>();
	if (t == "rsa") {
		k.type_ = Type::Rsa;
		k.n_ = from_hex(j.at("n").get<std::string>());
		k.e_ = from_hex(j.value("e", std::string()));
	} else if (t == "ec") {
		k.type_ = Type::Ec;
		if (j.value("curve", std::string("prime256v1")) != "prime256v1")
			throw Error("key: unsupported curve");
		k.point_ = from_hex(j.at("point").get<std::string>());
		if (!k.point_.empty() && (k.point_.size() != 65 || k.point_[0] != 0x04))
			throw Error("key: malformed EC point");
	} else {
		throw Error("key: unknown type \"" + t + "\"");
	}
	if (j.contains("d"))
		k.d_ = SecureBytes(from_hex(j.at("d").get<std::string>()));
	if (k.type_ == Type::Ec && !k.d_.empty() && k.d_.size() != 32)
		throw Error("key: malformed EC scalar");
	return k;
}

} // namespace vcard
