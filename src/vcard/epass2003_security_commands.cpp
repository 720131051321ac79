// SPDX-License-Identifier: LGPL-2.1-or-later
// Security command handlers: GET CHALLENGE, SM mutual authentication, PIN
// external authentication and retry query, VERIFY (magic PIN), INSTALL and
// UPDATE SECRET KEY (EPASS2003.md §2.3–2.6, §3.5, §3.6, §3.13, §3.14, §3.16).
#include "epass2003_card.hpp"

#include "access_rule.hpp"
#include "crypto.hpp"
#include "status_word.hpp"

namespace vcard {

namespace {

constexpr std::size_t kPinKeyLen = 24;
constexpr std::size_t kSmKeyLen = 16;
constexpr std::size_t kMaxVerifyPinLen = 16;
constexpr std::uint8_t kTypeSmEnc = 0x01;
constexpr std::uint8_t kTypeSmMac = 0x02;
constexpr std::uint8_t kStateSo = 0x08;

} // namespace

Bytes Epass2003Card::cmd_get_challenge(const Apdu &a)
{
	if (a.p1 != 0 || a.p2 != 0)
		throw CardStatus(Sw::IncorrectP1P2);
	if (!a.has_le)
		throw CardStatus(Sw::WrongLength);
	std::size_t n = a.le == 0 ? 8 : a.le;
	if (n > 64)
		throw CardStatus(Sw::WrongLength);
	challenge_ = crypto::random_bytes(n);
	return challenge_;
}

Bytes Epass2003Card::cmd_initialize_update(const Apdu &a)
{
	if (variant_ == SmVariant::Plain)
		throw CardStatus(Sw::InsNotSupported);
	if (a.cla != 0x80)
		throw CardStatus(Sw::ClaNotSupported);
	if (a.data.size() != 8)
		throw CardStatus(Sw::WrongLength);
	// A new key agreement always discards the old session (§2.9).
	if (options_.new_session_clears_security)
		security_state_ = 0;
	return session_.initialize_update(static_enc_, static_mac_, a.data, crypto::random_bytes(8));
}

Bytes Epass2003Card::authenticate_with(SecretKey &key, bool ok)
{
	if (ok) {
		if (key.tries_left() != key.max_tries()) {
			key.reset_tries();
			touch();
		}
		security_state_ = key.state_on_success();
		if (options_.puk_resets_pin_counter && key.type() == SecretStore::kTypePinKey &&
			key.state_on_success() == kStateSo && key.kid() > 1) {
			SecretKey *pin = secrets_.find(SecretStore::kTypePinKey, static_cast<std::uint8_t>(key.kid() - 1));
			if (pin && pin->tries_left() != pin->max_tries()) {
				pin->reset_tries();
				touch();
			}
		}
		return Bytes();
	}
	const unsigned left = key.tries_left() ? key.tries_left() - 1 : 0;
	key.set_tries_left(left);
	touch();
	if (left == 0)
		throw CardStatus(Sw::AuthBlocked);
	throw CardStatus(sw_tries_left(left));
}

Bytes Epass2003Card::cmd_external_authenticate(const Apdu &a)
{
	if (a.cla == 0x84) {
		// SM EXTERNAL AUTHENTICATE 84 82 03 00 (§2.6); never 6985/6988 here.
		if (variant_ == SmVariant::Plain)
			throw CardStatus(Sw::InsNotSupported);
		const Bytes header = {a.cla, a.ins, a.p1, a.p2, static_cast<std::uint8_t>(a.data.size())};
		if (a.p1 != 0x03 || a.p2 != 0x00 || !session_.external_authenticate(header, a.data))
			throw CardStatus(Sw::AuthFailed);
		return Bytes();
	}
	// PIN external authentication 00 82 01 8k (§3.6)
	if (a.p1 != 0x01 || !(a.p2 & 0x80))
		throw CardStatus(Sw::IncorrectP1P2);
	SecretKey *key = secrets_.find(SecretStore::kTypePinKey, a.p2 & 0x7F);
	if (!key)
		throw CardStatus(Sw::RefDataNotFound);
	if (a.data.empty()) {
		// Retry-counter query: MUST be 63Cx and must not touch the state.
		if (variant_ == SmVariant::Fips && options_.fips_refuses_retry_query)
			throw CardStatus(Sw::ConditionsNotSatisfied);
		throw CardStatus(sw_tries_left(key->tries_left()));
	}
	if (a.data.size() != 8)
		throw CardStatus(Sw::WrongLength);
	if (key->blocked())
		throw CardStatus(Sw::AuthBlocked);
	require(key->use_ac());
	if (challenge_.size() < 8)
		throw CardStatus(Sw::RefDataNotUsable);
	Bytes r(challenge_.begin(), challenge_.begin() + 8);
	if (options_.challenge_single_use)
		challenge_.clear();
	Bytes expect = crypto::cipher("DES-EDE3-ECB", key->value.data(), key->value.size(), Bytes(), r, true);
	SecureBytes expected(expect);
	OPENSSL_cleanse(expect.data(), expect.size());
	return authenticate_with(*key, expected.equals(a.data.data(), a.data.size()));
}

Bytes Epass2003Card::cmd_verify(const Apdu &a)
{
	if (a.p1 != 0x00)
		throw CardStatus(Sw::IncorrectP1P2);
	SecretKey *key = secrets_.find(SecretStore::kTypeVerifyPin, a.p2);
	if (!key)
		throw CardStatus(Sw::RefDataNotFound);
	if (a.data.empty())
		throw CardStatus(sw_tries_left(key->tries_left()));
	if (key->blocked())
		throw CardStatus(Sw::AuthBlocked);
	return authenticate_with(*key, key->value.equals(a.data.data(), a.data.size()));
}

Bytes Epass2003Card::cmd_install_secret_key(const Apdu &a)
{
	if (a.p1 != 0x00 || a.p2 != 0x00)
		throw CardStatus(Sw::IncorrectP1P2);
	if (a.data.size() < 11)
		throw CardStatus(Sw::WrongLength);
	std::array<std::uint8_t, 10> header{};
	for (std::size_t i = 0; i < 10; i++)
		header[i] = a.data[i];
	SecureBytes value(a.data.data() + 10, a.data.size() - 10);
	const std::uint8_t type = header[0];
	switch (type) {
	case SecretStore::kTypePinKey:
		if (value.size() != kPinKeyLen || (header[9] >> 4) == 0)
			throw CardStatus(Sw::WrongData);
		break;
	case SecretStore::kTypeVerifyPin:
		if (value.size() > kMaxVerifyPinLen || (header[9] >> 4) == 0)
			throw CardStatus(Sw::WrongData);
		break;
	case kTypeSmEnc:
	case kTypeSmMac:
		// New static SM keys, effective from the next INITIALIZE UPDATE.
		if (value.size() != kSmKeyLen)
			throw CardStatus(Sw::WrongData);
		(type == kTypeSmEnc ? static_enc_ : static_mac_) = value;
		touch();
		return Bytes();
	default:
		throw CardStatus(Sw::WrongData);
	}
	if (SecretKey *old = secrets_.find(type, header[1]))
		if (options_.install_key_checks_modify_ac)
			require(old->modify_ac());
	secrets_.install(header, std::move(value));
	touch();
	return Bytes();
}

Bytes Epass2003Card::cmd_update_secret_key(const Apdu &a)
{
	SecretKey *key = secrets_.find(a.p1, a.p2);
	if (!key)
		throw CardStatus(Sw::RefDataNotFound);
	require(key->modify_ac());
	if (a.data.size() < 2)
		throw CardStatus(Sw::WrongLength);
	const std::uint8_t counter = a.data[0];
	SecureBytes value(a.data.data() + 1, a.data.size() - 1);
	if ((key->type() == SecretStore::kTypePinKey && value.size() != kPinKeyLen) || (counter >> 4) == 0)
		throw CardStatus(Sw::WrongData);
	key->value = std::move(value);
	key->header[9] = counter;
	touch();
	return Bytes();
}

} // namespace vcard
