// SPDX-License-Identifier: LGPL-2.1-or-later
// What one soak run measured (written as JSON by report.cpp).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "soak/fault_kind.hpp"
#include "soak/latency_histogram.hpp"
#include "soak/vpcsc_library.hpp"

namespace soak {

constexpr std::size_t fault_kinds = 5;

struct FaultStats {
	std::uint64_t injected = 0;     // applied through libvpcsc
	std::uint64_t inject_errors = 0; // libvpcsc refused it
	std::uint64_t recovered = 0;    // the next operation was OK
	std::uint64_t eventually_ok = 0; // an OK operation came later (before the run ended)
	std::uint64_t ttfo_sum_ns = 0;  // time from the injection to the end of the first OK after it
	std::uint64_t ttfo_max_ns = 0;
	// faults still waiting for an OK operation
	std::uint64_t pending = 0, pending_sum_t = 0, pending_first_t = 0;
};

// One injected fault (the first fault_log_capacity of them).
struct FaultRecord {
	std::uint64_t before_op = 0; // index of the operation that followed it
	FaultKind kind = FaultKind::None;
	bool applied = false;
	bool recovered = false;
	std::int64_t ops_to_ok = -1; // operations until the first OK (1: the next one), -1: none
	std::int64_t ns_to_ok = -1;
	std::uint64_t t_ns = 0;      // injection time since the loop started
};

// A run of equal outcomes: operations [first_op, first_op + count) all had outcome `outcome`.
struct OutcomeRun {
	std::uint32_t outcome = 0;
	std::uint64_t first_op = 0;
	std::uint64_t count = 0;
};

struct SoakResult {
	std::string module_description;
	std::string key_id, key_label;
	int key_bits = 0;
	int keys_patched = 0; // --require-pin-for-key

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

	long rss_start_kib = -1, rss_after_setup_kib = -1, rss_after_warmup_kib = -1, rss_end_kib = -1;
	ProviderCounts provider_after_warmup, provider_end, provider_after_finalize;
	long apdus = -1;
	long login_calls = 0;
	std::string session_state_end;
	std::string finalize_rv;
};

} // namespace soak
