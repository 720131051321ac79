// SPDX-License-Identifier: LGPL-2.1-or-later
#include "apdu_log.hpp"

#include "hex.hpp"

#include <algorithm>
#include <cstdio>

namespace vcard {

void ApduLog::set_capacity(std::size_t n)
{
	capacity_ = n;
	if (entries_.size() > capacity_)
		entries_.erase(entries_.begin(), entries_.end() - static_cast<std::ptrdiff_t>(capacity_));
	if (capacity_ == 0)
		std::vector<Entry>().swap(entries_);
}

void ApduLog::add(Side side, Dir dir, const Bytes &bytes)
{
	++seq_;
	if (!path_.empty()) {
		// Best effort: a log that cannot be written must not break the card.
		if (std::FILE *f = std::fopen(path_.c_str(), "a")) {
			std::fprintf(f, "{\"seq\":%llu,\"side\":\"%s\",\"dir\":\"%s\",\"apdu\":\"%s\"}\n",
				static_cast<unsigned long long>(seq_), side == Side::Wire ? "wire" : "plain",
				dir == Dir::Command ? "command" : "response", to_hex(bytes).c_str());
			std::fclose(f);
		}
	}
	if (capacity_ == 0)
		return;
	if (entries_.size() >= capacity_)
		entries_.erase(entries_.begin(), entries_.begin() + static_cast<std::ptrdiff_t>((capacity_ + 1) / 2));
	entries_.push_back(Entry{seq_, side, dir, bytes});
}

bool ApduLog::contains(Side side, const Bytes &needle) const
{
	for (const auto &e : entries_) {
		if (e.side != side)
			continue;
		if (std::search(e.bytes.begin(), e.bytes.end(), needle.begin(), needle.end()) != e.bytes.end())
			return true;
	}
	return false;
}

} // namespace vcard
