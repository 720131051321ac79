// SPDX-License-Identifier: LGPL-2.1-or-later
#include "pcsc/scripted_card.hpp"

#include <algorithm>
#include <stdexcept>

namespace pcsc {

namespace {
constexpr std::uint8_t sw_ok_1 = 0x90, sw_ok_2 = 0x00;            // 9000 success
constexpr std::uint8_t sw_conditions_1 = 0x69, sw_conditions_2 = 0x85; // 6985 card not powered (internal)
} // namespace

ScriptedCard::ScriptedCard(vcard::Bytes atr, std::vector<Entry> table, int echo_ins, vcard::Bytes default_response)
    : atr_(std::move(atr)), table_(std::move(table)), echo_ins_(echo_ins),
      default_response_(std::move(default_response))
{
	if (atr_.empty() || atr_.size() > 33)
		throw std::invalid_argument("scripted card: ATR must be 1..33 bytes");
	if (default_response_.size() < 2)
		throw std::invalid_argument("scripted card: default response needs a status word");
}

std::vector<std::uint8_t>
ScriptedCard::default_atr()
{
	// TS T0(TD1, 8 historical) TD1(T=1) "vpcsc-sc" TCK
	return {0x3B, 0x88, 0x01, 'v', 'p', 'c', 's', 'c', '-', 's', 'c', 0xC1};
}

void
ScriptedCard::power_on()
{
	powered_ = true;
}

void
ScriptedCard::reset()
{
	powered_ = true;
}

vcard::Bytes
ScriptedCard::process(const vcard::Bytes &command)
{
	if (!powered_)
		return {sw_conditions_1, sw_conditions_2};
	for (const Entry &e : table_) {
		if (e.prefix ? (command.size() >= e.command.size() &&
				       std::equal(e.command.begin(), e.command.end(), command.begin()))
			     : command == e.command)
			return e.response;
	}
	if (echo_ins_ >= 0 && command.size() >= 4 && command[1] == echo_ins_) {
		// Case 3/4 short APDU: return the data field.
		vcard::Bytes out;
		if (command.size() > 5 && command[4] != 0 && command.size() >= 5u + command[4])
			out.assign(command.begin() + 5, command.begin() + 5 + command[4]);
		out.push_back(sw_ok_1);
		out.push_back(sw_ok_2);
		return out;
	}
	return default_response_;
}

} // namespace pcsc
