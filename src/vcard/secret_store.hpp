// SPDX-License-Identifier: LGPL-2.1-or-later
// Secret keys installed with INSTALL SECRET KEY (EPASS2003.md §3.13): PIN and
// PUK external-authentication keys (type 04), the erase "magic PIN" (type 06)
// with their try counters. One card-global table keyed by (type, kid).
#pragma once

#include "card.hpp"
#include "secure_bytes.hpp"

#include <nlohmann/json.hpp>

#include <array>
#include <cstdint>
#include <vector>

namespace vcard {

struct SecretKey {
	std::array<std::uint8_t, 10> header{}; // H0..H9 as installed; H9 = counter
	SecureBytes value;

	std::uint8_t type() const { return header[0]; }
	std::uint8_t kid() const { return header[1]; }
	std::uint8_t use_ac() const { return header[2]; }
	std::uint8_t modify_ac() const { return header[3]; }
	// Security state entered on successful authentication (H7).
	std::uint8_t state_on_success() const { return header[7]; }
	unsigned max_tries() const { return header[9] >> 4; }
	unsigned tries_left() const { return header[9] & 0x0F; }
	bool blocked() const { return max_tries() != 0 && tries_left() == 0; }
	void set_tries_left(unsigned n) { header[9] = static_cast<std::uint8_t>((header[9] & 0xF0) | (n & 0x0F)); }
	void reset_tries() { set_tries_left(max_tries()); }
};

class SecretStore {
public:
	static constexpr std::uint8_t kTypePinKey = 0x04;
	static constexpr std::uint8_t kTypeVerifyPin = 0x06;

	SecretKey *find(std::uint8_t type, std::uint8_t kid);
	const std::vector<SecretKey> &keys() const { return keys_; }
	// Installs or replaces the (type, kid) key.
	SecretKey &install(const std::array<std::uint8_t, 10> &header, SecureBytes value);
	void clear() { keys_.clear(); }

	nlohmann::json to_json() const;
	void load_json(const nlohmann::json &j);

private:
	std::vector<SecretKey> keys_;
};

} // namespace vcard
