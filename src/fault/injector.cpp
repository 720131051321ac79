// SPDX-License-Identifier: LGPL-2.1-or-later
#include "fault/injector.hpp"

#include "fault/scard_code.hpp"

namespace fault {

Injector::Injector(Plan plan, EventLog log)
    : plan_(std::move(plan)), log_(std::move(log)), rng_(plan_.seed), fired_(plan_.rules.size(), 0),
      matched_(plan_.rules.size(), 0), pending_(plan_.rules.size(), 0)
{
}

bool
Injector::matches(const Trigger &t, EntryPoint entry, const std::uint8_t *apdu, std::size_t apdu_len)
{
	if (t.call && *t.call != entry)
		return false;
	if (t.kind == Trigger::Kind::Ins) {
		if (apdu == nullptr || apdu_len < 4 || apdu[1] != t.ins)
			return false;
		if (t.cla && apdu[0] != *t.cla)
			return false;
	}
	return true;
}

std::vector<Action>
Injector::on_call(EntryPoint entry, const std::uint8_t *apdu, std::size_t apdu_len)
{
	std::vector<Action> out;
	const std::uint64_t call_no = ++calls_[static_cast<std::size_t>(entry)];
	total_calls_++;
	const auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(
				     std::chrono::steady_clock::now() - start_)
				     .count();

	for (std::size_t i = 0; i < plan_.rules.size(); i++) {
		const Rule &rule = plan_.rules[i];
		if (!matches(rule.trigger, entry, apdu, apdu_len))
			continue;
		if (pending_[i] > 0) {
			// A "return for N calls" still running: it applies to this call
			// instead of evaluating the trigger again.
			pending_[i]--;
			log(static_cast<long>(i), entry, call_no, rule.action, rule.action.count - pending_[i]);
			out.push_back(rule.action);
			continue;
		}
		const std::uint64_t n = ++matched_[i];
		if (rule.trigger.limit != 0 && fired_[i] >= rule.trigger.limit)
			continue;
		bool fire = false;
		switch (rule.trigger.kind) {
		case Trigger::Kind::Nth:
			fire = n == rule.trigger.n;
			break;
		case Trigger::Kind::Every:
			fire = n % rule.trigger.n == 0;
			break;
		case Trigger::Kind::AfterMs:
			fire = elapsed >= 0 && static_cast<std::uint64_t>(elapsed) >= rule.trigger.n;
			break;
		case Trigger::Kind::Probability: {
			// 53 random bits -> [0, 1); mt19937_64 is specified exactly, so the
			// draw sequence is the same on every platform.
			const double u = static_cast<double>(rng_() >> 11) * (1.0 / 9007199254740992.0);
			fire = u < rule.trigger.probability;
			break;
		}
		case Trigger::Kind::Ins:
			fire = true;
			break;
		}
		if (!fire)
			continue;
		fired_[i]++;
		if (rule.action.kind == Action::Kind::Return && rule.action.count > 1)
			pending_[i] = rule.action.count - 1;
		log(static_cast<long>(i), entry, call_no, rule.action, 1);
		out.push_back(rule.action);
	}
	return out;
}

void
Injector::log(long rule, EntryPoint entry, std::uint64_t call_no, const Action &action, std::uint64_t repeat)
{
	nlohmann::json line;
	line["seq"] = ++seq_;
	line["rule"] = rule;
	line["call"] = entry_point_name(entry);
	line["call_no"] = call_no;
	line["action"] = action.source;
	if (action.kind == Action::Kind::Return)
		line["repeat"] = repeat;
	log_.write(line);
}

void
Injector::log_injection(const Action &action)
{
	nlohmann::json line;
	line["seq"] = ++seq_;
	line["rule"] = -1;
	line["source"] = "api";
	line["action"] = action.source;
	log_.write(line);
}

} // namespace fault
