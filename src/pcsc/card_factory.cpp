// SPDX-License-Identifier: LGPL-2.1-or-later
#include "pcsc/card_factory.hpp"

#include <exception>

#include <winscard.h>

#include "fault/config_error.hpp"
#include "pcsc/scripted_card.hpp"

// Image cards come from the vcard component. Declared weak so that the
// provider still loads (and scripted cards still work) when it is built
// without libvcard; an image card then is a clear configuration error.
namespace vcard {
std::unique_ptr<Card> open_card_image(const std::string &path) __attribute__((weak));
}

namespace pcsc {

std::unique_ptr<vcard::Card>
make_card(const CardSpec &spec)
{
	if (spec.type == CardSpec::Type::Scripted) {
		std::vector<ScriptedCard::Entry> table;
		for (const auto &e : spec.responses)
			table.push_back({e.command, e.prefix, e.response});
		return std::make_unique<ScriptedCard>(spec.atr, std::move(table), spec.echo_ins, spec.default_response);
	}
	if (&vcard::open_card_image == nullptr)
		throw fault::ConfigError(spec.field + ".type", "image cards need libvcard, which this provider was built without");
	try {
		std::unique_ptr<vcard::Card> card = vcard::open_card_image(spec.path);
		if (!card)
			throw fault::ConfigError(spec.field + ".path", "no card from \"" + spec.path + "\"");
		return card;
	} catch (const fault::ConfigError &) {
		throw;
	} catch (const std::bad_alloc &) {
		throw;
	} catch (const std::exception &e) {
		throw fault::ConfigError(spec.field + ".path", e.what());
	}
}

unsigned long
card_protocol(const CardSpec &spec, const vcard::Bytes &atr)
{
	if (spec.protocol != 0)
		return spec.protocol;
	// T0 says whether TD1 is present (bit 8); TD1 sits after TA1..TC1.
	if (atr.size() >= 2 && (atr[1] & 0x80)) {
		std::size_t pos = 2;
		for (int bit = 0x10; bit <= 0x40; bit <<= 1)
			if (atr[1] & bit)
				pos++;
		if (pos < atr.size())
			return (atr[pos] & 0x0F) == 1 ? SCARD_PROTOCOL_T1 : SCARD_PROTOCOL_T0;
	}
	return SCARD_PROTOCOL_T0;
}

} // namespace pcsc
