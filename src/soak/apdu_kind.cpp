// SPDX-License-Identifier: LGPL-2.1-or-later
#include "soak/apdu_kind.hpp"

namespace soak {

const char *
apdu_kind_name(std::size_t kind) noexcept
{
	static const char *const names[apdu_kinds] = {"secure_messaging", "identity", "pin", "operation", "other"};
	return kind < apdu_kinds ? names[kind] : "?";
}

ApduKind
apdu_kind_of(bool proprietary, unsigned ins) noexcept
{
	if (proprietary) {
		// ePass2003 (EPASS2003.md §2.5-2.6): the GlobalPlatform-style SM handshake
		if (ins == 0x50 || ins == 0x82) // INITIALIZE UPDATE, EXTERNAL AUTHENTICATE (84 82 03 00)
			return ApduKind::SecureMessaging;
		return ApduKind::Other;
	}
	switch (ins) {
	case 0xA4: // SELECT
	case 0xB0: // READ BINARY
	case 0xB1:
	case 0xB2: // READ RECORD
	case 0xB3:
	case 0xCA: // GET DATA (serial number, card info)
	case 0x34: // LIST FILES (ePass2003)
	case 0xB4: // READ PUBLIC KEY (ePass2003)
		return ApduKind::Identity;
	case 0x20: // VERIFY
	case 0x24: // CHANGE REFERENCE DATA
	case 0x2C: // RESET RETRY COUNTER
	case 0x82: // ePass2003 (§3.6): the PIN proof and the retry query are EXTERNAL AUTHENTICATE 00 82 01 8x
	case 0x84: // GET CHALLENGE: the PIN proof's challenge
		return ApduKind::Pin;
	case 0x22: // MANAGE SECURITY ENVIRONMENT
	case 0x2A: // PERFORM SECURITY OPERATION
	case 0x88: // INTERNAL AUTHENTICATE
		return ApduKind::Operation;
	default:
		return ApduKind::Other;
	}
}

} // namespace soak
