// SPDX-License-Identifier: LGPL-2.1-or-later
// Timestamped line logger (UTC, milliseconds) to a FILE* the caller owns.
#pragma once

#include <cstdarg>
#include <cstdio>
#include <mutex>

namespace vpcd {

enum class LogLevel { error = 0, warning = 1, info = 2, debug = 3 };

class Logger {
public:
	explicit Logger(std::FILE *out = stderr, LogLevel level = LogLevel::info)
		: out_(out), level_(level) {}

	void set_level(LogLevel level) { level_ = level; }
	bool enabled(LogLevel level) const { return out_ && level <= level_; }

	void log(LogLevel level, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

private:
	std::FILE *out_;
	LogLevel level_;
	std::mutex mutex_;
};

} // namespace vpcd
