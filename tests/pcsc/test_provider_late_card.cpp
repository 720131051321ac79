// SPDX-License-Identifier: LGPL-2.1-or-later
// "Card appears late" after a service restart: a restarted pcscd lists its
// readers at once but reports a card only after polling it (~0.4 s). With
// vpcsc_service_up_late(ms) or the scenario's "restart": {"card_delay_ms"}
// every card is out of its reader for that long after the service is back
// (SCardConnect: NO_SMARTCARD, GetStatusChange: EMPTY, Status: ABSENT), then
// inserted (event counter + 1) and powered on by the next connect.
#include <atomic>
#include <chrono>
#include <string>
#include <thread>

#include "common.hpp"

using namespace vpcsc_test;

namespace {

using Clock = std::chrono::steady_clock;

long
ms_since(Clock::time_point t0)
{
	return static_cast<long>(std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0).count());
}

struct State {
	SCARDCONTEXT ctx = 0;
	std::thread waiter;
};

int
setup(void **state)
{
	if (reset_with(two_readers) != 0)
		return -1;
	*state = new State;
	return 0;
}

int
teardown(void **state)
{
	auto *s = static_cast<State *>(*state);
	if (s->waiter.joinable()) {
		SCardCancel(s->ctx);
		s->waiter.join();
	}
	if (s->ctx)
		SCardReleaseContext(s->ctx);
	delete s;
	return 0;
}

State &
st(void **state)
{
	return *static_cast<State *>(*state);
}

// Reader A's state as GetStatusChange reports it to an UNAWARE caller.
DWORD
reader_a_state(SCARDCONTEXT ctx)
{
	SCARD_READERSTATE rs = {};
	rs.szReader = reader_a;
	rs.dwCurrentState = SCARD_STATE_UNAWARE;
	assert_int_equal(SCardGetStatusChange(ctx, 0, &rs, 1), SCARD_S_SUCCESS);
	return rs.dwEventState;
}

long
reader_a_stat(const char *key)
{
	char *j = vpcsc_stats_json();
	assert_non_null(j);
	// readers[0] comes first in the document: find its key after "readers"
	const char *readers = std::strstr(j, "\"readers\"");
	assert_non_null(readers);
	const std::string needle = std::string("\"") + key + "\": ";
	const char *p = std::strstr(readers, needle.c_str());
	assert_non_null(p);
	const long v = std::strtol(p + needle.size(), nullptr, 10);
	vpcsc_free(j);
	return v;
}

SCARDHANDLE
connect_a(SCARDCONTEXT ctx, LONG expect)
{
	SCARDHANDLE h = 0;
	DWORD proto = 0;
	assert_int_equal(SCardConnect(ctx, reader_a, SCARD_SHARE_SHARED, SCARD_PROTOCOL_T1, &h, &proto), expect);
	return h;
}

// Restart the service with `delay` ms; returns a new context on it.
SCARDCONTEXT
restart(SCARDCONTEXT old, unsigned long delay)
{
	assert_int_equal(vpcsc_service_down(0), 0);
	SCARDCONTEXT ctx = 0;
	assert_int_equal(SCardEstablishContext(SCARD_SCOPE_USER, nullptr, nullptr, &ctx), SCARD_E_NO_SERVICE);
	assert_int_equal(vpcsc_service_up_late(delay), 0);
	SCardReleaseContext(old);
	assert_int_equal(SCardEstablishContext(SCARD_SCOPE_USER, nullptr, nullptr, &ctx), SCARD_S_SUCCESS);
	return ctx;
}

