// SPDX-License-Identifier: LGPL-2.1-or-later
// Fault plans of libvpcsc: every trigger and action, replay determinism,
// runtime injection, inspection, and bad scenarios naming the bad field.
#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <thread>

#include <csignal>
#include <sys/wait.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "common.hpp"

using namespace vpcsc_test;
using nlohmann::json;

namespace {

struct State {
	std::string dir;
	SCARDCONTEXT ctx = 0;
	SCARDHANDLE h = 0;
	std::thread worker;
	std::atomic<LONG> worker_rv{0};
	std::atomic<bool> worker_done{false};
};

int
setup(void **state)
{
	auto *s = new State;
	char tmpl[] = "/tmp/vpcsc-test-XXXXXX";
	if (mkdtemp(tmpl) == nullptr) {
		delete s;
		return -1;
	}
	s->dir = tmpl;
	*state = s;
	return 0;
}

int
teardown(void **state)
{
	auto *s = static_cast<State *>(*state);
	if (s->worker.joinable()) {
		vpcsc_service_lost(); // wakes any waiter
		s->worker.join();
	}
	vpcsc_reset(two_readers);
	const std::string cmd = "rm -rf '" + s->dir + "'";
	if (std::system(cmd.c_str()) != 0)
		print_error("cannot remove %s\n", s->dir.c_str());
	delete s;
	return 0;
}

State &
st(void **state)
{
	return *static_cast<State *>(*state);
}

// two_readers plus a fault plan (and optionally an event log).
std::string
with_plan(const json &rules, std::uint64_t seed = 1, const std::string &log = "")
{
	json j = json::parse(two_readers);
	j["faults"] = {{"seed", seed}, {"rules", rules}};
	if (!log.empty())
		j["event_log"] = log;
	return j.dump();
}

json
rule(const json &trigger, const json &action)
{
	return {{"trigger", trigger}, {"action", action}};
}

void
open_a(State &s)
{
	assert_int_equal(SCardEstablishContext(SCARD_SCOPE_USER, nullptr, nullptr, &s.ctx), SCARD_S_SUCCESS);
	DWORD proto;
	assert_int_equal(SCardConnect(s.ctx, reader_a, SCARD_SHARE_SHARED, SCARD_PROTOCOL_T1, &s.h, &proto),
			 SCARD_S_SUCCESS);
}

LONG
serial_rv(SCARDHANDLE h)
{
	LONG rv;
	get_serial(h, &rv);
	return rv;
}

std::string
read_file(const std::string &path)
{
	std::ifstream in(path);
	std::stringstream ss;
	ss << in.rdbuf();
	return ss.str();
}

json
stats()
{
	char *text = vpcsc_stats_json();
	if (text == nullptr)
		return json();
	json j = json::parse(text);
	vpcsc_free(text);
	return j;
}

// ------------------------------------------------------------ triggers + return

void
test_fault_return_code_once_on_nth_call(void **state)
{
	State &s = st(state);
	assert_int_equal(reset_with(with_plan(json::array({rule({{"call", "SCardTransmit"}, {"nth", 2}},
								   {{"type", "return"}, {"code", "SCARD_E_NO_SERVICE"}})}))
					    .c_str()),
			 0);
	open_a(s);
	assert_int_equal(serial_rv(s.h), SCARD_S_SUCCESS);
	assert_int_equal(serial_rv(s.h), SCARD_E_NO_SERVICE);
	assert_int_equal(serial_rv(s.h), SCARD_S_SUCCESS);
	assert_int_equal(serial_rv(s.h), SCARD_S_SUCCESS);
	assert_int_equal(vpcsc_injections(), 1);
	assert_int_equal(vpcsc_calls("SCardTransmit"), 4);
	assert_int_equal(vpcsc_apdus(), 3);
	assert_int_equal(vpcsc_results("SCardTransmit", "SCARD_E_NO_SERVICE"), 1);
	assert_int_equal(vpcsc_results("SCardTransmit", "SCARD_S_SUCCESS"), 3);
	assert_int_equal(vpcsc_results("SCardTransmit", "SCARD_E_NOPE"), -1);
	assert_int_equal(stats()["results"]["SCardTransmit"]["SCARD_E_NO_SERVICE"].get<int>(), 1);
}

void
test_fault_return_code_for_n_calls(void **state)
{
	State &s = st(state);
	assert_int_equal(
		reset_with(with_plan(json::array({rule({{"call", "SCardBeginTransaction"}, {"nth", 1}},
						       {{"type", "return"}, {"code", "SCARD_E_SERVICE_STOPPED"}, {"count", 3}})}))
				   .c_str()),
		0);
	open_a(s);
	for (int i = 0; i < 3; i++)
		assert_int_equal(SCardBeginTransaction(s.h), SCARD_E_SERVICE_STOPPED);
	assert_int_equal(SCardBeginTransaction(s.h), SCARD_S_SUCCESS);
	assert_int_equal(vpcsc_open_transactions(), 1);
	assert_int_equal(vpcsc_injections(), 3);
}

void
test_fault_every_kth_call(void **state)
{
	State &s = st(state);
	assert_int_equal(reset_with(with_plan(json::array({rule({{"call", "SCardTransmit"}, {"every", 3}},
								   {{"type", "return"}, {"code", "SCARD_F_COMM_ERROR"}})}))
					    .c_str()),
			 0);
	open_a(s);
	std::string pattern;
	for (int i = 0; i < 9; i++)
		pattern += serial_rv(s.h) == SCARD_S_SUCCESS ? '.' : 'X';
	assert_string_equal(pattern.c_str(), "..X..X..X");
}

void
test_fault_after_ms(void **state)
{
	State &s = st(state);
	assert_int_equal(reset_with(with_plan(json::array({rule({{"call", "SCardTransmit"}, {"after_ms", 400}},
								   {{"type", "return"}, {"code", "SCARD_W_RESET_CARD"}})}))
					    .c_str()),
			 0);
	open_a(s);
	assert_int_equal(serial_rv(s.h), SCARD_S_SUCCESS);
	std::this_thread::sleep_for(std::chrono::milliseconds(450));
	assert_int_equal(serial_rv(s.h), SCARD_W_RESET_CARD);
	assert_int_equal(serial_rv(s.h), SCARD_S_SUCCESS); // once
}

std::string
probability_pattern(std::uint64_t seed)
{
	if (reset_with(with_plan(json::array({rule({{"call", "SCardTransmit"}, {"probability", 0.3}},
						   {{"type", "return"}, {"code", "SCARD_E_NOT_READY"}})}),
				 seed)
			       .c_str()) != 0)
		return "";
	SCARDCONTEXT ctx;
	SCARDHANDLE h;
	DWORD proto;
	if (SCardEstablishContext(SCARD_SCOPE_USER, nullptr, nullptr, &ctx) != SCARD_S_SUCCESS ||
	    SCardConnect(ctx, reader_a, SCARD_SHARE_SHARED, SCARD_PROTOCOL_T1, &h, &proto) != SCARD_S_SUCCESS)
		return "";
	std::string pattern;
	for (int i = 0; i < 64; i++)
		pattern += serial_rv(h) == SCARD_S_SUCCESS ? '.' : 'X';
	SCardReleaseContext(ctx);
	return pattern;
}

void
test_fault_probability_is_seeded(void **)
{
	const std::string a = probability_pattern(7);
	const std::string b = probability_pattern(7);
	const std::string c = probability_pattern(8);
	assert_int_equal(a.size(), 64);
	assert_string_equal(a.c_str(), b.c_str());
	assert_string_not_equal(a.c_str(), c.c_str());
	const auto fails = std::count(a.begin(), a.end(), 'X');
	assert_true(fails > 5 && fails < 40); // p = 0.3 of 64
}

void
test_fault_ins_trigger_matches_apdu(void **state)
{
	State &s = st(state);
	assert_int_equal(reset_with(with_plan(json::array({rule({{"ins", "0xCA"}, {"cla", 0}},
								   {{"type", "return"}, {"code", "SCARD_W_REMOVED_CARD"}})}))
					    .c_str()),
			 0);
	open_a(s);
	const BYTE echo[] = {0x80, 0xEE, 0x00, 0x00, 0x01, 0x55};
	BYTE resp[16];
	DWORD len = sizeof resp;
	assert_int_equal(SCardTransmit(s.h, &t1_pci, echo, sizeof echo, nullptr, resp, &len), SCARD_S_SUCCESS);
	assert_int_equal(serial_rv(s.h), SCARD_W_REMOVED_CARD);
	assert_int_equal(serial_rv(s.h), SCARD_W_REMOVED_CARD); // unlimited unless "limit"
	assert_int_equal(vpcsc_apdus(), 1);
}

// ------------------------------------------------------------ service models

void
test_fault_service_lost_kills_old_context_and_handles(void **state)
{
	State &s = st(state);
	assert_int_equal(reset_with(two_readers), 0);
	open_a(s);
	assert_int_equal(SCardBeginTransaction(s.h), SCARD_S_SUCCESS);
	assert_int_equal(vpcsc_service_lost(), 0);
	assert_int_equal(serial_rv(s.h), SCARD_E_NO_SERVICE);
	assert_int_equal(SCardBeginTransaction(s.h), SCARD_E_NO_SERVICE);
	assert_int_equal(SCardEndTransaction(s.h, SCARD_LEAVE_CARD), SCARD_E_NO_SERVICE);
	DWORD len = 0;
	assert_int_equal(SCardStatus(s.h, nullptr, &len, nullptr, nullptr, nullptr, nullptr), SCARD_E_NO_SERVICE);
	assert_int_equal(SCardListReaders(s.ctx, nullptr, nullptr, &len), SCARD_E_NO_SERVICE);
	SCARD_READERSTATE rs = {};
	rs.szReader = reader_a;
	assert_int_equal(SCardGetStatusChange(s.ctx, 0, &rs, 1), SCARD_E_NO_SERVICE);
	assert_int_equal(SCardIsValidContext(s.ctx), SCARD_S_SUCCESS); // as pcsc-lite
	assert_int_equal(vpcsc_open_transactions(), 0);
	// release frees the context but (macOS model) the old handle keeps NO_SERVICE
	assert_int_equal(SCardReleaseContext(s.ctx), SCARD_E_NO_SERVICE);
	assert_int_equal(serial_rv(s.h), SCARD_E_NO_SERVICE);
	assert_int_equal(vpcsc_zombie_handles(), 1);
	assert_int_equal(vpcsc_live_contexts(), 0);
	// a new context works; the card stayed powered (no power cycle)
	SCARDHANDLE old = s.h;
	open_a(s);
	assert_int_not_equal(old, s.h);
	assert_int_equal(SCardBeginTransaction(s.h), SCARD_S_SUCCESS);
	assert_int_equal(serial_rv(s.h), SCARD_S_SUCCESS);
	const json j = stats();
	assert_int_equal(j["readers"][0]["power_offs"].get<int>(), 0);
	assert_true(j["readers"][0]["powered"].get<bool>());
}

void
test_fault_service_lost_pcsclite_release_gives_invalid_handle(void **state)
{
	State &s = st(state);
	assert_int_equal(reset_with(two_readers), 0);
	open_a(s);
	assert_int_equal(vpcsc_inject(R"({"type":"service_lost","handles_after_release":"invalid_handle"})"), 0);
	assert_int_equal(serial_rv(s.h), SCARD_E_NO_SERVICE);
	assert_int_equal(SCardReleaseContext(s.ctx), SCARD_E_NO_SERVICE);
	assert_int_equal(serial_rv(s.h), SCARD_E_INVALID_HANDLE);
	assert_int_equal(SCardReleaseContext(s.ctx), SCARD_E_INVALID_HANDLE);
}

void
test_fault_service_lost_with_other_code(void **state)
{
	State &s = st(state);
	assert_int_equal(reset_with(two_readers), 0);
	open_a(s);
	assert_int_equal(vpcsc_inject(R"({"type":"service_lost","code":"SCARD_E_SERVICE_STOPPED"})"), 0);
	assert_int_equal(serial_rv(s.h), SCARD_E_SERVICE_STOPPED);
	assert_int_equal(SCardBeginTransaction(s.h), SCARD_E_SERVICE_STOPPED);
	DWORD len = 0;
	assert_int_equal(SCardListReaders(s.ctx, nullptr, nullptr, &len), SCARD_E_SERVICE_STOPPED);
	assert_int_equal(SCardReleaseContext(s.ctx), SCARD_E_SERVICE_STOPPED);
	assert_int_equal(serial_rv(s.h), SCARD_E_SERVICE_STOPPED);
	assert_int_equal(vpcsc_inject(R"({"type":"service_lost","code":"SCARD_E_BOGUS"})"), -1);
	assert_non_null(std::strstr(vpcsc_last_error(), "action.code"));
}

void
test_fault_reader_rename_makes_old_handles_unavailable(void **state)
{
	State &s = st(state);
	assert_int_equal(reset_with(two_readers), 0);
	open_a(s);
	assert_int_equal(vpcsc_inject(R"({"type":"reader_rename","reader":0,"name":"Other Reader"})"), 0);
	assert_int_equal(serial_rv(s.h), SCARD_E_READER_UNAVAILABLE);
	SCARD_READERSTATE rs = {};
	rs.szReader = reader_a;
	assert_int_equal(SCardGetStatusChange(s.ctx, 0, &rs, 1), SCARD_S_SUCCESS);
	assert_true(rs.dwEventState & SCARD_STATE_UNKNOWN);
	char buf[64];
	DWORD len = sizeof buf;
	assert_int_equal(SCardListReaders(s.ctx, nullptr, buf, &len), SCARD_S_SUCCESS);
	assert_string_equal(buf, "Other Reader 00 00");
	assert_int_equal(SCardDisconnect(s.h, SCARD_LEAVE_CARD), SCARD_S_SUCCESS);
	SCARDHANDLE h;
	DWORD proto;
	assert_int_equal(SCardConnect(s.ctx, reader_a, SCARD_SHARE_SHARED, SCARD_PROTOCOL_T1, &h, &proto),
			 SCARD_E_UNKNOWN_READER);
	assert_int_equal(SCardConnect(s.ctx, "Other Reader 00 00", SCARD_SHARE_SHARED, SCARD_PROTOCOL_T1, &h, &proto),
			 SCARD_S_SUCCESS);
	assert_int_equal(serial_rv(h), SCARD_S_SUCCESS);
}

void
test_fault_service_lost_from_plan_between_operations(void **state)
{
	State &s = st(state);
	assert_int_equal(reset_with(with_plan(json::array(
				 {rule({{"call", "SCardBeginTransaction"}, {"nth", 2}}, {{"type", "service_lost"}})}))
					    .c_str()),
			 0);
	open_a(s);
	assert_int_equal(SCardBeginTransaction(s.h), SCARD_S_SUCCESS);
	assert_int_equal(serial_rv(s.h), SCARD_S_SUCCESS);
	assert_int_equal(SCardEndTransaction(s.h, SCARD_LEAVE_CARD), SCARD_S_SUCCESS);
	assert_int_equal(SCardBeginTransaction(s.h), SCARD_E_NO_SERVICE);
	assert_int_equal(SCardBeginTransaction(s.h), SCARD_E_NO_SERVICE); // from then on
}

void
test_fault_service_lost_wakes_blocked_waiter(void **state)
{
	State &s = st(state);
	assert_int_equal(reset_with(two_readers), 0);
	assert_int_equal(SCardEstablishContext(SCARD_SCOPE_USER, nullptr, nullptr, &s.ctx), SCARD_S_SUCCESS);
	s.worker = std::thread([&s] {
		SCARD_READERSTATE rs = {};
		rs.szReader = reader_b;
		rs.dwCurrentState = SCARD_STATE_EMPTY;
		s.worker_rv = SCardGetStatusChange(s.ctx, INFINITE, &rs, 1);
		s.worker_done = true;
	});
	std::this_thread::sleep_for(std::chrono::milliseconds(40));
	assert_false(s.worker_done.load());
	assert_int_equal(vpcsc_service_lost(), 0);
	s.worker.join();
	assert_int_equal(s.worker_rv.load(), SCARD_E_NO_SERVICE);
}

void
test_fault_service_down_for_ms_power_cycles_card(void **state)
{
	State &s = st(state);
	assert_int_equal(reset_with(two_readers), 0);
	open_a(s);
	SCARD_READERSTATE rs = {};
	rs.szReader = reader_a;
	assert_int_equal(vpcsc_card_remove(0), 0);
	assert_int_equal(vpcsc_card_insert(0, nullptr), 0); // counter now 2
	assert_int_equal(vpcsc_inject(R"({"type":"service_down","ms":600,"counter_after":0})"), 0);
	SCARDCONTEXT other;
	assert_int_equal(SCardEstablishContext(SCARD_SCOPE_USER, nullptr, nullptr, &other), SCARD_E_NO_SERVICE);
	assert_int_equal(serial_rv(s.h), SCARD_E_NO_SERVICE);
	json j = stats();
	assert_string_equal(j["service"].get<std::string>().c_str(), "down");
	assert_false(j["readers"][0]["powered"].get<bool>());
	// pcsc-lite (E1): release frees local state, then the handle is unknown
	assert_int_equal(SCardReleaseContext(s.ctx), SCARD_E_NO_SERVICE);
	assert_int_equal(serial_rv(s.h), SCARD_E_INVALID_HANDLE);
	std::this_thread::sleep_for(std::chrono::milliseconds(650));
	open_a(s);
	assert_int_equal(serial_rv(s.h), SCARD_S_SUCCESS);
	rs.dwCurrentState = SCARD_STATE_UNAWARE;
	assert_int_equal(SCardGetStatusChange(s.ctx, 0, &rs, 1), SCARD_S_SUCCESS);
	assert_int_equal(rs.dwEventState >> 16, 0); // a restarted service counts from 0
	j = stats();
	assert_int_equal(j["readers"][0]["power_offs"].get<int>(), 1);
	assert_int_equal(j["readers"][0]["power_ons"].get<int>(), 2);
}

void
test_fault_service_down_for_n_establish_calls(void **state)
{
	State &s = st(state);
	assert_int_equal(reset_with(with_plan(json::array({rule({{"call", "SCardConnect"}, {"nth", 1}},
								   {{"type", "service_down"}, {"calls", 2}})}))
					    .c_str()),
			 0);
	assert_int_equal(SCardEstablishContext(SCARD_SCOPE_USER, nullptr, nullptr, &s.ctx), SCARD_S_SUCCESS);
	DWORD proto;
	assert_int_equal(SCardConnect(s.ctx, reader_a, SCARD_SHARE_SHARED, SCARD_PROTOCOL_T1, &s.h, &proto),
			 SCARD_E_NO_SERVICE);
	SCARDCONTEXT c;
	assert_int_equal(SCardEstablishContext(SCARD_SCOPE_USER, nullptr, nullptr, &c), SCARD_E_NO_SERVICE);
	assert_int_equal(SCardEstablishContext(SCARD_SCOPE_USER, nullptr, nullptr, &c), SCARD_E_NO_SERVICE);
	assert_int_equal(SCardEstablishContext(SCARD_SCOPE_USER, nullptr, nullptr, &c), SCARD_S_SUCCESS);
	assert_int_equal(SCardConnect(c, reader_a, SCARD_SHARE_SHARED, SCARD_PROTOCOL_T1, &s.h, &proto), SCARD_S_SUCCESS);
	assert_int_equal(SCardReleaseContext(c), SCARD_S_SUCCESS);
}

void
test_fault_service_down_until_up(void **state)
{
	State &s = st(state);
	assert_int_equal(reset_with(two_readers), 0);
	assert_int_equal(vpcsc_service_down(0), 0);
	for (int i = 0; i < 3; i++)
		assert_int_equal(SCardEstablishContext(SCARD_SCOPE_USER, nullptr, nullptr, &s.ctx), SCARD_E_NO_SERVICE);
	assert_int_equal(vpcsc_service_up(), 0);
	open_a(s);
}

// ------------------------------------------------------------ card actions

void
test_fault_card_reset_from_plan(void **state)
{
	State &s = st(state);
	assert_int_equal(reset_with(with_plan(json::array({rule({{"call", "SCardTransmit"}, {"nth", 2}},
								   {{"type", "card_reset"}, {"reader", 0}})}))
					    .c_str()),
			 0);
	open_a(s);
	assert_int_equal(serial_rv(s.h), SCARD_S_SUCCESS);
	assert_int_equal(serial_rv(s.h), SCARD_W_RESET_CARD);
	assert_int_equal(serial_rv(s.h), SCARD_W_RESET_CARD); // until reconnected
	DWORD proto;
	assert_int_equal(SCardReconnect(s.h, SCARD_SHARE_SHARED, SCARD_PROTOCOL_T1, SCARD_LEAVE_CARD, &proto),
			 SCARD_S_SUCCESS);
	assert_int_equal(serial_rv(s.h), SCARD_S_SUCCESS);
	assert_int_equal(stats()["readers"][0]["resets"].get<int>(), 1);
}

// The macOS profile answers the same events with PCSC.framework's codes (issue 10 item 8);
// the linux profile (default) with pcsc-lite's.
void
test_fault_macos_profile_codes(void **state)
{
	State &s = st(state);
	struct Event {
		const char *action;
		LONG linux_rv, macos_rv;
	} events[] = {
		{R"({"type": "sleep_wake"})", SCARD_W_RESET_CARD, SCARD_W_UNPOWERED_CARD},
		{R"({"type": "usb_power_cycle"})", SCARD_W_RESET_CARD, SCARD_E_NOT_TRANSACTED},
	};
	for (const char *profile : {"linux", "macos"}) {
		const bool mac = std::string(profile) == "macos";
		json j = json::parse(two_readers);
		j["profile"] = profile;
		for (const Event &e : events) {
			assert_int_equal(reset_with(j.dump().c_str()), 0);
			open_a(s);
			assert_int_equal(serial_rv(s.h), SCARD_S_SUCCESS);
			assert_int_equal(vpcsc_inject(e.action), 0);
			assert_int_equal(SCardBeginTransaction(s.h), mac ? e.macos_rv : e.linux_rv);
			assert_int_equal(serial_rv(s.h), mac ? e.macos_rv : e.linux_rv); // until reconnected
			DWORD proto;
			assert_int_equal(SCardReconnect(s.h, SCARD_SHARE_SHARED, SCARD_PROTOCOL_T1, SCARD_LEAVE_CARD, &proto),
					 SCARD_S_SUCCESS);
			assert_int_equal(serial_rv(s.h), SCARD_S_SUCCESS);
			assert_int_equal(stats()["readers"][0]["power_offs"].get<int>(), 1);
		}
		// removed and put back: macOS says "reset", pcsc-lite "removed"; while empty: removed on both
		assert_int_equal(reset_with(j.dump().c_str()), 0);
		open_a(s);
		assert_int_equal(vpcsc_card_remove(0), 0);
		assert_int_equal(serial_rv(s.h), SCARD_W_REMOVED_CARD);
		assert_int_equal(vpcsc_card_insert(0, nullptr), 0);
		assert_int_equal(SCardBeginTransaction(s.h), mac ? SCARD_W_RESET_CARD : SCARD_W_REMOVED_CARD);
	}
	assert_int_equal(vpcsc_reset(R"({"readers": [{"name": "R"}], "profile": "windows"})"), -1);
	assert_non_null(std::strstr(vpcsc_last_error(), "profile"));
}

void
test_fault_card_remove_then_insert_from_plan(void **state)
{
	State &s = st(state);
	assert_int_equal(reset_with(with_plan(json::array(
				 {rule({{"call", "SCardTransmit"}, {"nth", 2}}, {{"type", "card_remove"}}),
				  rule({{"call", "SCardTransmit"}, {"nth", 4}}, {{"type", "card_insert"}})}))
					    .c_str()),
			 0);
	open_a(s);
	assert_int_equal(serial_rv(s.h), SCARD_S_SUCCESS);
	assert_int_equal(serial_rv(s.h), SCARD_W_REMOVED_CARD);
	SCARD_READERSTATE rs = {};
	rs.szReader = reader_a;
	assert_int_equal(SCardGetStatusChange(s.ctx, 0, &rs, 1), SCARD_S_SUCCESS);
	assert_true(rs.dwEventState & SCARD_STATE_EMPTY);
	assert_int_equal(serial_rv(s.h), SCARD_W_REMOVED_CARD);
	assert_int_equal(serial_rv(s.h), SCARD_W_REMOVED_CARD); // inserted now, but a new insertion
	assert_int_equal(SCardGetStatusChange(s.ctx, 0, &rs, 1), SCARD_S_SUCCESS);
	assert_true(rs.dwEventState & SCARD_STATE_PRESENT);
	DWORD proto;
	assert_int_equal(SCardReconnect(s.h, SCARD_SHARE_SHARED, SCARD_PROTOCOL_T1, SCARD_LEAVE_CARD, &proto),
			 SCARD_S_SUCCESS);
	assert_int_equal(serial_rv(s.h), SCARD_S_SUCCESS);
}

void
test_fault_card_swap_same_atr_other_serial(void **state)
{
	State &s = st(state);
	assert_int_equal(reset_with(two_readers), 0);
	open_a(s);
	LONG rv;
	const auto before = get_serial(s.h, &rv);
	assert_int_equal(before.size(), 4);
	assert_int_equal(before[0], 0x41);
	assert_int_equal(vpcsc_card_swap(0, "b"), 0);
	get_serial(s.h, &rv);
	assert_int_equal(rv, SCARD_W_REMOVED_CARD);
	DWORD proto;
	assert_int_equal(SCardReconnect(s.h, SCARD_SHARE_SHARED, SCARD_PROTOCOL_T1, SCARD_LEAVE_CARD, &proto),
			 SCARD_S_SUCCESS);
	BYTE atr[33];
	DWORD atr_len = sizeof atr, name_len = 0;
	assert_int_equal(SCardStatus(s.h, nullptr, &name_len, nullptr, nullptr, atr, &atr_len), SCARD_S_SUCCESS);
	assert_int_equal(atr_len, 12);
	assert_int_equal(atr[3], 'v');
	const auto after = get_serial(s.h, &rv);
	assert_int_equal(after.size(), 4);
	assert_int_equal(after[0], 0x42);
	assert_int_equal(vpcsc_card_swap(0, "nope"), -1);
	assert_non_null(std::strstr(vpcsc_last_error(), "nope"));
}

void
test_fault_delay(void **state)
{
	State &s = st(state);
	assert_int_equal(
		reset_with(with_plan(json::array({rule({{"call", "SCardTransmit"}, {"nth", 1}}, {{"type", "delay"}, {"ms", 80}})}))
				   .c_str()),
		0);
	open_a(s);
	const auto t0 = std::chrono::steady_clock::now();
	assert_int_equal(serial_rv(s.h), SCARD_S_SUCCESS);
	assert_true(std::chrono::steady_clock::now() - t0 >= std::chrono::milliseconds(80));
}

// ------------------------------------------------------------ replay, logs, stats

std::string
run_replay(const std::string &log, std::uint64_t seed)
{
	const json rules = json::array(
		{rule({{"call", "SCardTransmit"}, {"probability", 0.25}}, {{"type", "return"}, {"code", "SCARD_E_NOT_READY"}}),
		 rule({{"call", "SCardBeginTransaction"}, {"every", 4}}, {{"type", "return"}, {"code", "SCARD_E_NO_SERVICE"}, {"count", 2}}),
		 rule({{"ins", 0xEE}, {"limit", 2}}, {{"type", "card_reset"}}),
		 rule({{"probability", 0.05}}, {{"type", "delay"}, {"ms", 0}})});
	if (reset_with(with_plan(rules, seed, log).c_str()) != 0)
		return "";
	SCARDCONTEXT ctx;
	SCARDHANDLE h;
	DWORD proto;
	SCardEstablishContext(SCARD_SCOPE_USER, nullptr, nullptr, &ctx);
	SCardConnect(ctx, reader_a, SCARD_SHARE_SHARED, SCARD_PROTOCOL_T1, &h, &proto);
	const BYTE echo[] = {0x80, 0xEE, 0x00, 0x00, 0x01, 0x55};
	for (int i = 0; i < 30; i++) {
		SCardBeginTransaction(h);
		serial_rv(h);
		BYTE resp[8];
		DWORD len = sizeof resp;
		if (SCardTransmit(h, &t1_pci, echo, sizeof echo, nullptr, resp, &len) == SCARD_W_RESET_CARD)
			SCardReconnect(h, SCARD_SHARE_SHARED, SCARD_PROTOCOL_T1, SCARD_LEAVE_CARD, &proto);
		SCardEndTransaction(h, SCARD_LEAVE_CARD);
	}
	SCardReleaseContext(ctx);
	vpcsc_reset(two_readers); // closes the log
	return read_file(log);
}

void
test_fault_replay_same_plan_and_seed_same_event_log(void **state)
{
	State &s = st(state);
	const std::string a = run_replay(s.dir + "/a.jsonl", 11);
	const std::string b = run_replay(s.dir + "/b.jsonl", 11);
	const std::string c = run_replay(s.dir + "/c.jsonl", 12);
	assert_true(a.size() > 0);
	assert_string_equal(a.c_str(), b.c_str());
	assert_string_not_equal(a.c_str(), c.c_str());
	// one JSON object per line, with a sequence number
	std::istringstream lines(a);
	std::string line;
	int n = 0;
	while (std::getline(lines, line)) {
		const json j = json::parse(line);
		assert_int_equal(j["seq"].get<int>(), ++n);
		assert_true(j.contains("action") && j.contains("call") && j.contains("rule"));
	}
	assert_true(n > 5);
}

void
test_fault_runtime_injection_is_logged(void **state)
{
	State &s = st(state);
	const std::string log = s.dir + "/api.jsonl";
	json j = json::parse(two_readers);
	j["event_log"] = log;
	assert_int_equal(reset_with(j.dump().c_str()), 0);
	assert_int_equal(vpcsc_card_reset(0), 0);
	assert_int_equal(vpcsc_inject(R"({"type":"nonsense"})"), -1);
	assert_non_null(std::strstr(vpcsc_last_error(), "action.type"));
	assert_int_equal(vpcsc_card_reset(7), -1);
	vpcsc_reset(two_readers);
	const json line = json::parse(read_file(log));
	assert_int_equal(line["rule"].get<int>(), -1);
	assert_string_equal(line["action"]["type"].get<std::string>().c_str(), "card_reset");
}

void
test_fault_stats_file_written_at_exit(void **state)
{
	State &s = st(state);
	const std::string path = s.dir + "/stats.json";
	const pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		json j = json::parse(two_readers);
		j["stats_file"] = path;
		if (vpcsc_reset(j.dump().c_str()) != 0)
			_exit(2);
		SCARDCONTEXT ctx;
		SCARDHANDLE h;
		DWORD proto;
		SCardEstablishContext(SCARD_SCOPE_USER, nullptr, nullptr, &ctx);
		SCardConnect(ctx, reader_a, SCARD_SHARE_SHARED, SCARD_PROTOCOL_T1, &h, &proto);
		serial_rv(h);
		std::exit(0); // static destructors run: the provider dumps its stats
	}
	int status = 0;
	waitpid(pid, &status, 0);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	const json j = json::parse(read_file(path));
	assert_int_equal(j["calls"]["SCardConnect"].get<int>(), 1);
	assert_int_equal(j["apdus"].get<int>(), 1);
	assert_int_equal(j["live_contexts"].get<int>(), 1); // never released: a leak shows
	assert_int_equal(j["live_handles"].get<int>(), 1);
}

