// SPDX-License-Identifier: LGPL-2.1-or-later
#include "backoff.hpp"

#include <algorithm>

namespace vpcd {

std::chrono::milliseconds Backoff::next()
{
	const auto current = next_;
	next_ = std::min(max_, next_ * 2);
	return current;
}

} // namespace vpcd
