// SPDX-License-Identifier: LGPL-2.1-or-later
// PC/SC semantics of libvpcsc: handle ownership, sharing, transactions,
// ListReaders, Status, GetStatusChange, Cancel, threads.
#include <atomic>
#include <chrono>
#include <string>
#include <thread>

#include "common.hpp"

using namespace vpcsc_test;

namespace {

struct State {
	SCARDCONTEXT ctx = 0;
	SCARDCONTEXT ctx2 = 0;
	std::thread worker;
	std::atomic<LONG> worker_rv{0};
	std::atomic<bool> worker_done{false};
};

int
setup(void **state)
{
	if (reset_with(two_readers) != 0)
		return -1;
	auto *s = new State;
	if (SCardEstablishContext(SCARD_SCOPE_USER, nullptr, nullptr, &s->ctx) != SCARD_S_SUCCESS ||
	    SCardEstablishContext(SCARD_SCOPE_USER, nullptr, nullptr, &s->ctx2) != SCARD_S_SUCCESS) {
		delete s;
		return -1;
	}
	*state = s;
	return 0;
}

int
teardown(void **state)
{
	auto *s = static_cast<State *>(*state);
	if (s->worker.joinable()) {
		SCardCancel(s->ctx);
		SCardCancel(s->ctx2);
		vpcsc_service_lost(); // also ends a blocked BeginTransaction
		s->worker.join();
	}
	SCardReleaseContext(s->ctx);
	SCardReleaseContext(s->ctx2);
	delete s;
	return 0;
}

State &
st(void **state)
{
	return *static_cast<State *>(*state);
}

SCARDHANDLE
connect_a(SCARDCONTEXT ctx, DWORD share = SCARD_SHARE_SHARED, LONG expect = SCARD_S_SUCCESS)
{
	SCARDHANDLE h = 0;
	DWORD proto = 0;
	assert_int_equal(SCardConnect(ctx, reader_a, share, SCARD_PROTOCOL_T0 | SCARD_PROTOCOL_T1, &h, &proto), expect);
	if (expect == SCARD_S_SUCCESS)
		assert_int_equal(proto, SCARD_PROTOCOL_T1);
	return h;
}

// Poll (briefly) until cond() holds; false on timeout.
template <typename F>
bool
eventually(F cond)
{
	for (int i = 0; i < 400; i++) {
		if (cond())
			return true;
		std::this_thread::sleep_for(std::chrono::milliseconds(5));
	}
	return false;
}

void
test_provider_release_context_invalidates_its_handles(void **state)
{
	State &s = st(state);
	SCARDHANDLE h = connect_a(s.ctx);
	SCARDHANDLE other = connect_a(s.ctx2);
	assert_int_equal(vpcsc_live_handles(), 2);
	assert_int_equal(SCardReleaseContext(s.ctx), SCARD_S_SUCCESS);
	s.ctx = 0;
	LONG rv;
	get_serial(h, &rv);
	assert_int_equal(rv, SCARD_E_INVALID_HANDLE);
	assert_int_equal(SCardDisconnect(h, SCARD_LEAVE_CARD), SCARD_E_INVALID_HANDLE);
	// the other context's handle is untouched
	assert_int_equal(get_serial(other, &rv).size(), 4);
	assert_int_equal(rv, SCARD_S_SUCCESS);
	assert_int_equal(vpcsc_live_handles(), 1);
	assert_int_equal(vpcsc_live_contexts(), 1);
	assert_int_equal(SCardIsValidContext(0x7fff), SCARD_E_INVALID_HANDLE);
}

void
test_provider_share_modes_conflict(void **state)
{
	State &s = st(state);
	SCARDHANDLE ex = connect_a(s.ctx, SCARD_SHARE_EXCLUSIVE);
	connect_a(s.ctx2, SCARD_SHARE_SHARED, SCARD_E_SHARING_VIOLATION);
	assert_int_equal(SCardDisconnect(ex, SCARD_LEAVE_CARD), SCARD_S_SUCCESS);
	SCARDHANDLE sh = connect_a(s.ctx2, SCARD_SHARE_SHARED);
	connect_a(s.ctx, SCARD_SHARE_EXCLUSIVE, SCARD_E_SHARING_VIOLATION);
	SCARDHANDLE sh2 = connect_a(s.ctx, SCARD_SHARE_SHARED);
	assert_int_not_equal(sh, sh2);
	// no card: only DIRECT connects
	SCARDHANDLE h = 0;
	DWORD proto = 99;
	assert_int_equal(SCardConnect(s.ctx, reader_b, SCARD_SHARE_SHARED, SCARD_PROTOCOL_T1, &h, &proto),
			 SCARD_E_NO_SMARTCARD);
	assert_int_equal(SCardConnect(s.ctx, reader_b, SCARD_SHARE_DIRECT, 0, &h, &proto), SCARD_S_SUCCESS);
	assert_int_equal(proto, SCARD_PROTOCOL_UNDEFINED);
	assert_int_equal(SCardConnect(s.ctx, "No Such Reader 00 00", SCARD_SHARE_SHARED, SCARD_PROTOCOL_T1, &h, &proto),
			 SCARD_E_UNKNOWN_READER);
	assert_int_equal(SCardConnect(s.ctx, reader_a, SCARD_SHARE_SHARED, SCARD_PROTOCOL_T0, &h, &proto),
			 SCARD_E_PROTO_MISMATCH);
}

void
test_provider_transaction_blocks_other_handle_until_end(void **state)
{
	State &s = st(state);
	SCARDHANDLE h1 = connect_a(s.ctx);
	SCARDHANDLE h2 = connect_a(s.ctx2);
	assert_int_equal(SCardBeginTransaction(h1), SCARD_S_SUCCESS);
	assert_int_equal(SCardBeginTransaction(h1), SCARD_S_SUCCESS); // nests
	assert_int_equal(vpcsc_open_transactions(), 1);
	LONG rv;
	get_serial(h2, &rv);
	assert_int_equal(rv, SCARD_E_SHARING_VIOLATION);
	DWORD name_len = 0;
	assert_int_equal(SCardStatus(h2, nullptr, &name_len, nullptr, nullptr, nullptr, nullptr),
			 SCARD_E_SHARING_VIOLATION);
	assert_int_equal(SCardStatus(h1, nullptr, &name_len, nullptr, nullptr, nullptr, nullptr), SCARD_S_SUCCESS);
	s.worker = std::thread([&s, h2] {
		s.worker_rv = SCardBeginTransaction(h2);
		s.worker_done = true;
	});
	std::this_thread::sleep_for(std::chrono::milliseconds(50));
	assert_false(s.worker_done.load());
	assert_int_equal(SCardEndTransaction(h1, SCARD_LEAVE_CARD), SCARD_S_SUCCESS);
	std::this_thread::sleep_for(std::chrono::milliseconds(30));
	assert_false(s.worker_done.load()); // still nested once
	assert_int_equal(SCardEndTransaction(h1, SCARD_LEAVE_CARD), SCARD_S_SUCCESS);
	assert_true(eventually([&] { return s.worker_done.load(); }));
	s.worker.join();
	assert_int_equal(s.worker_rv.load(), SCARD_S_SUCCESS);
	assert_int_equal(SCardEndTransaction(h1, SCARD_LEAVE_CARD), SCARD_E_NOT_TRANSACTED);
	assert_int_equal(SCardEndTransaction(h2, SCARD_LEAVE_CARD), SCARD_S_SUCCESS);
	assert_int_equal(vpcsc_open_transactions(), 0);
}

void
test_provider_transaction_wait_does_not_hold_the_context(void **state)
{
	State &s = st(state);
	// two handles of ONE context: the waiter must not lock out the owner
	SCARDHANDLE h1 = connect_a(s.ctx);
	SCARDHANDLE h2 = connect_a(s.ctx);
	assert_int_equal(SCardBeginTransaction(h1), SCARD_S_SUCCESS);
	s.worker = std::thread([&s, h2] {
		s.worker_rv = SCardBeginTransaction(h2);
		s.worker_done = true;
	});
	std::this_thread::sleep_for(std::chrono::milliseconds(30));
	assert_false(s.worker_done.load());
	LONG rv;
	get_serial(h1, &rv);
	assert_int_equal(rv, SCARD_S_SUCCESS);
	assert_int_equal(SCardEndTransaction(h1, SCARD_LEAVE_CARD), SCARD_S_SUCCESS);
	assert_true(eventually([&] { return s.worker_done.load(); }));
	s.worker.join();
	assert_int_equal(s.worker_rv.load(), SCARD_S_SUCCESS);
}

void
test_provider_disconnect_ends_transaction(void **state)
{
	State &s = st(state);
	SCARDHANDLE h1 = connect_a(s.ctx);
	SCARDHANDLE h2 = connect_a(s.ctx2);
	assert_int_equal(SCardBeginTransaction(h1), SCARD_S_SUCCESS);
	assert_int_equal(SCardDisconnect(h1, SCARD_LEAVE_CARD), SCARD_S_SUCCESS);
	assert_int_equal(SCardBeginTransaction(h2), SCARD_S_SUCCESS);
	assert_int_equal(SCardEndTransaction(h2, SCARD_LEAVE_CARD), SCARD_S_SUCCESS);
}

void
test_provider_reset_by_other_handle_reports_reset_once_reconnected(void **state)
{
	State &s = st(state);
	SCARDHANDLE h1 = connect_a(s.ctx);
	SCARDHANDLE h2 = connect_a(s.ctx2);
	DWORD proto = 0;
	assert_int_equal(SCardReconnect(h1, SCARD_SHARE_SHARED, SCARD_PROTOCOL_T1, SCARD_RESET_CARD, &proto),
			 SCARD_S_SUCCESS);
	LONG rv;
	get_serial(h1, &rv);
	assert_int_equal(rv, SCARD_S_SUCCESS);
	get_serial(h2, &rv);
	assert_int_equal(rv, SCARD_W_RESET_CARD);
	assert_int_equal(SCardBeginTransaction(h2), SCARD_W_RESET_CARD);
	DWORD name_len = 0;
	assert_int_equal(SCardStatus(h2, nullptr, &name_len, nullptr, nullptr, nullptr, nullptr), SCARD_W_RESET_CARD);
	assert_int_equal(SCardReconnect(h2, SCARD_SHARE_SHARED, SCARD_PROTOCOL_T1, SCARD_LEAVE_CARD, &proto),
			 SCARD_S_SUCCESS);
	get_serial(h2, &rv);
	assert_int_equal(rv, SCARD_S_SUCCESS);
}

void
test_provider_list_readers_size_query_protocol(void **state)
{
	State &s = st(state);
	const char expected[] = "Reader A 00 00\0Reader B 01 00\0";
	DWORD len = 0;
	assert_int_equal(SCardListReaders(s.ctx, nullptr, nullptr, &len), SCARD_S_SUCCESS);
	assert_int_equal(len, sizeof expected);
	char small[8];
	DWORD small_len = sizeof small;
	assert_int_equal(SCardListReaders(s.ctx, nullptr, small, &small_len), SCARD_E_INSUFFICIENT_BUFFER);
	assert_int_equal(small_len, sizeof expected);
	char buf[64];
	len = sizeof buf;
	assert_int_equal(SCardListReaders(s.ctx, nullptr, buf, &len), SCARD_S_SUCCESS);
	assert_int_equal(len, sizeof expected);
	assert_memory_equal(buf, expected, sizeof expected);
	char *auto_buf = nullptr;
	len = SCARD_AUTOALLOCATE;
	assert_int_equal(SCardListReaders(s.ctx, nullptr, reinterpret_cast<char *>(&auto_buf), &len), SCARD_S_SUCCESS);
	assert_non_null(auto_buf);
	assert_memory_equal(auto_buf, expected, sizeof expected);
	assert_int_equal(SCardFreeMemory(s.ctx, auto_buf), SCARD_S_SUCCESS);
	assert_int_equal(SCardListReaders(s.ctx, nullptr, nullptr, nullptr), SCARD_E_INVALID_PARAMETER);
	assert_int_equal(SCardListReaders(0x1234, nullptr, nullptr, &len), SCARD_E_INVALID_HANDLE);
}

void
test_provider_status_reports_name_atr_and_size_query(void **state)
{
	State &s = st(state);
	SCARDHANDLE h = connect_a(s.ctx);
	DWORD name_len = 0, card_state = 0, proto = 0, atr_len = 0;
	// NULL name: size query, as OpenSC's refresh_attributes does
	assert_int_equal(SCardStatus(h, nullptr, &name_len, &card_state, &proto, nullptr, &atr_len), SCARD_S_SUCCESS);
	assert_int_equal(name_len, std::strlen(reader_a) + 1);
	assert_int_equal(atr_len, 12);
	assert_true(card_state & SCARD_PRESENT);
	assert_true(card_state & SCARD_POWERED);
	assert_int_equal(proto, SCARD_PROTOCOL_T1);
	char name[64];
	BYTE atr[33];
	name_len = sizeof name;
	atr_len = sizeof atr;
	assert_int_equal(SCardStatus(h, name, &name_len, &card_state, &proto, atr, &atr_len), SCARD_S_SUCCESS);
	assert_string_equal(name, reader_a);
	const BYTE expected_atr[] = {0x3B, 0x88, 0x01, 'v', 'p', 'c', 's', 'c', '-', 's', 'c', 0xC1};
	assert_memory_equal(atr, expected_atr, sizeof expected_atr);
	BYTE tiny[2];
	atr_len = sizeof tiny;
	assert_int_equal(SCardStatus(h, nullptr, &name_len, nullptr, nullptr, tiny, &atr_len),
			 SCARD_E_INSUFFICIENT_BUFFER);
}

void
test_provider_status_change_timeout_counter_and_atr(void **state)
{
	State &s = st(state);
	SCARD_READERSTATE rs[4] = {};
	rs[0].szReader = reader_a;
	rs[1].szReader = reader_b;
	rs[2].szReader = "Not There 00 00";
	rs[3].szReader = "\\\\?PnP?\\Notification";
	for (auto &r : rs)
		r.dwCurrentState = SCARD_STATE_UNAWARE;
	assert_int_equal(SCardGetStatusChange(s.ctx, 0, rs, 4), SCARD_S_SUCCESS);
	assert_true(rs[0].dwEventState & SCARD_STATE_PRESENT);
	assert_true(rs[0].dwEventState & SCARD_STATE_CHANGED);
	assert_int_equal(rs[0].cbAtr, 12);
	assert_int_equal(rs[0].rgbAtr[0], 0x3B);
	assert_true(rs[1].dwEventState & SCARD_STATE_EMPTY);
	assert_true(rs[2].dwEventState & SCARD_STATE_UNKNOWN);
	assert_false(rs[3].dwEventState & SCARD_STATE_CHANGED);
	// nothing changed: timeout 0 returns TIMEOUT at once
	for (auto &r : rs)
		r.dwCurrentState = r.dwEventState & ~SCARD_STATE_CHANGED;
	assert_int_equal(SCardGetStatusChange(s.ctx, 0, rs, 4), SCARD_E_TIMEOUT);
	const auto t0 = std::chrono::steady_clock::now();
	assert_int_equal(SCardGetStatusChange(s.ctx, 60, rs, 4), SCARD_E_TIMEOUT);
	assert_true(std::chrono::steady_clock::now() - t0 >= std::chrono::milliseconds(50));
	// removal and reinsertion: two events in the counter
	const DWORD counter = rs[0].dwEventState >> 16;
	assert_int_equal(vpcsc_card_remove(0), 0);
	assert_int_equal(SCardGetStatusChange(s.ctx, 0, rs, 1), SCARD_S_SUCCESS);
	assert_true(rs[0].dwEventState & SCARD_STATE_EMPTY);
	assert_int_equal(rs[0].dwEventState >> 16, counter + 1);
	assert_int_equal(vpcsc_card_insert(0, nullptr), 0);
	rs[0].dwCurrentState = rs[0].dwEventState & ~SCARD_STATE_CHANGED;
	assert_int_equal(SCardGetStatusChange(s.ctx, 0, rs, 1), SCARD_S_SUCCESS);
	assert_true(rs[0].dwEventState & SCARD_STATE_PRESENT);
	assert_int_equal(rs[0].dwEventState >> 16, counter + 2);
	// the same presence with a stale counter is still a change
	rs[0].dwCurrentState = (rs[0].dwEventState & 0xFFFF & ~SCARD_STATE_CHANGED) | ((counter + 1) << 16);
	assert_int_equal(SCardGetStatusChange(s.ctx, 0, rs, 1), SCARD_S_SUCCESS);
	assert_true(rs[0].dwEventState & SCARD_STATE_CHANGED);
}

void
test_provider_status_change_sharing_rules(void **state)
{
	State &s = st(state);
	SCARD_READERSTATE rs = {};
	rs.szReader = reader_a;
	rs.dwCurrentState = SCARD_STATE_UNAWARE;
	assert_int_equal(SCardGetStatusChange(s.ctx, 0, &rs, 1), SCARD_S_SUCCESS);
	rs.dwCurrentState = rs.dwEventState & ~SCARD_STATE_CHANGED;
	// a first connection (none -> INUSE) is no change, as in pcsc-lite
	SCARDHANDLE h = connect_a(s.ctx2);
	assert_int_equal(SCardGetStatusChange(s.ctx, 0, &rs, 1), SCARD_E_TIMEOUT);
	assert_true(rs.dwEventState & SCARD_STATE_INUSE);
	rs.dwCurrentState = rs.dwEventState & ~SCARD_STATE_CHANGED;
	// INUSE -> none is
	assert_int_equal(SCardDisconnect(h, SCARD_LEAVE_CARD), SCARD_S_SUCCESS);
	assert_int_equal(SCardGetStatusChange(s.ctx, 0, &rs, 1), SCARD_S_SUCCESS);
	assert_true(rs.dwEventState & SCARD_STATE_CHANGED);
	assert_false(rs.dwEventState & SCARD_STATE_INUSE);
	rs.dwCurrentState = rs.dwEventState & ~SCARD_STATE_CHANGED;
	// EXCLUSIVE after INUSE is
	h = connect_a(s.ctx2);
	assert_int_equal(SCardGetStatusChange(s.ctx, 0, &rs, 1), SCARD_E_TIMEOUT);
	rs.dwCurrentState = rs.dwEventState & ~SCARD_STATE_CHANGED;
	DWORD proto;
	assert_int_equal(SCardReconnect(h, SCARD_SHARE_EXCLUSIVE, SCARD_PROTOCOL_T1, SCARD_LEAVE_CARD, &proto),
			 SCARD_S_SUCCESS);
	assert_int_equal(SCardGetStatusChange(s.ctx, 0, &rs, 1), SCARD_S_SUCCESS);
	assert_true(rs.dwEventState & SCARD_STATE_EXCLUSIVE);
}

void
test_provider_status_change_infinite_wakes_on_insertion(void **state)
{
	State &s = st(state);
	assert_int_equal(vpcsc_card_insert(1, "b"), 0);
	assert_int_equal(vpcsc_card_remove(1), 0);
	s.worker = std::thread([&s] {
		SCARD_READERSTATE rs = {};
		rs.szReader = reader_b;
		rs.dwCurrentState = SCARD_STATE_EMPTY;
		s.worker_rv = SCardGetStatusChange(s.ctx2, INFINITE, &rs, 1);
		if (s.worker_rv == SCARD_S_SUCCESS && !(rs.dwEventState & SCARD_STATE_PRESENT))
			s.worker_rv = -1;
		s.worker_done = true;
	});
	std::this_thread::sleep_for(std::chrono::milliseconds(50));
	assert_false(s.worker_done.load());
	assert_int_equal(vpcsc_card_insert(1, nullptr), 0);
	assert_true(eventually([&] { return s.worker_done.load(); }));
	s.worker.join();
	assert_int_equal(s.worker_rv.load(), SCARD_S_SUCCESS);
}

void
test_provider_cancel_wakes_blocked_waiter(void **state)
{
	State &s = st(state);
	s.worker = std::thread([&s] {
		SCARD_READERSTATE rs = {};
		rs.szReader = reader_b;
		rs.dwCurrentState = SCARD_STATE_EMPTY;
		s.worker_rv = SCardGetStatusChange(s.ctx2, INFINITE, &rs, 1);
		s.worker_done = true;
	});
	std::this_thread::sleep_for(std::chrono::milliseconds(50));
	assert_false(s.worker_done.load());
	// other contexts keep working while ctx2 is blocked
	SCARDHANDLE h = connect_a(s.ctx);
	LONG rv;
	get_serial(h, &rv);
	assert_int_equal(rv, SCARD_S_SUCCESS);
	assert_int_equal(SCardCancel(s.ctx2), SCARD_S_SUCCESS);
	assert_true(eventually([&] { return s.worker_done.load(); }));
	s.worker.join();
	assert_int_equal(s.worker_rv.load(), SCARD_E_CANCELLED);
	// a cancel without a waiter does not poison the next wait
	assert_int_equal(SCardCancel(s.ctx2), SCARD_S_SUCCESS);
	SCARD_READERSTATE rs = {};
	rs.szReader = reader_b;
	rs.dwCurrentState = SCARD_STATE_EMPTY;
	assert_int_equal(SCardGetStatusChange(s.ctx2, 0, &rs, 1), SCARD_E_TIMEOUT);
}

void
test_provider_multithreaded_wait_and_cancel(void **state)
{
	State &s = st(state);
	// Several waiter threads on their own contexts, a worker hammering
	// transmit on another, cancels from the main thread; repeated.
	for (int round = 0; round < 20; round++) {
		constexpr int waiters = 3;
		SCARDCONTEXT ctxs[waiters];
		std::atomic<int> cancelled{0};
		std::thread threads[waiters];
		for (int i = 0; i < waiters; i++) {
			assert_int_equal(SCardEstablishContext(SCARD_SCOPE_USER, nullptr, nullptr, &ctxs[i]), SCARD_S_SUCCESS);
			threads[i] = std::thread([&cancelled, ctx = ctxs[i]] {
				SCARD_READERSTATE rs = {};
				rs.szReader = reader_b;
				rs.dwCurrentState = SCARD_STATE_EMPTY;
				if (SCardGetStatusChange(ctx, INFINITE, &rs, 1) == SCARD_E_CANCELLED)
					cancelled++;
			});
		}
		SCARDHANDLE h = connect_a(s.ctx);
		std::atomic<int> transmitted{0};
		std::thread tx([&transmitted, h] {
			for (int i = 0; i < 20; i++) {
				LONG rv;
				get_serial(h, &rv);
				if (rv == SCARD_S_SUCCESS)
					transmitted++;
			}
		});
		std::this_thread::sleep_for(std::chrono::milliseconds(5));
		for (int i = 0; i < waiters; i++) {
			// the cancel may come before the waiter blocks: retry until it is counted
			while (true) {
				SCardCancel(ctxs[i]);
				const int before = cancelled.load();
				if (eventually([&] { return cancelled.load() > before || cancelled.load() > i; }))
					break;
			}
		}
		for (auto &t : threads)
			t.join();
		tx.join();
		assert_int_equal(cancelled.load(), waiters);
		assert_int_equal(transmitted.load(), 20);
		for (auto c : ctxs)
			assert_int_equal(SCardReleaseContext(c), SCARD_S_SUCCESS);
		assert_int_equal(SCardDisconnect(h, SCARD_LEAVE_CARD), SCARD_S_SUCCESS);
	}
	assert_int_equal(vpcsc_live_contexts(), 2);
	assert_int_equal(vpcsc_live_handles(), 0);
}

void
test_provider_transmit_echo_and_short_buffer(void **state)
{
	State &s = st(state);
	SCARDHANDLE h = connect_a(s.ctx);
	const BYTE cmd[] = {0x80, 0xEE, 0x00, 0x00, 0x03, 0x01, 0x02, 0x03};
	BYTE resp[8];
	DWORD len = sizeof resp;
	assert_int_equal(SCardTransmit(h, &t1_pci, cmd, sizeof cmd, nullptr, resp, &len), SCARD_S_SUCCESS);
	const BYTE expected[] = {0x01, 0x02, 0x03, 0x90, 0x00};
	assert_int_equal(len, sizeof expected);
	assert_memory_equal(resp, expected, sizeof expected);
	len = 2;
	assert_int_equal(SCardTransmit(h, &t1_pci, cmd, sizeof cmd, nullptr, resp, &len), SCARD_E_INSUFFICIENT_BUFFER);
	assert_int_equal(len, 5);
	const BYTE unknown[] = {0x00, 0x12, 0x00, 0x00};
	len = sizeof resp;
	assert_int_equal(SCardTransmit(h, &t1_pci, unknown, sizeof unknown, nullptr, resp, &len), SCARD_S_SUCCESS);
	assert_int_equal(len, 2);
	assert_int_equal(resp[0], 0x6D);
	const SCARD_IO_REQUEST t0_pci = {SCARD_PROTOCOL_T0, sizeof(SCARD_IO_REQUEST)};
	len = sizeof resp;
	assert_int_equal(SCardTransmit(h, &t0_pci, cmd, sizeof cmd, nullptr, resp, &len), SCARD_E_PROTO_MISMATCH);
	assert_int_equal(vpcsc_apdus(), 3);
}

void
test_provider_attributes_and_control(void **state)
{
	State &s = st(state);
	SCARDHANDLE h = connect_a(s.ctx);
	BYTE buf[64];
	DWORD len = sizeof buf;
	assert_int_equal(SCardGetAttrib(h, SCARD_ATTR_VENDOR_NAME, buf, &len), SCARD_S_SUCCESS);
	assert_string_equal(reinterpret_cast<char *>(buf), "vpcsc");
	DWORD version = 0;
	len = sizeof version;
	assert_int_equal(SCardGetAttrib(h, SCARD_ATTR_VENDOR_IFD_VERSION, reinterpret_cast<BYTE *>(&version), &len),
			 SCARD_S_SUCCESS);
	assert_int_equal(len, sizeof version);
	len = 0;
	assert_int_equal(SCardGetAttrib(h, SCARD_ATTR_ATR_STRING, nullptr, &len), SCARD_S_SUCCESS);
	assert_int_equal(len, 12);
	len = sizeof buf;
	assert_int_equal(SCardGetAttrib(h, 0x7A007, buf, &len), SCARD_E_UNSUPPORTED_FEATURE);
	DWORD returned = 99;
	assert_int_equal(SCardControl(h, CM_IOCTL_GET_FEATURE_REQUEST, nullptr, 0, buf, sizeof buf, &returned),
			 SCARD_S_SUCCESS);
	assert_int_equal(returned, 0);
}

void
test_provider_removed_card_reports_removed_until_reconnect(void **state)
{
	State &s = st(state);
	SCARDHANDLE h = connect_a(s.ctx);
	assert_int_equal(vpcsc_card_remove(0), 0);
	LONG rv;
	get_serial(h, &rv);
	assert_int_equal(rv, SCARD_W_REMOVED_CARD);
	DWORD name_len = 0;
	assert_int_equal(SCardStatus(h, nullptr, &name_len, nullptr, nullptr, nullptr, nullptr), SCARD_W_REMOVED_CARD);
	DWORD proto;
	assert_int_equal(SCardReconnect(h, SCARD_SHARE_SHARED, SCARD_PROTOCOL_T1, SCARD_LEAVE_CARD, &proto),
			 SCARD_E_NO_SMARTCARD);
	assert_int_equal(vpcsc_card_insert(0, nullptr), 0);
	get_serial(h, &rv);
	assert_int_equal(rv, SCARD_W_REMOVED_CARD); // a new card: the old handle stays stale
	assert_int_equal(SCardReconnect(h, SCARD_SHARE_SHARED, SCARD_PROTOCOL_T1, SCARD_LEAVE_CARD, &proto),
			 SCARD_S_SUCCESS);
	assert_int_equal(get_serial(h, &rv).size(), 4);
}

// The soak driver's inputs: one snapshot of the calls and of the APDUs by class and INS, and the
// contexts/handles the service lost counted apart until released.
void
test_provider_counters_snapshot_and_dead_contexts(void **state)
{
	State &s = st(state);
	SCARDHANDLE h = connect_a(s.ctx);
	LONG rv;
	get_serial(h, &rv); // 00 CA: interindustry class
	assert_int_equal(rv, SCARD_S_SUCCESS);
	const BYTE prop[] = {0x80, 0xCA, 0x00, 0x80, 0x00}; // proprietary class, same INS
	BYTE resp[258];
	DWORD len = sizeof resp;
	assert_int_equal(SCardTransmit(h, &t1_pci, prop, sizeof prop, nullptr, resp, &len), SCARD_S_SUCCESS);
	assert_int_equal(vpcsc_apdus_by_header(0x00, 0xCA), 1);
	assert_int_equal(vpcsc_apdus_by_header(0x0C, 0xCA), 1); // SM bits: still the interindustry class
	assert_int_equal(vpcsc_apdus_by_header(0x80, 0xCA), 1);
	assert_int_equal(vpcsc_apdus_by_header(0x00, 0x256), -1);

	unsigned long long calls[32] = {}, by_ins[512] = {};
	assert_int_equal(vpcsc_counters(calls, 32, by_ins, 512), 0);
	unsigned transmit = 0;
	while (vpcsc_entry_point_name(transmit) != nullptr && std::string(vpcsc_entry_point_name(transmit)) != "SCardTransmit")
		transmit++;
	assert_non_null(vpcsc_entry_point_name(transmit));
	assert_int_equal(calls[transmit], vpcsc_calls("SCardTransmit"));
	assert_int_equal(by_ins[0xCA], 1);
	assert_int_equal(by_ins[256 + 0xCA], 1);
	assert_null(vpcsc_entry_point_name(1000));
	assert_int_equal(vpcsc_counters(nullptr, 4, by_ins, 512), -1);

	assert_int_equal(vpcsc_dead_contexts(), 0);
	assert_int_equal(vpcsc_dead_handles(), 0);
	assert_int_equal(vpcsc_service_lost(), 0);
	assert_int_equal(vpcsc_dead_contexts(), 2); // both of the fixture's contexts
	assert_int_equal(vpcsc_dead_handles(), 1);
	assert_int_equal(vpcsc_live_contexts(), 2); // still held: counted in live too
	SCardReleaseContext(s.ctx2);
	assert_int_equal(vpcsc_dead_contexts(), 1);
	SCardReleaseContext(s.ctx);
	assert_int_equal(vpcsc_dead_contexts(), 0);
	assert_int_equal(vpcsc_dead_handles(), 0);
	assert_int_equal(SCardEstablishContext(SCARD_SCOPE_USER, nullptr, nullptr, &s.ctx), SCARD_S_SUCCESS);
	assert_int_equal(SCardEstablishContext(SCARD_SCOPE_USER, nullptr, nullptr, &s.ctx2), SCARD_S_SUCCESS);
	assert_int_equal(vpcsc_dead_contexts(), 0);
}

} // namespace

