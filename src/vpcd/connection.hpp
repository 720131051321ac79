// SPDX-License-Identifier: LGPL-2.1-or-later
// One TCP connection from the card to vpcd on 127.0.0.1. Reads exactly the
// 2 header bytes, then exactly N body bytes (never past a message); Nagle is
// off and the delayed ACK is re-disabled after each read, because vpcd writes
// length and payload in two sends (otherwise ~40 ms stall per exchange).
#pragma once

#include "frame_codec.hpp"
#include "unique_fd.hpp"

#include <cstdint>
#include <string>

namespace vpcd {

class Connection {
public:
	enum class ReadResult { frame, closed, stopped };

	// Connect to 127.0.0.1:port. Returns an invalid connection and sets
	// error (e.g. "Connection refused") when nobody listens.
	static Connection connect_loopback(std::uint16_t port, std::string &error);

	bool valid() const { return fd_.valid(); }

	// Wait for one whole frame; `stopped` when stop_fd became readable first,
	// `closed` on EOF or a socket error (reason in error()).
	ReadResult read_frame(int stop_fd, Bytes &frame);

	// Send one frame (length prefix + payload) in one write. False on error.
	bool write_frame(const Bytes &payload);

	const std::string &error() const { return error_; }

private:
	explicit Connection(UniqueFd fd) : fd_(std::move(fd)) {}
	void rearm_quickack();

	UniqueFd fd_;
	FrameCodec codec_;
	std::string error_;
};

} // namespace vpcd
