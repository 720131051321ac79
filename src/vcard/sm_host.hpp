// SPDX-License-Identifier: LGPL-2.1-or-later
// The host side of ePass2003 secure messaging, written from EPASS2003.md
// §2.3–2.8 the way OpenSC 0.27.1 does it (wrap commands, verify response
// MACs, decrypt). Used by the tests and the fuzzer to talk to the card.
#pragma once

#include "apdu.hpp"
#include "card.hpp"
#include "secure_messaging.hpp"

namespace vcard {

class SmHost {
public:
	struct Response {
		Bytes data;
		std::uint16_t sw = 0;
		bool mac_ok = true;  // response MAC verified (not checked for FIPS)
		bool wrapped = true; // answered with 99/8E objects
	};

	SmHost(SmVariant v, const Bytes &static_key = Bytes());

	// GET DATA 86 + INITIALIZE UPDATE + EXTERNAL AUTHENTICATE; false on any
	// failure (card cryptogram mismatch, status ≠ 9000).
	bool open(Card &card, const Bytes &host_challenge = Bytes());
	bool is_open() const { return open_; }
	// Wraps plain (if a session is open), sends it, unwraps the answer.
	Response transmit(Card &card, const Apdu &plain);
	// Builds the wire APDU for plain (advances the ICV).
	Bytes wrap(const Apdu &plain);
	Response unwrap(const Bytes &wire_response) const;
	// MAC the FIPS retry query as OpenSC 0.27.1 does (§2.7.5).
	void set_opensc_query_mac(bool on) { opensc_query_mac_ = on; }
	const sm::SessionKeys &session_keys() const { return keys_; }

private:
	SmVariant variant_;
	SecureBytes static_key_;
	bool open_ = false;
	bool opensc_query_mac_ = false;
	sm::SessionKeys keys_;
	Bytes icv_;
};

} // namespace vcard
