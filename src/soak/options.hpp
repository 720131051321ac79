// SPDX-License-Identifier: LGPL-2.1-or-later
// The soak driver's command line.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "soak/fault_kind.hpp"

namespace soak {

struct Options {
	std::string module;           // --module: opensc-pkcs11.so
	std::string token;            // --token: the ePass2003 image (copied, never modified)
	std::string vpcsc;            // --vpcsc or $VPCSC_LIBRARY
	std::string pin = "123456";   // --pin
	std::string key_id;           // --key-id HEX (lower case), empty: the first RSA signing key
	std::string label;            // --label: names the run in the summary and the JSON
	std::string json;             // --json FILE
	std::string work_dir;         // --work-dir DIR (kept); empty: a temporary one (removed)
	std::optional<std::uint64_t> iterations; // --iterations N
	std::optional<double> seconds;           // --seconds S
	std::uint64_t warmup = 20;               // --warmup N
	std::uint64_t seed = 1;                  // --seed N
	std::uint64_t fault_every = 10;          // --fault-every K (on average)
	std::vector<FaultKind> faults = {FaultKind::ServiceLost, FaultKind::ServiceDownUp, FaultKind::ServiceUpLate,
			FaultKind::CardReset};  // --faults LIST; --no-faults: empty
	unsigned long late_ms = 400;            // --late-ms: card delay of service_up_late
	bool require_pin_for_key = false;       // --require-pin-for-key
	int opensc_debug = 0;                   // --opensc-debug N (log in the work dir)
	bool help = false;
};

// Throws UsageError naming the bad option or value.
Options parse_options(int argc, char **argv);

const char *usage_text() noexcept;

} // namespace soak
