// SPDX-License-Identifier: LGPL-2.1-or-later
// Exceptions of the vcard component: a flat hierarchy, each message says
// where it came from. Card-level outcomes are status words (see
// status_word.hpp), never these.
#pragma once

#include <stdexcept>
#include <string>

namespace vcard {

// Bad configuration, unreadable or corrupt card image, broken invariant.
class Error : public std::runtime_error {
public:
	explicit Error(const std::string &what) : std::runtime_error(what) {}
};

// An OpenSSL call failed; the message carries the drained error queue.
class CryptoError : public Error {
public:
	explicit CryptoError(const std::string &what) : Error(what) {}
};

} // namespace vcard
