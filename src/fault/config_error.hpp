// SPDX-License-Identifier: LGPL-2.1-or-later
// Bad scenario or fault plan: the message names the offending field
// ("faults.rules[2].trigger.nth: must be a positive integer").
#pragma once

#include <stdexcept>
#include <string>

namespace fault {

class ConfigError : public std::runtime_error {
public:
	ConfigError(const std::string &field, const std::string &message)
	    : std::runtime_error(field + ": " + message), field_(field)
	{
	}
	const std::string &field() const { return field_; }

private:
	std::string field_;
};

} // namespace fault
