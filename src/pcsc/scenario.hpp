// SPDX-License-Identifier: LGPL-2.1-or-later
// The provider's configuration: readers, cards and a fault plan, from JSON.
// Every malformed or unknown field is a fault::ConfigError naming it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "fault/plan.hpp"
#include "vcard/card.hpp"

namespace pcsc {

struct CardSpec {
	enum class Type { Scripted, Image };
	Type type = Type::Scripted;
	std::string field;          // "cards.<name>", for error messages
	unsigned long protocol = 0; // SCARD_PROTOCOL_T0/T1; 0 = from the ATR
	// scripted
	vcard::Bytes atr;
	struct Entry {
		vcard::Bytes command;
		bool prefix = false;
		vcard::Bytes response;
	};
	std::vector<Entry> responses;
	int echo_ins = -1;
	vcard::Bytes default_response;
	// image
	std::string path;
};

// A PIN-pad reader: the digits "the user types" at the keypad, and how the
// entry ends (ok: the PIN goes to the card; cancel/timeout: 64 01 / 64 00).
struct PinpadSpec {
	enum class Result { Ok, Cancel, Timeout };
	// PIN bounds: ISO 9564 PIN blocks hold 4..12 digits, PKCS#15 tokens
	// often allow up to 16; a 16-digit ASCII PIN still fits a short APDU.
	static constexpr std::size_t pin_min = 4;
	static constexpr std::size_t pin_max = 16;
	std::string pin; // pin_min..pin_max ASCII digits
	Result result = Result::Ok;
};

struct ReaderSpec {
	std::string name;                // base name; the provider appends " %02X 00"
	std::optional<std::string> card; // name in Scenario::cards
	std::optional<PinpadSpec> pinpad; // none: a plain reader
};

struct Scenario {
	std::vector<ReaderSpec> readers;
	std::map<std::string, CardSpec> cards;
	fault::Plan plan;
	std::string event_log;
	std::string stats_file;
	// "restart": {"card_delay_ms": n}: after a service_down ends, cards are
	// reported this late (pcscd polls a card only after it has started).
	std::uint64_t restart_card_delay_ms = 0;
	// "profile": "linux" (default, pcsc-lite's codes) or "macos" (PCSC.framework:
	// sleep/wake -> SCARD_W_UNPOWERED_CARD, USB power cycle -> SCARD_E_NOT_TRANSACTED,
	// a card removed and put back -> SCARD_W_RESET_CARD).
	enum class Profile { Linux, MacOS };
	Profile profile = Profile::Linux;
	static constexpr std::uint64_t card_delay_ms_max = 3600000;

	// base_dir resolves relative image paths ("" = current directory).
	static Scenario parse(const nlohmann::json &j, const std::string &base_dir);
	static Scenario parse_text(const std::string &text, const std::string &base_dir);
	// VPCSC_SCENARIO (file) or VPCSC_SCENARIO_JSON (inline), else
	// builtin(); then VPCSC_EVENT_LOG, VPCSC_STATS_FILE, VPCSC_SEED override.
	static Scenario from_environment();
	// One reader "Virtual Reader 00 00" holding the built-in scripted card "scripted".
	static Scenario builtin();
};

} // namespace pcsc
