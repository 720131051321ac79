// SPDX-License-Identifier: LGPL-2.1-or-later
// One virtual reader slot: which card sits in it (if any), its event
// counter and its transaction lock. Plain state; Service owns the rules.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "pcsc/pinpad.hpp"
#include "vcard/card.hpp"

namespace pcsc {

class Reader {
public:
	std::string name;            // full PC/SC name, "Virtual Reader 00 00"
	std::string card_name;       // empty: no card
	vcard::Card *card = nullptr; // owned by Service::cards_
	unsigned long protocol = 0;  // the inserted card's protocol
	std::uint64_t insertion = 0; // changes on every insertion (0: none yet)
	std::uint16_t event_counter = 0;
	long tx_owner = 0;           // SCARDHANDLE holding the transaction
	unsigned tx_depth = 0;
	std::string last_card;       // reinserted by card_insert without a name
	std::uint64_t power_ons = 0;
	std::uint64_t power_offs = 0;
	std::uint64_t resets = 0;
	std::uint64_t generation = 0; // bumped when the reader is renamed (a "new" reader)
	std::optional<Pinpad> pinpad; // none: a plain reader (no Part-10 features)
	// A card a restarted service has not reported yet ("card appears
	// late"): out of the reader until card_back_at, then inserted.
	std::string late_card;
	std::chrono::steady_clock::time_point card_back_at;
};

} // namespace pcsc
