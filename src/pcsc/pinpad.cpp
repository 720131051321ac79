// SPDX-License-Identifier: LGPL-2.1-or-later
//
// PIN insertion follows the CCID specification (PC_to_RDR_Secure, as the
// CCID driver forwards a PC/SC part 10 PIN_VERIFY_STRUCTURE):
//   bmFormatString    bit 7 units of the PIN position (1 bytes, 0 bits),
//                     bits 6-3 PIN position, bit 2 justification (1 right),
//                     bits 1-0 format (00 binary, 01 BCD, 10 ASCII)
//   bmPINBlockString  bits 7-4 size in bits of the PIN length field,
//                     bits 3-0 PIN block size in bytes (0: variable)
//   bmPINLengthFormat bits 7-5 RFU, bit 4 units of the length position
//                     (1 bytes, 0 bits), bits 3-0 length position
// Positions count from the first byte of the APDU data field (after Lc),
// bits most significant first. See README.md for the exact rules.
#include "pcsc/pinpad.hpp"

#include <algorithm>
#include <cstddef>

#include <reader.h>

namespace pcsc {

namespace {

// ccid_ifdhandler.h: IOCTL_FEATURE_x = SCARD_CTL_CODE(x + CLASS2_IOCTL_MAGIC)
constexpr DWORD class2_ioctl_magic = 0x330000;

constexpr std::size_t verify_header_len = offsetof(PIN_VERIFY_STRUCTURE, abData); // 19
constexpr std::size_t apdu_header_len = 4;                                         // CLA INS P1 P2
constexpr std::size_t short_lc_max = 255;

constexpr std::uint8_t format_units_bytes = 0x80;
constexpr unsigned format_position_shift = 3;
constexpr std::uint8_t format_position_mask = 0x0F;
constexpr std::uint8_t format_justify_right = 0x04;
constexpr std::uint8_t format_type_mask = 0x03;
constexpr std::uint8_t format_binary = 0x00;
constexpr std::uint8_t format_bcd = 0x01;
constexpr std::uint8_t format_ascii = 0x02;

constexpr unsigned block_length_size_shift = 4;
constexpr std::uint8_t block_size_mask = 0x0F;

constexpr std::uint8_t length_format_rfu = 0xE0;
constexpr std::uint8_t length_units_bytes = 0x10;
constexpr std::uint8_t length_position_mask = 0x0F;

// PC/SC v2 part 10: the reader's own status words for a PIN entry.
constexpr std::uint8_t sw1_keypad = 0x64;
constexpr std::uint8_t sw2_keypad_timeout = 0x00;
constexpr std::uint8_t sw2_keypad_cancelled = 0x01;
constexpr std::uint8_t sw2_keypad_length = 0x03; // PIN not within the length limits

constexpr std::uint8_t bcd_filler = 0x0F;
constexpr std::uint8_t entry_validation_any = 0x07; // key, timeout, max size (the CCID driver's default)
constexpr std::uint8_t entry_validation_key = 0x02; // validation key pressed

void
put_tlv_feature(vcard::Bytes &out, std::uint8_t feature)
{
	const DWORD code = Pinpad::ioctl(feature);
	out.push_back(feature);
	out.push_back(4); // PCSC_TLV_STRUCTURE: the value is always 4 bytes
	for (int shift = 24; shift >= 0; shift -= 8)
		out.push_back(static_cast<std::uint8_t>((code >> shift) & 0xFF)); // big endian
}

void
put_le(vcard::Bytes &out, std::uint32_t value, std::size_t bytes)
{
	for (std::size_t i = 0; i < bytes; i++)
		out.push_back(static_cast<std::uint8_t>((value >> (8 * i)) & 0xFF));
}

std::uint32_t
get_le(const std::uint8_t *p, std::size_t bytes)
{
	std::uint32_t v = 0;
	for (std::size_t i = 0; i < bytes; i++)
		v |= static_cast<std::uint32_t>(p[i]) << (8 * i);
	return v;
}

// Write the low n bits of value at bit offset `bit` (bit 0 = MSB of data[0]).
void
put_bits(vcard::Bytes &data, std::size_t bit, std::uint32_t value, std::size_t n)
{
	for (std::size_t i = 0; i < n; i++) {
		const std::size_t b = bit + i;
		const std::uint8_t mask = static_cast<std::uint8_t>(0x80u >> (b % 8));
		if ((value >> (n - 1 - i)) & 1u)
			data[b / 8] |= mask;
		else
			data[b / 8] &= static_cast<std::uint8_t>(~mask);
	}
}

std::string
field(const char *name)
{
	return std::string("PIN_VERIFY_STRUCTURE.") + name + ": ";
}

} // namespace

DWORD
Pinpad::ioctl(std::uint8_t feature)
{
	return SCARD_CTL_CODE(class2_ioctl_magic + feature);
}

DWORD
Pinpad::verify_pin_direct_ioctl()
{
	return ioctl(FEATURE_VERIFY_PIN_DIRECT);
}

DWORD
Pinpad::ifd_pin_properties_ioctl()
{
	return ioctl(FEATURE_IFD_PIN_PROPERTIES);
}

DWORD
Pinpad::get_tlv_properties_ioctl()
{
	return ioctl(FEATURE_GET_TLV_PROPERTIES);
}

vcard::Bytes
Pinpad::features()
{
	vcard::Bytes out;
	put_tlv_feature(out, FEATURE_VERIFY_PIN_DIRECT);
	put_tlv_feature(out, FEATURE_IFD_PIN_PROPERTIES);
	put_tlv_feature(out, FEATURE_GET_TLV_PROPERTIES);
	return out;
}

vcard::Bytes
Pinpad::pin_properties()
{
	vcard::Bytes out;
	put_le(out, 0, sizeof(PIN_PROPERTIES_STRUCTURE::wLcdLayout)); // no display
	out.push_back(entry_validation_any);                          // bEntryValidationCondition
	out.push_back(0);                                             // bTimeOut2: same as bTimeOut
	return out;
}

vcard::Bytes
Pinpad::tlv_properties()
{
	vcard::Bytes out;
	out.push_back(PCSCv2_PART10_PROPERTY_wLcdLayout);
	out.push_back(2);
	put_le(out, 0, 2); // no display
	out.push_back(PCSCv2_PART10_PROPERTY_bTimeOut2);
	out.push_back(1);
	out.push_back(0);
	// The keypad's PIN limits (the scenario's): OpenSC raises a PIN's
	// min_length / lowers its max_length to them (part10_check_pin_min_max).
	out.push_back(PCSCv2_PART10_PROPERTY_bMinPINSize);
	out.push_back(1);
	out.push_back(static_cast<std::uint8_t>(PinpadSpec::pin_min));
	out.push_back(PCSCv2_PART10_PROPERTY_bMaxPINSize);
	out.push_back(1);
	out.push_back(static_cast<std::uint8_t>(PinpadSpec::pin_max));
	out.push_back(PCSCv2_PART10_PROPERTY_bEntryValidationCondition);
	out.push_back(1);
	out.push_back(entry_validation_key);
	out.push_back(PCSCv2_PART10_PROPERTY_bPPDUSupport);
	out.push_back(1);
	out.push_back(0); // no FEATURE_CCID_ESC_COMMAND
	out.push_back(PCSCv2_PART10_PROPERTY_dwMaxAPDUDataSize);
	out.push_back(4);
	put_le(out, 0, 4); // short APDUs only
	return out;
}

Pinpad::Verify
Pinpad::verify(const std::uint8_t *in, std::size_t len) const
{
	if (in == nullptr || len < verify_header_len + apdu_header_len)
		throw PinpadError("PIN_VERIFY_STRUCTURE: " + std::to_string(len) + " bytes, shorter than its " +
				  std::to_string(verify_header_len) + "-byte header and a 4-byte APDU");
	const std::uint32_t data_length = get_le(in + offsetof(PIN_VERIFY_STRUCTURE, ulDataLength), 4);
	if (verify_header_len + data_length != len)
		throw PinpadError(field("ulDataLength") + std::to_string(data_length) + ", but " +
				  std::to_string(len - verify_header_len) + " bytes of abData follow the header");
	const std::uint8_t format = in[offsetof(PIN_VERIFY_STRUCTURE, bmFormatString)];
	const std::uint8_t block = in[offsetof(PIN_VERIFY_STRUCTURE, bmPINBlockString)];
	const std::uint8_t length_format = in[offsetof(PIN_VERIFY_STRUCTURE, bmPINLengthFormat)];
	const std::uint32_t extra = get_le(in + offsetof(PIN_VERIFY_STRUCTURE, wPINMaxExtraDigit), 2);
	const std::size_t min_digits = extra >> 8;
	const std::size_t max_digits = extra & 0xFF;
	const std::uint8_t type = format & format_type_mask;
	if (type != format_binary && type != format_bcd && type != format_ascii)
		throw PinpadError(field("bmFormatString") + "PIN format 11b is reserved");
	if (length_format & length_format_rfu)
		throw PinpadError(field("bmPINLengthFormat") + "reserved bits 7-5 are set");
	if (max_digits != 0 && min_digits > max_digits)
		throw PinpadError(field("wPINMaxExtraDigit") + "minimum " + std::to_string(min_digits) +
				  " above maximum " + std::to_string(max_digits));

	// The APDU template: CLA INS P1 P2 [Lc data [Le]] (short APDUs).
	const std::uint8_t *t = in + verify_header_len;
	const vcard::Bytes head(t, t + apdu_header_len);
	vcard::Bytes data;
	bool has_lc = false, has_le = false;
	std::uint8_t le = 0;
	if (data_length > apdu_header_len) {
		has_lc = true;
		const std::size_t lc = t[apdu_header_len];
		if (data_length == apdu_header_len + 1) {
			if (lc != 0)
				throw PinpadError(field("abData") + "Lc " + std::to_string(lc) + " but no data follows");
		} else {
			if (lc == 0)
				throw PinpadError(field("abData") + "Lc 0 followed by data (extended APDUs are not supported)");
			if (data_length != apdu_header_len + 1 + lc && data_length != apdu_header_len + 2 + lc)
				throw PinpadError(field("abData") + "Lc " + std::to_string(lc) + " does not match the " +
						  std::to_string(data_length) + "-byte APDU");
			data.assign(t + apdu_header_len + 1, t + apdu_header_len + 1 + lc);
			if (data_length == apdu_header_len + 2 + lc) {
				has_le = true;
				le = t[apdu_header_len + 1 + lc];
			}
		}
	}
	const std::size_t position_bits =
		((format >> format_position_shift) & format_position_mask) * ((format & format_units_bytes) ? 8 : 1);
	const std::size_t block_bytes = block & block_size_mask;
	const std::size_t length_bits = block >> block_length_size_shift;
	const std::size_t length_position_bits =
		(length_format & length_position_mask) * ((length_format & length_units_bytes) ? 8 : 1);
	if (block_bytes > 0) {
		if (position_bits >= data.size() * 8)
			throw PinpadError(field("bmFormatString") + "PIN position (bit " + std::to_string(position_bits) +
					  ") is beyond the " + std::to_string(data.size()) + "-byte APDU data field");
		if (length_bits > 0 && length_position_bits + length_bits > data.size() * 8)
			throw PinpadError(field("bmPINLengthFormat") + "the PIN length field (bits " +
					  std::to_string(length_position_bits) + ".." +
					  std::to_string(length_position_bits + length_bits - 1) + ") is beyond the " +
					  std::to_string(data.size()) + "-byte APDU data field");
	} else {
		if (position_bits % 8 != 0)
			throw PinpadError(field("bmFormatString") +
					  "a variable-length PIN block (block size 0) needs a whole-byte PIN position");
		if (position_bits / 8 > data.size())
			throw PinpadError(field("bmFormatString") + "PIN position (byte " +
					  std::to_string(position_bits / 8) + ") is beyond the " +
					  std::to_string(data.size()) + "-byte APDU data field");
	}

	Verify out;
	switch (spec_.result) {
	case PinpadSpec::Result::Cancel:
		out.keypad = {sw1_keypad, sw2_keypad_cancelled};
		return out;
	case PinpadSpec::Result::Timeout:
		out.keypad = {sw1_keypad, sw2_keypad_timeout};
		return out;
	case PinpadSpec::Result::Ok:
		break;
	}
	const std::size_t digits = spec_.pin.size();
	const auto refuse_length = [&] {
		out.keypad = {sw1_keypad, sw2_keypad_length};
		return out;
	};
	if (digits < min_digits || (max_digits != 0 && digits > max_digits))
		return refuse_length();
	if (length_bits > 0 && length_bits < 32 && digits >= (std::size_t{1} << length_bits))
		return refuse_length();
	const std::size_t digit_bits = type == format_bcd ? 4 : 8;
	const std::size_t pin_bits = digits * digit_bits;
	std::size_t at = position_bits;
	if (block_bytes > 0) {
		// The block starts at the PIN position; it is clipped to the data
		// field (OpenSC's ISO 9564 format 2 counts the control byte in).
		const std::size_t end = std::min(position_bits + block_bytes * 8, data.size() * 8);
		if (pin_bits > end - position_bits)
			return refuse_length();
		if (format & format_justify_right)
			at = end - pin_bits;
	} else {
		// Variable length: the PIN overwrites the template from its position
		// on and extends the data field as needed (Lc follows).
		const std::size_t needed = (position_bits + pin_bits + 7) / 8;
		if (needed > short_lc_max)
			return refuse_length();
		if (data.size() < needed)
			data.resize(needed, 0);
		if (pin_bits % 8 != 0)
			put_bits(data, position_bits + pin_bits, bcd_filler, 4);
	}
	for (char c : spec_.pin) {
		const std::uint32_t digit = static_cast<std::uint32_t>(c - '0');
		put_bits(data, at, type == format_ascii ? static_cast<std::uint32_t>(c) : digit, digit_bits);
		at += digit_bits;
	}
	if (length_bits > 0) {
		if (length_position_bits + length_bits > data.size() * 8)
			throw PinpadError(field("bmPINLengthFormat") + "the PIN length field (bits " +
					  std::to_string(length_position_bits) + ".." +
					  std::to_string(length_position_bits + length_bits - 1) + ") is beyond the " +
					  std::to_string(data.size()) + "-byte APDU data field");
		put_bits(data, length_position_bits, static_cast<std::uint32_t>(digits), length_bits);
	}

	out.apdu = head;
	if (has_lc || !data.empty())
		out.apdu.push_back(static_cast<std::uint8_t>(data.size()));
	out.apdu.insert(out.apdu.end(), data.begin(), data.end());
	if (has_le)
		out.apdu.push_back(le);
	return out;
}

} // namespace pcsc
