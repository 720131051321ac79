// SPDX-License-Identifier: LGPL-2.1-or-later
#include "scripted_card.hpp"

namespace vpcd {

namespace {

enum class StatusWord : std::uint16_t {
	success = 0x9000,
	wrong_length = 0x6700,
	conditions_not_satisfied = 0x6985,
	ins_not_supported = 0x6D00,
	cla_not_supported = 0x6E00,
};

void append_sw(vcard::Bytes &out, StatusWord sw)
{
	const auto value = static_cast<std::uint16_t>(sw);
	out.push_back(static_cast<std::uint8_t>(value >> 8));
	out.push_back(static_cast<std::uint8_t>(value & 0xFF));
}

vcard::Bytes sw_only(StatusWord sw)
{
	vcard::Bytes out;
	append_sw(out, sw);
	return out;
}

// The command data field of a short or extended APDU; false if malformed.
bool command_data(const vcard::Bytes &apdu, vcard::Bytes &data)
{
	data.clear();
	if (apdu.size() <= 5)
		return apdu.size() >= 4; // case 1 or case 2 short: no data
	if (apdu[4] != 0) {
		const std::size_t lc = apdu[4];
		if (apdu.size() != 5 + lc && apdu.size() != 6 + lc)
			return false;
		data.assign(apdu.begin() + 5, apdu.begin() + 5 + static_cast<std::ptrdiff_t>(lc));
		return true;
	}
	if (apdu.size() == 7)
		return true; // case 2 extended
	const std::size_t lc = (std::size_t{apdu[5]} << 8) | apdu[6];
	if (lc == 0 || (apdu.size() != 7 + lc && apdu.size() != 9 + lc))
		return false;
	data.assign(apdu.begin() + 7, apdu.begin() + 7 + static_cast<std::ptrdiff_t>(lc));
	return true;
}

} // namespace

vcard::Bytes ScriptedCard::atr() const
{
	// TS, T0 (TD1 follows, 4 historical bytes), TD1 (T=1 only), "vpcd", TCK
	// (XOR of T0..last historical byte: 84^01^76^70^63^64 = 0x84).
	return {0x3B, 0x84, 0x01, 'v', 'p', 'c', 'd', 0x84};
}

void ScriptedCard::power_on()
{
	session_ = false;
	powered_ = true;
	++power_ons_;
}

void ScriptedCard::power_off()
{
	session_ = false;
	powered_ = false;
}

void ScriptedCard::reset()
{
	session_ = false;
	powered_ = true;
	++power_ons_;
}

vcard::Bytes ScriptedCard::process(const vcard::Bytes &command)
{
	vcard::Bytes data;
	if (!command_data(command, data))
		return sw_only(StatusWord::wrong_length);
	if (!powered_)
		return sw_only(StatusWord::conditions_not_satisfied);
	const std::uint8_t cla = command[0];
	const auto ins = static_cast<Ins>(command[1]);
	if (cla == cla_iso) {
		if (ins == Ins::select)
			return sw_only(StatusWord::success);
		return sw_only(StatusWord::ins_not_supported);
	}
	if (cla != cla_proprietary)
		return sw_only(StatusWord::cla_not_supported);
	vcard::Bytes out;
	switch (ins) {
	case Ins::echo:
		out = data;
		break;
	case Ins::get_power_on_count: {
		const std::uint32_t count = power_ons_.load();
		for (int shift = 24; shift >= 0; shift -= 8)
			out.push_back(static_cast<std::uint8_t>(count >> shift));
		break;
	}
	case Ins::get_session:
		out.push_back(session_ ? 1 : 0);
		break;
	case Ins::set_session:
		session_ = true;
		break;
	default:
		return sw_only(StatusWord::ins_not_supported);
	}
	append_sw(out, StatusWord::success);
	return out;
}

} // namespace vpcd
