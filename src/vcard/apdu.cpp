// SPDX-License-Identifier: LGPL-2.1-or-later
#include "apdu.hpp"

#include "status_word.hpp"

namespace vcard {

std::size_t Apdu::ne() const
{
	if (!has_le)
		return 65536;
	if (le == 0)
		return extended ? 65536 : 256;
	return le;
}

Apdu parse_apdu(const Bytes &raw)
{
	if (raw.size() < 4)
		throw CardStatus(Sw::WrongLength);
	Apdu a;
	a.cla = raw[0];
	a.ins = raw[1];
	a.p1 = raw[2];
	a.p2 = raw[3];
	const std::size_t n = raw.size();
	if (n == 4)
		return a; // case 1
	if (n == 5) { // case 2 short
		a.has_le = true;
		a.le = raw[4];
		return a;
	}
	if (raw[4] != 0) { // short case 3 or 4
		std::size_t lc = raw[4];
		if (n == 5 + lc) {
			a.data.assign(raw.begin() + 5, raw.end());
			return a;
		}
		if (n == 6 + lc) {
			a.data.assign(raw.begin() + 5, raw.begin() + 5 + lc);
			a.has_le = true;
			a.le = raw[5 + lc];
			return a;
		}
		throw CardStatus(Sw::WrongLength);
	}
	// extended: 00 xx xx
	a.extended = true;
	if (n == 7) { // case 2 extended
		a.has_le = true;
		a.le = (std::size_t(raw[5]) << 8) | raw[6];
		return a;
	}
	if (n < 8)
		throw CardStatus(Sw::WrongLength);
	std::size_t lc = (std::size_t(raw[5]) << 8) | raw[6];
	if (lc == 0)
		throw CardStatus(Sw::WrongLength);
	if (n == 7 + lc) {
		a.data.assign(raw.begin() + 7, raw.end());
		return a;
	}
	if (n == 9 + lc) {
		a.data.assign(raw.begin() + 7, raw.begin() + 7 + lc);
		a.has_le = true;
		a.le = (std::size_t(raw[7 + lc]) << 8) | raw[8 + lc];
		return a;
	}
	throw CardStatus(Sw::WrongLength);
}

Bytes command_bytes(const Apdu &a)
{
	Bytes out{a.cla, a.ins, a.p1, a.p2};
	const bool ext = a.extended || a.data.size() > 255 || (a.has_le && a.le > 256);
	if (!a.data.empty()) {
		if (ext) {
			out.push_back(0x00);
			out.push_back(static_cast<std::uint8_t>(a.data.size() >> 8));
		}
		out.push_back(static_cast<std::uint8_t>(a.data.size()));
		out.insert(out.end(), a.data.begin(), a.data.end());
	}
	if (a.has_le) {
		if (ext) {
			if (a.data.empty())
				out.push_back(0x00);
			out.push_back(static_cast<std::uint8_t>(a.le >> 8));
		}
		out.push_back(static_cast<std::uint8_t>(a.le));
	}
	return out;
}

} // namespace vcard
