// SPDX-License-Identifier: LGPL-2.1-or-later
#include "secure_messaging.hpp"

#include "crypto.hpp"
#include "error.hpp"

namespace vcard {

std::string to_string(SmVariant v)
{
	switch (v) {
	case SmVariant::Plain:
		return "plain";
	case SmVariant::Des:
		return "3des";
	case SmVariant::Aes:
		return "aes";
	case SmVariant::Fips:
		return "fips";
	}
	return "?";
}

SmVariant sm_variant_from_string(const std::string &s)
{
	if (s == "plain")
		return SmVariant::Plain;
	if (s == "3des" || s == "des")
		return SmVariant::Des;
	if (s == "aes")
		return SmVariant::Aes;
	if (s == "fips")
		return SmVariant::Fips;
	throw Error("unknown SM variant \"" + s + "\" (expected plain, 3des, aes or fips)");
}

namespace sm {

using crypto::cipher;

std::size_t block_size(SmVariant v)
{
	return v == SmVariant::Des ? 8 : 16;
}

Bytes init_update_prefix(SmVariant v)
{
	Bytes p = {0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0x01, 0x01};
	if (v == SmVariant::Fips) {
		p[11] = 0x03;
		p.push_back(0x00);
	}
	return p;
}

static Bytes kdf(const std::uint8_t *key, std::uint8_t c, std::uint16_t bits, const Bytes &hc, const Bytes &cc)
{
	Bytes in(11, 0x00);
	in.push_back(c);
	in.push_back(0x00);
	in.push_back(static_cast<std::uint8_t>(bits >> 8));
	in.push_back(static_cast<std::uint8_t>(bits));
	in.push_back(0x01);
	in.insert(in.end(), hc.begin(), hc.end());
	in.insert(in.end(), cc.begin(), cc.end());
	return crypto::aes_cmac(key, in);
}

SessionKeys derive_session_keys(SmVariant v, const SecureBytes &k_enc, const SecureBytes &k_mac,
	const Bytes &hc, const Bytes &cc)
{
	if (hc.size() != 8 || cc.size() != 8 || k_enc.size() != 16 || k_mac.size() != 16)
		throw Error("sm: bad challenge or static key length");
	SessionKeys k;
	if (v == SmVariant::Fips) {
		k.enc = SecureBytes(kdf(k_enc.data(), 0x04, 0x0080, hc, cc));
		k.mac = SecureBytes(kdf(k_mac.data(), 0x06, 0x0080, hc, cc));
		return k;
	}
	Bytes dd;
	dd.insert(dd.end(), cc.begin() + 4, cc.end());
	dd.insert(dd.end(), hc.begin(), hc.begin() + 4);
	dd.insert(dd.end(), cc.begin(), cc.begin() + 4);
	dd.insert(dd.end(), hc.begin() + 4, hc.end());
	const char *name = v == SmVariant::Des ? "DES-EDE-ECB" : "AES-128-ECB";
	k.enc = SecureBytes(cipher(name, k_enc.data(), 16, Bytes(), dd, true));
	k.mac = SecureBytes(cipher(name, k_mac.data(), 16, Bytes(), dd, true));
	return k;
}

static Bytes scp01_cryptogram(SmVariant v, const SessionKeys &k, const Bytes &a, const Bytes &b)
{
	Bytes in(a);
	in.insert(in.end(), b.begin(), b.end());
	in = crypto::pad80(in, block_size(v));
	const char *name = v == SmVariant::Des ? "DES-EDE-CBC" : "AES-128-CBC";
	Bytes x = cipher(name, k.enc.data(), 16, Bytes(), in, true);
	return Bytes(x.begin() + 16, x.begin() + 24);
}

Bytes card_cryptogram(SmVariant v, const SessionKeys &k, const Bytes &hc, const Bytes &cc)
{
	if (v == SmVariant::Fips) {
		Bytes x = kdf(k.enc.data(), 0x00, 0x0040, hc, cc);
		return Bytes(x.begin(), x.begin() + 8);
	}
	return scp01_cryptogram(v, k, hc, cc);
}

Bytes host_cryptogram(SmVariant v, const SessionKeys &k, const Bytes &hc, const Bytes &cc)
{
	if (v == SmVariant::Fips) {
		Bytes x = kdf(k.enc.data(), 0x01, 0x0040, hc, cc);
		return Bytes(x.begin(), x.begin() + 8);
	}
	return scp01_cryptogram(v, k, cc, hc);
}

Bytes external_auth_mac(SmVariant v, const SessionKeys &k, const Bytes &header_and_hcr)
{
	if (v == SmVariant::Fips) {
		Bytes m = crypto::aes_cmac(k.mac.data(), header_and_hcr);
		return Bytes(m.begin(), m.begin() + 8);
	}
	Bytes in = crypto::pad80(header_and_hcr, v == SmVariant::Des ? 8 : 16);
	if (v == SmVariant::Des) {
		Bytes m = cipher("DES-EDE-CBC", k.mac.data(), 16, Bytes(), in, true);
		return Bytes(m.end() - 8, m.end());
	}
	Bytes m = cipher("AES-128-CBC", k.mac.data(), 16, Bytes(), in, true);
	return Bytes(m.end() - 16, m.end() - 8);
}

Bytes initial_icv(const Bytes &mac)
{
	Bytes icv(mac);
	icv.resize(16, 0x00);
	return icv;
}

void increment_icv(SmVariant v, Bytes &icv)
{
	int i = v == SmVariant::Des ? 7 : 15;
	for (; i >= 0; i--) {
		if (++icv[static_cast<std::size_t>(i)] != 0)
			break;
	}
}

Bytes command_mac(SmVariant v, const SessionKeys &k, const Bytes &icv, const std::uint8_t header[4],
	const Bytes &objs)
{
	const std::size_t bs = block_size(v);
	Bytes m(bs, 0x00);
	for (int i = 0; i < 4; i++)
		m[static_cast<std::size_t>(i)] = header[i];
	m[4] = 0x80;
	if (v == SmVariant::Fips) {
		for (std::size_t i = 0; i < 16; i++)
			m[i] ^= icv[i];
		m.insert(m.end(), objs.begin(), objs.end());
		Bytes c = crypto::aes_cmac(k.mac.data(), m);
		return Bytes(c.begin(), c.begin() + 8);
	}
	if (!objs.empty()) {
		Bytes p = crypto::pad80(objs, bs);
		m.insert(m.end(), p.begin(), p.end());
	}
	if (v == SmVariant::Des)
		return crypto::retail_mac(k.mac.data(), Bytes(icv.begin(), icv.begin() + 8), m);
	Bytes c = cipher("AES-128-CBC", k.mac.data(), 16, icv, m, true);
	return Bytes(c.end() - 16, c.end() - 8);
}

Bytes fips_query_mac(const SessionKeys &k, const std::uint8_t header[4])
{
	Bytes c = crypto::aes_cmac(k.mac.data(), Bytes(header, header + 4));
	return Bytes(c.begin(), c.begin() + 8);
}

// Big-endian left shift by one, then written back like BN_bn2bin into a
// zeroed 32-byte buffer: minimal length, leading zero bytes dropped.
static void opensc_bn_shift(const std::uint8_t *in16, std::uint8_t out[32])
{
	std::uint8_t v[17] = {0};
	for (int i = 0; i < 16; i++)
		v[i + 1] = in16[i];
	// shift the 17-byte number left by one bit
	for (int i = 0; i < 17; i++) {
		std::uint8_t next = i + 1 < 17 ? v[i + 1] : 0;
		v[i] = static_cast<std::uint8_t>((v[i] << 1) | (next >> 7));
	}
	int start = 0;
	while (start < 17 && v[start] == 0)
		start++;
	for (int i = 0; i < 32; i++)
		out[i] = 0;
	for (int i = start; i < 17; i++)
		out[i - start] = v[i];
}

Bytes fips_query_mac_opensc(const SessionKeys &k, const std::uint8_t header[4])
{
	Bytes zero(16, 0x00);
	Bytes l = cipher("AES-128-ECB", k.mac.data(), 16, Bytes(), zero, true);
	std::uint8_t k1[32], k2[32];
	opensc_bn_shift(l.data(), k1);
	int offset = 0;
	if (l[0] & 0x80) {
		offset = 1;
		k1[15 + offset] ^= 0x87;
	}
	std::uint8_t check = k1[offset];
	opensc_bn_shift(k1 + offset, k2);
	offset = 0;
	if (check & 0x80) {
		offset = 1;
		k2[15 + offset] ^= 0x87;
	}
	Bytes block(16, 0x00);
	for (int i = 0; i < 4; i++)
		block[static_cast<std::size_t>(i)] = header[i];
	block[4] = 0x80;
	for (int i = 0; i < 16; i++)
		block[static_cast<std::size_t>(i)] ^= k2[offset + i];
	Bytes c = cipher("AES-128-ECB", k.mac.data(), 16, Bytes(), block, true);
	return Bytes(c.begin(), c.begin() + 8);
}

Bytes response_mac(SmVariant v, const SessionKeys &k, const Bytes &icv, const Bytes &body)
{
	if (v == SmVariant::Fips) {
		// The real token's algorithm is unknown and OpenSC does not check it
		// (EPASS2003.md §2.8); ours: CMAC(S-MAC, ICV || body).
		Bytes in(icv.begin(), icv.begin() + 16);
		in.insert(in.end(), body.begin(), body.end());
		Bytes c = crypto::aes_cmac(k.mac.data(), in);
		return Bytes(c.begin(), c.begin() + 8);
	}
	const std::size_t bs = block_size(v);
	Bytes p = crypto::pad80(body, bs);
	if (v == SmVariant::Des)
		return crypto::retail_mac(k.mac.data(), Bytes(icv.begin(), icv.begin() + 8), p);
	Bytes c = cipher("AES-128-CBC", k.mac.data(), 16, Bytes(icv.begin(), icv.begin() + 16), p, true);
	return Bytes(c.end() - 16, c.end() - 8);
}

Bytes encrypt(SmVariant v, const SessionKeys &k, const Bytes &plain)
{
	const char *name = v == SmVariant::Des ? "DES-EDE-CBC" : "AES-128-CBC";
	return cipher(name, k.enc.data(), 16, Bytes(), crypto::pad80(plain, block_size(v)), true);
}

bool decrypt(SmVariant v, const SessionKeys &k, const Bytes &c, Bytes &plain)
{
	if (c.empty() || c.size() % block_size(v))
		return false;
	const char *name = v == SmVariant::Des ? "DES-EDE-CBC" : "AES-128-CBC";
	plain = cipher(name, k.enc.data(), 16, Bytes(), c, false);
	return crypto::unpad80(plain);
}

void append_ber_length(Bytes &out, std::size_t len)
{
	if (len <= 0x7F) {
		out.push_back(static_cast<std::uint8_t>(len));
	} else if (len <= 0xFF) {
		out.push_back(0x81);
		out.push_back(static_cast<std::uint8_t>(len));
	} else {
		out.push_back(0x82);
		out.push_back(static_cast<std::uint8_t>(len >> 8));
		out.push_back(static_cast<std::uint8_t>(len));
	}
}

void append_opensc_length(Bytes &out, std::size_t len)
{
	if (len > 0x7E + 1) { // OpenSC tests len(C) > 7E, L = len(C) + 1
		out.push_back(0x82);
		out.push_back(static_cast<std::uint8_t>(len >> 8));
		out.push_back(static_cast<std::uint8_t>(len));
	} else {
		out.push_back(static_cast<std::uint8_t>(len));
	}
}

bool read_ber_length(const Bytes &in, std::size_t &pos, std::size_t &len)
{
	if (pos >= in.size())
		return false;
	std::uint8_t b = in[pos++];
	if (b <= 0x7F) {
		len = b;
	} else if (b == 0x81) {
		if (pos + 1 > in.size())
			return false;
		len = in[pos++];
	} else if (b == 0x82) {
		if (pos + 2 > in.size())
			return false;
		len = (std::size_t(in[pos]) << 8) | in[pos + 1];
		pos += 2;
	} else {
		return false;
	}
	return pos + len <= in.size();
}

} // namespace sm
} // namespace vcard
