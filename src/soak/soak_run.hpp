// SPDX-License-Identifier: LGPL-2.1-or-later
// One soak run: libvpcsc with a copy of the token, the module, one session, one login, one key; the
// signing loop with faults injected between operations.
#pragma once

#include "soak/options.hpp"
#include "soak/soak_result.hpp"

namespace soak {

class SoakRun {
public:
	explicit SoakRun(const Options &options);
	// Throws SetupError when the run cannot start; the loop itself never throws for an outcome.
	SoakResult run();

private:
	const Options &options_;
};

} // namespace soak
