// SPDX-License-Identifier: LGPL-2.1-or-later
#include "sm_session.hpp"

#include <openssl/crypto.h>

namespace vcard {

namespace {
constexpr std::uint8_t kTagData = 0x87;
constexpr std::uint8_t kTagLe = 0x97;
constexpr std::uint8_t kTagSw = 0x99;
constexpr std::uint8_t kTagMac = 0x8E;
constexpr std::uint8_t kPaddingIndicator = 0x01;
constexpr std::size_t kMacLen = 8;

bool same(const Bytes &a, const std::uint8_t *b, std::size_t n)
{
	return a.size() == n && CRYPTO_memcmp(a.data(), b, n) == 0;
}
} // namespace

void SmSession::close()
{
	active_ = false;
	pending_ = false;
	keys_ = sm::SessionKeys();
	icv_.clear();
}

Bytes SmSession::initialize_update(const SecureBytes &k_enc, const SecureBytes &k_mac, const Bytes &hc,
	const Bytes &cc)
{
	close();
	hc_ = hc;
	cc_ = cc;
	keys_ = sm::derive_session_keys(variant_, k_enc, k_mac, hc, cc);
	pending_ = true;
	Bytes out = sm::init_update_prefix(variant_);
	out.insert(out.end(), cc.begin(), cc.end());
	Bytes crypt = sm::card_cryptogram(variant_, keys_, hc, cc);
	out.insert(out.end(), crypt.begin(), crypt.end());
	return out;
}

bool SmSession::external_authenticate(const Bytes &header5, const Bytes &data)
{
	if (!pending_ || data.size() != 16) {
		close();
		return false;
	}
	pending_ = false;
	Bytes hcr = sm::host_cryptogram(variant_, keys_, hc_, cc_);
	Bytes in(header5);
	in.insert(in.end(), data.begin(), data.begin() + 8);
	Bytes mac = sm::external_auth_mac(variant_, keys_, in);
	if (!same(hcr, data.data(), 8) || !same(mac, data.data() + 8, 8)) {
		close();
		return false;
	}
	icv_ = sm::initial_icv(mac);
	active_ = true;
	return true;
}

bool SmSession::unwrap(const Apdu &wire, Apdu &plain, bool accept_opensc_query_mac)
{
	if (!active_)
		return false;
	const Bytes &d = wire.data;
	std::size_t pos = 0, len = 0;
	bool have87 = false, have97 = false;
	Bytes cipher;
	plain = Apdu();
	if (pos < d.size() && d[pos] == kTagData) {
		pos++;
		if (!sm::read_ber_length(d, pos, len) || len < 2 || d[pos] != kPaddingIndicator) {
			close();
			return false;
		}
		cipher.assign(d.begin() + static_cast<std::ptrdiff_t>(pos + 1),
			d.begin() + static_cast<std::ptrdiff_t>(pos + len));
		pos += len;
		have87 = true;
	}
	if (pos < d.size() && d[pos] == kTagLe) {
		pos++;
		if (!sm::read_ber_length(d, pos, len) || (len != 1 && len != 2)) {
			close();
			return false;
		}
		plain.has_le = true;
		plain.extended = len == 2;
		plain.le = len == 1 ? d[pos] : (std::size_t(d[pos]) << 8) | d[pos + 1];
		pos += len;
		have97 = true;
	}
	const std::size_t mac_at = pos;
	if (pos + 2 + kMacLen != d.size() || d[pos] != kTagMac || d[pos + 1] != kMacLen) {
		close();
		return false;
	}
	const std::uint8_t *mac = d.data() + pos + 2;
	const std::uint8_t header[4] = {wire.cla, wire.ins, wire.p1, wire.p2};
	sm::increment_icv(variant_, icv_);
	bool ok;
	if (variant_ == SmVariant::Fips && wire.ins == 0x82 && wire.p1 == 0x01 && !have87) {
		ok = same(sm::fips_query_mac(keys_, header), mac, kMacLen);
		if (!ok && accept_opensc_query_mac)
			ok = same(sm::fips_query_mac_opensc(keys_, header), mac, kMacLen);
	} else {
		Bytes objs(d.begin(), d.begin() + static_cast<std::ptrdiff_t>(mac_at));
		ok = same(sm::command_mac(variant_, keys_, icv_, header, objs), mac, kMacLen);
	}
	if (!ok) {
		close();
		return false;
	}
	(void)have97;
	if (have87 && !sm::decrypt(variant_, keys_, cipher, plain.data)) {
		close();
		return false;
	}
	plain.cla = static_cast<std::uint8_t>(wire.cla & ~0x0C);
	plain.ins = wire.ins;
	plain.p1 = wire.p1;
	plain.p2 = wire.p2;
	return true;
}

Bytes SmSession::wrap(const Bytes &data, std::uint16_t sw) const
{
	Bytes body;
	const std::uint8_t sw1 = static_cast<std::uint8_t>(sw >> 8), sw2 = static_cast<std::uint8_t>(sw);
	if (!data.empty() && sw == 0x9000) {
		Bytes c = sm::encrypt(variant_, keys_, data);
		body.push_back(kTagData);
		sm::append_ber_length(body, c.size() + 1);
		body.push_back(kPaddingIndicator);
		body.insert(body.end(), c.begin(), c.end());
	}
	body.push_back(kTagSw);
	body.push_back(0x02);
	body.push_back(sw1);
	body.push_back(sw2);
	Bytes mac = sm::response_mac(variant_, keys_, icv_, body);
	body.push_back(kTagMac);
	body.push_back(kMacLen);
	body.insert(body.end(), mac.begin(), mac.end());
	body.push_back(sw1);
	body.push_back(sw2);
	return body;
}

} // namespace vcard
