// SPDX-License-Identifier: LGPL-2.1-or-later
#include "fault/entry_point.hpp"

#include <array>

namespace fault {

namespace {

const std::array<const char *, entry_point_count> names = {
	"SCardEstablishContext",
	"SCardReleaseContext",
	"SCardIsValidContext",
	"SCardConnect",
	"SCardReconnect",
	"SCardDisconnect",
	"SCardBeginTransaction",
	"SCardEndTransaction",
	"SCardStatus",
	"SCardGetStatusChange",
	"SCardCancel",
	"SCardTransmit",
	"SCardListReaders",
	"SCardGetAttrib",
	"SCardControl",
	"SCardFreeMemory",
};

} // namespace

const char *
entry_point_name(EntryPoint entry)
{
	return names.at(static_cast<std::size_t>(entry));
}

std::optional<EntryPoint>
entry_point_from_name(const std::string &name)
{
	for (std::size_t i = 0; i < names.size(); i++)
		if (name == names[i])
			return static_cast<EntryPoint>(i);
	return std::nullopt;
}

} // namespace fault
