// SPDX-License-Identifier: LGPL-2.1-or-later
// The one place where a card spec becomes a card object.
#pragma once

#include <memory>

#include "pcsc/scenario.hpp"
#include "vcard/card.hpp"

namespace pcsc {

// Throws fault::ConfigError naming spec.field on failure (unreadable image,
// image support not linked in).
std::unique_ptr<vcard::Card> make_card(const CardSpec &spec);

// The protocol a card runs: spec.protocol, else the first TD1 protocol in
// the ATR, else T=0.
unsigned long card_protocol(const CardSpec &spec, const vcard::Bytes &atr);

} // namespace pcsc
