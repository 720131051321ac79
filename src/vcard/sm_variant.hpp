// SPDX-License-Identifier: LGPL-2.1-or-later
#pragma once

#include <string>

namespace vcard {

// Secure-messaging variant of a card (EPASS2003.md §1.3).
enum class SmVariant {
	Plain, // SM off (GET DATA 86 byte 16 = 00)
	Des,   // 3DES-CBC, retail MAC, SCP01 keys
	Aes,   // AES-CBC, AES-CBC-MAC, SCP01 keys
	Fips,  // AES-CBC, AES-CMAC, SCP03-like KDF
};

std::string to_string(SmVariant v);
// "plain", "3des" (alias "des"), "aes", "fips"; throws vcard::Error otherwise.
SmVariant sm_variant_from_string(const std::string &s);

} // namespace vcard
