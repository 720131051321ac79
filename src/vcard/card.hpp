// SPDX-License-Identifier: LGPL-2.1-or-later
// The abstract card every transport (the in-process PC/SC provider, the vpcd
// bridge) talks to. Transports see only ATR, power and APDU exchange.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace vcard {

using Bytes = std::vector<std::uint8_t>;

class Card {
public:
	virtual ~Card() = default;

	// The ATR the card answers with after power-on or reset.
	virtual Bytes atr() const = 0;

	// Cold power-on; a card that is already powered is power-cycled.
	virtual void power_on() = 0;
	// Power off: volatile state (SM session, security state) is lost.
	virtual void power_off() = 0;
	// Warm reset: same volatile-state loss as a power cycle.
	virtual void reset() = 0;
	virtual bool powered() const = 0;

	// Process one command APDU (as sent on the wire) and return the response
	// APDU (data || SW1 SW2). Card-level errors are status words, never
	// exceptions; only broken invariants throw.
	virtual Bytes process(const Bytes &command) = 0;

	// Persist the card's non-volatile state (no-op for cards without one).
	virtual void save() {}
};

// Open a card from an image file (format chosen by the image's header).
// Throws vcard::Error with a message naming the file on any problem; the
// file is never modified by a failed open.
std::unique_ptr<Card> open_card_image(const std::string &path);

} // namespace vcard
