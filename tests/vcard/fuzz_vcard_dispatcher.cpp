// SPDX-License-Identifier: LGPL-2.1-or-later
// libFuzzer target for the ePass2003 dispatcher. Input layout:
//   byte 0: bits 0-1 SM variant (plain, 3des, aes, fips), bit 2 lenient
//           plain policy, bit 3 wrap commands through SmHost
//   then records [len][len bytes], each one command APDU; a zero length
//   power-cycles the card.
// Every input runs on a fresh in-memory card; a personalised MF/5015 with a
// PIN key is created first so handlers beyond SELECT are reachable.
#include "vcard/epass2003_card.hpp"
#include "vcard/hex.hpp"
#include "vcard/sm_host.hpp"
#include "vcard/status_word.hpp"

#include <cstddef>
#include <cstdint>

using namespace vcard;

namespace {

const char *const kSetup[] = {
	"00E0000028 6226820238008302 3F00 840E656E74657273616665 2D66697073 8502007F 86089090FF90FFFFFFFF",
	"00E0000017 62158205040000400083022F0086089090909 0FFFFFFFF",
	"00E0000026 6224820238008302 5015 840CA000000063504B43532D3135 8502007F 86089090FF90FFFFFFFF",
	"00E0000018 6216800200808202010083025031 86089096FF96FFFFFFFF",
	"00E0000018 621682021300830229208502010086 08FF909090FFFFFFFF",
	"00E000001C 621A82021400830230208502010086 0890909090FFFFFFFF87020066",
	"80E3000022 0401909698980006FF66 7C4A8D09CA3762AF61E59520943DC26494F8941B00000006",
};

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size)
{
	if (size < 1)
		return 0;
	const std::uint8_t mode = data[0];
	const SmVariant variants[] = {SmVariant::Plain, SmVariant::Des, SmVariant::Aes, SmVariant::Fips};
	const SmVariant v = variants[mode & 0x03];
	CardOptions o;
	o.autosave = false;
	o.plain_apdu_policy = (mode & 0x04) ? PlainApduPolicy::Lenient : PlainApduPolicy::Strict;
	Epass2003Card card(v, from_hex("0011223344556677"), o);
	card.power_on();
	SmHost host(v);
	host.open(card);
	for (const char *s : kSetup)
		host.transmit(card, parse_apdu(from_hex(s)));
	const bool wrap = (mode & 0x08) != 0;
	std::size_t pos = 1;
	while (pos < size) {
		const std::size_t len = data[pos++];
		if (len == 0) {
			card.reset();
			host.open(card);
			continue;
		}
		if (pos + len > size)
			break;
		Bytes cmd(data + pos, data + pos + len);
		pos += len;
		if (wrap && host.is_open()) {
			try {
				Apdu a = parse_apdu(cmd);
				if (a.ins == 0x46)
					continue; // key generation is too slow for fuzzing
				host.transmit(card, a);
			} catch (const CardStatus &) {
				card.process(cmd);
			}
		} else {
			if (cmd.size() >= 2 && cmd[1] == 0x46)
				continue;
			card.process(cmd);
		}
	}
	return 0;
}
