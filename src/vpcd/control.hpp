// SPDX-License-Identifier: LGPL-2.1-or-later
// vpcd control messages (a 1-byte frame from vpcd to the card).
#pragma once

#include <cstdint>

namespace vpcd {

enum class Control : std::uint8_t {
	power_off = 0x00, // no reply
	power_on = 0x01,  // no reply
	reset = 0x02,     // no reply
	get_atr = 0x04,   // reply: the ATR
};

} // namespace vpcd
