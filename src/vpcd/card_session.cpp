// SPDX-License-Identifier: LGPL-2.1-or-later
#include "card_session.hpp"

#include "control.hpp"

#include <string>

namespace vpcd {

namespace {
std::string hex(const Bytes &bytes, std::size_t limit = 16)
{
	static const char digits[] = "0123456789ABCDEF";
	std::string out;
	for (std::size_t i = 0; i < bytes.size() && i < limit; ++i) {
		if (i)
			out += ' ';
		out += digits[bytes[i] >> 4];
		out += digits[bytes[i] & 0xF];
	}
	if (bytes.size() > limit)
		out += " ..";
	return out;
}
} // namespace

std::optional<Bytes> CardSession::handle(const Bytes &frame)
{
	if (frame.empty()) {
		++counters_.ignored;
		log_.log(LogLevel::warning, "empty frame from vpcd ignored");
		return std::nullopt;
	}
	if (frame.size() == 1) {
		switch (static_cast<Control>(frame[0])) {
		case Control::power_off:
			++counters_.power_offs;
			log_.log(LogLevel::debug, "power off");
			card_.power_off();
			return std::nullopt;
		case Control::power_on:
			++counters_.power_ons;
			log_.log(LogLevel::debug, "power on");
			card_.power_on();
			return std::nullopt;
		case Control::reset:
			++counters_.resets;
			log_.log(LogLevel::debug, "warm reset");
			card_.reset();
			return std::nullopt;
		case Control::get_atr:
			// Presence polls ask for the ATR every ~400 ms, powered or not.
			++counters_.atr_requests;
			return card_.atr();
		}
		++counters_.ignored;
		log_.log(LogLevel::warning, "unknown control byte %02X ignored", frame[0]);
		return std::nullopt;
	}
	++counters_.apdus;
	if (!card_.powered())
		log_.log(LogLevel::warning, "APDU for an unpowered card");
	Bytes response = card_.process(frame);
	if (log_.enabled(LogLevel::debug))
		log_.log(LogLevel::debug, "C: %s (%zu) R: %s (%zu)", hex(frame).c_str(), frame.size(),
			 hex(response).c_str(), response.size());
	return response;
}

void CardSession::connection_lost()
{
	if (card_.powered()) {
		log_.log(LogLevel::info, "connection lost: card powered off");
		card_.power_off();
	}
}

} // namespace vpcd
