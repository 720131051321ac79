// SPDX-License-Identifier: LGPL-2.1-or-later
// File-system command handlers of the ePass2003 card OS (EPASS2003.md §3.1–3.4,
// §3.11, §3.12, §3.18, §1.3–1.4).
#include "epass2003_card.hpp"

#include "status_word.hpp"

namespace vcard {

namespace {

std::uint16_t fid_of(const Bytes &d)
{
	if (d.size() != 2)
		throw CardStatus(Sw::WrongLength);
	return static_cast<std::uint16_t>((d[0] << 8) | d[1]);
}

constexpr std::uint8_t kRecordByNumber = 0x04;

} // namespace

Bytes Epass2003Card::cmd_select(const Apdu &a)
{
	File *f = nullptr;
	if (a.p1 == 0x00)
		f = fs_.select_fid(fid_of(a.data));
	else if (a.p1 == 0x04)
		f = fs_.select_name(a.data);
	else
		throw CardStatus(Sw::IncorrectP1P2);
	if (a.p2 == 0x0C)
		return Bytes();
	return f->fci();
}

Bytes Epass2003Card::cmd_read_binary(const Apdu &a)
{
	if (a.p1 & 0x80)
		throw CardStatus(Sw::FuncNotSupported); // SFI addressing unused by OpenSC
	File &f = current_ef();
	if (f.kind != FileKind::Transparent)
		throw CardStatus(Sw::CommandNotAllowed);
	require(f.ac(AcOp::EfRead));
	const std::size_t off = (std::size_t(a.p1) << 8) | a.p2;
	if (off > f.size)
		throw CardStatus(Sw::WrongP1P2);
	if (off == f.size)
		throw CardStatus(Sw::EndOfFile);
	const std::size_t n = std::min(a.ne(), f.size - off);
	return Bytes(f.content.begin() + static_cast<std::ptrdiff_t>(off),
		f.content.begin() + static_cast<std::ptrdiff_t>(off + n));
}

Bytes Epass2003Card::cmd_update_binary(const Apdu &a)
{
	if (a.p1 & 0x80)
		throw CardStatus(Sw::FuncNotSupported);
	File &f = current_ef();
	if (f.kind != FileKind::Transparent)
		throw CardStatus(Sw::CommandNotAllowed);
	require(f.ac(AcOp::EfUpdate));
	if (a.data.empty())
		throw CardStatus(Sw::WrongLength);
	const std::size_t off = (std::size_t(a.p1) << 8) | a.p2;
	if (off + a.data.size() > f.size)
		throw CardStatus(Sw::NotEnoughMemory);
	std::copy(a.data.begin(), a.data.end(), f.content.begin() + static_cast<std::ptrdiff_t>(off));
	touch();
	return Bytes();
}

Bytes Epass2003Card::cmd_read_record(const Apdu &a)
{
	if ((a.p2 & 0x07) != kRecordByNumber || (a.p2 >> 3) != 0)
		throw CardStatus(Sw::IncorrectP1P2);
	File &f = current_ef();
	if (!f.is_record())
		throw CardStatus(Sw::CommandNotAllowed);
	require(f.ac(AcOp::EfRead));
	if (a.p1 == 0 || a.p1 > f.records.size())
		throw CardStatus(Sw::RecordNotFound);
	const Bytes &r = f.records[a.p1 - 1u];
	return Bytes(r.begin(), r.begin() + static_cast<std::ptrdiff_t>(std::min(a.ne(), r.size())));
}

Bytes Epass2003Card::cmd_append_record(const Apdu &a)
{
	if (a.p1 != 0 || a.p2 != 0)
		throw CardStatus(Sw::IncorrectP1P2);
	File &f = current_ef();
	if (!f.is_record())
		throw CardStatus(Sw::CommandNotAllowed);
	require(f.ac(AcOp::EfUpdate));
	if (a.data.empty() || (f.max_record_len && a.data.size() > f.max_record_len))
		throw CardStatus(Sw::WrongLength);
	if (f.records.size() >= 254)
		throw CardStatus(Sw::NotEnoughMemory);
	f.records.push_back(a.data);
	touch();
	return Bytes();
}

Bytes Epass2003Card::cmd_update_record(const Apdu &a)
{
	if ((a.p2 & 0x07) != kRecordByNumber || (a.p2 >> 3) != 0)
		throw CardStatus(Sw::IncorrectP1P2);
	File &f = current_ef();
	if (!f.is_record())
		throw CardStatus(Sw::CommandNotAllowed);
	require(f.ac(AcOp::EfUpdate));
	if (a.p1 == 0 || a.p1 > f.records.size())
		throw CardStatus(Sw::RecordNotFound);
	if (a.data.empty() || (f.max_record_len && a.data.size() > f.max_record_len))
		throw CardStatus(Sw::WrongLength);
	f.records[a.p1 - 1u] = a.data;
	touch();
	return Bytes();
}

Bytes Epass2003Card::cmd_create_file(const Apdu &a)
{
	if (a.p1 != 0 || a.p2 != 0)
		throw CardStatus(Sw::IncorrectP1P2);
	auto f = parse_fcp(a.data);
	if (fs_.mf()) {
		if (!fs_.current_df())
			throw CardStatus(Sw::FileNotFound);
		require(fs_.current_df()->ac(AcOp::DfCreate));
	}
	fs_.create(std::move(f));
	mse_key_ = nullptr;
	touch();
	return Bytes();
}

Bytes Epass2003Card::cmd_delete_file(const Apdu &a)
{
	if (a.p1 != 0 || a.p2 != 0)
		throw CardStatus(Sw::IncorrectP1P2);
	File *f = fs_.lookup_for_delete(fid_of(a.data));
	if (!f)
		throw CardStatus(Sw::FileNotFound);
	require(f->ac(f->is_df() ? AcOp::DfDelete : AcOp::EfDelete));
	mse_key_ = nullptr;
	if (fs_.remove(f)) {
		// Deleting the MF erases the card: keys and PINs go with it (§3.17).
		secrets_.clear();
		security_state_ = 0;
	}
	touch();
	return Bytes();
}

Bytes Epass2003Card::cmd_list_files(const Apdu &a)
{
	(void)a;
	File *df = fs_.current_df();
	if (!df)
		throw CardStatus(Sw::FileNotFound);
	require(df->ac(AcOp::DfList));
	Bytes out;
	for (const auto &c : df->children) {
		out.push_back(static_cast<std::uint8_t>(c->fid >> 8));
		out.push_back(static_cast<std::uint8_t>(c->fid));
	}
	if (out.empty())
		out = {0x00, 0x00}; // "empty" for OpenSC; an empty answer hits its stale-buffer quirk
	return out;
}

Bytes Epass2003Card::cmd_get_data(const Apdu &a)
{
	if (a.p1 == 0x01 && a.p2 == 0x86) {
		// §1.3: fixed 35-byte layout; OpenSC reads it by offsets.
		const bool aes = variant_ != SmVariant::Des;
		Bytes out = {0x80, 0x01, static_cast<std::uint8_t>(aes ? 0x01 : 0x02), 0x81, 0x02, 0x1D,
			static_cast<std::uint8_t>(variant_ == SmVariant::Fips ? 0xD4 : 0xD5), 0x82, 0x01, 0x03, 0x83,
			0x02, 0x00, 0x00, 0x84, 0x01, static_cast<std::uint8_t>(variant_ == SmVariant::Plain ? 0x00 : 0x01),
			0x85, 0x0A, 0x07, 0x55};
		out.insert(out.end(), serial_.begin(), serial_.end());
		out.insert(out.end(), {0x86, 0x01, 0x00});
		if (variant_ == SmVariant::Fips)
			out.insert(out.end(), {0x87, 0x01, 0x01});
		return out;
	}
	if (a.p1 == 0x01 && a.p2 == 0x80)
		return serial_; // §1.4, §8.1 Q17: exactly 8 bytes = tag 85 bytes 2..9
	throw CardStatus(Sw::RefDataNotFound);
}

} // namespace vcard