void
test_late_card_absent_then_present_power_cycled(void **state)
{
	State &s = st(state);
	assert_int_equal(SCardEstablishContext(SCARD_SCOPE_USER, nullptr, nullptr, &s.ctx), SCARD_S_SUCCESS);
	SCARDHANDLE h = connect_a(s.ctx, SCARD_S_SUCCESS);
	LONG rv;
	assert_int_equal(get_serial(h, &rv).size(), 4);
	assert_int_equal(reader_a_stat("power_ons"), 1);
	const Clock::time_point t0 = Clock::now();
	s.ctx = restart(s.ctx, 400);
	// the reader is listed at once...
	DWORD len = 0;
	assert_int_equal(SCardListReaders(s.ctx, nullptr, nullptr, &len), SCARD_S_SUCCESS);
	assert_int_equal(len, std::strlen(reader_a) + std::strlen(reader_b) + 3);
	// ...but empty: no connection, EMPTY with the restarted counter, DIRECT sees no card
	connect_a(s.ctx, SCARD_E_NO_SMARTCARD);
	DWORD ev = reader_a_state(s.ctx);
	assert_true(ev & SCARD_STATE_EMPTY);
	assert_false(ev & SCARD_STATE_PRESENT);
	assert_int_equal(ev >> 16, 0);
	SCARDHANDLE d = 0;
	DWORD proto = 99;
	assert_int_equal(SCardConnect(s.ctx, reader_a, SCARD_SHARE_DIRECT, SCARD_PROTOCOL_T1, &d, &proto),
			 SCARD_S_SUCCESS);
	assert_int_equal(proto, SCARD_PROTOCOL_UNDEFINED);
	DWORD cstate = 0, cproto = 0, atr_len = 0;
	assert_int_equal(SCardStatus(d, nullptr, nullptr, &cstate, &cproto, nullptr, &atr_len), SCARD_S_SUCCESS);
	assert_int_equal(cstate, SCARD_ABSENT);
	assert_int_equal(atr_len, 0);
	// a waiter wakes up by itself when the card arrives (not at its timeout)
	SCARD_READERSTATE rs = {};
	rs.szReader = reader_a;
	rs.dwCurrentState = ev & ~static_cast<DWORD>(SCARD_STATE_CHANGED);
	assert_int_equal(SCardGetStatusChange(s.ctx, 5000, &rs, 1), SCARD_S_SUCCESS);
	const long waited = ms_since(t0);
	assert_true(waited >= 390);
	assert_true(waited < 3000);
	assert_true(rs.dwEventState & SCARD_STATE_PRESENT);
	assert_true(rs.dwEventState & SCARD_STATE_CHANGED);
	assert_int_equal(rs.dwEventState >> 16, 1); // the insertion counts once
	assert_int_equal(rs.cbAtr, 12);
	// the card comes back power-cycled: powered off by the restart, on by the next connect
	assert_int_equal(reader_a_stat("power_offs"), 1);
	h = connect_a(s.ctx, SCARD_S_SUCCESS);
	assert_int_equal(reader_a_stat("power_ons"), 2);
	assert_int_equal(get_serial(h, &rv).size(), 4);
	assert_int_equal(rv, SCARD_S_SUCCESS);
	// reader B had no card and still has none
	SCARD_READERSTATE rb = {};
	rb.szReader = reader_b;
	rb.dwCurrentState = SCARD_STATE_UNAWARE;
	assert_int_equal(SCardGetStatusChange(s.ctx, 0, &rb, 1), SCARD_S_SUCCESS);
	assert_true(rb.dwEventState & SCARD_STATE_EMPTY);
}

void
test_late_card_infinite_waiter_wakes_on_arrival(void **state)
{
	State &s = st(state);
	assert_int_equal(SCardEstablishContext(SCARD_SCOPE_USER, nullptr, nullptr, &s.ctx), SCARD_S_SUCCESS);
	s.ctx = restart(s.ctx, 300);
	std::atomic<LONG> rv{-1};
	std::atomic<DWORD> event{0};
	const Clock::time_point t0 = Clock::now();
	s.waiter = std::thread([&] {
		SCARD_READERSTATE rs = {};
		rs.szReader = reader_a;
		rs.dwCurrentState = SCARD_STATE_EMPTY;
		rv = SCardGetStatusChange(s.ctx, INFINITE, &rs, 1);
		event = rs.dwEventState;
	});
	// nobody else calls the provider meanwhile; give up (and fail) after 3 s
	while (rv == -1 && ms_since(t0) < 3000)
		std::this_thread::sleep_for(std::chrono::milliseconds(10));
	if (rv == -1)
		SCardCancel(s.ctx);
	s.waiter.join();
	assert_int_equal(rv, SCARD_S_SUCCESS);
	assert_true(ms_since(t0) >= 250);
	assert_true(event & SCARD_STATE_PRESENT);
}