void
test_fault_exit_with_blocked_waiter_does_not_hang(void **)
{
	const pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		if (vpcsc_reset(two_readers) != 0)
			_exit(2);
		SCARDCONTEXT ctx;
		SCardEstablishContext(SCARD_SCOPE_USER, nullptr, nullptr, &ctx);
		std::thread([ctx] {
			SCARD_READERSTATE rs = {};
			rs.szReader = reader_b;
			rs.dwCurrentState = SCARD_STATE_EMPTY;
			SCardGetStatusChange(ctx, INFINITE, &rs, 1);
		}).detach();
		std::this_thread::sleep_for(std::chrono::milliseconds(30));
		std::exit(0); // the provider is torn down under a blocked waiter
	}
	int status = 0;
	pid_t done = 0;
	for (int i = 0; i < 500 && done == 0; i++) {
		std::this_thread::sleep_for(std::chrono::milliseconds(10));
		done = waitpid(pid, &status, WNOHANG);
	}
	if (done == 0) {
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
		fail_msg("process exit hung with a waiter blocked in SCardGetStatusChange");
	}
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

// ------------------------------------------------------------ bad scenarios

// Load a bad scenario with stderr captured; return (error, stderr text).
std::pair<std::string, std::string>
load_bad(const std::string &dir, const std::string &scenario)
{
	const std::string path = dir + "/stderr.txt";
	std::fflush(stderr);
	const int saved = dup(2);
	std::FILE *f = std::fopen(path.c_str(), "w");
	dup2(fileno(f), 2);
	const int rc = vpcsc_reset(scenario.c_str());
	const std::string error = vpcsc_last_error();
	SCARDCONTEXT ctx;
	const LONG rv1 = SCardEstablishContext(SCARD_SCOPE_USER, nullptr, nullptr, &ctx);
	const LONG rv2 = SCardEstablishContext(SCARD_SCOPE_USER, nullptr, nullptr, &ctx);
	std::fflush(stderr);
	dup2(saved, 2);
	close(saved);
	std::fclose(f);
	if (rc != -1 || rv1 != SCARD_F_INTERNAL_ERROR || rv2 != SCARD_F_INTERNAL_ERROR)
		return {"(accepted)", ""};
	return {error, read_file(path)};
}

