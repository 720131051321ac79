// SPDX-License-Identifier: LGPL-2.1-or-later
// Access-condition bytes against the card's security state (EPASS2003.md
// §3.19, §8.1 Q8): bits 6–4 select a comparison of the state S with the low
// nibble N (001 S≥N, 011 S=N, 010 S<N, 000 S≠N); bit 7 ("MAC required") is
// not enforced separately (the SM-on variants refuse plain commands anyway).
// FF (not applicable) and other patterns are never satisfied.
#pragma once

#include <cstdint>

namespace vcard {

constexpr std::uint8_t kAcNotApplicable = 0xFF;

inline bool ac_satisfied(std::uint8_t ac, std::uint8_t state)
{
	if (ac == kAcNotApplicable)
		return false;
	const std::uint8_t n = ac & 0x0F;
	switch ((ac >> 4) & 0x07) {
	case 0x1:
		return state >= n;
	case 0x3:
		return state == n;
	case 0x2:
		return state < n;
	case 0x0:
		return state != n;
	default:
		return false;
	}
}

} // namespace vcard
