// SPDX-License-Identifier: LGPL-2.1-or-later
// What one soak run measured (written as JSON by report.cpp).
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "pkcs11.h"
#include "soak/apdu_kind.hpp"
#include "soak/fault_kind.hpp"
#include "soak/latency_histogram.hpp"
#include "soak/process_memory.hpp"
#include "soak/vpcsc_library.hpp"

namespace soak {

constexpr std::size_t fault_kinds = 6;

// PC/SC calls by entry point and command APDUs by kind of one or more operations.
struct OpCounts {
	std::uint64_t ops = 0;
	std::array<std::uint64_t, pcsc_entry_points> calls{};
	std::array<std::uint64_t, apdu_kinds> apdus{};

	void add(const OpCounts &o) noexcept
	{
		ops += o.ops;
		for (std::size_t i = 0; i < calls.size(); i++)
			calls[i] += o.calls[i];
		for (std::size_t i = 0; i < apdus.size(); i++)
			apdus[i] += o.apdus[i];
	}
	std::uint64_t calls_total() const noexcept
	{
		std::uint64_t n = 0;
		for (std::uint64_t c : calls)
			n += c;
		return n;
	}
	std::uint64_t apdus_total() const noexcept
	{
		std::uint64_t n = 0;
		for (std::uint64_t c : apdus)
			n += c;
		return n;
	}
};

struct FaultStats {
	std::uint64_t injected = 0;     // applied through libvpcsc
	std::uint64_t inject_errors = 0; // libvpcsc refused it
	std::uint64_t recovered = 0;    // the next operation was OK
	std::uint64_t eventually_ok = 0; // an OK operation came later (before the run ended)
	std::uint64_t ttfo_sum_ns = 0;  // time from the injection to the end of the first OK after it
	std::uint64_t ttfo_max_ns = 0;
	// faults still waiting for an OK operation
	std::uint64_t pending = 0, pending_sum_t = 0, pending_first_t = 0;
	// recoveries this kind of fault started (a fault injected while an earlier one's recovery is still
	// open counts in that one): the operations from the fault to the first OK one, inclusive
	std::uint64_t recoveries = 0;
	std::uint64_t recoveries_done = 0; // of which reached an OK operation: `recovery` sums these
	OpCounts recovery;
};

// One injected fault (the first fault_log_capacity of them).
struct FaultRecord {
	std::uint64_t before_op = 0; // index of the operation that followed it
	FaultKind kind = FaultKind::None;
	unsigned reader = 0;         // card_reset: the reader
	bool applied = false;
	bool recovered = false;
	std::int64_t ops_to_ok = -1; // operations until the first OK (1: the next one), -1: none
	std::int64_t ns_to_ok = -1;
	std::uint64_t t_ns = 0;      // injection time since the loop started
	std::uint64_t first_op_ns = 0; // latency of the operation right after it
	bool first_op_ok = false;
	bool opened_recovery = false; // its recovery's counts are below (else it fell into an earlier one's)
	std::uint32_t recovery_calls = 0;
	std::array<std::uint32_t, apdu_kinds> recovery_apdus{};
	std::uint32_t recovery_transmits = 0;
};

// A run of equal outcomes: operations [first_op, first_op + count) all had outcome `outcome`.
struct OutcomeRun {
	std::uint32_t outcome = 0;
	std::uint64_t first_op = 0;
	std::uint64_t count = 0;
};

// Operations over time, in buckets that double in width when the preallocated ones are full.
struct Timeline {
	static constexpr std::size_t capacity = 2048;
	std::uint64_t bucket_ns = 100000000; // 0.1 s to start with
	std::vector<std::uint32_t> ok, failed, faults;
	std::size_t used = 0;

