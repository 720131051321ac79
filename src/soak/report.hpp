// SPDX-License-Identifier: LGPL-2.1-or-later
// The run's JSON document (--json) and its short human summary.
#pragma once

#include <iosfwd>
#include <string>

#include <nlohmann/json.hpp>

#include "soak/options.hpp"
#include "soak/soak_result.hpp"

namespace soak {

nlohmann::json to_json(const Options &options, const SoakResult &result);
void print_summary(std::ostream &out, const Options &options, const SoakResult &result);

} // namespace soak
