// SPDX-License-Identifier: LGPL-2.1-or-later
// Key command handlers: MSE, PSO (RSA raw / ECDSA), GENERATE KEY, READ
// PUBLIC KEY, WRITE KEY FACTOR (EPASS2003.md §3.7–3.10, §3.15).
#include "epass2003_card.hpp"

#include "status_word.hpp"

namespace vcard {

namespace {

constexpr std::uint8_t kAlgRsa = 0x84;
constexpr std::uint8_t kAlgEcdsaSha1 = 0x91;
constexpr std::uint8_t kAlgEcdsaSha256 = 0x92;
constexpr std::uint8_t kKeyTypeRsa = 0x01;
constexpr std::uint8_t kKeyTypeEc = 0x02;
constexpr std::uint8_t kFactorModulus = 0x02;
constexpr std::uint8_t kFactorPrivateExponent = 0x03;

std::uint16_t be16(const Bytes &b, std::size_t off)
{
	return static_cast<std::uint16_t>((b[off] << 8) | b[off + 1]);
}

bool is_private(const File &f)
{
	return f.kind == FileKind::RsaPrivate || f.kind == FileKind::EcPrivate;
}

} // namespace

Bytes Epass2003Card::cmd_manage_security_environment(const Apdu &a)
{
	if (a.p1 != 0x41 || (a.p2 != 0xB8 && a.p2 != 0xB6))
		throw CardStatus(Sw::IncorrectP1P2);
	// 80 01 AL 81 02 FID
	std::uint8_t alg = 0;
	std::uint16_t fid = 0;
	bool have_alg = false, have_fid = false;
	for (std::size_t pos = 0; pos < a.data.size();) {
		if (pos + 2 > a.data.size())
			throw CardStatus(Sw::WrongData);
		std::uint8_t tag = a.data[pos], len = a.data[pos + 1];
		if (pos + 2 + len > a.data.size())
			throw CardStatus(Sw::WrongData);
		if (tag == 0x80 && len == 1) {
			alg = a.data[pos + 2];
			have_alg = true;
		} else if (tag == 0x81 && len == 2) {
			fid = be16(a.data, pos + 2);
			have_fid = true;
		}
		pos += 2u + len;
	}
	if (!have_alg || !have_fid)
		throw CardStatus(Sw::WrongData);
	mse_key_ = nullptr;
	File &f = key_file_in_current_df(fid);
	if (!is_private(f))
		throw CardStatus(Sw::RefDataNotFound);
	const bool rsa = f.kind == FileKind::RsaPrivate;
	if ((rsa && (a.p2 != 0xB8 || alg != kAlgRsa)) ||
		(!rsa && (a.p2 != 0xB6 || (alg != kAlgEcdsaSha1 && alg != kAlgEcdsaSha256))))
		throw CardStatus(Sw::WrongData);
	mse_key_ = &f;
	mse_algorithm_ = alg;
	return Bytes();
}

Bytes Epass2003Card::cmd_perform_security_operation(const Apdu &a)
{
	const bool decipher = a.p1 == 0x80 && a.p2 == 0x86;
	const bool sign = a.p1 == 0x9E && a.p2 == 0x9A;
	if (!decipher && !sign)
		throw CardStatus(Sw::IncorrectP1P2);
	if (!mse_key_)
		throw CardStatus(Sw::RefDataNotFound);
	File &f = *mse_key_;
	require(f.ac(AcOp::KeyUse));
	if (!f.key || !f.key->complete())
		throw CardStatus(Sw::RefDataNotUsable);
	if (decipher) {
		// RSA signatures and decryption alike: raw m^d mod n (§3.8).
		if (f.kind != FileKind::RsaPrivate)
			throw CardStatus(Sw::WrongData);
		return f.key->rsa_private(a.data);
	}
	if (f.kind != FileKind::EcPrivate)
		throw CardStatus(Sw::WrongData);
	if (options_.ecdsa_pads_short_input && !a.data.empty() && a.data.size() < 32) {
		Bytes e(a.data);
		e.resize(32, 0x00);
		return f.key->ecdsa_sign(e);
	}
	return f.key->ecdsa_sign(a.data);
}

Bytes Epass2003Card::cmd_generate_key(const Apdu &a)
{
	if (a.data.size() != 7)
		throw CardStatus(Sw::WrongLength);
	const std::uint8_t type = a.data[0];
	const unsigned bits = be16(a.data, 1);
	File &priv = key_file_in_current_df(be16(a.data, 3));
	File &pub = key_file_in_current_df(be16(a.data, 5));
	require(priv.ac(AcOp::KeyUpdate));
	require(pub.ac(AcOp::KeyUpdate));
	if (type == kKeyTypeRsa) {
		if (priv.kind != FileKind::RsaPrivate || pub.kind != FileKind::RsaPublic)
			throw CardStatus(Sw::WrongData);
		if (bits != 512 && bits != 768 && bits != 1024 && bits != 2048)
			throw CardStatus(Sw::WrongData);
		priv.key = AsymKey::generate_rsa(bits);
	} else if (type == kKeyTypeEc) {
		if (!options_.ec_supported)
			throw CardStatus(Sw::WrongData);
		if (priv.kind != FileKind::EcPrivate || pub.kind != FileKind::EcPublic || bits != 256)
			throw CardStatus(Sw::WrongData);
		priv.key = AsymKey::generate_ec_p256();
	} else {
		throw CardStatus(Sw::WrongData);
	}
	pub.key = priv.key->public_part();
	touch();
	return Bytes();
}

Bytes Epass2003Card::cmd_read_public_key(const Apdu &a)
{
	if ((a.p1 != 0x02 && a.p1 != 0x00) || a.p2 != 0x00)
		throw CardStatus(Sw::IncorrectP1P2);
	if (a.data.size() != 2)
		throw CardStatus(Sw::WrongLength);
	File &f = key_file_in_current_df(be16(a.data, 0));
	if (is_private(f))
		throw CardStatus(Sw::SecurityNotSatisfied);
	require(f.ac(AcOp::EfRead));
	if (!f.key)
		throw CardStatus(Sw::RefDataNotUsable);
	if (a.p1 == 0x02) {
		if (f.key->type() != AsymKey::Type::Rsa)
			throw CardStatus(Sw::WrongData);
		return f.key->modulus();
	}
	if (f.key->type() != AsymKey::Type::Ec)
		throw CardStatus(Sw::WrongData);
	const Bytes &pt = f.key->ec_point();
	Bytes out = {0x58, 0x20};
	out.insert(out.end(), pt.begin() + 1, pt.begin() + 33);
	out.insert(out.end(), {0x59, 0x20});
	out.insert(out.end(), pt.begin() + 33, pt.end());
	return out;
}

Bytes Epass2003Card::cmd_write_key_factor(const Apdu &a)
{
	if ((a.p1 != kFactorModulus && a.p1 != kFactorPrivateExponent) || a.p2 != 0x00)
		throw CardStatus(Sw::IncorrectP1P2);
	if (a.data.size() < 3 || a.data.size() > 2 + 256)
		throw CardStatus(Sw::WrongLength);
	File &f = key_file_in_current_df(be16(a.data, 0));
	if (f.kind != FileKind::RsaPrivate)
		throw CardStatus(Sw::WrongData);
	require(f.ac(AcOp::KeyUpdate));
	Bytes value(a.data.begin() + 2, a.data.end());
	if (!f.key || f.key->type() != AsymKey::Type::Rsa)
		f.key = AsymKey::empty_rsa();
	if (a.p1 == kFactorModulus)
		f.key->set_rsa_modulus(value);
	else
		f.key->set_rsa_private_exponent(value);
	OPENSSL_cleanse(value.data(), value.size());
	mse_key_ = nullptr;
	touch();
	return Bytes();
}

} // namespace vcard
