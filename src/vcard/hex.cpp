// SPDX-License-Identifier: LGPL-2.1-or-later
#include "hex.hpp"

#include "error.hpp"

namespace vcard {

std::string to_hex(const std::uint8_t *p, std::size_t n)
{
	static const char digits[] = "0123456789ABCDEF";
	std::string s;
	s.reserve(n * 2);
	for (std::size_t i = 0; i < n; i++) {
		s.push_back(digits[p[i] >> 4]);
		s.push_back(digits[p[i] & 0x0F]);
	}
	return s;
}

std::string to_hex(const Bytes &b)
{
	return to_hex(b.data(), b.size());
}

static int nibble(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

Bytes from_hex(const std::string &s)
{
	Bytes out;
	int hi = -1;
	for (char c : s) {
		if (c == ' ' || c == ':')
			continue;
		int v = nibble(c);
		if (v < 0)
			throw Error("hex: invalid character in \"" + s.substr(0, 40) + "\"");
		if (hi < 0) {
			hi = v;
		} else {
			out.push_back(static_cast<std::uint8_t>((hi << 4) | v));
			hi = -1;
		}
	}
	if (hi >= 0)
		throw Error("hex: odd number of digits in \"" + s.substr(0, 40) + "\"");
	return out;
}

} // namespace vcard
