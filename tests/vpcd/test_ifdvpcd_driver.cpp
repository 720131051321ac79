// SPDX-License-Identifier: LGPL-2.1-or-later
// Drives Debian's vsmartcard IFD handler (libifdvpcd.so) directly through its
// IFDH* entry points, as pcscd would, against vpcd::Bridge serving the
// scripted card — no pcscd involved. The driver listens on "/dev/null:PORT"
// (an ephemeral port, so parallel runs and a system pcscd never clash).
// Skips (77) only when the driver is not installed.
#include <cstdarg>
#include <cstddef>
#include <csetjmp>
#include <cstdint>
extern "C" {
#include <cmocka.h>
#include <ifdhandler.h>
}

#include <arpa/inet.h>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <dlfcn.h>
#include <memory>
#include <netinet/in.h>
#include <string>
#include <sys/socket.h>
#include <unistd.h>

#include "bridge_thread.hpp"
#include "vpcd/frame_codec.hpp"
#include "vpcd/scripted_card.hpp"

using vpcd::Bytes;
using vpcd_test::BridgeThread;

// pcscd's logger, which the driver calls: exported from this executable
// (linked with -export-dynamic) so the dlopen'ed driver resolves it.
extern "C" __attribute__((visibility("default"))) void log_msg(const int priority, const char *fmt, ...)
{
	if (!std::getenv("VPCD_TEST_DRIVER_LOG"))
		return;
	va_list ap;
	va_start(ap, fmt);
	std::fprintf(stderr, "ifdvpcd[%d]: ", priority);
	std::vfprintf(stderr, fmt, ap);
	std::fputc('\n', stderr);
	va_end(ap);
}

extern "C" __attribute__((visibility("default"))) void log_msg_rv(const int priority, unsigned int rv,
								  const char *fmt, ...)
{
	(void)rv;
	(void)priority;
	(void)fmt;
}

