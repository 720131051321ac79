// SPDX-License-Identifier: LGPL-2.1-or-later
// vpcd wire framing: every message is a big-endian u16 length N followed by
// exactly N bytes. TCP may split or merge messages, so the decoder is a small
// state machine: it wants exactly 2 header bytes, then exactly N body bytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <stdexcept>
#include <string>
#include <vector>

namespace vpcd {

using Bytes = std::vector<std::uint8_t>;

class FrameError : public std::runtime_error {
public:
	explicit FrameError(const std::string &what) : std::runtime_error("vpcd frame: " + what) {}
};

class FrameCodec {
public:
	static constexpr std::size_t header_size = 2;
	static constexpr std::size_t max_payload = 0xFFFF;

	// Length-prefix a payload. Throws FrameError above max_payload.
	static Bytes encode(const Bytes &payload);

	// How many bytes complete the current unit (the 2-byte header, or the
	// remaining body). A reader that receives at most this many bytes never
	// reads past the end of a message. Never 0.
	std::size_t bytes_wanted() const;

	// Consume any number of bytes (a part of a message, or several messages).
	// Every completed frame is queued, in order.
	void feed(const std::uint8_t *data, std::size_t size);
	void feed(const Bytes &data) { feed(data.data(), data.size()); }

	bool has_frame() const { return !frames_.empty(); }
	// The oldest completed frame. Throws FrameError when none is queued.
	Bytes next();

	// True while a message has been started but not completed.
	bool mid_frame() const { return !header_.empty() || in_body_; }

	// Forget any partial message and queued frames (new connection).
	void reset();

private:
	Bytes header_;
	bool in_body_ = false;
	std::size_t body_size_ = 0;
	Bytes body_;
	std::deque<Bytes> frames_;
};

} // namespace vpcd
