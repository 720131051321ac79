// SPDX-License-Identifier: LGPL-2.1-or-later
//
// "faults": {
//   "seed": 42,
//   "rules": [
//     { "trigger": { "call": "SCardTransmit", "nth": 3 },
//       "action":  { "type": "return", "code": "SCARD_E_NO_SERVICE", "count": 2 } }
//   ]
// }
//
// trigger: optional "call" (entry point name, default any) and exactly one of
//   "nth" (n-th matching call, once), "every" (every k-th matching call),
//   "after_ms" (first matching call at least t ms after load, once),
//   "probability" (each matching call, seeded), "ins" (SCardTransmit whose
//   APDU has this INS; optional "cla"); optional "limit" (max firings).
// action "type": return{code,count} service_lost{handles_after_release}
//   service_down{ms|calls,counter_after,handles_after_release} service_up
//   card_reset{reader} card_remove{reader} card_insert{reader,card}
//   card_swap{reader,card} sleep_wake{reader} usb_power_cycle{reader}
//   reader_rename{reader,name} delay{ms}
//   (service_lost/down also take "code": what old handles answer)
#include "fault/plan.hpp"

#include <set>

#include "fault/config_error.hpp"
#include "fault/scard_code.hpp"

namespace fault {

void
check_keys(const nlohmann::json &j, const std::string &where, const std::set<std::string> &allowed)
{
	if (!j.is_object())
		throw ConfigError(where, "must be an object");
	for (const auto &item : j.items())
		if (allowed.count(item.key()) == 0)
			throw ConfigError(where + "." + item.key(), "unknown field");
}

namespace {

using nlohmann::json;

std::uint64_t
get_uint(const json &j, const std::string &key, const std::string &where, std::uint64_t min)
{
	const json &v = j.at(key);
	if (!v.is_number_integer() || (v.is_number_integer() && !v.is_number_unsigned() && v.get<long long>() < 0))
		throw ConfigError(where + "." + key, "must be a non-negative integer");
	std::uint64_t value = v.get<std::uint64_t>();
	if (value < min)
		throw ConfigError(where + "." + key, "must be at least " + std::to_string(min));
	return value;
}

int
get_byte(const json &j, const std::string &key, const std::string &where)
{
	const json &v = j.at(key);
	long value = -1;
	if (v.is_number_unsigned()) {
		value = static_cast<long>(v.get<std::uint64_t>() > 255 ? 256 : v.get<std::uint64_t>());
	} else if (v.is_string()) {
		std::string s = v.get<std::string>();
		if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
			s = s.substr(2);
		if (s.empty() || s.size() > 2 || s.find_first_not_of("0123456789abcdefABCDEF") != std::string::npos)
			throw ConfigError(where + "." + key, "must be a byte (0..255 or hex string like \"0x88\")");
		value = std::stol(s, nullptr, 16);
	}
	if (value < 0 || value > 255)
		throw ConfigError(where + "." + key, "must be a byte (0..255 or hex string like \"0x88\")");
	return static_cast<int>(value);
}

Trigger
parse_trigger(const json &j, const std::string &where)
{
	check_keys(j, where, {"call", "nth", "every", "after_ms", "probability", "ins", "cla", "limit"});
	Trigger t;
	if (j.contains("call")) {
		if (!j["call"].is_string())
			throw ConfigError(where + ".call", "must be a string");
		auto e = entry_point_from_name(j["call"].get<std::string>());
		if (!e)
			throw ConfigError(where + ".call", "unknown entry point \"" + j["call"].get<std::string>() + "\"");
		t.call = e;
	}
	int kinds = 0;
	if (j.contains("nth")) {
		kinds++;
		t.kind = Trigger::Kind::Nth;
		t.n = get_uint(j, "nth", where, 1);
		t.limit = 1;
	}
	if (j.contains("every")) {
		kinds++;
		t.kind = Trigger::Kind::Every;
		t.n = get_uint(j, "every", where, 1);
	}
	if (j.contains("after_ms")) {
		kinds++;
		t.kind = Trigger::Kind::AfterMs;
		t.n = get_uint(j, "after_ms", where, 0);
		t.limit = 1;
	}
	if (j.contains("probability")) {
		kinds++;
		t.kind = Trigger::Kind::Probability;
		const json &p = j["probability"];
		if (!p.is_number() || p.get<double>() < 0.0 || p.get<double>() > 1.0)
			throw ConfigError(where + ".probability", "must be a number in [0, 1]");
		t.probability = p.get<double>();
	}
	if (j.contains("ins")) {
		kinds++;
		t.kind = Trigger::Kind::Ins;
		t.ins = get_byte(j, "ins", where);
		if (t.call && *t.call != EntryPoint::Transmit)
			throw ConfigError(where + ".call", "an \"ins\" trigger only matches SCardTransmit");
		t.call = EntryPoint::Transmit;
	}
	if (j.contains("cla")) {
		if (t.kind != Trigger::Kind::Ins || kinds == 0)
			throw ConfigError(where + ".cla", "only allowed together with \"ins\"");
		t.cla = get_byte(j, "cla", where);
	}
	if (kinds != 1)
		throw ConfigError(where, "needs exactly one of nth, every, after_ms, probability, ins");
	if (j.contains("limit"))
		t.limit = get_uint(j, "limit", where, 1);
	return t;
}

bool
handles_after_release(const json &j, const std::string &where, bool dflt)
{
	if (!j.contains("handles_after_release"))
		return dflt;
	const json &v = j["handles_after_release"];
	if (v == "invalid_handle")
		return true;
	if (v == "no_service")
		return false;
	throw ConfigError(where + ".handles_after_release", "must be \"no_service\" or \"invalid_handle\"");
}

// What old contexts and handles answer after a service_lost/down.
long
dead_code(const json &j, const std::string &where)
{
	if (!j.contains("code"))
		return scard_code_from_name("SCARD_E_NO_SERVICE").value_or(0);
	if (!j["code"].is_string())
		throw ConfigError(where + ".code", "must be a string (e.g. \"SCARD_E_SERVICE_STOPPED\")");
	auto code = scard_code_from_name(j["code"].get<std::string>());
	if (!code || *code == 0)
		throw ConfigError(where + ".code", "unknown PC/SC error code \"" + j["code"].get<std::string>() + "\"");
	return *code;
}

} // namespace

Action
Plan::parse_action(const json &j, const std::string &where)
{
	if (!j.is_object())
		throw ConfigError(where, "must be an object");
	if (!j.contains("type") || !j["type"].is_string())
		throw ConfigError(where + ".type", "missing or not a string");
	const std::string type = j["type"].get<std::string>();
	Action a;
	a.source = j;
	if (type == "return") {
		check_keys(j, where, {"type", "code", "count"});
		if (!j.contains("code") || !j["code"].is_string())
			throw ConfigError(where + ".code", "missing or not a string (e.g. \"SCARD_E_NO_SERVICE\")");
		auto code = scard_code_from_name(j["code"].get<std::string>());
		if (!code)
			throw ConfigError(where + ".code", "unknown PC/SC code \"" + j["code"].get<std::string>() + "\"");
		a.kind = Action::Kind::Return;
		a.code = *code;
		if (j.contains("count"))
			a.count = get_uint(j, "count", where, 1);
	} else if (type == "service_lost") {
		check_keys(j, where, {"type", "handles_after_release", "code"});
		a.kind = Action::Kind::ServiceLost;
		a.code = dead_code(j, where);
		a.handles_invalid_after_release = handles_after_release(j, where, false);
	} else if (type == "service_down") {
		check_keys(j, where, {"type", "ms", "calls", "counter_after", "handles_after_release", "code"});
		a.kind = Action::Kind::ServiceDown;
		a.code = dead_code(j, where);
		if (j.contains("ms") && j.contains("calls"))
			throw ConfigError(where, "give at most one of ms, calls");
		if (j.contains("ms"))
			a.ms = get_uint(j, "ms", where, 1);
		if (j.contains("calls"))
			a.calls = get_uint(j, "calls", where, 1);
		if (j.contains("counter_after")) {
			std::uint64_t c = get_uint(j, "counter_after", where, 0);
			if (c > 0xFFFF)
				throw ConfigError(where + ".counter_after", "must be at most 65535");
			a.counter_after = static_cast<std::uint16_t>(c);
		}
		a.handles_invalid_after_release = handles_after_release(j, where, true);
	} else if (type == "service_up") {
		check_keys(j, where, {"type"});
		a.kind = Action::Kind::ServiceUp;
	} else if (type == "card_reset" || type == "card_remove" || type == "sleep_wake" || type == "usb_power_cycle") {
		check_keys(j, where, {"type", "reader"});
		a.kind = type == "card_reset"	 ? Action::Kind::CardReset
			 : type == "card_remove" ? Action::Kind::CardRemove
			 : type == "sleep_wake"	 ? Action::Kind::SleepWake
						 : Action::Kind::UsbPowerCycle;
		if (j.contains("reader"))
			a.reader = get_uint(j, "reader", where, 0);
	} else if (type == "card_insert" || type == "card_swap") {
		check_keys(j, where, {"type", "reader", "card"});
		a.kind = type == "card_insert" ? Action::Kind::CardInsert : Action::Kind::CardSwap;
		if (j.contains("reader"))
			a.reader = get_uint(j, "reader", where, 0);
		if (j.contains("card")) {
			if (!j["card"].is_string())
				throw ConfigError(where + ".card", "must be a card name (string)");
			a.card = j["card"].get<std::string>();
		} else if (a.kind == Action::Kind::CardSwap) {
			throw ConfigError(where + ".card", "missing (name of the card to swap in)");
		}
	} else if (type == "reader_rename") {
		check_keys(j, where, {"type", "reader", "name"});
		a.kind = Action::Kind::ReaderRename;
		if (j.contains("reader"))
			a.reader = get_uint(j, "reader", where, 0);
		if (!j.contains("name") || !j["name"].is_string() || j["name"].get<std::string>().empty())
			throw ConfigError(where + ".name", "missing or not a non-empty string (the new base name)");
		a.name = j["name"].get<std::string>();
	} else if (type == "delay") {
		check_keys(j, where, {"type", "ms"});
		a.kind = Action::Kind::Delay;
		if (!j.contains("ms"))
			throw ConfigError(where + ".ms", "missing");
		a.ms = get_uint(j, "ms", where, 0);
	} else {
		throw ConfigError(where + ".type", "unknown action \"" + type + "\"");
	}
	return a;
}

Plan
Plan::parse(const json &j, const std::string &where)
{
	check_keys(j, where, {"seed", "rules"});
	Plan plan;
	if (j.contains("seed"))
		plan.seed = get_uint(j, "seed", where, 0);
	if (j.contains("rules")) {
		const json &rules = j["rules"];
		if (!rules.is_array())
			throw ConfigError(where + ".rules", "must be an array");
		for (std::size_t i = 0; i < rules.size(); i++) {
			const std::string w = where + ".rules[" + std::to_string(i) + "]";
			check_keys(rules[i], w, {"trigger", "action"});
			if (!rules[i].contains("trigger"))
				throw ConfigError(w + ".trigger", "missing");
			if (!rules[i].contains("action"))
				throw ConfigError(w + ".action", "missing");
			Rule r;
			r.trigger = parse_trigger(rules[i]["trigger"], w + ".trigger");
			r.action = parse_action(rules[i]["action"], w + ".action");
			plan.rules.push_back(std::move(r));
		}
	}
	return plan;
}

} // namespace fault
