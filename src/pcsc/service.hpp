// SPDX-License-Identifier: LGPL-2.1-or-later
// The in-process "resource manager" behind libvpcsc: readers, contexts,
// handles, transactions, and the fault injector. One mutex guards all of
// it; blocking calls (GetStatusChange, BeginTransaction against another
// handle's transaction) wait on one condition variable.
//
// pcsc-lite rules it imitates (see README in this directory):
//  - a context owns its handles; ReleaseContext disconnects them;
//  - calls on a context are serialised: while one thread blocks in
//    GetStatusChange on context C, other calls on C (except Cancel and
//    IsValidContext) wait, as pcsc-lite's per-context mutex makes them;
//    ReleaseContext(C) therefore waits too. BeginTransaction blocked by
//    another handle's transaction does not hold C (pcsc-lite polls);
//  - after the service is lost every old context and handle answers
//    SCARD_E_NO_SERVICE (IsValidContext still succeeds); ReleaseContext of
//    a dead context answers NO_SERVICE and frees it.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <winscard.h>

#include <nlohmann/json.hpp>

#include "fault/injector.hpp"
#include "pcsc/reader.hpp"
#include "pcsc/scenario.hpp"

namespace pcsc {

class Service {
public:
	Service();
	~Service();
	Service(const Service &) = delete;
	Service &operator=(const Service &) = delete;

	// Replace the whole state by a scenario (nullptr: from the environment).
	// Throws fault::ConfigError; on error the service stays unconfigured and
	// EstablishContext answers SCARD_F_INTERNAL_ERROR.
	void reset(const std::string *scenario_json);

	LONG establish_context(DWORD scope, SCARDCONTEXT *out);
	LONG release_context(SCARDCONTEXT ctx);
	LONG is_valid_context(SCARDCONTEXT ctx);
	LONG connect(SCARDCONTEXT ctx, const char *reader, DWORD share, DWORD preferred, SCARDHANDLE *out,
		     DWORD *active);
	LONG reconnect(SCARDHANDLE h, DWORD share, DWORD preferred, DWORD init, DWORD *active);
	LONG disconnect(SCARDHANDLE h, DWORD disposition);
	LONG begin_transaction(SCARDHANDLE h);
	LONG end_transaction(SCARDHANDLE h, DWORD disposition);
	LONG status(SCARDHANDLE h, char *name, DWORD *name_len, DWORD *state, DWORD *protocol, BYTE *atr,
		    DWORD *atr_len);
	LONG get_status_change(SCARDCONTEXT ctx, DWORD timeout, SCARD_READERSTATE *states, DWORD count);
	LONG cancel(SCARDCONTEXT ctx);
	LONG transmit(SCARDHANDLE h, const SCARD_IO_REQUEST *send_pci, const BYTE *send, DWORD send_len,
		      SCARD_IO_REQUEST *recv_pci, BYTE *recv, DWORD *recv_len);
	LONG list_readers(SCARDCONTEXT ctx, char *readers, DWORD *len);
	LONG get_attrib(SCARDHANDLE h, DWORD id, BYTE *attr, DWORD *len);
	LONG control(SCARDHANDLE h, DWORD code, const void *in, DWORD in_len, void *out, DWORD out_len,
		     DWORD *returned);
	LONG free_memory(SCARDCONTEXT ctx, const void *mem);

	// Unload/exit: dump statistics (stats_file), fail every context so that
	// blocked callers return. The object stays usable (calls fail).
	void shutdown();

	// Runtime control (throws fault::ConfigError on a bad action).
	void inject(const std::string &action_json);
	// End a service_down now; every card is reported card_delay_ms late
	// (absent until then, then inserted). No-op while the service is up.
	void service_up_late(std::uint64_t card_delay_ms);

