// SPDX-License-Identifier: LGPL-2.1-or-later
// Test-only shared object carrying libvcard (vcard::open_card_image) for
// LD_PRELOAD, for a PC/SC provider built without libvcard (it declares the
// function weak). The library itself is all in libvcard.la.
#include "vcard/card.hpp"

namespace vcard {
// Keeps the symbol referenced so the linker pulls the image loader in.
[[maybe_unused]] static std::unique_ptr<Card> (*const keep_open_card_image)(const std::string &) = &open_card_image;
} // namespace vcard
