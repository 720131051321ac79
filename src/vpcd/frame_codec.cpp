// SPDX-License-Identifier: LGPL-2.1-or-later
#include "frame_codec.hpp"

#include <algorithm>

namespace vpcd {

Bytes FrameCodec::encode(const Bytes &payload)
{
	if (payload.size() > max_payload)
		throw FrameError("payload of " + std::to_string(payload.size()) + " bytes exceeds " +
				 std::to_string(max_payload));
	Bytes out;
	out.reserve(header_size + payload.size());
	out.push_back(static_cast<std::uint8_t>(payload.size() >> 8));
	out.push_back(static_cast<std::uint8_t>(payload.size() & 0xFF));
	out.insert(out.end(), payload.begin(), payload.end());
	return out;
}

std::size_t FrameCodec::bytes_wanted() const
{
	if (!in_body_)
		return header_size - header_.size();
	return body_size_ - body_.size();
}

void FrameCodec::feed(const std::uint8_t *data, std::size_t size)
{
	while (size > 0) {
		const std::size_t take = std::min(size, bytes_wanted());
		if (!in_body_) {
			header_.insert(header_.end(), data, data + take);
			if (header_.size() == header_size) {
				body_size_ = (std::size_t{header_[0]} << 8) | header_[1];
				header_.clear();
				body_.clear();
				body_.reserve(body_size_);
				in_body_ = true;
			}
		} else {
			body_.insert(body_.end(), data, data + take);
		}
		data += take;
		size -= take;
		// A zero-length body is complete as soon as its header is.
		if (in_body_ && body_.size() == body_size_) {
			frames_.push_back(std::move(body_));
			body_ = Bytes();
			in_body_ = false;
			body_size_ = 0;
		}
	}
}

Bytes FrameCodec::next()
{
	if (frames_.empty())
		throw FrameError("no complete frame queued");
	Bytes frame = std::move(frames_.front());
	frames_.pop_front();
	return frame;
}

void FrameCodec::reset()
{
	header_.clear();
	in_body_ = false;
	body_size_ = 0;
	body_.clear();
	frames_.clear();
}

} // namespace vpcd
