// SPDX-License-Identifier: LGPL-2.1-or-later
// The one place where exceptions stop at the C ABI.
#pragma once

#include <exception>
#include <new>
#include <string>

#include <winscard.h>

namespace pcsc {

// Run an SCard* body; bad_alloc -> SCARD_E_NO_MEMORY, anything else ->
// SCARD_F_INTERNAL_ERROR.
template <typename F>
LONG
guard(F &&body) noexcept
{
	try {
		return body();
	} catch (const std::bad_alloc &) {
		return SCARD_E_NO_MEMORY;
	} catch (...) {
		return SCARD_F_INTERNAL_ERROR;
	}
}

// Run a vpcsc_* body returning int/long; on an exception store its message
// for vpcsc_last_error() and return `failed`.
void set_last_error(const std::string &message) noexcept;

template <typename R, typename F>
R
guard_api(R failed, F &&body) noexcept
{
	try {
		set_last_error("");
		return body();
	} catch (const std::exception &e) {
		set_last_error(e.what());
	} catch (...) {
		set_last_error("unknown error");
	}
	return failed;
}

} // namespace pcsc
