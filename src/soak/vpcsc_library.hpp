// SPDX-License-Identifier: LGPL-2.1-or-later
// libvpcsc loaded with dlopen (RTLD_GLOBAL), so that OpenSC's provider_library dlopen of the same
// path gets this very instance: its fault API and counters (src/pcsc/vpcsc.h) through dlsym.
#pragma once

#include <array>
#include <cstddef>
#include <string>

#include "soak/fault_kind.hpp"

namespace soak {

struct ProviderCounts {
	long contexts = -1;       // every context the caller holds (dead ones too)
	long handles = -1;
	long dead_contexts = -1;  // lost by the service, not released yet
	long dead_handles = -1;   // handles on those
	long zombie_handles = -1; // handles of released dead contexts (forgotten by pcsc-lite)
	long open_transactions = -1;
};

// What the provider counted so far: calls per entry point, command APDUs by class and INS
// ([ins]: interindustry class, [256 + ins]: proprietary class, CLA 80..FE).
constexpr std::size_t pcsc_entry_points = 16;
struct CallCounters {
	std::array<unsigned long long, pcsc_entry_points> calls{};
	std::array<unsigned long long, 512> apdus_by_ins{};
};

class VpcscLibrary {
public:
	// Throws SetupError (dlopen, a missing vpcsc_* symbol).
	explicit VpcscLibrary(const std::string &path);
	VpcscLibrary(const VpcscLibrary &) = delete;
	VpcscLibrary &operator=(const VpcscLibrary &) = delete;
	// The library stays loaded: OpenSC holds its own reference and may still call it.
	~VpcscLibrary() = default;

	// Throws SetupError with vpcsc_last_error().
	void reset(const std::string &scenario_json);
	// Applies the fault now; false (and error() set) if libvpcsc refused it.
	// reader: which reader's card card_reset resets.
	// service_outage: the service stays down outage_ms (this thread sleeps meanwhile).
	bool inject(FaultKind kind, unsigned long late_ms, unsigned reader = 0, unsigned long outage_ms = 0);
	const std::string &error() const noexcept { return error_; }

	ProviderCounts counts() const noexcept;
	long apdus() const noexcept;
	long injections() const noexcept;
	long calls(const char *entry_point) const noexcept;
	// One consistent snapshot; false if libvpcsc refused (never allocates).
	bool counters(CallCounters &out) const noexcept;
	// "SCardTransmit" for index i of CallCounters::calls ("?" past the end).
	const char *entry_point_name(std::size_t i) const noexcept;

private:
	void *dl_ = nullptr;
	int (*reset_)(const char *) = nullptr;
	int (*service_lost_)() = nullptr;
	int (*service_down_)(unsigned long) = nullptr;
	int (*service_up_)() = nullptr;
	int (*service_up_late_)(unsigned long) = nullptr;
	int (*card_reset_)(unsigned) = nullptr;
	long (*calls_)(const char *) = nullptr;
	long (*live_contexts_)() = nullptr;
	long (*live_handles_)() = nullptr;
	long (*zombie_handles_)() = nullptr;
	long (*dead_contexts_)() = nullptr;
	long (*dead_handles_)() = nullptr;
	int (*counters_)(unsigned long long *, unsigned long, unsigned long long *, unsigned long) = nullptr;
	const char *(*entry_point_name_)(unsigned) = nullptr;
	long (*open_transactions_)() = nullptr;
	long (*apdus_)() = nullptr;
	long (*injections_)() = nullptr;
	const char *(*last_error_)() = nullptr;
	std::string error_;
};

} // namespace soak
