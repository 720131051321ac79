// SPDX-License-Identifier: LGPL-2.1-or-later
// soak::LatencyHistogram: percentiles within its bucket resolution (1/64), exact for small values,
// clamped to the recorded min/max, 0 when empty; and soak::parse_fault round-trips every name.
#include <cstdarg>
#include <cstddef>
#include <csetjmp>
#include <cstdint>
extern "C" {
#include <cmocka.h>
}

#include <cmath>
#include <memory>

#include "soak/apdu_kind.hpp"
#include "soak/fault_kind.hpp"
#include "soak/latency_histogram.hpp"

namespace {

// C++ objects live in the fixture state, not on a test's stack (cmocka longjmps)
int setup(void **state)
{
	*state = new soak::LatencyHistogram();
	return 0;
}

int teardown(void **state)
{
	delete static_cast<soak::LatencyHistogram *>(*state);
	return 0;
}

soak::LatencyHistogram &hist(void **state)
{
	return *static_cast<soak::LatencyHistogram *>(*state);
}

void assert_within(std::uint64_t got, double want, double rel)
{
	if (std::fabs(static_cast<double>(got) - want) > want * rel)
		fail_msg("got %llu, want %.0f within %.1f %%", static_cast<unsigned long long>(got), want, rel * 100);
}

void test_soak_histogram_empty_is_zero(void **state)
{
	assert_int_equal(hist(state).count(), 0);
	assert_int_equal(hist(state).quantile(0.5), 0);
	assert_int_equal(hist(state).quantile(0.99), 0);
	assert_int_equal(hist(state).max(), 0);
}

void test_soak_histogram_uniform_percentiles_within_resolution(void **state)
{
	// 1 us .. 10 ms in 10000 steps: p50 = 5.0 ms, p99 = 9.9 ms
	for (std::uint64_t i = 1; i <= 10000; i++)
		hist(state).record(i * 1000);
	assert_int_equal(hist(state).count(), 10000);
	assert_int_equal(hist(state).min(), 1000);
	assert_int_equal(hist(state).max(), 10000000);
	assert_within(hist(state).quantile(0.50), 5.0e6, 1.0 / 64);
	assert_within(hist(state).quantile(0.90), 9.0e6, 1.0 / 64);
	assert_within(hist(state).quantile(0.99), 9.9e6, 1.0 / 64);
	assert_within(static_cast<std::uint64_t>(hist(state).mean()), 5.0005e6, 1e-9);
}

void test_soak_histogram_small_values_exact(void **state)
{
	for (std::uint64_t v : {3, 3, 3, 100, 127})
		hist(state).record(v);
	assert_int_equal(hist(state).quantile(0.5), 3);
	assert_int_equal(hist(state).quantile(1.0), 127);
}

void test_soak_histogram_clamped_to_min_max(void **state)
{
	hist(state).record(2000003); // one value: every percentile is that value, not its bucket's middle
	assert_int_equal(hist(state).quantile(0.01), 2000003);
	assert_int_equal(hist(state).quantile(0.99), 2000003);
}

void test_soak_histogram_outlier_in_p99_not_p50(void **state)
{
	for (int i = 0; i < 98; i++)
		hist(state).record(2000000); // 2 ms
	hist(state).record(400000000); // two 400 ms waits (a late card)
	hist(state).record(400000000);
	assert_within(hist(state).quantile(0.50), 2.0e6, 1.0 / 64);
	assert_within(hist(state).quantile(0.99), 4.0e8, 1.0 / 64);
	hist(state).record(UINT64_MAX); // the top bucket does not overflow
	assert_int_equal(hist(state).max(), UINT64_MAX);
}

void test_soak_fault_names_round_trip(void **state)
{
	(void)state;
	for (soak::FaultKind k : {soak::FaultKind::ServiceLost, soak::FaultKind::ServiceDownUp,
			     soak::FaultKind::ServiceUpLate, soak::FaultKind::CardReset, soak::FaultKind::ServiceOutage,
			     soak::FaultKind::None}) {
		std::optional<soak::FaultKind> back = soak::parse_fault(soak::fault_name(k));
		assert_true(back.has_value());
		assert_true(*back == k);
	}
	assert_false(soak::parse_fault("service-lost").has_value());
	assert_false(soak::parse_fault("").has_value());
}

// The recovery's APDUs are split by kind from the header (EPASS2003.md: SM handshake 80 50 / 84 82,
// PIN proof 00 84 + 00 82, MSE/PSO); secure messaging keeps the header in clear (0C 82 is still 82).
void test_soak_apdu_kinds(void **state)
{
	(void)state;
	using soak::ApduKind;
	assert_true(soak::apdu_kind_of(true, 0x50) == ApduKind::SecureMessaging);  // 80 50 INITIALIZE UPDATE
	assert_true(soak::apdu_kind_of(true, 0x82) == ApduKind::SecureMessaging);  // 84 82 03 00
	assert_true(soak::apdu_kind_of(false, 0x82) == ApduKind::Pin);             // 0C 82 01 81: PIN proof
	assert_true(soak::apdu_kind_of(false, 0x84) == ApduKind::Pin);             // GET CHALLENGE
	assert_true(soak::apdu_kind_of(false, 0x20) == ApduKind::Pin);             // VERIFY
	assert_true(soak::apdu_kind_of(false, 0xA4) == ApduKind::Identity);        // SELECT
	assert_true(soak::apdu_kind_of(false, 0xCA) == ApduKind::Identity);        // GET DATA
	assert_true(soak::apdu_kind_of(false, 0x22) == ApduKind::Operation);       // MSE
	assert_true(soak::apdu_kind_of(false, 0x2A) == ApduKind::Operation);       // PSO
	assert_true(soak::apdu_kind_of(true, 0x2A) == ApduKind::Other);
	assert_true(soak::apdu_kind_of(false, 0xE0) == ApduKind::Other);           // CREATE FILE
	assert_string_equal(soak::apdu_kind_name(static_cast<std::size_t>(ApduKind::SecureMessaging)), "secure_messaging");
	assert_string_equal(soak::apdu_kind_name(soak::apdu_kinds), "?");
}

} // namespace

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_soak_histogram_empty_is_zero, setup, teardown),
		cmocka_unit_test_setup_teardown(test_soak_histogram_uniform_percentiles_within_resolution, setup, teardown),
		cmocka_unit_test_setup_teardown(test_soak_histogram_small_values_exact, setup, teardown),
		cmocka_unit_test_setup_teardown(test_soak_histogram_clamped_to_min_max, setup, teardown),
		cmocka_unit_test_setup_teardown(test_soak_histogram_outlier_in_p99_not_p50, setup, teardown),
		cmocka_unit_test(test_soak_fault_names_round_trip),
		cmocka_unit_test(test_soak_apdu_kinds),
	};
	return cmocka_run_group_tests_name("soak histogram", tests, nullptr, nullptr);
}
