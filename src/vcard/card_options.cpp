// SPDX-License-Identifier: LGPL-2.1-or-later
#include "card_options.hpp"

#include "error.hpp"

namespace vcard {

nlohmann::json CardOptions::to_json() const
{
	return {
		{"plain_apdu_policy", plain_apdu_policy == PlainApduPolicy::Strict ? "strict" : "lenient"},
		{"bad_sm_status", bad_sm_status == 0x6985 ? "6985" : "6988"},
		{"new_session_clears_security", new_session_clears_security},
		{"puk_resets_pin_counter", puk_resets_pin_counter},
		{"challenge_single_use", challenge_single_use},
		{"ec_supported", ec_supported},
		{"install_key_checks_modify_ac", install_key_checks_modify_ac},
		{"accept_opensc_fips_query_mac", accept_opensc_fips_query_mac},
		{"ecdsa_pads_short_input", ecdsa_pads_short_input},
		{"fips_refuses_retry_query", fips_refuses_retry_query},
		{"autosave", autosave},
	};
}

CardOptions CardOptions::from_json(const nlohmann::json &j)
{
	CardOptions o;
	if (!j.is_object())
		throw Error("options: not an object");
	for (auto it = j.begin(); it != j.end(); ++it) {
		const std::string &k = it.key();
		const auto &v = it.value();
		auto flag = [&](bool &dst) {
			if (!v.is_boolean())
				throw Error("options: \"" + k + "\" must be true or false");
			dst = v.get<bool>();
		};
		if (k == "plain_apdu_policy") {
			std::string s = v.is_string() ? v.get<std::string>() : "";
			if (s == "strict")
				o.plain_apdu_policy = PlainApduPolicy::Strict;
			else if (s == "lenient")
				o.plain_apdu_policy = PlainApduPolicy::Lenient;
			else
				throw Error("options: \"plain_apdu_policy\" must be \"strict\" or \"lenient\"");
		} else if (k == "bad_sm_status") {
			std::string s = v.is_string() ? v.get<std::string>() : "";
			if (s == "6988")
				o.bad_sm_status = 0x6988;
			else if (s == "6985")
				o.bad_sm_status = 0x6985;
			else
				throw Error("options: \"bad_sm_status\" must be \"6988\" or \"6985\"");
		} else if (k == "new_session_clears_security") {
			flag(o.new_session_clears_security);
		} else if (k == "puk_resets_pin_counter") {
			flag(o.puk_resets_pin_counter);
		} else if (k == "challenge_single_use") {
			flag(o.challenge_single_use);
		} else if (k == "ec_supported") {
			flag(o.ec_supported);
		} else if (k == "install_key_checks_modify_ac") {
			flag(o.install_key_checks_modify_ac);
		} else if (k == "accept_opensc_fips_query_mac") {
			flag(o.accept_opensc_fips_query_mac);
		} else if (k == "ecdsa_pads_short_input") {
			flag(o.ecdsa_pads_short_input);
		} else if (k == "fips_refuses_retry_query") {
			flag(o.fips_refuses_retry_query);
		} else if (k == "autosave") {
			flag(o.autosave);
		} else {
			throw Error("options: unknown option \"" + k + "\"");
		}
	}
	return o;
}

} // namespace vcard
