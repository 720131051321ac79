// SPDX-License-Identifier: LGPL-2.1-or-later
#pragma once

namespace soak {

// Resident set size of this process in KiB, from /proc/self/statm; -1 if it cannot be read.
long rss_kib() noexcept;

} // namespace soak
