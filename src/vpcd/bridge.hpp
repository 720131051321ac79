// SPDX-License-Identifier: LGPL-2.1-or-later
// Serves one vcard::Card to pcscd through vsmartcard's vpcd driver: connects
// to 127.0.0.1:(port + slot), answers frames, and when the connection goes
// (pcscd stopped or restarted) powers the card off and reconnects with
// exponential backoff until pcscd listens again.
#pragma once

#include "card_session.hpp"
#include "logger.hpp"

#include <atomic>
#include <chrono>
#include <cstdint>

#include "../vcard/card.hpp"

namespace vpcd {

class Connection;

struct BridgeOptions {
	std::uint16_t port = 0x8C7B; // vpcd's default (35963), slot 0
	unsigned slot = 0;
	std::chrono::milliseconds backoff_initial{20};
	std::chrono::milliseconds backoff_max{500};
	bool exit_on_disconnect = false; // stop after the first connection ends
	bool save_on_disconnect = true;  // card.save() whenever a connection ends
};

class Bridge {
public:
	Bridge(vcard::Card &card, Logger &log, BridgeOptions options);

	// Serve until stop_fd becomes readable (signalfd, eventfd, pipe). Transport
	// errors are logged and lead to a reconnect; only a throwing card escapes.
	void run(int stop_fd);

	bool connected() const { return connected_.load(); }
	std::uint64_t connections() const { return connections_.load(); }
	std::uint64_t disconnections() const { return disconnections_.load(); }
	const SessionCounters &counters() const { return session_.counters(); }
	std::uint16_t target_port() const;

private:
	// Serve one connection; false when asked to stop.
	bool serve(Connection &conn, int stop_fd);
	// Sleep for delay unless stop_fd fires; false when asked to stop.
	bool wait(std::chrono::milliseconds delay, int stop_fd);
	void save_card();

	vcard::Card &card_;
	Logger &log_;
	BridgeOptions options_;
	CardSession session_;
	std::atomic<bool> connected_{false};
	std::atomic<std::uint64_t> connections_{0};
	std::atomic<std::uint64_t> disconnections_{0};
};

} // namespace vpcd
