// SPDX-License-Identifier: LGPL-2.1-or-later
// vcard-tool: create and inspect ePass2003 card images.
//   vcard-tool create IMAGE [--variant 3des|aes|fips|plain] [--serial HEX16]
//                           [--option NAME=VALUE]... [--force]
//   vcard-tool dump IMAGE [--json]
#include "card_image.hpp"
#include "epass2003_card.hpp"
#include "error.hpp"
#include "hex.hpp"

#include <cstdio>
#include <cstring>
#include <iostream>
#include <string>

using namespace vcard;

namespace {

void usage(std::FILE *out)
{
	std::fprintf(out,
		"usage: vcard-tool create IMAGE [--variant 3des|aes|fips|plain] [--serial HEX16]\n"
		"                              [--option NAME=VALUE]... [--force]\n"
		"       vcard-tool dump IMAGE [--json]\n"
		"options (NAME=VALUE): plain_apdu_policy=strict|lenient, bad_sm_status=6988|6985,\n"
		"  new_session_clears_security, puk_resets_pin_counter, challenge_single_use,\n"
		"  ec_supported, install_key_checks_modify_ac, accept_opensc_fips_query_mac,\n"
		"  ecdsa_pads_short_input, fips_refuses_retry_query,\n"
		"  autosave (=true|false)\n");
}

const char *kind_name(FileKind k)
{
	switch (k) {
	case FileKind::Df:
		return "DF";
	case FileKind::Transparent:
		return "EF transparent";
	case FileKind::LinearFixed:
		return "EF linear-fixed";
	case FileKind::LinearVariable:
		return "EF linear-variable";
	case FileKind::Bso:
		return "BSO";
	case FileKind::RsaPrivate:
		return "RSA private key";
	case FileKind::RsaPublic:
		return "RSA public key";
	case FileKind::EcPrivate:
		return "EC private key";
	case FileKind::EcPublic:
		return "EC public key";
	}
	return "?";
}

std::size_t used_bytes(const File &f)
{
	std::size_t n = f.content.size();
	while (n > 0 && f.content[n - 1] == 0)
		n--;
	return n;
}

void dump_file(const File &f, const std::string &path)
{
	std::printf("%-22s %-19s ac=%s", path.c_str(), kind_name(f.kind),
		to_hex(f.acs.data(), f.acs.size()).c_str());
	if (f.is_df() && !f.name.empty())
		std::printf(" name=%s", to_hex(f.name).c_str());
	if (f.kind == FileKind::Transparent)
		std::printf(" size=%zu used=%zu", f.size, used_bytes(f));
	if (f.is_record())
		std::printf(" records=%zu", f.records.size());
	if (f.key) {
		if (f.key->type() == AsymKey::Type::Rsa && !f.key->modulus().empty())
			std::printf(" key=RSA-%u%s", f.key->bits(), f.key->has_private() ? "+private" : "");
		else if (f.key->type() == AsymKey::Type::Ec && !f.key->ec_point().empty())
			std::printf(" key=EC-P256%s", f.key->has_private() ? "+private" : "");
		else
			std::printf(" key=incomplete");
	}
	std::printf("\n");
	for (const auto &c : f.children) {
		char fid[8];
		std::snprintf(fid, sizeof fid, "%04X", c->fid);
		dump_file(*c, path + "/" + fid);
	}
}

void redact_private_keys(nlohmann::json &f)
{
	if (!f.is_object())
		return;
	if (f.contains("key") && f["key"].contains("d"))
		f["key"]["d"] = "<redacted>";
	if (f.contains("children"))
		for (auto &c : f["children"])
			redact_private_keys(c);
}

int cmd_dump(const std::string &image, bool json)
{
	auto card = open_epass2003_image(image);
	if (json) {
		nlohmann::json j = card->to_json();
		// never print secret values (PIN keys, private key parts)
		for (auto &s : j["secrets"])
			s["value"] = "<redacted>";
		j["sm_static_keys"] = "<redacted>";
		redact_private_keys(j["mf"]);
		std::cout << j.dump(2) << "\n";
		return 0;
	}
	std::printf("image:      %s\n", image.c_str());
	std::printf("card:       ePass2003, SM variant %s\n", to_string(card->variant()).c_str());
	std::printf("serial:     %s\n", to_hex(card->serial()).c_str());
	std::printf("options:    %s\n", card->options().to_json().dump().c_str());
	std::printf("secret keys:\n");
	if (card->secrets().keys().empty())
		std::printf("  (none)\n");
	for (const auto &k : card->secrets().keys())
		std::printf("  type %02X kid %02X  tries %u/%u%s  header %s\n", k.type(), k.kid(), k.tries_left(),
			k.max_tries(), k.blocked() ? " BLOCKED" : "", to_hex(k.header.data(), k.header.size()).c_str());
	std::printf("files:\n");
	if (!card->file_system().mf())
		std::printf("  (blank card: no MF)\n");
	else
		dump_file(*card->file_system().mf(), "3F00");
	return 0;
}

bool parse_bool(const std::string &v)
{
	if (v == "true" || v == "1" || v == "yes")
		return true;
	if (v == "false" || v == "0" || v == "no")
		return false;
	throw Error("expected true or false, got \"" + v + "\"");
}

int cmd_create(int argc, char **argv)
{
	std::string image, variant = "aes", serial = "0011223344556677";
	nlohmann::json opts = CardOptions().to_json();
	bool force = false;
	for (int i = 0; i < argc; i++) {
		std::string a = argv[i];
		auto next = [&]() -> std::string {
			if (i + 1 >= argc)
				throw Error(a + " needs a value");
			return argv[++i];
		};
		if (a == "--variant") {
			variant = next();
		} else if (a == "--serial") {
			serial = next();
		} else if (a == "--force") {
			force = true;
		} else if (a == "--option") {
			std::string kv = next();
			auto eq = kv.find('=');
			if (eq == std::string::npos)
				throw Error("--option expects NAME=VALUE");
			std::string k = kv.substr(0, eq), v = kv.substr(eq + 1);
			if (k == "plain_apdu_policy" || k == "bad_sm_status")
				opts[k] = v;
			else
				opts[k] = parse_bool(v);
		} else if (!a.empty() && a[0] == '-') {
			throw Error("unknown argument " + a);
		} else if (image.empty()) {
			image = a;
		} else {
			throw Error("more than one image given");
		}
	}
	if (image.empty())
		throw Error("no image given");
	Bytes sn = from_hex(serial);
	if (sn.size() != 8)
		throw Error("--serial must be 8 bytes (16 hex digits)");
	create_blank_image(image, sm_variant_from_string(variant), sn, CardOptions::from_json(opts), force);
	std::printf("created blank ePass2003 image %s (variant %s, serial %s)\n", image.c_str(), variant.c_str(),
		to_hex(sn).c_str());
	return 0;
}

} // namespace

int main(int argc, char **argv)
{
	try {
		if (argc < 2) {
			usage(stderr);
			return 2;
		}
		std::string cmd = argv[1];
		if (cmd == "-h" || cmd == "--help") {
			usage(stdout);
			return 0;
		}
		if (cmd == "create")
			return cmd_create(argc - 2, argv + 2);
		if (cmd == "dump" && argc >= 3)
			return cmd_dump(argv[2], argc >= 4 && std::strcmp(argv[3], "--json") == 0);
		usage(stderr);
		return 2;
	} catch (const std::exception &e) {
		std::fprintf(stderr, "vcard-tool: %s\n", e.what());
		return 1;
	}
}
