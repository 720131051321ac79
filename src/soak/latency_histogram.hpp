// SPDX-License-Identifier: LGPL-2.1-or-later
// Latencies in nanoseconds in a fixed-size log-linear histogram: 64 sub-buckets per power of two
// (percentiles within 1/64 = 1.6 %), exact below 128 ns. Its memory is allocated once, so recording
// does not grow the process (RSS growth is measured).
#pragma once

#include <cstdint>
#include <vector>

namespace soak {

class LatencyHistogram {
public:
	LatencyHistogram();
	void record(std::uint64_t ns) noexcept;
	std::uint64_t count() const noexcept { return count_; }
	std::uint64_t min() const noexcept { return count_ ? min_ : 0; }
	std::uint64_t max() const noexcept { return max_; }
	double mean() const noexcept { return count_ ? static_cast<double>(sum_) / static_cast<double>(count_) : 0; }
	// The value at quantile q (0..1): the middle of its bucket, clamped to [min, max]; 0 if empty.
	std::uint64_t quantile(double q) const noexcept;

private:
	static std::size_t bucket(std::uint64_t ns) noexcept;
	static std::uint64_t bucket_low(std::size_t b) noexcept;
	std::vector<std::uint64_t> buckets_;
	std::uint64_t count_ = 0, sum_ = 0, min_ = UINT64_MAX, max_ = 0;
};

} // namespace soak
