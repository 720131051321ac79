// SPDX-License-Identifier: LGPL-2.1-or-later
// The faults the soak driver injects between operations, through libvpcsc's API.
#pragma once

#include <optional>
#include <string>

namespace soak {

enum class FaultKind {
	ServiceLost,   // vpcsc_service_lost(): pcsc-lite/ctkpcscd restart, the card stays powered
	ServiceDownUp, // vpcsc_service_down(0) + vpcsc_service_up(): pcscd restart, card power-cycled
	ServiceUpLate, // as ServiceDownUp, the card reported late (vpcsc_service_up_late(late_ms))
	CardReset,     // vpcsc_card_reset(reader): a warm reset by another process
	ServiceOutage, // vpcsc_service_down(0), --outage-ms with no operation (pollers still poll), vpcsc_service_up()
	None,          // nothing (a control: counted like a fault)
};

const char *fault_name(FaultKind kind) noexcept;
std::optional<FaultKind> parse_fault(const std::string &name);
// "service_lost, service_down_up, ..." for error messages
std::string fault_names();

} // namespace soak
