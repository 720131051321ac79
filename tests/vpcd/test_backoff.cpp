// SPDX-License-Identifier: LGPL-2.1-or-later
// vpcd::Backoff: the reconnect delay doubles from its initial value up to its cap, and a reset
// (a successful connection) starts over.
#include <cstdarg>
#include <cstddef>
#include <csetjmp>
#include <cstdint>
extern "C" {
#include <cmocka.h>
}

#include <chrono>

#include "vpcd/backoff.hpp"

using std::chrono::milliseconds;

namespace {

void test_backoff_doubles_up_to_cap(void **state)
{
	(void)state;
	vpcd::Backoff b(milliseconds(20), milliseconds(200));
	const long expected[] = {20, 40, 80, 160, 200, 200};
	for (long e : expected)
		assert_int_equal(b.next().count(), e);
}

void test_backoff_reset_starts_over(void **state)
{
	(void)state;
	vpcd::Backoff b(milliseconds(5), milliseconds(1000));
	b.next();
	b.next();
	b.reset();
	assert_int_equal(b.next().count(), 5);
	assert_int_equal(b.next().count(), 10);
}

void test_backoff_cap_below_initial_is_initial(void **state)
{
	(void)state;
	vpcd::Backoff b(milliseconds(50), milliseconds(10));
	assert_int_equal(b.next().count(), 50);
	assert_int_equal(b.next().count(), 50);
}

} // namespace

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_backoff_doubles_up_to_cap),
		cmocka_unit_test(test_backoff_reset_starts_over),
		cmocka_unit_test(test_backoff_cap_below_initial_is_initial),
	};
	return cmocka_run_group_tests_name("vpcd backoff", tests, nullptr, nullptr);
}
