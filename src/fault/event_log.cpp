// SPDX-License-Identifier: LGPL-2.1-or-later
#include "fault/event_log.hpp"

#include <cerrno>
#include <cstring>

#include "fault/config_error.hpp"

namespace fault {

EventLog::EventLog(const std::string &path, const std::string &field)
{
	if (path.empty())
		return;
	file_.reset(std::fopen(path.c_str(), "a"));
	if (!file_)
		throw ConfigError(field, "cannot open \"" + path + "\" for appending: " + std::strerror(errno));
}

void
EventLog::write(const nlohmann::json &line)
{
	if (!file_)
		return;
	const std::string text = line.dump() + "\n";
	std::fwrite(text.data(), 1, text.size(), file_.get());
	std::fflush(file_.get());
}

} // namespace fault
