// SPDX-License-Identifier: LGPL-2.1-or-later
// Evaluates a fault plan against the stream of entry-point calls. Pure
// bookkeeping: it decides *which* actions fire and logs each one; the
// provider applies them. Deterministic for a given plan, seed and call
// sequence (time triggers aside), so an event log replays.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <random>
#include <vector>

#include "fault/entry_point.hpp"
#include "fault/event_log.hpp"
#include "fault/plan.hpp"

namespace fault {

class Injector {
public:
	Injector() = default;
	Injector(Plan plan, EventLog log);

	// Account one call and return the actions that fire for it, in rule
	// order (a pending "return for N calls" first). apdu may be null.
	std::vector<Action> on_call(EntryPoint entry, const std::uint8_t *apdu, std::size_t apdu_len);
	// Log an action injected through the runtime API (rule -1).
	void log_injection(const Action &action);

	std::uint64_t injections() const { return seq_; }
	std::uint64_t calls(EntryPoint entry) const { return calls_[static_cast<std::size_t>(entry)]; }

private:
	bool matches(const Trigger &t, EntryPoint entry, const std::uint8_t *apdu, std::size_t apdu_len);
	void log(long rule, EntryPoint entry, std::uint64_t call_no, const Action &action, std::uint64_t repeat);

	Plan plan_;
	EventLog log_;
	std::mt19937_64 rng_;
	std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
	std::array<std::uint64_t, entry_point_count> calls_{};
	std::uint64_t total_calls_ = 0;
	std::vector<std::uint64_t> fired_;
	std::vector<std::uint64_t> matched_;
	std::vector<std::uint64_t> pending_;  // remaining "return" repeats per rule
	std::uint64_t seq_ = 0;
};

} // namespace fault
