// SPDX-License-Identifier: LGPL-2.1-or-later
#include "soak/latency_histogram.hpp"

#include <algorithm>
#include <cmath>

namespace soak {

namespace {

constexpr unsigned sub_bits = 6;                    // 64 sub-buckets per power of two
constexpr std::uint64_t linear = 2u << sub_bits;    // 0..127 exact
constexpr unsigned max_exp = 63;

unsigned
log2_floor(std::uint64_t v) noexcept
{
	return 63u - static_cast<unsigned>(__builtin_clzll(v));
}

} // namespace

LatencyHistogram::LatencyHistogram() : buckets_(linear + (max_exp - sub_bits) * (1u << sub_bits) + 1, 0) {}

std::size_t
LatencyHistogram::bucket(std::uint64_t ns) noexcept
{
	if (ns < linear)
		return static_cast<std::size_t>(ns);
	unsigned e = log2_floor(ns); // >= sub_bits + 1
	std::uint64_t sub = (ns >> (e - sub_bits)) & ((1u << sub_bits) - 1);
	return static_cast<std::size_t>(linear + (e - sub_bits - 1) * (1u << sub_bits) + sub);
}

std::uint64_t
LatencyHistogram::bucket_low(std::size_t b) noexcept
{
	if (b < linear)
		return b;
	std::size_t k = b - linear;
	unsigned e = static_cast<unsigned>(k >> sub_bits) + sub_bits + 1;
	std::uint64_t sub = k & ((1u << sub_bits) - 1);
	return (std::uint64_t{1} << e) + (sub << (e - sub_bits));
}

void
LatencyHistogram::record(std::uint64_t ns) noexcept
{
	std::size_t b = std::min(bucket(ns), buckets_.size() - 1);
	buckets_[b]++;
	count_++;
	sum_ += ns;
	min_ = std::min(min_, ns);
	max_ = std::max(max_, ns);
}

std::uint64_t
LatencyHistogram::quantile(double q) const noexcept
{
	if (count_ == 0)
		return 0;
	q = std::clamp(q, 0.0, 1.0);
	std::uint64_t rank = static_cast<std::uint64_t>(std::ceil(q * static_cast<double>(count_)));
	rank = std::max<std::uint64_t>(rank, 1);
	std::uint64_t seen = 0;
	for (std::size_t b = 0; b < buckets_.size(); b++) {
		seen += buckets_[b];
		if (seen >= rank) {
			std::uint64_t lo = bucket_low(b);
			std::uint64_t hi = b + 1 < buckets_.size() ? bucket_low(b + 1) : lo;
			std::uint64_t mid = lo + (hi > lo ? (hi - lo) / 2 : 0);
			return std::clamp(mid, min_, max_);
		}
	}
	return max_;
}

} // namespace soak
