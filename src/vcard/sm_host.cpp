// SPDX-License-Identifier: LGPL-2.1-or-later
#include "sm_host.hpp"

#include "crypto.hpp"

#include <openssl/crypto.h>

namespace vcard {

SmHost::SmHost(SmVariant v, const Bytes &static_key) : variant_(v)
{
	static_key_ = SecureBytes(static_key.empty() ? Bytes{0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09,
								   0x0A, 0x0B, 0x0C, 0x0D, 0x0E, 0x0F, 0x10}
						     : static_key);
}

bool SmHost::open(Card &card, const Bytes &hc_in)
{
	open_ = false;
	if (variant_ == SmVariant::Plain)
		return true;
	Bytes hc = hc_in.empty() ? crypto::random_bytes(8) : hc_in;
	Bytes cmd = {0x80, 0x50, 0x00, 0x00, 0x08};
	cmd.insert(cmd.end(), hc.begin(), hc.end());
	cmd.push_back(variant_ == SmVariant::Fips ? 0x1D : 0x1C);
	Bytes r = card.process(cmd);
	const std::size_t off = variant_ == SmVariant::Fips ? 13 : 12;
	if (r.size() != off + 16 + 2 || r[r.size() - 2] != 0x90 || r[r.size() - 1] != 0x00)
		return false;
	Bytes cc(r.begin() + static_cast<std::ptrdiff_t>(off), r.begin() + static_cast<std::ptrdiff_t>(off + 8));
	keys_ = sm::derive_session_keys(variant_, static_key_, static_key_, hc, cc);
	Bytes crypt = sm::card_cryptogram(variant_, keys_, hc, cc);
	if (CRYPTO_memcmp(crypt.data(), r.data() + off + 8, 8) != 0)
		return false;
	Bytes ea = {0x84, 0x82, 0x03, 0x00, 0x10};
	Bytes hcr = sm::host_cryptogram(variant_, keys_, hc, cc);
	ea.insert(ea.end(), hcr.begin(), hcr.end());
	Bytes mac = sm::external_auth_mac(variant_, keys_, ea);
	ea.insert(ea.end(), mac.begin(), mac.end());
	r = card.process(ea);
	if (r != Bytes{0x90, 0x00})
		return false;
	icv_ = sm::initial_icv(mac);
	open_ = true;
	return true;
}

Bytes SmHost::wrap(const Apdu &plain)
{
	Bytes objs;
	if (!plain.data.empty()) {
		Bytes c = sm::encrypt(variant_, keys_, plain.data);
		objs.push_back(0x87);
		sm::append_opensc_length(objs, c.size() + 1);
		objs.push_back(0x01);
		objs.insert(objs.end(), c.begin(), c.end());
	}
	bool long_le = false;
	if (plain.has_le) {
		objs.push_back(0x97);
		if (plain.le > 0x7F) {
			long_le = true;
			objs.insert(objs.end(), {0x02, static_cast<std::uint8_t>(plain.le >> 8),
							static_cast<std::uint8_t>(plain.le)});
		} else {
			objs.insert(objs.end(), {0x01, static_cast<std::uint8_t>(plain.le)});
		}
	}
	const std::uint8_t header[4] = {static_cast<std::uint8_t>(plain.cla | 0x0C), plain.ins, plain.p1, plain.p2};
	sm::increment_icv(variant_, icv_);
	Bytes mac;
	if (variant_ == SmVariant::Fips && plain.data.empty() && plain.ins == 0x82 && plain.p1 == 0x01)
		mac = opensc_query_mac_ ? sm::fips_query_mac_opensc(keys_, header) : sm::fips_query_mac(keys_, header);
	else
		mac = sm::command_mac(variant_, keys_, icv_, header, objs);
	objs.insert(objs.end(), {0x8E, 0x08});
	objs.insert(objs.end(), mac.begin(), mac.end());
	Apdu w;
	w.cla = header[0];
	w.ins = plain.ins;
	w.p1 = plain.p1;
	w.p2 = plain.p2;
	w.data = objs;
	w.has_le = true;
	w.le = plain.le & (long_le || objs.size() > 255 ? 0xFFFF : 0xFF);
	w.extended = long_le || objs.size() > 255;
	return command_bytes(w);
}

SmHost::Response SmHost::unwrap(const Bytes &r) const
{
	Response out;
	if (r.size() < 2)
		return out;
	out.sw = static_cast<std::uint16_t>((r[r.size() - 2] << 8) | r[r.size() - 1]);
	if (r.size() < 16) {
		out.wrapped = false;
		out.mac_ok = false;
		return out;
	}
	Bytes body(r.begin(), r.end() - 2);
	std::size_t pos = 0, len = 0;
	Bytes cipher;
	if (body[0] == 0x87) {
		pos = 1;
		if (!sm::read_ber_length(body, pos, len) || len < 2) {
			out.mac_ok = false;
			return out;
		}
		cipher.assign(body.begin() + static_cast<std::ptrdiff_t>(pos + 1),
			body.begin() + static_cast<std::ptrdiff_t>(pos + len));
		pos += len;
	}
	if (pos + 4 + 10 != body.size() || body[pos] != 0x99 || body[pos + 1] != 0x02 ||
		body[pos + 4] != 0x8E || body[pos + 5] != 0x08) {
		out.wrapped = false;
		out.mac_ok = false;
		return out;
	}
	if (((body[pos + 2] << 8) | body[pos + 3]) != out.sw)
		out.mac_ok = false;
	if (variant_ != SmVariant::Fips) {
		Bytes covered(body.begin(), body.begin() + static_cast<std::ptrdiff_t>(pos + 4));
		Bytes mac = sm::response_mac(variant_, keys_, icv_, covered);
		if (CRYPTO_memcmp(mac.data(), body.data() + pos + 6, 8) != 0)
			out.mac_ok = false;
	}
	if (!cipher.empty() && !sm::decrypt(variant_, keys_, cipher, out.data))
		out.mac_ok = false;
	return out;
}

SmHost::Response SmHost::transmit(Card &card, const Apdu &plain)
{
	if (!open_) {
		Bytes r = card.process(command_bytes(plain));
		Response out;
		out.wrapped = false;
		if (r.size() >= 2) {
			out.sw = static_cast<std::uint16_t>((r[r.size() - 2] << 8) | r[r.size() - 1]);
			out.data.assign(r.begin(), r.end() - 2);
		}
		return out;
	}
	return unwrap(card.process(wrap(plain)));
}

} // namespace vcard
