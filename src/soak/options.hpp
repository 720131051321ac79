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
			FaultKind::CardReset};  // --fault-kinds LIST; --no-faults: empty
	std::optional<std::uint64_t> fault_count; // --faults N: exactly N faults, then the run ends
	unsigned readers = 1;                   // --readers N: N readers, each with its own copy of the token
	unsigned sessions = 0;                  // --sessions N (0: one per reader), round-robin over the tokens
	bool poller = false;                    // --poller: a thread polling slots, sessions and events
	unsigned long poll_interval_ms = 20;    // --poll-interval-ms
	enum class Progress { Auto, On, Off } progress = Progress::Auto; // --progress / --no-progress
	std::uint64_t apdu_log_capacity = 0;    // --apdu-log-capacity: APDUs the virtual card keeps in memory
	std::string apdu_log;                   // --apdu-log FILE: the card's JSON-lines APDU log (VCARD_APDU_LOG)
	unsigned long late_ms = 400;            // --late-ms: card delay of service_up_late
	unsigned long outage_ms = 200;          // --outage-ms: how long service_outage keeps the service down
	bool require_pin_for_key = false;       // --require-pin-for-key
	int opensc_debug = 0;                   // --opensc-debug N (log in the work dir)
	bool help = false;
};

// Throws UsageError naming the bad option or value.
Options parse_options(int argc, char **argv);

const char *usage_text() noexcept;

} // namespace soak
