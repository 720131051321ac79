// SPDX-License-Identifier: LGPL-2.1-or-later
#include "bridge.hpp"

#include "backoff.hpp"
#include "connection.hpp"

#include <cerrno>
#include <exception>
#include <poll.h>
#include <string>

namespace vpcd {

Bridge::Bridge(vcard::Card &card, Logger &log, BridgeOptions options)
	: card_(card), log_(log), options_(options), session_(card, log)
{
}

std::uint16_t Bridge::target_port() const
{
	return static_cast<std::uint16_t>(options_.port + options_.slot);
}

bool Bridge::wait(std::chrono::milliseconds delay, int stop_fd)
{
	if (stop_fd < 0) {
		::poll(nullptr, 0, static_cast<int>(delay.count()));
		return true;
	}
	struct pollfd fds[1] = {{stop_fd, POLLIN, 0}};
	int n;
	do {
		n = ::poll(fds, 1, static_cast<int>(delay.count()));
	} while (n < 0 && errno == EINTR);
	return n <= 0;
}

void Bridge::save_card()
{
	try {
		card_.save();
	} catch (const std::exception &e) {
		log_.log(LogLevel::error, "saving the card image failed: %s", e.what());
	}
}

bool Bridge::serve(Connection &conn, int stop_fd)
{
	for (;;) {
		Bytes frame;
		switch (conn.read_frame(stop_fd, frame)) {
		case Connection::ReadResult::stopped:
			return false;
		case Connection::ReadResult::closed:
			log_.log(LogLevel::info, "disconnected from vpcd on 127.0.0.1:%u: %s", target_port(),
				 conn.error().c_str());
			return true;
		case Connection::ReadResult::frame:
			break;
		}
		const auto reply = session_.handle(frame);
		if (!reply)
			continue;
		if (reply->size() > FrameCodec::max_payload) {
			log_.log(LogLevel::error, "card reply of %zu bytes does not fit a vpcd frame; dropping the connection",
				 reply->size());
			return true;
		}
		if (!conn.write_frame(*reply)) {
			log_.log(LogLevel::info, "write to vpcd failed: %s", conn.error().c_str());
			return true;
		}
	}
}

void Bridge::run(int stop_fd)
{
	Backoff backoff(options_.backoff_initial, options_.backoff_max);
	std::string last_error;
	log_.log(LogLevel::info, "serving the card to vpcd on 127.0.0.1:%u (slot %u)", target_port(), options_.slot);
	for (;;) {
		std::string error;
		Connection conn = Connection::connect_loopback(target_port(), error);
		if (!conn.valid()) {
			if (error != last_error) {
				log_.log(LogLevel::info, "vpcd on 127.0.0.1:%u not reachable (%s); retrying with backoff",
					 target_port(), error.c_str());
				last_error = error;
			}
			if (!wait(backoff.next(), stop_fd))
				break;
			continue;
		}
		backoff.reset();
		last_error.clear();
		++connections_;
		connected_ = true;
		log_.log(LogLevel::info, "connected to vpcd on 127.0.0.1:%u (connection %llu)", target_port(),
			 static_cast<unsigned long long>(connections_.load()));
		const bool keep_going = serve(conn, stop_fd);
		connected_ = false;
		++disconnections_;
		// Whatever pcscd does next starts from a card without power.
		session_.connection_lost();
		if (options_.save_on_disconnect)
			save_card();
		if (!keep_going || options_.exit_on_disconnect)
			break;
	}
	log_.log(LogLevel::info, "bridge stopped after %llu connection(s), %llu APDU(s)",
		 static_cast<unsigned long long>(connections_.load()),
		 static_cast<unsigned long long>(counters().apdus.load()));
}

} // namespace vpcd
