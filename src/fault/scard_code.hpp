// SPDX-License-Identifier: LGPL-2.1-or-later
// Symbolic PC/SC return codes ("SCARD_E_NO_SERVICE") for fault plans and logs.
#pragma once

#include <optional>
#include <string>

namespace fault {

// The value of a SCARD_* return code named in a plan, or nullopt.
std::optional<long> scard_code_from_name(const std::string &name);
// "SCARD_E_NO_SERVICE", or "0x8010001D" for a code without a name.
std::string scard_code_name(long code);

} // namespace fault