void
test_late_card_zero_delay_and_service_up_are_unchanged(void **state)
{
	State &s = st(state);
	assert_int_equal(SCardEstablishContext(SCARD_SCOPE_USER, nullptr, nullptr, &s.ctx), SCARD_S_SUCCESS);
	s.ctx = restart(s.ctx, 0);
	SCARDHANDLE h = connect_a(s.ctx, SCARD_S_SUCCESS);
	assert_int_equal(reader_a_state(s.ctx) >> 16, 0);
	// the plain vpcsc_service_up() without a scenario default: the card is there at once
	assert_int_equal(vpcsc_service_down(0), 0);
	assert_int_equal(vpcsc_service_up(), 0);
	SCardReleaseContext(s.ctx);
	assert_int_equal(SCardEstablishContext(SCARD_SCOPE_USER, nullptr, nullptr, &s.ctx), SCARD_S_SUCCESS);
	h = connect_a(s.ctx, SCARD_S_SUCCESS);
	// while the service is up, service_up_late changes nothing
	assert_int_equal(vpcsc_service_up_late(500), 0);
	LONG rv;
	assert_int_equal(get_serial(h, &rv).size(), 4);
	assert_true(reader_a_state(s.ctx) & SCARD_STATE_PRESENT);
	// bounds
	assert_int_equal(vpcsc_service_up_late(3600001), -1);
	assert_non_null(std::strstr(vpcsc_last_error(), "card_delay_ms: must be at most 3600000"));
}

void
test_late_card_scenario_default_applies_to_plan_restarts(void **state)
{
	State &s = st(state);
	// a pcscd restart at the first BeginTransaction, back at the next Establish; cards 300 ms late
	assert_int_equal(reset_with(R"({"readers": [{"name": "Reader A", "card": "a"}, {"name": "Reader B"}],
	  "cards": {"a": {"type": "scripted", "responses": [{"command": "00CA0080*", "response": "41 41 90 00"}]}},
	  "restart": {"card_delay_ms": 300},
	  "faults": {"rules": [{"trigger": {"call": "SCardBeginTransaction", "nth": 1},
	                        "action": {"type": "service_down", "calls": 1}}]}})"),
			 0);
	assert_int_equal(SCardEstablishContext(SCARD_SCOPE_USER, nullptr, nullptr, &s.ctx), SCARD_S_SUCCESS);
	SCARDHANDLE h = connect_a(s.ctx, SCARD_S_SUCCESS);
	assert_int_equal(SCardBeginTransaction(h), SCARD_E_NO_SERVICE);
	SCardReleaseContext(s.ctx);
	assert_int_equal(SCardEstablishContext(SCARD_SCOPE_USER, nullptr, nullptr, &s.ctx), SCARD_E_NO_SERVICE);
	const Clock::time_point t0 = Clock::now();
	assert_int_equal(SCardEstablishContext(SCARD_SCOPE_USER, nullptr, nullptr, &s.ctx), SCARD_S_SUCCESS);
	connect_a(s.ctx, SCARD_E_NO_SMARTCARD);
	assert_true(reader_a_state(s.ctx) & SCARD_STATE_EMPTY);
	// polling (every call looks at the clock) finds the card after the delay
	while (ms_since(t0) < 3000 && !(reader_a_state(s.ctx) & SCARD_STATE_PRESENT))
		std::this_thread::sleep_for(std::chrono::milliseconds(20));
	assert_true(ms_since(t0) >= 250);
	assert_true(reader_a_state(s.ctx) & SCARD_STATE_PRESENT);
	assert_int_equal(reader_a_state(s.ctx) >> 16, 1);
	h = connect_a(s.ctx, SCARD_S_SUCCESS);
	assert_int_equal(SCardBeginTransaction(h), SCARD_S_SUCCESS);
	// vpcsc_service_up() uses the scenario's default too
	assert_int_equal(vpcsc_service_down(0), 0);
	assert_int_equal(vpcsc_service_up(), 0);
	SCardReleaseContext(s.ctx);
	assert_int_equal(SCardEstablishContext(SCARD_SCOPE_USER, nullptr, nullptr, &s.ctx), SCARD_S_SUCCESS);
	connect_a(s.ctx, SCARD_E_NO_SMARTCARD);
}