	// Inspection.
	std::uint64_t calls(const std::string &entry_point) const; // throws on unknown name
	void count_result(fault::EntryPoint entry, LONG rv);
	std::uint64_t results(const std::string &entry_point, const std::string &code) const;
	std::size_t live_contexts() const;
	std::size_t live_handles() const;
	std::size_t zombie_handles() const;
	// Contexts the service lost but the caller has not released yet, and their handles
	// (counted in live_contexts()/live_handles() too).
	std::size_t dead_contexts() const;
	std::size_t dead_handles() const;
	// Command APDUs sent to cards, by class and INS byte of the header: index ins for the
	// interindustry class (CLA bit 8 clear), 256 + ins for the proprietary class (CLA 80..FE).
	// ISO 7816-4 secure messaging keeps both in clear (it only sets CLA bits 3-4).
	static constexpr std::size_t apdu_header_slots = 512;
	std::uint64_t apdus_by_header(unsigned cla, unsigned ins) const;
	// calls per entry point (entry_point order) and commands by class and INS, under one lock.
	void snapshot(unsigned long long *calls, std::size_t ncalls, unsigned long long *by_ins, std::size_t nins) const;
	std::size_t open_transactions() const;
	std::uint64_t apdus() const;
	std::uint64_t injections() const;
	nlohmann::json stats() const;

private:
	struct Context {
		bool dead = false;
		bool invalid_after_release = false;
		LONG dead_code = SCARD_E_NO_SERVICE;
		std::uint64_t cancel_gen = 0;
		int busy = 0;
		std::set<SCARDHANDLE> handles;
	};
	struct Handle {
		SCARDCONTEXT ctx = 0;
		std::size_t reader = 0;
		DWORD share = 0;
		DWORD protocol = 0;
		std::uint64_t insertion = 0;
		std::uint64_t reader_generation = 0;
		bool reset_pending = false;
		// what the handle answers while reset_pending (profile dependent)
		LONG reset_code = SCARD_W_RESET_CARD;
	};
	using Lock = std::unique_lock<std::mutex>;
	using Clock = std::chrono::steady_clock;

	void load(Scenario scenario);
	// Count the call, run the fault plan; returns a forced result or success.
	LONG begin_call(Lock &lk, fault::EntryPoint entry, const BYTE *apdu = nullptr, std::size_t apdu_len = 0);
	void apply(Lock &lk, const fault::Action &action);
	void service_lost(bool invalid_after_release, LONG code);
	void service_down(const fault::Action &action);
	// card_delay_ms: cards stay out of their readers this long after the
	// restart (Scenario::restart_card_delay_ms unless given).
	void service_up(std::uint64_t card_delay_ms);
	void service_up() { service_up(scenario_.restart_card_delay_ms); }
	void card_arrives(Reader &r);
	// The earliest pending late-card arrival, if any.
	std::optional<Clock::time_point> next_arrival() const;
	void card_reset(std::size_t reader, SCARDHANDLE except);
	// code: what the other handles answer until they call SCardReconnect
	void card_power_cycle(std::size_t reader, SCARDHANDLE except, LONG code = SCARD_W_RESET_CARD);
	void card_remove(std::size_t reader);
	void card_insert(std::size_t reader, const std::string &card);
	void power_on(Reader &r);
	// Send one APDU to the reader's (present, powered) card and count it.
	vcard::Bytes send_apdu(Reader &r, const vcard::Bytes &command);
	void maybe_come_up();

	LONG find_context(SCARDCONTEXT ctx, Context *&out);
	// Also SCARD_E_READER_UNAVAILABLE once the reader was renamed, unless
	// any_reader (Disconnect must still free such a handle).
	LONG find_handle(SCARDHANDLE h, Handle *&out, bool any_reader = false);
	// Wait until no other thread blocks inside a call on this context.
	void wait_idle(Lock &lk, SCARDCONTEXT ctx);
	bool removed(const Handle &h) const;
	LONG idle_handle(Lock &lk, SCARDHANDLE hid, Handle *&out, bool any_reader = false);
	LONG card_event(const Handle &h) const;
	bool share_conflict(std::size_t reader, DWORD share, SCARDHANDLE self) const;
	DWORD reader_bits(const Reader &r) const;
	bool evaluate(SCARD_READERSTATE *states, DWORD count) const;
	void drop_handle(SCARDHANDLE h);
	void drop_context(SCARDCONTEXT id, bool keep_zombies, LONG zombie_code = SCARD_E_NO_SERVICE);
	long next_id() { return next_id_++; }

	mutable std::mutex mutex_;
	std::condition_variable cv_;
	std::string config_error_;
	Scenario scenario_;
	std::map<std::string, std::unique_ptr<vcard::Card>> cards_;
	std::vector<Reader> readers_;
	std::map<SCARDCONTEXT, Context> contexts_;
	std::map<SCARDHANDLE, Handle> handles_;
	std::map<SCARDHANDLE, LONG> zombies_; // handle -> what it answers
	std::set<void *> allocations_;
	fault::Injector injector_;
	std::uint64_t calls_[fault::entry_point_count] = {};
	std::map<LONG, std::uint64_t> results_[fault::entry_point_count];
	std::uint64_t apdus_ = 0;
	std::uint64_t apdus_by_ins_[apdu_header_slots] = {};
	std::uint64_t api_injections_ = 0;
	std::uint64_t insertion_seq_ = 0;
	long next_id_ = 0x5C000001;
	bool down_ = false;
	bool down_until_set_ = false;
	Clock::time_point down_until_;
	std::uint64_t down_calls_ = 0;
	std::uint16_t counter_after_ = 0;
};

} // namespace pcsc
