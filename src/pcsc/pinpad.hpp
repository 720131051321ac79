// SPDX-License-Identifier: LGPL-2.1-or-later
// The keypad of a PIN-pad reader, as a CCID class 2 reader shows it through
// pcsc-lite's SCardControl (PC/SC v2 part 10): the feature list, the PIN
// properties, the TLV properties, and FEATURE_VERIFY_PIN_DIRECT, which
// turns a PIN_VERIFY_STRUCTURE and the digits "typed" at the keypad into
// the command APDU the reader sends to the card. Pure data transformation:
// Service sends the APDU and owns every PC/SC rule.
#pragma once

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>

#include <winscard.h>

#include "pcsc/scenario.hpp"
#include "vcard/card.hpp"

namespace pcsc {

// A malformed PIN_VERIFY_STRUCTURE; the message names the field.
class PinpadError : public std::invalid_argument {
public:
	using std::invalid_argument::invalid_argument;
};

class Pinpad {
public:
	explicit Pinpad(PinpadSpec spec) : spec_(std::move(spec)) {}

	// Control codes, as the CCID driver forms them (ccid_ifdhandler.h:
	// SCARD_CTL_CODE(CLASS2_IOCTL_MAGIC + feature)).
	static DWORD ioctl(std::uint8_t feature);
	static DWORD verify_pin_direct_ioctl();
	static DWORD ifd_pin_properties_ioctl();
	static DWORD get_tlv_properties_ioctl();

	// CM_IOCTL_GET_FEATURE_REQUEST: PCSC_TLV_STRUCTURE records (tag, 4,
	// big-endian control code) for VERIFY_PIN_DIRECT, IFD_PIN_PROPERTIES,
	// GET_TLV_PROPERTIES, in the CCID driver's order.
	static vcard::Bytes features();
	// FEATURE_IFD_PIN_PROPERTIES: PIN_PROPERTIES_STRUCTURE (no display).
	static vcard::Bytes pin_properties();
	// FEATURE_GET_TLV_PROPERTIES: what the CCID driver reports for a class 2
	// reader without a display, short APDUs only, with the PIN limits some
	// readers add (bMinPINSize, bMaxPINSize, bEntryValidationCondition).
	static vcard::Bytes tlv_properties();

	// FEATURE_VERIFY_PIN_DIRECT. Throws PinpadError on a malformed
	// structure. Otherwise either `apdu` is the command for the card, or
	// `keypad` is the reader's own answer (64 00 timeout, 64 01 cancelled,
	// 64 03 PIN length outside the limits) and nothing goes to the card.
	struct Verify {
		vcard::Bytes apdu;
		vcard::Bytes keypad;
	};
	Verify verify(const std::uint8_t *in, std::size_t len) const;

	const PinpadSpec &spec() const { return spec_; }

private:
	PinpadSpec spec_;
};

} // namespace pcsc
