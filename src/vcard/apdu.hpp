// SPDX-License-Identifier: LGPL-2.1-or-later
// ISO 7816-4 command APDU: parse short and extended forms, re-encode.
#pragma once

#include "card.hpp"

#include <cstddef>
#include <cstdint>

namespace vcard {

struct Apdu {
	std::uint8_t cla = 0;
	std::uint8_t ins = 0;
	std::uint8_t p1 = 0;
	std::uint8_t p2 = 0;
	Bytes data;
	bool has_le = false;
	// Expected length as encoded (0 with has_le means "maximum").
	std::size_t le = 0;
	bool extended = false;

	// Maximum response length the host accepts (Le=0 → 256 / 65536);
	// without Le: unlimited (T=1 cards may still answer, EPASS2003.md §2.9).
	std::size_t ne() const;
};

// Throws CardStatus(WrongLength) for a malformed APDU.
Apdu parse_apdu(const Bytes &raw);
// Short form when it fits, extended otherwise.
Bytes command_bytes(const Apdu &a);

} // namespace vcard
