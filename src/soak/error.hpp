// SPDX-License-Identifier: LGPL-2.1-or-later
// The driver's errors: bad command-line input and a setup that cannot run (exit code 2).
#pragma once

#include <stdexcept>
#include <string>

namespace soak {

// A bad option or argument; the message names it.
class UsageError : public std::runtime_error {
public:
	using std::runtime_error::runtime_error;
};

// The run cannot start (module, image, provider, token, key): the message says which step failed.
class SetupError : public std::runtime_error {
public:
	using std::runtime_error::runtime_error;
};

} // namespace soak
