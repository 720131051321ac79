// SPDX-License-Identifier: LGPL-2.1-or-later
// What the card does with one frame from vpcd, transport aside: control bytes
// drive power, APDUs go to the card. Replies only to get-ATR and APDUs — a
// reply to power off/on/reset would desynchronise vpcd's stream.
#pragma once

#include "frame_codec.hpp"
#include "logger.hpp"

#include <atomic>
#include <cstdint>
#include <optional>

#include "../vcard/card.hpp"

namespace vpcd {

struct SessionCounters {
	// Atomic: a test thread reads them while the bridge thread runs.
	std::atomic<std::uint64_t> power_ons{0};
	std::atomic<std::uint64_t> power_offs{0};
	std::atomic<std::uint64_t> resets{0};
	std::atomic<std::uint64_t> atr_requests{0};
	std::atomic<std::uint64_t> apdus{0};
	std::atomic<std::uint64_t> ignored{0};
};

class CardSession {
public:
	CardSession(vcard::Card &card, Logger &log) : card_(card), log_(log) {}

	// Handle one decoded frame; the reply payload (to be length-prefixed), or
	// nothing when the message must not be answered.
	std::optional<Bytes> handle(const Bytes &frame);

	// The connection to vpcd is gone: the card loses power, as in a reader
	// whose service stopped.
	void connection_lost();

	const SessionCounters &counters() const { return counters_; }

private:
	vcard::Card &card_;
	Logger &log_;
	SessionCounters counters_;
};

} // namespace vpcd