void
test_fault_bad_scenario_names_the_field(void **state)
{
	State &s = st(state);
	struct Case {
		std::string scenario;
		const char *field;
	} cases[] = {
		{R"({"readers":[{"name":"R"}],"readerz":1})", "scenario.readerz: unknown field"},
		{"{\"readers\":[{\"name\":\"R\"}]", "scenario: not valid JSON"},
		{R"({"readers":[]})", "readers: must be a non-empty array"},
		{R"({"readers":[{"name":"R","card":"x"}]})", "readers[0].card: unknown card"},
		{R"({"readers":[{"name":"R"}],"cards":{"x":{"type":"scripted","atr":"3B8"}}})", "cards.x.atr"},
		{R"({"readers":[{"name":"R"}],"cards":{"x":{"type":"floppy"}}})", "cards.x.type"},
		{with_plan(json::array({rule({{"call", "SCardTransmit"}, {"nht", 2}}, {{"type", "service_lost"}})})),
		 "faults.rules[0].trigger.nht: unknown field"},
		{with_plan(json::array({rule({{"call", "SCardTransmitt"}, {"nth", 2}}, {{"type", "service_lost"}})})),
		 "faults.rules[0].trigger.call"},
		{with_plan(json::array({rule({{"nth", 0}}, {{"type", "service_lost"}})})), "faults.rules[0].trigger.nth"},
		{with_plan(json::array({rule({{"nth", 1}}, {{"type", "return"}, {"code", "SCARD_E_NOPE"}})})),
		 "faults.rules[0].action.code: unknown PC/SC code"},
		{with_plan(json::array({rule({{"nth", 1}}, {{"type", "card_swap"}, {"card", "zz"}})})),
		 "faults.rules[0].action.card"},
		{with_plan(json::array({rule({{"nth", 1}}, {{"type", "card_reset"}, {"reader", 5}})})),
		 "faults.rules[0].action.reader"},
		{with_plan(json::array({rule({{"nth", 1}, {"every", 2}}, {{"type", "service_lost"}})})),
		 "faults.rules[0].trigger: needs exactly one"},
		{with_plan(json::array({rule({{"probability", 1.5}}, {{"type", "service_lost"}})})),
		 "faults.rules[0].trigger.probability"},
		{with_plan(json::array({rule({{"nth", 1}}, {{"type", "reader_rename"}, {"reader", 9}, {"name", "x"}})})),
		 "faults.rules[0].action.reader"},
		{with_plan(json::array({rule({{"nth", 1}}, {{"type", "reader_rename"}})})),
		 "faults.rules[0].action.name"},
	};
	for (const Case &c : cases) {
		const auto result = load_bad(s.dir, c.scenario);
		if (result.first.find(c.field) == std::string::npos)
			fail_msg("scenario %s: error \"%s\" does not name \"%s\"", c.scenario.c_str(), result.first.c_str(),
				 c.field);
		// printed once, naming the field, although establish failed twice
		const std::string &err = result.second;
		assert_int_equal(std::count(err.begin(), err.end(), '\n'), 1);
		assert_non_null(std::strstr(err.c_str(), c.field));
	}
	// and a good scenario recovers the provider
	assert_int_equal(reset_with(two_readers), 0);
	open_a(s);
}

} // namespace

int
main()
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_fault_return_code_once_on_nth_call, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fault_return_code_for_n_calls, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fault_every_kth_call, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fault_after_ms, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fault_probability_is_seeded, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fault_ins_trigger_matches_apdu, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fault_service_lost_kills_old_context_and_handles, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fault_service_lost_pcsclite_release_gives_invalid_handle, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_fault_service_lost_with_other_code, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fault_reader_rename_makes_old_handles_unavailable, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fault_service_lost_from_plan_between_operations, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fault_service_lost_wakes_blocked_waiter, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fault_service_down_for_ms_power_cycles_card, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fault_service_down_for_n_establish_calls, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fault_service_down_until_up, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fault_card_reset_from_plan, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fault_card_remove_then_insert_from_plan, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fault_card_swap_same_atr_other_serial, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fault_delay, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fault_replay_same_plan_and_seed_same_event_log, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fault_runtime_injection_is_logged, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fault_stats_file_written_at_exit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fault_exit_with_blocked_waiter_does_not_hang, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fault_bad_scenario_names_the_field, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fault_macos_profile_codes, setup, teardown),
	};
	return cmocka_run_group_tests(tests, nullptr, nullptr);
}
