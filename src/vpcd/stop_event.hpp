// SPDX-License-Identifier: LGPL-2.1-or-later
// A pollable "please stop" flag (eventfd) for running a Bridge in a thread.
#pragma once

#include "unique_fd.hpp"

namespace vpcd {

class StopEvent {
public:
	StopEvent(); // throws std::system_error
	void notify();
	int fd() const { return fd_.get(); }

private:
	UniqueFd fd_;
};

} // namespace vpcd