	void reserve()
	{
		ok.assign(capacity, 0);
		failed.assign(capacity, 0);
		faults.assign(capacity, 0);
	}
	std::size_t slot(std::uint64_t t_ns) noexcept
	{
		while (t_ns / bucket_ns >= capacity) {
			for (std::size_t i = 0; i < capacity / 2; i++) {
				ok[i] = ok[2 * i] + ok[2 * i + 1];
				failed[i] = failed[2 * i] + failed[2 * i + 1];
				faults[i] = faults[2 * i] + faults[2 * i + 1];
			}
			for (std::size_t i = capacity / 2; i < capacity; i++)
				ok[i] = failed[i] = faults[i] = 0;
			bucket_ns *= 2;
			used = (used + 1) / 2;
		}
		std::size_t b = static_cast<std::size_t>(t_ns / bucket_ns);
		used = std::max(used, b + 1);
		return b;
	}
};

// Result counts of one PKCS#11 function, by CKR (the first 16 distinct values; the rest in `other`).
struct RvCounts {
	std::array<CK_RV, 16> rv{};
	std::array<std::uint64_t, 16> n{};
	std::size_t used = 0;
	std::uint64_t other = 0;
	void add(CK_RV r) noexcept
	{
		for (std::size_t i = 0; i < used; i++)
			if (rv[i] == r) {
				n[i]++;
				return;
			}
		if (used < rv.size()) {
			rv[used] = r;
			n[used++] = 1;
		} else {
			other++;
		}
	}
};

struct PollerStats {
	std::uint64_t rounds = 0;
	RvCounts slot_list, session_info, wait_event;
	std::uint64_t sessions_lost = 0;  // C_GetSessionInfo: SESSION_HANDLE_INVALID / SESSION_CLOSED
	std::uint64_t not_logged_in = 0;  // C_GetSessionInfo OK but the state is not RW_USER
	std::int64_t first_loss_op = -1;  // the main loop's operation count when the first loss was seen
	std::uint64_t slot_list_max = 0, slot_list_min = UINT64_MAX; // tokens C_GetSlotList(CK_TRUE) saw
};

using EntryPointNames = std::array<std::string, pcsc_entry_points>;

struct SoakResult {
	EntryPointNames entry_points; // libvpcsc's names of OpCounts::calls
	std::string module_description;
	std::string key_id, key_label;
	int key_bits = 0;
	int keys_patched = 0; // --require-pin-for-key
	unsigned tokens = 0;  // slots with a token the module saw
	long login_calls = 0;

	std::uint64_t warmup_ok = 0, warmup_failed = 0;
	std::uint64_t operations = 0;
	double elapsed_s = 0;
	double cpu_s = 0; // process CPU time of the loop (the virtual card runs in this process too)

	std::vector<std::string> outcome_names; // index: OutcomeRun::outcome
	std::vector<std::uint64_t> outcome_counts;
	std::vector<OutcomeRun> runs;           // first capacity runs
	std::uint64_t runs_dropped = 0;

	LatencyHistogram ok_latency;   // C_SignInit + C_Sign of the OK operations
	LatencyHistogram all_latency;  // every operation

	std::array<FaultStats, fault_kinds> faults{};
	std::vector<FaultRecord> fault_log; // preallocated; fault_log_used entries valid
	std::size_t fault_log_used = 0;
	std::uint64_t fault_log_dropped = 0;
	std::uint64_t faults_requested = 0; // --faults N (0: not given)

	OpCounts per_signature;    // OK operations outside any recovery (warm-up included)
	bool counters_ok = true;   // every vpcsc_counters snapshot worked
	Timeline timeline;

	long rss_start_kib = -1;
	ProcessCounts proc_after_setup, proc_after_warmup, proc_end, proc_after_finalize;
	long fds_max = -1, threads_max = -1; // sampled about once a second during the loop
	ProviderCounts provider_after_warmup, provider_end, provider_after_finalize;
	long apdus = -1;
	std::vector<std::string> session_state_end; // one per session
	std::string finalize_rv;

	bool poller = false;
	PollerStats poll;
};

} // namespace soak
