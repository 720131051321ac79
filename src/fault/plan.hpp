// SPDX-License-Identifier: LGPL-2.1-or-later
// A fault plan: data, not code. Parsed from JSON, validated on load (every
// bad or unknown field is a ConfigError naming it), replayable from
// (plan, seed). Schema: see doc comment in plan.cpp and src/pcsc/README.
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "fault/entry_point.hpp"

namespace fault {

struct Trigger {
	enum class Kind { Nth, Every, AfterMs, Probability, Ins };
	Kind kind = Kind::Nth;
	std::optional<EntryPoint> call;  // none: any entry point
	std::uint64_t n = 0;             // nth / every / after_ms
	double probability = 0.0;
	int ins = -1;
	std::optional<int> cla;
	std::uint64_t limit = 0;         // maximum firings, 0 = unlimited
};

struct Action {
	enum class Kind {
		Return,
		ServiceLost,
		ServiceDown,
		ServiceUp,
		CardReset,
		CardRemove,
		CardInsert,
		CardSwap,
		SleepWake,
		UsbPowerCycle,
		ReaderRename,
		Delay,
	};
	Kind kind = Kind::Return;
	long code = 0;                   // Return; ServiceLost/Down: what dead handles answer
	std::uint64_t count = 1;         // Return: for this many matching calls
	std::uint64_t ms = 0;            // ServiceDown (0 with calls == 0: until ServiceUp), Delay
	std::uint64_t calls = 0;         // ServiceDown: fail this many EstablishContext calls
	bool handles_invalid_after_release = false; // ServiceLost/Down: see README
	std::uint16_t counter_after = 0; // ServiceDown: reader event counters after the restart
	std::size_t reader = 0;          // card actions
	std::string card;                // CardInsert (optional), CardSwap (required)
	std::string name;                // ReaderRename: the new base name
	nlohmann::json source;           // the action as written, for the event log
};

struct Rule {
	Trigger trigger;
	Action action;
};

// Throws ConfigError naming the field unless j is an object whose keys are all in allowed.
void check_keys(const nlohmann::json &j, const std::string &where, const std::set<std::string> &allowed);

class Plan {
public:
	// j is the "faults" object; where is its path for error messages.
	static Plan parse(const nlohmann::json &j, const std::string &where);
	// One action (runtime injection or a rule's "action").
	static Action parse_action(const nlohmann::json &j, const std::string &where);

	std::uint64_t seed = 0;
	std::vector<Rule> rules;
};

} // namespace fault
