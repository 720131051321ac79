// SPDX-License-Identifier: LGPL-2.1-or-later
#include "soak/process_memory.hpp"

#include <cstdio>
#include <cstring>

#include <dirent.h>
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

long
open_fds() noexcept
{
	DIR *d = opendir("/proc/self/fd");
	if (d == nullptr)
		return -1;
	long n = 0;
	while (const dirent *e = readdir(d))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1; // the directory stream's own descriptor
}

long
thread_count() noexcept
{
	std::FILE *f = std::fopen("/proc/self/status", "r");
	if (f == nullptr)
		return -1;
	char line[256];
	long n = -1;
	while (std::fgets(line, sizeof line, f) != nullptr)
		if (std::strncmp(line, "Threads:", 8) == 0) {
			if (std::sscanf(line + 8, "%ld", &n) != 1)
				n = -1;
			break;
		}
	std::fclose(f);
	return n;
}

ProcessCounts
process_counts() noexcept
{
	return {rss_kib(), open_fds(), thread_count()};
}

} // namespace soak
