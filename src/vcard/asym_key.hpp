// SPDX-License-Identifier: LGPL-2.1-or-later
// An asymmetric key held in a key file: RSA (1024/2048, generated or
// imported as n and d) or EC P-256. Private parts live in SecureBytes.
#pragma once

#include "card.hpp"
#include "secure_bytes.hpp"

#include <nlohmann/json.hpp>

namespace vcard {

class AsymKey {
public:
	enum class Type { Rsa, Ec };

	static AsymKey generate_rsa(unsigned bits);
	static AsymKey generate_ec_p256();
	static AsymKey empty_rsa();

	Type type() const { return type_; }
	// RSA: modulus and private exponent known; EC: scalar and point known.
	bool complete() const;
	bool has_private() const { return !d_.empty(); }
	unsigned bits() const;

	// WRITE KEY FACTOR (§3.15): 02 = modulus, 03 = private exponent.
	void set_rsa_modulus(const Bytes &n);
	void set_rsa_private_exponent(const Bytes &d);

	// Raw m^d mod n; input must be k bytes and < n (else CardStatus 6A80).
	Bytes rsa_private(const Bytes &in) const;
	// ECDSA over e as the hash value; returns r || s (32 bytes each).
	Bytes ecdsa_sign(const Bytes &e) const;

	const Bytes &modulus() const { return n_; }
	const Bytes &public_exponent() const { return e_; }
	// Uncompressed point 04 || X || Y.
	const Bytes &ec_point() const { return point_; }

	// The public half only (for the public-key file).
	AsymKey public_part() const;

	nlohmann::json to_json() const;
	// Throws vcard::Error on malformed input.
	static AsymKey from_json(const nlohmann::json &j);

private:
	Type type_ = Type::Rsa;
	Bytes n_;
	Bytes e_;
	Bytes point_;
	SecureBytes d_; // RSA private exponent or EC scalar
};

} // namespace vcard
