// SPDX-License-Identifier: LGPL-2.1-or-later
#include "soak/process_memory.hpp"

#include <cstdio>
#include <unistd.h>

namespace soak {

long
rss_kib() noexcept
{
	std::FILE *f = std::fopen("/proc/self/statm", "r");
	if (f == nullptr)
		return -1;
	long size = 0, resident = 0;
	int n = std::fscanf(f, "%ld %ld", &size, &resident);
	std::fclose(f);
	long page = sysconf(_SC_PAGESIZE);
	if (n != 2 || page <= 0)
		return -1;
	return resident * (page / 1024);
}

} // namespace soak
