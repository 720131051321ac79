// SPDX-License-Identifier: LGPL-2.1-or-later
// Exponential reconnect delay: initial, doubled after each failure, capped.
#pragma once

#include <chrono>

namespace vpcd {

class Backoff {
public:
	Backoff(std::chrono::milliseconds initial, std::chrono::milliseconds max)
		: initial_(initial), max_(max < initial ? initial : max), next_(initial) {}

	// The delay before the next attempt; the one after it is longer.
	std::chrono::milliseconds next();
	void reset() { next_ = initial_; }

private:
	std::chrono::milliseconds initial_;
	std::chrono::milliseconds max_;
	std::chrono::milliseconds next_;
};

} // namespace vpcd
