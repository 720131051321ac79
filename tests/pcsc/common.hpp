// SPDX-License-Identifier: LGPL-2.1-or-later
// Shared helpers of the libvpcsc tests. The test binaries link libvpcsc
// directly: SCard* are the provider's, vpcsc_* its control API.
#pragma once

#include <cstdarg>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <setjmp.h>
#include <string>
#include <vector>

extern "C" {
#include <cmocka.h>
}

#include <reader.h>
#include <winscard.h>

#include "pcsc/vpcsc.h"

namespace vpcsc_test {

// Two readers: "Reader A 00 00" holds scripted card "a"; "Reader B 01 00"
// is empty. Card "b" (same ATR, other serial) is spare. GET DATA 00 CA 00 80
// answers the serial; INS EE echoes.
inline const char *two_readers =
	R"({"readers": [{"name": "Reader A", "card": "a"}, {"name": "Reader B"}],
	    "cards": {
	      "a": {"type": "scripted", "atr": "3B 88 01 76 70 63 73 63 2D 73 63 C1", "echo_ins": "0xEE",
	            "responses": [{"command": "00CA0080*", "response": "41 41 90 00"}]},
	      "b": {"type": "scripted", "atr": "3B 88 01 76 70 63 73 63 2D 73 63 C1", "echo_ins": "0xEE",
	            "responses": [{"command": "00CA0080*", "response": "42 42 90 00"}]}}})";

inline const char *reader_a = "Reader A 00 00";
inline const char *reader_b = "Reader B 01 00";

inline const SCARD_IO_REQUEST t1_pci = {SCARD_PROTOCOL_T1, sizeof(SCARD_IO_REQUEST)};

// Send GET DATA serial; returns the response (empty on PC/SC error, rv set).
inline std::vector<std::uint8_t>
get_serial(SCARDHANDLE h, LONG *rv)
{
	const BYTE cmd[] = {0x00, 0xCA, 0x00, 0x80, 0x00};
	BYTE resp[258];
	DWORD len = sizeof resp;
	*rv = SCardTransmit(h, &t1_pci, cmd, sizeof cmd, nullptr, resp, &len);
	if (*rv != SCARD_S_SUCCESS)
		return {};
	return std::vector<std::uint8_t>(resp, resp + len);
}

inline int
reset_with(const char *scenario)
{
	if (vpcsc_reset(scenario) != 0) {
		print_error("vpcsc_reset: %s\n", vpcsc_last_error());
		return -1;
	}
	return 0;
}

} // namespace vpcsc_test
