// SPDX-License-Identifier: LGPL-2.1-or-later
#include "stop_event.hpp"

#include <cerrno>
#include <cstdint>
#include <sys/eventfd.h>
#include <system_error>

namespace vpcd {

StopEvent::StopEvent() : fd_(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK))
{
	if (!fd_.valid())
		throw std::system_error(errno, std::generic_category(), "vpcd: eventfd");
}

void StopEvent::notify()
{
	const std::uint64_t one = 1;
	// Only fails when the counter would overflow, i.e. already signalled.
	[[maybe_unused]] ssize_t r = ::write(fd_.get(), &one, sizeof one);
}

} // namespace vpcd