int
main()
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_provider_release_context_invalidates_its_handles, setup, teardown),
		cmocka_unit_test_setup_teardown(test_provider_counters_snapshot_and_dead_contexts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_provider_share_modes_conflict, setup, teardown),
		cmocka_unit_test_setup_teardown(test_provider_transaction_blocks_other_handle_until_end, setup, teardown),
		cmocka_unit_test_setup_teardown(test_provider_transaction_wait_does_not_hold_the_context, setup, teardown),
		cmocka_unit_test_setup_teardown(test_provider_disconnect_ends_transaction, setup, teardown),
		cmocka_unit_test_setup_teardown(test_provider_reset_by_other_handle_reports_reset_once_reconnected, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_provider_list_readers_size_query_protocol, setup, teardown),
		cmocka_unit_test_setup_teardown(test_provider_status_reports_name_atr_and_size_query, setup, teardown),
		cmocka_unit_test_setup_teardown(test_provider_status_change_timeout_counter_and_atr, setup, teardown),
		cmocka_unit_test_setup_teardown(test_provider_status_change_sharing_rules, setup, teardown),
		cmocka_unit_test_setup_teardown(test_provider_status_change_infinite_wakes_on_insertion, setup, teardown),
		cmocka_unit_test_setup_teardown(test_provider_cancel_wakes_blocked_waiter, setup, teardown),
		cmocka_unit_test_setup_teardown(test_provider_multithreaded_wait_and_cancel, setup, teardown),
		cmocka_unit_test_setup_teardown(test_provider_transmit_echo_and_short_buffer, setup, teardown),
		cmocka_unit_test_setup_teardown(test_provider_attributes_and_control, setup, teardown),
		cmocka_unit_test_setup_teardown(test_provider_removed_card_reports_removed_until_reconnect, setup,
						teardown),
	};
	return cmocka_run_group_tests(tests, nullptr, nullptr);
}
