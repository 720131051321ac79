// SPDX-License-Identifier: LGPL-2.1-or-later
// vpcd::Bridge against a fake vpcd (the test listens on 127.0.0.1): control
// bytes, no reply to power off/on/reset, split and merged frames, extended
// APDUs at the frame limit, reconnect after the peer goes away.
#include <cstdarg>
#include <cstddef>
#include <csetjmp>
#include <cstdint>
extern "C" {
#include <cmocka.h>
}

#include <arpa/inet.h>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <memory>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>

#include "bridge_thread.hpp"
#include "vpcd/frame_codec.hpp"
#include "vpcd/unique_fd.hpp"

using vpcd::Bytes;
using vpcd::FrameCodec;
using vpcd::UniqueFd;
using vpcd_test::BridgeThread;

namespace {

struct Fixture {
	UniqueFd listener;
	UniqueFd peer; // the accepted bridge connection: we are vpcd
	std::uint16_t port = 0;
	std::unique_ptr<BridgeThread> bridge;
	Bytes reply;
};

bool accept_within(Fixture *f, int timeout_ms)
{
	struct pollfd pfd = {f->listener.get(), POLLIN, 0};
	if (::poll(&pfd, 1, timeout_ms) != 1)
		return false;
	f->peer.reset(::accept4(f->listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
	return f->peer.valid();
}

int setup(void **state)
{
	auto f = std::make_unique<Fixture>();
	f->listener.reset(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
	const int one = 1;
	::setsockopt(f->listener.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	struct sockaddr_in addr;
	std::memset(&addr, 0, sizeof addr);
	addr.sin_family = AF_INET;
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	addr.sin_port = 0;
	socklen_t len = sizeof addr;
	if (!f->listener.valid() || ::bind(f->listener.get(), reinterpret_cast<sockaddr *>(&addr), sizeof addr) ||
	    ::listen(f->listener.get(), 1) ||
	    ::getsockname(f->listener.get(), reinterpret_cast<sockaddr *>(&addr), &len))
		return -1;
	f->port = ntohs(addr.sin_port);
	f->bridge = std::make_unique<BridgeThread>(f->port);
	if (!accept_within(f.get(), 5000))
		return -1;
	*state = f.release();
	return 0;
}

int teardown(void **state)
{
	delete static_cast<Fixture *>(*state);
	return 0;
}

void send_raw(Fixture *f, const Bytes &bytes)
{
	std::size_t sent = 0;
	while (sent < bytes.size()) {
		const ssize_t r = ::send(f->peer.get(), bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
		assert_true(r > 0);
		sent += static_cast<std::size_t>(r);
	}
}

void send_frame(Fixture *f, const Bytes &payload) { send_raw(f, FrameCodec::encode(payload)); }

// Read exactly n bytes within timeout_ms; false on timeout or EOF.
bool recv_exact(Fixture *f, std::uint8_t *out, std::size_t n, int timeout_ms)
{
	std::size_t got = 0;
	while (got < n) {
		struct pollfd pfd = {f->peer.get(), POLLIN, 0};
		if (::poll(&pfd, 1, timeout_ms) != 1)
			return false;
		const ssize_t r = ::recv(f->peer.get(), out + got, n - got, 0);
		if (r <= 0)
			return false;
		got += static_cast<std::size_t>(r);
	}
	return true;
}

// One whole reply frame into f->reply; fails the test on timeout.
void recv_frame(Fixture *f, int timeout_ms = 5000)
{
	std::uint8_t header[2];
	assert_true(recv_exact(f, header, 2, timeout_ms));
	const std::size_t n = (std::size_t{header[0]} << 8) | header[1];
	f->reply.assign(n, 0);
	if (n)
		assert_true(recv_exact(f, f->reply.data(), n, timeout_ms));
}

bool nothing_pending(Fixture *f, int timeout_ms)
{
	struct pollfd pfd = {f->peer.get(), POLLIN, 0};
	return ::poll(&pfd, 1, timeout_ms) == 0;
}

void test_bridge_get_atr_answers_atr_unpowered(void **state)
{
	auto *f = static_cast<Fixture *>(*state);
	assert_false(f->bridge->card().powered());
	send_frame(f, {0x04});
	recv_frame(f);
	assert_true(f->reply == f->bridge->card().atr());
	assert_false(f->bridge->card().powered());
}

void test_bridge_power_controls_get_no_reply(void **state)
{
	auto *f = static_cast<Fixture *>(*state);
	// on, reset, off, on — merged in one segment — then get-ATR: the first
	// bytes back must be the ATR frame, and nothing may follow it.
	send_raw(f, {0x00, 0x01, 0x01, 0x00, 0x01, 0x02, 0x00, 0x01, 0x00, 0x00, 0x01, 0x01});
	assert_true(nothing_pending(f, 100));
	send_frame(f, {0x04});
	recv_frame(f);
	assert_true(f->reply == f->bridge->card().atr());
	assert_true(nothing_pending(f, 100));
	const auto &c = f->bridge->bridge().counters();
	assert_int_equal(c.power_ons.load(), 2);
	assert_int_equal(c.resets.load(), 1);
	assert_int_equal(c.power_offs.load(), 1);
	assert_true(f->bridge->card().powered());
	assert_int_equal(f->bridge->card().power_on_count(), 3); // two power-ons and a reset
}

void test_bridge_split_header_and_body(void **state)
{
	auto *f = static_cast<Fixture *>(*state);
	send_frame(f, {0x01});
	const Bytes wire = FrameCodec::encode({0x80, 0x10, 0x00, 0x00, 0x03, 0xAA, 0xBB, 0xCC});
	for (std::uint8_t byte : wire) {
		send_raw(f, {byte});
		std::this_thread::sleep_for(std::chrono::milliseconds(3));
	}
	recv_frame(f);
	const Bytes expected = {0xAA, 0xBB, 0xCC, 0x90, 0x00};
	assert_true(f->reply == expected);
}

void test_bridge_merged_apdus_answered_in_order(void **state)
{
	auto *f = static_cast<Fixture *>(*state);
	Bytes wire = FrameCodec::encode({0x01});
	for (std::uint8_t i = 1; i <= 3; ++i) {
		const Bytes one = FrameCodec::encode({0x80, 0x10, 0x00, 0x00, 0x01, i});
		wire.insert(wire.end(), one.begin(), one.end());
	}
	send_raw(f, wire);
	for (std::uint8_t i = 1; i <= 3; ++i) {
		recv_frame(f);
		const Bytes expected = {i, 0x90, 0x00};
		assert_true(f->reply == expected);
	}
}

void test_bridge_extended_apdu_at_frame_limit(void **state)
{
	auto *f = static_cast<Fixture *>(*state);
	send_frame(f, {0x01});
	// Extended case 4: 7-byte header + Lc data + 2-byte Le = 65535 bytes.
	const std::size_t lc = FrameCodec::max_payload - 9;
	Bytes apdu = {0x80, 0x10, 0x00, 0x00, 0x00, static_cast<std::uint8_t>(lc >> 8),
		      static_cast<std::uint8_t>(lc & 0xFF)};
	for (std::size_t i = 0; i < lc; ++i)
		apdu.push_back(static_cast<std::uint8_t>(i));
	apdu.push_back(0x00);
	apdu.push_back(0x00);
	assert_int_equal(apdu.size(), FrameCodec::max_payload);
	send_frame(f, apdu);
	recv_frame(f);
	assert_int_equal(f->reply.size(), lc + 2);
	assert_int_equal(f->reply[lc - 1], static_cast<std::uint8_t>(lc - 1));
	assert_int_equal(f->reply[lc], 0x90);
}

void test_bridge_zero_length_frame_ignored(void **state)
{
	auto *f = static_cast<Fixture *>(*state);
	send_raw(f, {0x00, 0x00});
	send_frame(f, {0x04});
	recv_frame(f);
	assert_true(f->reply == f->bridge->card().atr());
	assert_int_equal(f->bridge->bridge().counters().ignored.load(), 1);
}

void test_bridge_reconnects_and_powers_off_after_peer_close(void **state)
{
	auto *f = static_cast<Fixture *>(*state);
	send_frame(f, {0x01});
	send_frame(f, {0x80, 0x16, 0x00, 0x00}); // SET SESSION (volatile)
	recv_frame(f);
	assert_true(f->bridge->card().powered());
	assert_int_equal(f->bridge->bridge().connections(), 1);

	f->peer.reset(); // "pcscd stopped"
	assert_true(accept_within(f, 5000));
	assert_true(BridgeThread::wait_for([f] { return f->bridge->bridge().connections() == 2; }));
	assert_false(f->bridge->card().powered());
	assert_int_equal(f->bridge->bridge().disconnections(), 1);

	// The new vpcd powers the card up; the session did not survive.
	send_frame(f, {0x01});
	send_frame(f, {0x80, 0x14, 0x00, 0x00, 0x01});
	recv_frame(f);
	const Bytes expected = {0x00, 0x90, 0x00};
	assert_true(f->reply == expected);
}

void test_bridge_reconnects_after_listener_gone_for_a_while(void **state)
{
	auto *f = static_cast<Fixture *>(*state);
	// Close both the connection and the listening socket: connects are refused
	// (backoff) until a listener comes back on the same port.
	f->peer.reset();
	const std::uint16_t port = f->port;
	f->listener.reset();
	std::this_thread::sleep_for(std::chrono::milliseconds(200));
	assert_false(f->bridge->bridge().connected());

	f->listener.reset(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
	const int one = 1;
	::setsockopt(f->listener.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	struct sockaddr_in addr;
	std::memset(&addr, 0, sizeof addr);
	addr.sin_family = AF_INET;
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	addr.sin_port = htons(port);
	assert_int_equal(::bind(f->listener.get(), reinterpret_cast<sockaddr *>(&addr), sizeof addr), 0);
	assert_int_equal(::listen(f->listener.get(), 1), 0);
	assert_true(accept_within(f, 5000));
	send_frame(f, {0x04});
	recv_frame(f);
	assert_true(f->reply == f->bridge->card().atr());
	assert_true(f->bridge->bridge().connections() >= 2);
}

} // namespace

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_bridge_get_atr_answers_atr_unpowered, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bridge_power_controls_get_no_reply, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bridge_split_header_and_body, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bridge_merged_apdus_answered_in_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bridge_extended_apdu_at_frame_limit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bridge_zero_length_frame_ignored, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bridge_reconnects_and_powers_off_after_peer_close, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bridge_reconnects_after_listener_gone_for_a_while, setup, teardown),
	};
	return cmocka_run_group_tests_name("vpcd bridge protocol", tests, nullptr, nullptr);
}
