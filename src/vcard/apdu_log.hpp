// SPDX-License-Identifier: LGPL-2.1-or-later
// Record of every exchange on both sides of secure messaging: "wire" (what
// the transport carried) and "plain" (what the handlers saw). Tests read it
// through Epass2003Card::log(); optionally mirrored as JSON lines to a file
// (one object per APDU: {"seq","side","dir","apdu"}).
#pragma once

#include "card.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace vcard {

class ApduLog {
public:
	enum class Side { Wire, Plain };
	enum class Dir { Command, Response };
	struct Entry {
		std::uint64_t seq;
		Side side;
		Dir dir;
		Bytes bytes;
	};

	// Empty path: memory only. The file is appended to, never truncated.
	void set_file(const std::string &path) { path_ = path; }
	// How many entries stay in memory: when full, the older half is dropped (so between n/2 and n
	// are kept). 0: none (the file, if any, still gets every APDU).
	void set_capacity(std::size_t n);
	std::size_t capacity() const { return capacity_; }
	void add(Side side, Dir dir, const Bytes &bytes);
	const std::vector<Entry> &entries() const { return entries_; }
	void clear() { entries_.clear(); }
	// True if needle occurs in any logged APDU of the given side.
	bool contains(Side side, const Bytes &needle) const;

private:
	std::vector<Entry> entries_;
	std::string path_;
	std::size_t capacity_ = kDefaultCapacity;

public:
	static constexpr std::size_t kDefaultCapacity = 100000;
	std::uint64_t seq_ = 0;
};

} // namespace vcard
