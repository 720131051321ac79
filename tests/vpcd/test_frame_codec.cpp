// SPDX-License-Identifier: LGPL-2.1-or-later
// vpcd::FrameCodec: exact 2 + N framing over a stream that splits and merges.
#include <cstdarg>
#include <cstddef>
#include <csetjmp>
#include <cstdint>
extern "C" {
#include <cmocka.h>
}

#include <algorithm>
#include <memory>

#include "vpcd/frame_codec.hpp"

using vpcd::Bytes;
using vpcd::FrameCodec;

namespace {

struct Fixture {
	FrameCodec codec;
	Bytes frame;
};

int setup(void **state)
{
	*state = new Fixture();
	return 0;
}

int teardown(void **state)
{
	delete static_cast<Fixture *>(*state);
	return 0;
}

Bytes pattern(std::size_t size)
{
	Bytes out(size);
	for (std::size_t i = 0; i < size; ++i)
		out[i] = static_cast<std::uint8_t>(i * 7 + 3);
	return out;
}

void test_frame_codec_encode_prefixes_big_endian_length(void **state)
{
	(void)state;
	const Bytes wire = FrameCodec::encode(pattern(0x1234));
	assert_int_equal(wire.size(), 0x1234 + 2);
	assert_int_equal(wire[0], 0x12);
	assert_int_equal(wire[1], 0x34);
	assert_int_equal(wire[2], pattern(1)[0]);
}

void test_frame_codec_whole_frame_decodes(void **state)
{
	auto *f = static_cast<Fixture *>(*state);
	f->codec.feed(FrameCodec::encode({0x00, 0xA4, 0x04, 0x00}));
	assert_true(f->codec.has_frame());
	f->frame = f->codec.next();
	assert_int_equal(f->frame.size(), 4);
	assert_int_equal(f->frame[1], 0xA4);
	assert_false(f->codec.has_frame());
	assert_false(f->codec.mid_frame());
}

void test_frame_codec_split_byte_by_byte_decodes_once(void **state)
{
	auto *f = static_cast<Fixture *>(*state);
	const Bytes payload = pattern(300);
	const Bytes wire = FrameCodec::encode(payload);
	for (std::size_t i = 0; i < wire.size(); ++i) {
		assert_false(f->codec.has_frame());
		f->codec.feed(&wire[i], 1);
	}
	assert_true(f->codec.has_frame());
	f->frame = f->codec.next();
	assert_true(f->frame == payload);
}

void test_frame_codec_split_inside_header(void **state)
{
	auto *f = static_cast<Fixture *>(*state);
	const Bytes wire = FrameCodec::encode(pattern(5));
	assert_int_equal(f->codec.bytes_wanted(), 2);
	f->codec.feed(wire.data(), 1);
	assert_true(f->codec.mid_frame());
	assert_int_equal(f->codec.bytes_wanted(), 1);
	f->codec.feed(wire.data() + 1, 1);
	assert_int_equal(f->codec.bytes_wanted(), 5);
	f->codec.feed(wire.data() + 2, 4);
	assert_int_equal(f->codec.bytes_wanted(), 1);
	assert_false(f->codec.has_frame());
	f->codec.feed(wire.data() + 6, 1);
	assert_true(f->codec.has_frame());
	assert_int_equal(f->codec.bytes_wanted(), 2);
}

void test_frame_codec_merged_frames_decode_in_order(void **state)
{
	auto *f = static_cast<Fixture *>(*state);
	Bytes wire;
	const Bytes a = {0x01};
	const Bytes b = {0x04};
	const Bytes c = pattern(70);
	for (const Bytes *p : {&a, &b, &c}) {
		const Bytes one = FrameCodec::encode(*p);
		wire.insert(wire.end(), one.begin(), one.end());
	}
	// Merged, then cut in the middle of the third frame's header.
	f->codec.feed(wire.data(), 7);
	assert_true(f->codec.has_frame());
	assert_true(f->codec.next() == a);
	assert_true(f->codec.next() == b);
	assert_false(f->codec.has_frame());
	assert_true(f->codec.mid_frame());
	f->codec.feed(wire.data() + 7, wire.size() - 7);
	f->frame = f->codec.next();
	assert_true(f->frame == c);
	assert_false(f->codec.has_frame());
}

void test_frame_codec_zero_length_frame_is_a_frame(void **state)
{
	auto *f = static_cast<Fixture *>(*state);
	const Bytes wire = FrameCodec::encode(Bytes());
	assert_int_equal(wire.size(), 2);
	assert_int_equal(wire[0], 0);
	assert_int_equal(wire[1], 0);
	const Bytes two = {0x00, 0x00, 0x00, 0x01, 0x04};
	f->codec.feed(two);
	f->frame = f->codec.next();
	assert_true(f->frame.empty());
	f->frame = f->codec.next();
	assert_int_equal(f->frame.size(), 1);
	assert_int_equal(f->frame[0], 0x04);
}

void test_frame_codec_max_length_round_trips(void **state)
{
	auto *f = static_cast<Fixture *>(*state);
	const Bytes payload = pattern(FrameCodec::max_payload);
	const Bytes wire = FrameCodec::encode(payload);
	assert_int_equal(wire[0], 0xFF);
	assert_int_equal(wire[1], 0xFF);
	// In uneven chunks, as TCP might deliver it.
	std::size_t at = 0, chunk = 1;
	while (at < wire.size()) {
		const std::size_t n = std::min(chunk, wire.size() - at);
		f->codec.feed(wire.data() + at, n);
		at += n;
		chunk = chunk * 3 + 1;
	}
	f->frame = f->codec.next();
	assert_true(f->frame == payload);
}

void test_frame_codec_encode_refuses_above_max(void **state)
{
	(void)state;
	bool thrown = false;
	try {
		FrameCodec::encode(Bytes(FrameCodec::max_payload + 1));
	} catch (const vpcd::FrameError &) {
		thrown = true;
	}
	assert_true(thrown);
}

void test_frame_codec_next_without_frame_throws(void **state)
{
	auto *f = static_cast<Fixture *>(*state);
	bool thrown = false;
	try {
		f->codec.next();
	} catch (const vpcd::FrameError &) {
		thrown = true;
	}
	assert_true(thrown);
}

void test_frame_codec_reset_drops_partial_frame(void **state)
{
	auto *f = static_cast<Fixture *>(*state);
	const Bytes wire = FrameCodec::encode(pattern(10));
	f->codec.feed(wire.data(), 5);
	assert_true(f->codec.mid_frame());
	f->codec.reset();
	assert_false(f->codec.mid_frame());
	f->codec.feed(FrameCodec::encode({0x04}));
	f->frame = f->codec.next();
	assert_int_equal(f->frame.size(), 1);
}

} // namespace

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_frame_codec_encode_prefixes_big_endian_length, setup, teardown),
		cmocka_unit_test_setup_teardown(test_frame_codec_whole_frame_decodes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_frame_codec_split_byte_by_byte_decodes_once, setup, teardown),
		cmocka_unit_test_setup_teardown(test_frame_codec_split_inside_header, setup, teardown),
		cmocka_unit_test_setup_teardown(test_frame_codec_merged_frames_decode_in_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_frame_codec_zero_length_frame_is_a_frame, setup, teardown),
		cmocka_unit_test_setup_teardown(test_frame_codec_max_length_round_trips, setup, teardown),
		cmocka_unit_test_setup_teardown(test_frame_codec_encode_refuses_above_max, setup, teardown),
		cmocka_unit_test_setup_teardown(test_frame_codec_next_without_frame_throws, setup, teardown),
		cmocka_unit_test_setup_teardown(test_frame_codec_reset_drops_partial_frame, setup, teardown),
	};
	return cmocka_run_group_tests_name("vpcd frame codec", tests, nullptr, nullptr);
}
