// SPDX-License-Identifier: LGPL-2.1-or-later
// What a command APDU is for, from its class (interindustry or proprietary) and INS byte: the header
// stays in clear under secure messaging. How the soak driver splits a recovery's APDUs.
#pragma once

#include <cstddef>

namespace soak {

enum class ApduKind {
	SecureMessaging, // 80 50 INITIALIZE UPDATE, 84 82 EXTERNAL AUTHENTICATE: opening an SM session
	Identity,        // SELECT, READ BINARY/RECORD, GET DATA, LIST FILES, READ PUBLIC KEY: finding the card out
	Pin,             // VERIFY, CHANGE/RESET; ePass2003: GET CHALLENGE + EXTERNAL AUTHENTICATE 00 82 (PIN proof, retry query)
	Operation,       // MANAGE SECURITY ENVIRONMENT, PERFORM SECURITY OPERATION, INTERNAL AUTHENTICATE
	Other,
};
constexpr std::size_t apdu_kinds = 5;

// "secure_messaging", "identity", "pin", "operation", "other"
const char *apdu_kind_name(std::size_t kind) noexcept;
// proprietary: CLA 80..FE (bit 8 set), else the interindustry class
ApduKind apdu_kind_of(bool proprietary, unsigned ins) noexcept;

} // namespace soak
