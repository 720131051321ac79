// SPDX-License-Identifier: LGPL-2.1-or-later
// The card side of one secure-messaging session: mutual authentication
// state, session keys, the MAC chaining value; unwraps commands and wraps
// responses (EPASS2003.md §2.3–§2.8). Volatile: lost on reset.
#pragma once

#include "apdu.hpp"
#include "secure_messaging.hpp"

namespace vcard {

class SmSession {
public:
	explicit SmSession(SmVariant v) : variant_(v) {}

	bool active() const { return active_; }
	void close();

	// INITIALIZE UPDATE: starts a new key agreement, discarding any session.
	Bytes initialize_update(const SecureBytes &k_enc, const SecureBytes &k_mac, const Bytes &host_challenge,
		const Bytes &card_challenge);
	// EXTERNAL AUTHENTICATE 84 82 03 00: returns false on a wrong cryptogram
	// or MAC (no session then).
	bool external_authenticate(const Bytes &header5, const Bytes &data);

	// Verifies and decrypts a wrapped command. Returns false (and closes the
	// session) on a missing session, malformed SM objects or a bad MAC.
	bool unwrap(const Apdu &wire, Apdu &plain, bool accept_opensc_query_mac);
	// Wraps the answer to the last unwrapped command.
	Bytes wrap(const Bytes &data, std::uint16_t sw) const;

private:
	SmVariant variant_;
	bool active_ = false;
	bool pending_ = false;
	Bytes hc_, cc_;
	sm::SessionKeys keys_;
	Bytes icv_;
};

} // namespace vcard
