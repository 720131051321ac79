// SPDX-License-Identifier: LGPL-2.1-or-later
#pragma once

#include "card.hpp"

#include <string>

namespace vcard {

std::string to_hex(const Bytes &b);
std::string to_hex(const std::uint8_t *p, std::size_t n);
// Accepts upper/lower case and ignores spaces; throws vcard::Error otherwise.
Bytes from_hex(const std::string &s);

} // namespace vcard
