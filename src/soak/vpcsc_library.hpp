// SPDX-License-Identifier: LGPL-2.1-or-later
// libvpcsc loaded with dlopen (RTLD_GLOBAL), so that OpenSC's provider_library dlopen of the same
// path gets this very instance: its fault API and counters (src/pcsc/vpcsc.h) through dlsym.
#pragma once

#include <string>

#include "soak/fault_kind.hpp"

namespace soak {

struct ProviderCounts {
	long contexts = -1;
	long handles = -1;
	long zombie_handles = -1;
	long open_transactions = -1;
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
	bool inject(FaultKind kind, unsigned long late_ms);
	const std::string &error() const noexcept { return error_; }

	ProviderCounts counts() const noexcept;
	long apdus() const noexcept;
	long injections() const noexcept;
	long calls(const char *entry_point) const noexcept;

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
	long (*open_transactions_)() = nullptr;
	long (*apdus_)() = nullptr;
	long (*injections_)() = nullptr;
	const char *(*last_error_)() = nullptr;
	std::string error_;
};

} // namespace soak