namespace {

constexpr DWORD lun = 0; // slot 0: the driver listens on exactly PORT
// The IFD handler API numbers protocols as the ATR does (T=1 is 1), unlike
// the SCARD_PROTOCOL_* bit masks of the PC/SC API.
constexpr DWORD ifd_protocol_t1 = 1;

struct Driver {
	void *handle = nullptr;
	decltype(&IFDHCreateChannelByName) create_by_name = nullptr;
	decltype(&IFDHCloseChannel) close_channel = nullptr;
	decltype(&IFDHICCPresence) presence = nullptr;
	decltype(&IFDHPowerICC) power = nullptr;
	decltype(&IFDHTransmitToICC) transmit = nullptr;
	decltype(&IFDHGetCapabilities) capabilities = nullptr;
};

// One driver for the process: it keeps per-slot globals, as under pcscd.
Driver driver;

const char *driver_path()
{
	const char *env = std::getenv("VPCD_DRIVER");
	return env && *env ? env : "/usr/lib/pcsc/drivers/serial/libifdvpcd.so";
}

bool load_driver()
{
	driver.handle = ::dlopen(driver_path(), RTLD_NOW | RTLD_LOCAL);
	if (!driver.handle) {
		std::fprintf(stderr, "cannot load %s: %s\n", driver_path(), ::dlerror());
		return false;
	}
	auto sym = [](const char *name) { return ::dlsym(driver.handle, name); };
	driver.create_by_name = reinterpret_cast<decltype(driver.create_by_name)>(sym("IFDHCreateChannelByName"));
	driver.close_channel = reinterpret_cast<decltype(driver.close_channel)>(sym("IFDHCloseChannel"));
	driver.presence = reinterpret_cast<decltype(driver.presence)>(sym("IFDHICCPresence"));
	driver.power = reinterpret_cast<decltype(driver.power)>(sym("IFDHPowerICC"));
	driver.transmit = reinterpret_cast<decltype(driver.transmit)>(sym("IFDHTransmitToICC"));
	driver.capabilities = reinterpret_cast<decltype(driver.capabilities)>(sym("IFDHGetCapabilities"));
	return driver.create_by_name && driver.close_channel && driver.presence && driver.power &&
	       driver.transmit && driver.capabilities;
}

// A port nobody uses right now (the kernel's pick, released again).
std::uint16_t free_port()
{
	const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in addr;
	std::memset(&addr, 0, sizeof addr);
	addr.sin_family = AF_INET;
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	socklen_t len = sizeof addr;
	std::uint16_t port = 0;
	if (fd >= 0 && ::bind(fd, reinterpret_cast<sockaddr *>(&addr), sizeof addr) == 0 &&
	    ::getsockname(fd, reinterpret_cast<sockaddr *>(&addr), &len) == 0)
		port = ntohs(addr.sin_port);
	if (fd >= 0)
		::close(fd);
	return port;
}

RESPONSECODE create_channel(std::uint16_t port)
{
	std::string name = "/dev/null:" + std::to_string(port);
	return driver.create_by_name(lun, &name[0]);
}

struct Fixture {
	std::uint16_t port = 0;
	bool channel_open = false;
	std::unique_ptr<BridgeThread> bridge;
	Bytes rx;
};

int setup_channel(void **state)
{
	auto f = std::make_unique<Fixture>();
	for (int attempt = 0; attempt < 5 && !f->channel_open; ++attempt) {
		f->port = free_port();
		f->channel_open = f->port != 0 && create_channel(f->port) == IFD_SUCCESS;
	}
	if (!f->channel_open)
		return -1;
	*state = f.release();
	return 0;
}

int setup_channel_and_bridge(void **state)
{
	if (setup_channel(state) != 0)
		return -1;
	auto *f = static_cast<Fixture *>(*state);
	f->bridge = std::make_unique<BridgeThread>(f->port);
	return BridgeThread::wait_for([f] { return f->bridge->bridge().connected(); }) ? 0 : -1;
}

int teardown(void **state)
{
	auto *f = static_cast<Fixture *>(*state);
	if (f->channel_open)
		driver.close_channel(lun);
	delete f; // stops the bridge
	return 0;
}

Bytes power(DWORD action)
{
	UCHAR atr[MAX_ATR_SIZE];
	DWORD len = sizeof atr;
	assert_int_equal(driver.power(lun, action, atr, &len), IFD_SUCCESS);
	return Bytes(atr, atr + len);
}

Bytes transmit(const Bytes &command)
{
	SCARD_IO_HEADER send_pci = {ifd_protocol_t1, 0};
	SCARD_IO_HEADER recv_pci = {0, 0};
	Bytes rx(vpcd::FrameCodec::max_payload);
	DWORD rx_len = static_cast<DWORD>(rx.size());
	Bytes tx = command;
	assert_int_equal(driver.transmit(lun, send_pci, tx.data(), static_cast<DWORD>(tx.size()), rx.data(),
					 &rx_len, &recv_pci),
			 IFD_SUCCESS);
	assert_int_equal(recv_pci.Protocol, ifd_protocol_t1);
	rx.resize(rx_len);
	return rx;
}

void test_ifdvpcd_presence_absent_without_bridge(void **state)
{
	(void)state;
	assert_int_equal(driver.presence(lun), IFD_ICC_NOT_PRESENT);
}

void test_ifdvpcd_presence_reports_card_from_bridge(void **state)
{
	auto *f = static_cast<Fixture *>(*state);
	assert_int_equal(driver.presence(lun), IFD_ICC_PRESENT);
	assert_int_equal(driver.presence(lun), IFD_ICC_PRESENT);
	assert_true(f->bridge->bridge().counters().atr_requests.load() >= 2);
	assert_false(f->bridge->card().powered());
}

void test_ifdvpcd_power_up_returns_card_atr(void **state)
{
	auto *f = static_cast<Fixture *>(*state);
	assert_int_equal(driver.presence(lun), IFD_ICC_PRESENT);
	const Bytes atr = power(IFD_POWER_UP);
	assert_true(atr == f->bridge->card().atr());
	assert_true(f->bridge->card().powered());
}

void test_ifdvpcd_transmit_extended_apdu(void **state)
{
	auto *f = static_cast<Fixture *>(*state);
	assert_int_equal(driver.presence(lun), IFD_ICC_PRESENT);
	power(IFD_POWER_UP);
	// The size of the ePass2003's RSA-2048 signature command under SM: 282 bytes.
	const std::size_t lc = 282 - 9;
	Bytes apdu = {0x80, 0x10, 0x00, 0x00, 0x00, static_cast<std::uint8_t>(lc >> 8),
		      static_cast<std::uint8_t>(lc & 0xFF)};
	for (std::size_t i = 0; i < lc; ++i)
		apdu.push_back(static_cast<std::uint8_t>(i ^ 0x5A));
	apdu.push_back(0x00);
	apdu.push_back(0x00);
	f->rx = transmit(apdu);
	assert_int_equal(f->rx.size(), lc + 2);
	assert_memory_equal(f->rx.data(), apdu.data() + 7, lc);
	assert_int_equal(f->rx[lc], 0x90);
	assert_int_equal(f->rx[lc + 1], 0x00);
	assert_int_equal(f->bridge->bridge().counters().apdus.load(), 1);
}

void test_ifdvpcd_power_down_and_reset_reach_card(void **state)
{
	auto *f = static_cast<Fixture *>(*state);
	assert_int_equal(driver.presence(lun), IFD_ICC_PRESENT);
	power(IFD_POWER_UP);
	UCHAR atr[MAX_ATR_SIZE];
	DWORD len = sizeof atr;
	assert_int_equal(driver.power(lun, IFD_POWER_DOWN, atr, &len), IFD_SUCCESS);
	// The driver sends "power off" without waiting for an answer; the card
	// has it once the next request (get-ATR) has been answered.
	assert_int_equal(driver.presence(lun), IFD_ICC_PRESENT);
	assert_false(f->bridge->card().powered());
	const Bytes reset_atr = power(IFD_RESET);
	assert_true(reset_atr == f->bridge->card().atr());
	assert_true(f->bridge->card().powered());
	assert_int_equal(f->bridge->card().power_on_count(), 2);
	assert_int_equal(f->bridge->bridge().counters().resets.load(), 1);
}

void test_ifdvpcd_channel_reopened_bridge_reconnects_card_powered_off(void **state)
{
	auto *f = static_cast<Fixture *>(*state);
	assert_int_equal(driver.presence(lun), IFD_ICC_PRESENT);
	power(IFD_POWER_UP);
	f->rx = transmit({0x80, 0x16, 0x00, 0x00}); // SET SESSION: volatile state
	assert_int_equal(f->rx.size(), 2);

	// What a pcscd restart does to the driver: close, then open again.
	assert_int_equal(driver.close_channel(lun), IFD_SUCCESS);
	f->channel_open = false;
	assert_true(BridgeThread::wait_for([f] { return !f->bridge->bridge().connected(); }));
	assert_false(f->bridge->card().powered());
	assert_int_equal(create_channel(f->port), IFD_SUCCESS);
	f->channel_open = true;
	// As pcscd does, poll presence until the card is there: only a bridge
	// connected to the new channel makes it present. The bridge may have
	// reached the old listener once more while it was closing (a connection
	// counted, then dropped at once), so at least one new connection.
	assert_true(BridgeThread::wait_for([] { return driver.presence(lun) == IFD_ICC_PRESENT; }));
	assert_true(f->bridge->bridge().connected());
	assert_true(f->bridge->bridge().connections() >= 2);

	assert_int_equal(driver.presence(lun), IFD_ICC_PRESENT);
	power(IFD_POWER_UP);
	f->rx = transmit({0x80, 0x14, 0x00, 0x00, 0x01}); // GET SESSION
	const Bytes fresh = {0x00, 0x90, 0x00};
	assert_true(f->rx == fresh);
}

} // namespace

int main(void)
{
	if (::access(driver_path(), R_OK) != 0) {
		std::fprintf(stderr, "SKIP: vpcd driver %s not installed (vsmartcard-vpcd)\n", driver_path());
		return 77;
	}
	if (!load_driver())
		return 1;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_ifdvpcd_presence_absent_without_bridge, setup_channel, teardown),
		cmocka_unit_test_setup_teardown(test_ifdvpcd_presence_reports_card_from_bridge, setup_channel_and_bridge,
						teardown),
		cmocka_unit_test_setup_teardown(test_ifdvpcd_power_up_returns_card_atr, setup_channel_and_bridge,
						teardown),
		cmocka_unit_test_setup_teardown(test_ifdvpcd_transmit_extended_apdu, setup_channel_and_bridge, teardown),
		cmocka_unit_test_setup_teardown(test_ifdvpcd_power_down_and_reset_reach_card, setup_channel_and_bridge,
						teardown),
		cmocka_unit_test_setup_teardown(test_ifdvpcd_channel_reopened_bridge_reconnects_card_powered_off,
						setup_channel_and_bridge, teardown),
	};
	return cmocka_run_group_tests_name("libifdvpcd driven directly", tests, nullptr, nullptr);
}
