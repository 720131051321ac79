// SPDX-License-Identifier: LGPL-2.1-or-later
// What this process holds, from /proc/self: resident memory, open file descriptors, threads.
#pragma once

namespace soak {

// Resident set size of this process in KiB, from /proc/self/statm; -1 if it cannot be read.
long rss_kib() noexcept;
// Open file descriptors (entries of /proc/self/fd, not counting the one that lists them); -1 on error.
long open_fds() noexcept;
// Threads of this process ("Threads:" of /proc/self/status); -1 on error.
long thread_count() noexcept;

struct ProcessCounts {
	long rss_kib = -1;
	long fds = -1;
	long threads = -1;
};

ProcessCounts process_counts() noexcept;

} // namespace soak
