// SPDX-License-Identifier: LGPL-2.1-or-later
// Behaviour where the real card is unknown (EPASS2003.md §7) is an explicit
// option with a documented default; the options are stored in the image.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>

namespace vcard {

enum class PlainApduPolicy {
	Strict,  // SM-on card: plain APDUs other than GET DATA 86 / INITIALIZE
		 // UPDATE / EXTERNAL AUTHENTICATE get a bare bad-SM status (§2.10)
	Lenient, // plain APDUs are executed (popovec's simulator)
};

struct CardOptions {
	PlainApduPolicy plain_apdu_policy = PlainApduPolicy::Strict;
	// Status for a wrapped command with bad MAC / no session and for plain
	// commands under the strict policy: 6988 (G1, #1110) or 6985 (G-FIPS).
	std::uint16_t bad_sm_status = 0x6988;
	// Q3: INITIALIZE UPDATE clears the PIN-verified security state.
	bool new_session_clears_security = true;
	// Q5: a successful PUK authentication (kid k) re-arms the counter of
	// the PIN key kid k-1 (OpenSC's unblock relies on it).
	bool puk_resets_pin_counter = true;
	// Q6: a GET CHALLENGE value can be used for one authentication only.
	bool challenge_single_use = true;
	// §8.3 #2: G1 tokens without the EC option refuse EC generation (6A80).
	bool ec_supported = true;
	// Q7: replacing an existing secret key needs its modify AC (H3).
	bool install_key_checks_modify_ac = true;
	// FIPS retry query: also accept OpenSC 0.27.1's mis-computed CMAC (§2.7.5).
	bool accept_opensc_fips_query_mac = true;
	// Q15: ECDSA input shorter than 32 bytes is right-padded with zeros to
	// 32 bytes before signing (a hypothesis for the real token failing
	// p11test's ec_sign_size_test with ECDSA-SHA224); default: e is used as
	// the integer it encodes, as ECDSA specifies.
	bool ecdsa_pads_short_input = false;
	// §8.3 #4: 2023+ FIPS tokens answer the PIN retry query with 6985
	// (OpenSC 0.27.1 then fails every login); off by default.
	bool fips_refuses_retry_query = false;
	// Persist the image after every command that changed non-volatile state.
	bool autosave = true;

	nlohmann::json to_json() const;
	// Unknown keys or bad values throw vcard::Error naming the key.
	static CardOptions from_json(const nlohmann::json &j);
};

} // namespace vcard