void
test_late_card_removed_before_arrival_never_arrives(void **state)
{
	State &s = st(state);
	assert_int_equal(SCardEstablishContext(SCARD_SCOPE_USER, nullptr, nullptr, &s.ctx), SCARD_S_SUCCESS);
	s.ctx = restart(s.ctx, 200);
	assert_int_equal(vpcsc_card_remove(0), 0); // pulled before the service noticed it
	SCARD_READERSTATE rs = {};
	rs.szReader = reader_a;
	rs.dwCurrentState = SCARD_STATE_EMPTY;
	assert_int_equal(SCardGetStatusChange(s.ctx, 400, &rs, 1), SCARD_E_TIMEOUT);
	connect_a(s.ctx, SCARD_E_NO_SMARTCARD);
	// the removed card is the one card_insert puts back; it is there at once
	assert_int_equal(vpcsc_card_insert(0, nullptr), 0);
	connect_a(s.ctx, SCARD_S_SUCCESS);
	// a card pending in reader A cannot go into reader B
	s.ctx = restart(s.ctx, 2000);
	assert_int_equal(vpcsc_card_insert(1, "a"), -1);
	assert_non_null(std::strstr(vpcsc_last_error(), "already in reader 0"));
	// another card inserted into reader A replaces the pending one
	assert_int_equal(vpcsc_card_insert(0, "b"), 0);
	SCARDHANDLE h = connect_a(s.ctx, SCARD_S_SUCCESS);
	LONG rv;
	const std::vector<std::uint8_t> serial = get_serial(h, &rv);
	assert_int_equal(serial.size(), 4);
	assert_int_equal(serial[0], 0x42);
}

void
test_late_card_scenario_validation(void **)
{
	const struct {
		const char *restart;
		const char *error;
	} cases[] = {
		{R"({"card_delay_ms": -1})", "restart.card_delay_ms: must be a non-negative integer"},
		{R"({"card_delay_ms": "400"})", "restart.card_delay_ms: must be a non-negative integer"},
		{R"({"card_delay_ms": 3600001})", "restart.card_delay_ms: must be at most 3600000"},
		{R"({"card_delay": 400})", "restart.card_delay: unknown field"},
		{R"(400)", "restart: must be an object"},
	};
	for (const auto &c : cases) {
		const std::string scenario = std::string(R"({"readers": [{"name": "R"}], "restart": )") + c.restart + "}";
		assert_int_equal(vpcsc_reset(scenario.c_str()), -1);
		if (std::strstr(vpcsc_last_error(), c.error) == nullptr)
			print_error("restart %s: \"%s\", want \"%s\"\n", c.restart, vpcsc_last_error(), c.error);
		assert_non_null(std::strstr(vpcsc_last_error(), c.error));
	}
	assert_int_equal(reset_with(R"({"readers": [{"name": "R"}], "restart": {"card_delay_ms": 0}})"), 0);
}

} // namespace

int
main()
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_late_card_absent_then_present_power_cycled, setup, teardown),
		cmocka_unit_test_setup_teardown(test_late_card_infinite_waiter_wakes_on_arrival, setup, teardown),
		cmocka_unit_test_setup_teardown(test_late_card_zero_delay_and_service_up_are_unchanged, setup, teardown),
		cmocka_unit_test_setup_teardown(test_late_card_scenario_default_applies_to_plan_restarts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_late_card_removed_before_arrival_never_arrives, setup, teardown),
		cmocka_unit_test_setup_teardown(test_late_card_scenario_validation, setup, teardown),
	};
	return cmocka_run_group_tests(tests, nullptr, nullptr);
}
