// SPDX-License-Identifier: LGPL-2.1-or-later
// The PC/SC entry points a fault plan can name ("SCardTransmit", ...).
#pragma once

#include <cstddef>
#include <optional>
#include <string>

namespace fault {

enum class EntryPoint {
	EstablishContext,
	ReleaseContext,
	IsValidContext,
	Connect,
	Reconnect,
	Disconnect,
	BeginTransaction,
	EndTransaction,
	Status,
	GetStatusChange,
	Cancel,
	Transmit,
	ListReaders,
	GetAttrib,
	Control,
	FreeMemory,
};

constexpr std::size_t entry_point_count = 16;

// "SCardTransmit" for EntryPoint::Transmit.
const char *entry_point_name(EntryPoint entry);
std::optional<EntryPoint> entry_point_from_name(const std::string &name);

} // namespace fault
