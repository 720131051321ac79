// SPDX-License-Identifier: LGPL-2.1-or-later
#include "soak/vpcsc_library.hpp"

#include <chrono>
#include <thread>

#include <dlfcn.h>

#include "soak/error.hpp"

namespace soak {

namespace {

template <typename Fn>
void
bind(void *dl, const char *name, Fn &fn)
{
	void *sym = dlsym(dl, name);
	if (sym == nullptr)
		throw SetupError(std::string("--vpcsc: ") + name + " not found: not a libvpcsc");
	fn = reinterpret_cast<Fn>(sym);
}

} // namespace

VpcscLibrary::VpcscLibrary(const std::string &path)
{
	dl_ = dlopen(path.c_str(), RTLD_NOW | RTLD_GLOBAL);
	if (dl_ == nullptr) {
		const char *e = dlerror();
		throw SetupError("--vpcsc: cannot load " + path + ": " + (e ? e : "?"));
	}
	bind(dl_, "vpcsc_reset", reset_);
	bind(dl_, "vpcsc_service_lost", service_lost_);
	bind(dl_, "vpcsc_service_down", service_down_);
	bind(dl_, "vpcsc_service_up", service_up_);
	bind(dl_, "vpcsc_service_up_late", service_up_late_);
	bind(dl_, "vpcsc_card_reset", card_reset_);
	bind(dl_, "vpcsc_calls", calls_);
	bind(dl_, "vpcsc_live_contexts", live_contexts_);
	bind(dl_, "vpcsc_live_handles", live_handles_);
	bind(dl_, "vpcsc_zombie_handles", zombie_handles_);
	bind(dl_, "vpcsc_dead_contexts", dead_contexts_);
	bind(dl_, "vpcsc_dead_handles", dead_handles_);
	bind(dl_, "vpcsc_counters", counters_);
	bind(dl_, "vpcsc_entry_point_name", entry_point_name_);
	for (unsigned i = 0; i < pcsc_entry_points; i++)
		if (entry_point_name_(i) == nullptr)
			throw SetupError("--vpcsc: " + path + " counts fewer PC/SC entry points than this driver");
	bind(dl_, "vpcsc_open_transactions", open_transactions_);
	bind(dl_, "vpcsc_apdus", apdus_);
	bind(dl_, "vpcsc_injections", injections_);
	bind(dl_, "vpcsc_last_error", last_error_);
}

void
VpcscLibrary::reset(const std::string &scenario_json)
{
	if (reset_(scenario_json.c_str()) != 0) {
		const char *e = last_error_();
		throw SetupError(std::string("libvpcsc scenario: ") + (e ? e : "?"));
	}
}

bool
VpcscLibrary::inject(FaultKind kind, unsigned long late_ms, unsigned reader, unsigned long outage_ms)
{
	int rc = 0;
	switch (kind) {
	case FaultKind::ServiceLost:
		rc = service_lost_();
		break;
	case FaultKind::ServiceDownUp:
		rc = service_down_(0);
		if (rc == 0)
			rc = service_up_();
		break;
	case FaultKind::ServiceUpLate:
		rc = service_down_(0);
		if (rc == 0)
			rc = service_up_late_(late_ms);
		break;
	case FaultKind::CardReset:
		rc = card_reset_(reader);
		break;
	case FaultKind::ServiceOutage:
		rc = service_down_(0);
		if (rc == 0) {
			std::this_thread::sleep_for(std::chrono::milliseconds(outage_ms));
			rc = service_up_();
		}
		break;
	case FaultKind::None:
		break;
	}
	if (rc != 0) {
		const char *e = last_error_();
		error_ = std::string(fault_name(kind)) + ": " + (e ? e : "?");
		return false;
	}
	return true;
}

ProviderCounts
VpcscLibrary::counts() const noexcept
{
	ProviderCounts c;
	c.contexts = live_contexts_();
	c.handles = live_handles_();
	c.zombie_handles = zombie_handles_();
	c.dead_contexts = dead_contexts_();
	c.dead_handles = dead_handles_();
	c.open_transactions = open_transactions_();
	return c;
}

long
VpcscLibrary::apdus() const noexcept
{
	return apdus_();
}

long
VpcscLibrary::injections() const noexcept
{
	return injections_();
}

bool
VpcscLibrary::counters(CallCounters &out) const noexcept
{
	return counters_(out.calls.data(), out.calls.size(), out.apdus_by_ins.data(), out.apdus_by_ins.size()) == 0;
}

const char *
VpcscLibrary::entry_point_name(std::size_t i) const noexcept
{
	const char *name = i < pcsc_entry_points ? entry_point_name_(static_cast<unsigned>(i)) : nullptr;
	return name ? name : "?";
}

long
VpcscLibrary::calls(const char *entry_point) const noexcept
{
	return calls_(entry_point);
}

} // namespace soak
