// SPDX-License-Identifier: LGPL-2.1-or-later
// A tiny card for the provider's own tests: a fixed ATR, a table of
// command -> response (exact or prefix match), an optional echo INS, and a
// default status word for everything else.
#pragma once

#include <cstdint>
#include <vector>

#include "vcard/card.hpp"

namespace pcsc {

class ScriptedCard : public vcard::Card {
public:
	struct Entry {
		vcard::Bytes command;
		bool prefix = false;   // match commands starting with `command`
		vcard::Bytes response; // data || SW1 SW2
	};

	ScriptedCard(vcard::Bytes atr, std::vector<Entry> table, int echo_ins, vcard::Bytes default_response);

	vcard::Bytes atr() const override { return atr_; }
	void power_on() override;
	void power_off() override { powered_ = false; }
	void reset() override;
	bool powered() const override { return powered_; }
	vcard::Bytes process(const vcard::Bytes &command) override;

	// The built-in card (ATR 3B 88 01 "vpcsc-sc" C1, echo INS 0xEE, else 6D00).
	static std::vector<std::uint8_t> default_atr();

private:
	vcard::Bytes atr_;
	std::vector<Entry> table_;
	int echo_ins_;
	vcard::Bytes default_response_;
	bool powered_ = false;
};

} // namespace pcsc
