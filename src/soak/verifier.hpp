// SPDX-License-Identifier: LGPL-2.1-or-later
// Verifies SHA256-RSA-PKCS signatures with OpenSSL 3 EVP against an RSA public key (modulus, exponent).
#pragma once

#include <cstdint>
#include <vector>

#include "soak/openssl_ptr.hpp"

namespace soak {

class Verifier {
public:
	// Throws SetupError if OpenSSL cannot build the key.
	Verifier(const std::vector<std::uint8_t> &modulus, const std::vector<std::uint8_t> &exponent);

	// True only if sig is a valid SHA256-RSA-PKCS signature of data. Never throws.
	bool verify(const std::vector<std::uint8_t> &data, const std::uint8_t *sig, std::size_t sig_len) const noexcept;

	int bits() const noexcept;

private:
	EvpPkeyPtr key_;
};

} // namespace soak
