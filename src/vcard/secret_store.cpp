// SPDX-License-Identifier: LGPL-2.1-or-later
#include "secret_store.hpp"

#include "error.hpp"
#include "hex.hpp"

namespace vcard {

SecretKey *SecretStore::find(std::uint8_t type, std::uint8_t kid)
{
	for (auto &k : keys_)
		if (k.type() == type && k.kid() == kid)
			return &k;
	return nullptr;
}

SecretKey &SecretStore::install(const std::array<std::uint8_t, 10> &header, SecureBytes value)
{
	SecretKey *k = find(header[0], header[1]);
	if (!k) {
		keys_.emplace_back();
		k = &keys_.back();
	}
	k->header = header;
	k->value = std::move(value);
	return *k;
}

nlohmann::json SecretStore::to_json() const
{
	nlohmann::json a = nlohmann::json::array();
	for (const auto &k : keys_) {
		a.push_back({{"header", to_hex(k.header.data(), k.header.size())},
			{"value", to_hex(k.value.data(), k.value.size())}});
	}
	return a;
}

void SecretStore::load_json(const nlohmann::json &j)
{
	keys_.clear();
	for (const auto &e : j) {
		Bytes h = from_hex(e.at("header").get<std::string>());
		if (h.size() != 10)
			throw Error("secret key: header must be 10 bytes");
		std::array<std::uint8_t, 10> hdr{};
		for (std::size_t i = 0; i < 10; i++)
			hdr[i] = h[i];
		if (find(hdr[0], hdr[1]))
			throw Error("secret key: duplicate (type, kid)");
		install(hdr, SecureBytes(from_hex(e.at("value").get<std::string>())));
	}
}

} // namespace vcard
