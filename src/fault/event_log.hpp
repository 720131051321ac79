// SPDX-License-Identifier: LGPL-2.1-or-later
// Appends one JSON object per line to a file (the injection log).
#pragma once

#include <cstdio>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

namespace fault {

class EventLog {
public:
	EventLog() = default;
	// Empty path: log nothing. Throws ConfigError(field, ...) if the file
	// cannot be opened for appending.
	EventLog(const std::string &path, const std::string &field);

	void write(const nlohmann::json &line);
	bool enabled() const { return file_ != nullptr; }

private:
	struct Closer {
		void operator()(std::FILE *f) const { std::fclose(f); }
	};
	std::unique_ptr<std::FILE, Closer> file_;
};

} // namespace fault
