// SPDX-License-Identifier: LGPL-2.1-or-later
// Test support: a vpcd::Bridge serving the scripted card from a thread.
#pragma once

#include "vpcd/bridge.hpp"
#include "vpcd/logger.hpp"
#include "vpcd/scripted_card.hpp"
#include "vpcd/stop_event.hpp"

#include <chrono>
#include <cstdint>
#include <thread>

namespace vpcd_test {

class BridgeThread {
public:
	explicit BridgeThread(std::uint16_t port, vpcd::LogLevel level = vpcd::LogLevel::warning)
		: log_(stderr, level), bridge_(card_, log_, options(port))
	{
		thread_ = std::thread([this] { bridge_.run(stop_.fd()); });
	}
	~BridgeThread()
	{
		stop_.notify();
		if (thread_.joinable())
			thread_.join();
	}
	BridgeThread(const BridgeThread &) = delete;
	BridgeThread &operator=(const BridgeThread &) = delete;

	vpcd::ScriptedCard &card() { return card_; }
	vpcd::Bridge &bridge() { return bridge_; }

	// Poll a condition for up to timeout; true once it holds.
	template <typename Condition>
	static bool wait_for(Condition condition, std::chrono::milliseconds timeout = std::chrono::seconds(5))
	{
		const auto deadline = std::chrono::steady_clock::now() + timeout;
		while (!condition()) {
			if (std::chrono::steady_clock::now() > deadline)
				return false;
			std::this_thread::sleep_for(std::chrono::milliseconds(2));
		}
		return true;
	}

private:
	static vpcd::BridgeOptions options(std::uint16_t port)
	{
		vpcd::BridgeOptions o;
		o.port = port;
		o.backoff_initial = std::chrono::milliseconds(5);
		o.backoff_max = std::chrono::milliseconds(50);
		return o;
	}

	vpcd::ScriptedCard card_;
	vpcd::Logger log_;
	vpcd::Bridge bridge_;
	vpcd::StopEvent stop_;
	std::thread thread_;
};

} // namespace vpcd_test
