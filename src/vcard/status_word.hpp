// SPDX-License-Identifier: LGPL-2.1-or-later
// Status words by name (ISO 7816-4 and the meanings the OpenSC epass2003
// driver gives them, EPASS2003.md §5.4), and the exception a handler raises
// to answer with one. Only the dispatcher turns it into an R-APDU.
#pragma once

#include <cstdint>
#include <stdexcept>

namespace vcard {

enum class Sw : std::uint16_t {
	Ok = 0x9000,
	EndOfFile = 0x6282,
	AuthFailed = 0x6300,
	WrongLength = 0x6700,
	SmNotSupported = 0x6882,
	SecurityNotSatisfied = 0x6982,
	AuthBlocked = 0x6983,
	RefDataNotUsable = 0x6984,
	ConditionsNotSatisfied = 0x6985,
	CommandNotAllowed = 0x6986,
	SmObjectsIncorrect = 0x6988,
	WrongData = 0x6A80,
	FuncNotSupported = 0x6A81,
	FileNotFound = 0x6A82,
	RecordNotFound = 0x6A83,
	NotEnoughMemory = 0x6A84,
	IncorrectP1P2 = 0x6A86,
	RefDataNotFound = 0x6A88,
	FileExists = 0x6A89,
	WrongP1P2 = 0x6B00,
	InsNotSupported = 0x6D00,
	ClaNotSupported = 0x6E00,
	Unknown = 0x6F00,
};

// 63Cx: x tries left (0..15).
inline std::uint16_t sw_tries_left(unsigned x)
{
	return static_cast<std::uint16_t>(0x63C0 | (x & 0x0F));
}

// Raised by command handlers; the dispatcher answers with the status word.
class CardStatus : public std::exception {
public:
	explicit CardStatus(Sw sw) : sw_(static_cast<std::uint16_t>(sw)) {}
	explicit CardStatus(std::uint16_t sw) : sw_(sw) {}
	std::uint16_t sw() const { return sw_; }
	const char *what() const noexcept override { return "card status word"; }

private:
	std::uint16_t sw_;
};

} // namespace vcard
