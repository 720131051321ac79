// SPDX-License-Identifier: LGPL-2.1-or-later
// A tiny built-in card with a fixed T=1 ATR, so the bridge can be tested
// without the virtual ePass2003. It keeps no non-volatile state.
//   00 A4 .. SELECT                 -> 90 00
//   80 10 .. ECHO (short/extended)  -> the command data || 90 00
//   80 12 00 00 GET POWER-ON COUNT  -> 4-byte big-endian count || 90 00
//   80 14 00 00 GET SESSION         -> 1 byte: 01 while a SET SESSION survives || 90 00
//   80 16 00 00 SET SESSION         -> 90 00 (volatile: lost on power off / reset)
//   other instruction               -> 6D 00, other class -> 6E 00
#pragma once

#include <atomic>
#include <cstdint>

#include "../vcard/card.hpp"

namespace vpcd {

class ScriptedCard : public vcard::Card {
public:
	enum class Ins : std::uint8_t {
		select = 0xA4,
		echo = 0x10,
		get_power_on_count = 0x12,
		get_session = 0x14,
		set_session = 0x16,
	};
	static constexpr std::uint8_t cla_iso = 0x00;
	static constexpr std::uint8_t cla_proprietary = 0x80;

	vcard::Bytes atr() const override;
	void power_on() override;
	void power_off() override;
	void reset() override;
	bool powered() const override { return powered_.load(); }
	vcard::Bytes process(const vcard::Bytes &command) override;

	std::uint32_t power_on_count() const { return power_ons_.load(); }

private:
	std::atomic<bool> powered_{false};
	std::atomic<bool> session_{false};
	std::atomic<std::uint32_t> power_ons_{0};
};

} // namespace vpcd
