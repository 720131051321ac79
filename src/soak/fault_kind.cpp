// SPDX-License-Identifier: LGPL-2.1-or-later
#include "soak/fault_kind.hpp"

#include <array>

namespace soak {

namespace {

constexpr std::array<FaultKind, 6> all_faults = {FaultKind::ServiceLost, FaultKind::ServiceDownUp,
		FaultKind::ServiceUpLate, FaultKind::CardReset, FaultKind::ServiceOutage, FaultKind::None};

} // namespace

const char *
fault_name(FaultKind kind) noexcept
{
	switch (kind) {
	case FaultKind::ServiceLost:
		return "service_lost";
	case FaultKind::ServiceDownUp:
		return "service_down_up";
	case FaultKind::ServiceUpLate:
		return "service_up_late";
	case FaultKind::CardReset:
		return "card_reset";
	case FaultKind::ServiceOutage:
		return "service_outage";
	case FaultKind::None:
		return "none";
	}
	return "?";
}

std::optional<FaultKind>
parse_fault(const std::string &name)
{
	for (FaultKind k : all_faults)
		if (name == fault_name(k))
			return k;
	return std::nullopt;
}

std::string
fault_names()
{
	std::string s;
	for (FaultKind k : all_faults)
		s += (s.empty() ? "" : ", ") + std::string(fault_name(k));
	return s;
}

} // namespace soak
