// SPDX-License-Identifier: LGPL-2.1-or-later
//
// {
//   "readers": [ { "name": "Virtual ePass2003", "card": "token" },
//                { "name": "PIN pad", "pinpad": { "pin": "123456", "result": "ok" } } ],
//   "cards": {
//     "token": { "type": "image", "path": "token.img" },
//     "probe": { "type": "scripted", "atr": "3B 88 01 76 70 63 73 63 2D 73 63 C1",
//                "protocol": "T1", "echo_ins": "0xEE", "default_response": "6D00",
//                "responses": [ { "command": "00CA0080*", "response": "0102 9000" } ] }
//   },
//   "faults": { "seed": 1, "rules": [ ... ] },      (see src/fault/plan.cpp)
//   "event_log": "events.jsonl", "stats_file": "stats.json",
//   "restart": { "card_delay_ms": 400 }
// }
#include "pcsc/scenario.hpp"

#include <cctype>
#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>

#include <winscard.h>

#include "fault/config_error.hpp"
#include "pcsc/scripted_card.hpp"

namespace pcsc {

namespace {

using fault::check_keys;
using fault::ConfigError;
using nlohmann::json;

std::string
get_string(const json &j, const std::string &key, const std::string &where)
{
	if (!j.contains(key))
		throw ConfigError(where + "." + key, "missing");
	if (!j.at(key).is_string())
		throw ConfigError(where + "." + key, "must be a string");
	return j.at(key).get<std::string>();
}

// Hex with optional spaces/colons; a trailing '*' sets *prefix if allowed.
vcard::Bytes
parse_hex(std::string text, const std::string &field, bool *prefix)
{
	if (prefix) {
		*prefix = !text.empty() && text.back() == '*';
		if (*prefix)
			text.pop_back();
	}
	std::string digits;
	for (char c : text) {
		if (c == ' ' || c == ':')
			continue;
		if (!std::isxdigit(static_cast<unsigned char>(c)))
			throw ConfigError(field, "not a hex string");
		digits.push_back(c);
	}
	if (digits.size() % 2 != 0)
		throw ConfigError(field, "odd number of hex digits");
	vcard::Bytes out;
	for (std::size_t i = 0; i < digits.size(); i += 2)
		out.push_back(static_cast<std::uint8_t>(std::stoul(digits.substr(i, 2), nullptr, 16)));
	return out;
}

CardSpec
parse_card(const json &j, const std::string &where, const std::string &base_dir)
{
	CardSpec spec;
	spec.field = where;
	if (!j.is_object())
		throw ConfigError(where, "must be an object");
	const std::string type = get_string(j, "type", where);
	if (j.contains("protocol")) {
		const json &p = j["protocol"];
		if (p == "T0")
			spec.protocol = SCARD_PROTOCOL_T0;
		else if (p == "T1")
			spec.protocol = SCARD_PROTOCOL_T1;
		else
			throw ConfigError(where + ".protocol", "must be \"T0\" or \"T1\"");
	}
	if (type == "image") {
		check_keys(j, where, {"type", "path", "protocol"});
		spec.type = CardSpec::Type::Image;
		spec.path = get_string(j, "path", where);
		if (spec.path.empty())
			throw ConfigError(where + ".path", "empty");
		if (spec.path[0] != '/' && !base_dir.empty())
			spec.path = base_dir + "/" + spec.path;
		return spec;
	}
	if (type != "scripted")
		throw ConfigError(where + ".type", "unknown card type \"" + type + "\" (scripted, image)");
	check_keys(j, where, {"type", "atr", "protocol", "responses", "echo_ins", "default_response"});
	spec.type = CardSpec::Type::Scripted;
	spec.atr = j.contains("atr") ? parse_hex(get_string(j, "atr", where), where + ".atr", nullptr)
				     : ScriptedCard::default_atr();
	if (spec.atr.size() < 2 || spec.atr.size() > 33)
		throw ConfigError(where + ".atr", "must be 2..33 bytes");
	spec.default_response = {0x6D, 0x00}; // INS not supported
	if (j.contains("default_response")) {
		spec.default_response = parse_hex(get_string(j, "default_response", where), where + ".default_response", nullptr);
		if (spec.default_response.size() < 2)
			throw ConfigError(where + ".default_response", "needs at least a status word");
	}
	if (j.contains("echo_ins")) {
		const json &e = j["echo_ins"];
		if (e.is_number_unsigned() && e.get<std::uint64_t>() <= 255) {
			spec.echo_ins = static_cast<int>(e.get<std::uint64_t>());
		} else if (e.is_string()) {
			vcard::Bytes b = parse_hex(e.get<std::string>().rfind("0x", 0) == 0 ? e.get<std::string>().substr(2)
											   : e.get<std::string>(),
						   where + ".echo_ins", nullptr);
			if (b.size() != 1)
				throw ConfigError(where + ".echo_ins", "must be one byte");
			spec.echo_ins = b[0];
		} else {
			throw ConfigError(where + ".echo_ins", "must be a byte");
		}
	}
	if (j.contains("responses")) {
		const json &r = j["responses"];
		if (!r.is_array())
			throw ConfigError(where + ".responses", "must be an array");
		for (std::size_t i = 0; i < r.size(); i++) {
			const std::string w = where + ".responses[" + std::to_string(i) + "]";
			check_keys(r[i], w, {"command", "response"});
			CardSpec::Entry e;
			e.command = parse_hex(get_string(r[i], "command", w), w + ".command", &e.prefix);
			e.response = parse_hex(get_string(r[i], "response", w), w + ".response", nullptr);
			if (e.response.size() < 2)
				throw ConfigError(w + ".response", "needs at least a status word");
			spec.responses.push_back(std::move(e));
		}
	}
	return spec;
}

std::uint64_t
card_delay(const json &v, const std::string &field)
{
	if (!v.is_number_unsigned())
		throw ConfigError(field, "must be a non-negative integer (milliseconds)");
	const std::uint64_t ms = v.get<std::uint64_t>();
	if (ms > Scenario::card_delay_ms_max)
		throw ConfigError(field, "must be at most " + std::to_string(Scenario::card_delay_ms_max));
	return ms;
}

// "pinpad": {"pin": "123456", "result": "ok" | "cancel" | "timeout"}
PinpadSpec
parse_pinpad(const json &j, const std::string &where)
{
	check_keys(j, where, {"pin", "result"});
	PinpadSpec spec;
	spec.pin = get_string(j, "pin", where);
	if (spec.pin.size() < PinpadSpec::pin_min || spec.pin.size() > PinpadSpec::pin_max)
		throw ConfigError(where + ".pin", "must be " + std::to_string(PinpadSpec::pin_min) + ".." +
							  std::to_string(PinpadSpec::pin_max) + " digits");
	for (char c : spec.pin)
		if (c < '0' || c > '9')
			throw ConfigError(where + ".pin", "must be ASCII digits 0-9 only");
	if (j.contains("result")) {
		const std::string result = get_string(j, "result", where);
		if (result == "ok")
			spec.result = PinpadSpec::Result::Ok;
		else if (result == "cancel")
			spec.result = PinpadSpec::Result::Cancel;
		else if (result == "timeout")
			spec.result = PinpadSpec::Result::Timeout;
		else
			throw ConfigError(where + ".result", "must be \"ok\", \"cancel\" or \"timeout\"");
	}
	return spec;
}

void
check_action_targets(const fault::Action &a, const Scenario &s, const std::string &where)
{
	using K = fault::Action::Kind;
	if (a.kind == K::CardReset || a.kind == K::CardRemove || a.kind == K::CardInsert || a.kind == K::CardSwap ||
	    a.kind == K::SleepWake || a.kind == K::UsbPowerCycle || a.kind == K::ReaderRename) {
		if (a.reader >= s.readers.size())
			throw ConfigError(where + ".reader", "no reader with index " + std::to_string(a.reader));
	}
	if (!a.card.empty() && s.cards.count(a.card) == 0)
		throw ConfigError(where + ".card", "unknown card \"" + a.card + "\"");
}

} // namespace

Scenario
Scenario::parse(const json &j, const std::string &base_dir)
{
	check_keys(j, "scenario", {"readers", "cards", "faults", "event_log", "stats_file", "restart", "profile"});
	Scenario s;
	if (j.contains("profile")) {
		const std::string p = get_string(j, "profile", "scenario");
		if (p == "linux")
			s.profile = Profile::Linux;
		else if (p == "macos")
			s.profile = Profile::MacOS;
		else
			throw ConfigError("profile", "unknown profile \"" + p + "\" (linux, macos)");
	}
	if (j.contains("cards")) {
		if (!j["cards"].is_object())
			throw ConfigError("cards", "must be an object (name -> card)");
		for (const auto &item : j["cards"].items())
			s.cards[item.key()] = parse_card(item.value(), "cards." + item.key(), base_dir);
	}
	if (!j.contains("readers"))
		throw ConfigError("readers", "missing (an array of readers)");
	if (!j["readers"].is_array() || j["readers"].empty())
		throw ConfigError("readers", "must be a non-empty array");
	std::set<std::string> used;
	for (std::size_t i = 0; i < j["readers"].size(); i++) {
		const std::string w = "readers[" + std::to_string(i) + "]";
		const json &r = j["readers"][i];
		check_keys(r, w, {"name", "card", "pinpad"});
		ReaderSpec spec;
		spec.name = get_string(r, "name", w);
		if (spec.name.empty())
			throw ConfigError(w + ".name", "empty");
		if (r.contains("card") && !r["card"].is_null()) {
			spec.card = get_string(r, "card", w);
			if (s.cards.count(*spec.card) == 0)
				throw ConfigError(w + ".card", "unknown card \"" + *spec.card + "\"");
			if (!used.insert(*spec.card).second)
				throw ConfigError(w + ".card", "card \"" + *spec.card + "\" is already in another reader");
		}
		if (r.contains("pinpad"))
			spec.pinpad = parse_pinpad(r["pinpad"], w + ".pinpad");
		s.readers.push_back(std::move(spec));
	}
	if (j.contains("faults"))
		s.plan = fault::Plan::parse(j["faults"], "faults");
	for (std::size_t i = 0; i < s.plan.rules.size(); i++)
		check_action_targets(s.plan.rules[i].action, s, "faults.rules[" + std::to_string(i) + "].action");
	if (j.contains("event_log"))
		s.event_log = get_string(j, "event_log", "scenario");
	if (j.contains("stats_file"))
		s.stats_file = get_string(j, "stats_file", "scenario");
	if (j.contains("restart")) {
		check_keys(j["restart"], "restart", {"card_delay_ms"});
		if (j["restart"].contains("card_delay_ms"))
			s.restart_card_delay_ms = card_delay(j["restart"]["card_delay_ms"], "restart.card_delay_ms");
	}
	return s;
}

Scenario
Scenario::parse_text(const std::string &text, const std::string &base_dir)
{
	json j;
	try {
		j = json::parse(text);
	} catch (const json::parse_error &e) {
		throw ConfigError("scenario", std::string("not valid JSON: ") + e.what());
	}
	return parse(j, base_dir);
}

Scenario
Scenario::builtin()
{
	Scenario s;
	CardSpec card;
	card.field = "cards.scripted";
	card.atr = ScriptedCard::default_atr();
	card.echo_ins = 0xEE;
	card.default_response = {0x6D, 0x00};
	s.cards["scripted"] = card;
	s.readers.push_back({"Virtual Reader", std::string("scripted"), std::nullopt});
	return s;
}

Scenario
Scenario::from_environment()
{
	Scenario s;
	const char *path = std::getenv("VPCSC_SCENARIO");
	const char *inline_json = std::getenv("VPCSC_SCENARIO_JSON");
	if (path && *path) {
		std::ifstream in(path);
		if (!in)
			throw ConfigError("VPCSC_SCENARIO", std::string("cannot read \"") + path + "\"");
		std::stringstream text;
		text << in.rdbuf();
		std::string p(path);
		const auto slash = p.rfind('/');
		s = parse_text(text.str(), slash == std::string::npos ? "" : p.substr(0, slash));
	} else if (inline_json && *inline_json) {
		s = parse_text(inline_json, "");
	} else {
		s = builtin();
	}
	if (const char *log = std::getenv("VPCSC_EVENT_LOG"); log && *log)
		s.event_log = log;
	if (const char *stats = std::getenv("VPCSC_STATS_FILE"); stats && *stats)
		s.stats_file = stats;
	if (const char *seed = std::getenv("VPCSC_SEED"); seed && *seed) {
		char *end = nullptr;
		const unsigned long long v = std::strtoull(seed, &end, 0);
		if (*end != '\0')
			throw ConfigError("VPCSC_SEED", "not an integer");
		s.plan.seed = v;
	}
	return s;
}

} // namespace pcsc
