// SPDX-License-Identifier: LGPL-2.1-or-later
#include "logger.hpp"

#include <ctime>
#include <sys/time.h>
#include <unistd.h>

namespace vpcd {

namespace {
const char *level_name(LogLevel level)
{
	switch (level) {
	case LogLevel::error:
		return "error";
	case LogLevel::warning:
		return "warning";
	case LogLevel::info:
		return "info";
	case LogLevel::debug:
		return "debug";
	}
	return "?";
}
} // namespace

void Logger::log(LogLevel level, const char *fmt, ...)
{
	if (!enabled(level))
		return;
	struct timeval tv;
	gettimeofday(&tv, nullptr);
	struct tm tm;
	gmtime_r(&tv.tv_sec, &tm);
	char stamp[32];
	std::strftime(stamp, sizeof stamp, "%H:%M:%S", &tm);

	std::lock_guard<std::mutex> guard(mutex_);
	std::fprintf(out_, "%s.%03ldZ vpcd-bridge[%ld] %s: ", stamp, static_cast<long>(tv.tv_usec / 1000),
		     static_cast<long>(getpid()), level_name(level));
	va_list ap;
	va_start(ap, fmt);
	std::vfprintf(out_, fmt, ap);
	va_end(ap);
	std::fputc('\n', out_);
	std::fflush(out_);
}

} // namespace vpcd
