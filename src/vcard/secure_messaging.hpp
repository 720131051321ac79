// SPDX-License-Identifier: LGPL-2.1-or-later
// The ePass2003 secure messaging (EPASS2003.md §2) as pure functions over
// keys and bytes, shared by the card side (SmSession) and the host side used
// by tests (SmHost). Known-answer vectors: EPASS2003.md §2.11.
#pragma once

#include "card.hpp"
#include "secure_bytes.hpp"
#include "sm_variant.hpp"

#include <cstdint>

namespace vcard {
namespace sm {

struct SessionKeys {
	SecureBytes enc;
	SecureBytes mac;
};

std::size_t block_size(SmVariant v);

// The unused prefix of the INITIALIZE UPDATE answer (12 bytes, FIPS 13).
Bytes init_update_prefix(SmVariant v);

SessionKeys derive_session_keys(SmVariant v, const SecureBytes &k_enc, const SecureBytes &k_mac,
	const Bytes &host_challenge, const Bytes &card_challenge);
Bytes card_cryptogram(SmVariant v, const SessionKeys &k, const Bytes &hc, const Bytes &cc);
Bytes host_cryptogram(SmVariant v, const SessionKeys &k, const Bytes &hc, const Bytes &cc);
// MAC of EXTERNAL AUTHENTICATE over header5 || host cryptogram.
Bytes external_auth_mac(SmVariant v, const SessionKeys &k, const Bytes &header_and_hcr);

// The MAC chaining value after mutual authentication: MAC || 00×8.
Bytes initial_icv(const Bytes &ext_auth_mac);
void increment_icv(SmVariant v, Bytes &icv);

// Command MAC (§2.7.4/§2.7.5) over the header and the raw DO87/DO97 bytes,
// with the already incremented ICV.
Bytes command_mac(SmVariant v, const SessionKeys &k, const Bytes &icv, const std::uint8_t header[4],
	const Bytes &do87_do97);
// FIPS retry-query MAC: CMAC over the 4 header bytes only (§2.7.5).
Bytes fips_query_mac(const SessionKeys &k, const std::uint8_t header[4]);
// The same MAC as OpenSC 0.27.1's home-made CMAC computes it (it mis-aligns
// a subkey when a shifted value has a leading zero byte; §2.7.5).
Bytes fips_query_mac_opensc(const SessionKeys &k, const std::uint8_t header[4]);
// Response MAC over everything before the 8E tag (§2.8).
Bytes response_mac(SmVariant v, const SessionKeys &k, const Bytes &icv, const Bytes &body);

// pad80 + CBC with IV 0 (DO87 contents without the 01 indicator).
Bytes encrypt(SmVariant v, const SessionKeys &k, const Bytes &plain);
// Returns false for a bad length or padding.
bool decrypt(SmVariant v, const SessionKeys &k, const Bytes &cipher, Bytes &plain);

// BER length as the card emits it (correct BER, §2.8).
void append_ber_length(Bytes &out, std::size_t len);
// BER length as OpenSC emits it in commands (82 HH LL above 7E, §2.7.2).
void append_opensc_length(Bytes &out, std::size_t len);
// Parses a BER length at pos; returns false if malformed.
bool read_ber_length(const Bytes &in, std::size_t &pos, std::size_t &len);

} // namespace sm
} // namespace vcard
