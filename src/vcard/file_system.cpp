// SPDX-License-Identifier: LGPL-2.1-or-later
#include "file_system.hpp"

#include "error.hpp"
#include "hex.hpp"
#include "secure_messaging.hpp"
#include "status_word.hpp"

#include <functional>

namespace vcard {

namespace {

constexpr std::uint16_t kMfFid = 0x3F00;
constexpr std::size_t kMaxFileSize = 0x8000;

struct Tlv {
	std::uint8_t tag;
	std::size_t off; // value offset
	std::size_t len;
};

// One-byte tags, BER lengths; throws on malformed input.
std::vector<Tlv> parse_tlvs(const Bytes &b, std::size_t from, std::size_t to)
{
	std::vector<Tlv> out;
	std::size_t pos = from;
	while (pos < to) {
		std::uint8_t tag = b[pos++];
		std::size_t len = 0;
		if (!sm::read_ber_length(b, pos, len) || pos + len > to)
			throw CardStatus(Sw::WrongData);
		out.push_back({tag, pos, len});
		pos += len;
	}
	return out;
}

std::uint16_t be16(const Bytes &b, std::size_t off)
{
	return static_cast<std::uint16_t>((b[off] << 8) | b[off + 1]);
}

} // namespace

bool File::is_key() const
{
	return kind == FileKind::RsaPrivate || kind == FileKind::RsaPublic || kind == FileKind::EcPrivate ||
	       kind == FileKind::EcPublic;
}

File *File::child(std::uint16_t id) const
{
	for (const auto &c : children)
		if (c->fid == id)
			return c.get();
	return nullptr;
}

Bytes File::fci() const
{
	Bytes inner = fcp;
	if (is_record()) {
		// update the record count (last byte of the 82 descriptor)
		for (const auto &t : parse_tlvs(inner, 0, inner.size()))
			if (t.tag == 0x82 && t.len >= 5)
				inner[t.off + 4] = static_cast<std::uint8_t>(records.size());
	}
	Bytes out{0x6F};
	sm::append_ber_length(out, inner.size());
	out.insert(out.end(), inner.begin(), inner.end());
	return out;
}

std::unique_ptr<File> parse_fcp(const Bytes &raw)
{
	if (raw.size() < 2 || raw[0] != 0x62)
		throw CardStatus(Sw::WrongData);
	std::size_t pos = 1, len = 0;
	if (!sm::read_ber_length(raw, pos, len) || pos + len != raw.size())
		throw CardStatus(Sw::WrongData);
	auto f = std::make_unique<File>();
	f->fcp.assign(raw.begin() + static_cast<std::ptrdiff_t>(pos), raw.end());
	f->acs.fill(0xFF);
	bool have_fid = false, have_kind = false;
	for (const auto &t : parse_tlvs(f->fcp, 0, f->fcp.size())) {
		const Bytes &b = f->fcp;
		switch (t.tag) {
		case 0x80:
			if (t.len < 1 || t.len > 2)
				throw CardStatus(Sw::WrongData);
			f->size = t.len == 2 ? be16(b, t.off) : b[t.off];
			break;
		case 0x82: {
			if (t.len < 1)
				throw CardStatus(Sw::WrongData);
			std::uint8_t k = b[t.off];
			switch (k) {
			case 0x38:
			case 0x01:
			case 0x02:
			case 0x04:
			case 0x10:
			case 0x11:
			case 0x12:
			case 0x13:
			case 0x14:
				f->kind = static_cast<FileKind>(k);
				break;
			default:
				throw CardStatus(Sw::WrongData);
			}
			have_kind = true;
			if ((k == 0x02 || k == 0x04) && t.len >= 5)
				f->max_record_len = be16(b, t.off + 2);
			break;
		}
		case 0x83:
			if (t.len != 2)
				throw CardStatus(Sw::WrongData);
			f->fid = be16(b, t.off);
			have_fid = true;
			break;
		case 0x84:
			if (t.len < 1 || t.len > 16)
				throw CardStatus(Sw::WrongData);
			f->name.assign(b.begin() + static_cast<std::ptrdiff_t>(t.off),
				b.begin() + static_cast<std::ptrdiff_t>(t.off + t.len));
			break;
		case 0x85:
			if (t.len == 1)
				f->size = b[t.off];
			else if (t.len == 2 && !f->is_df())
				f->size = be16(b, t.off);
			break;
		case 0x86:
			if (t.len != 8)
				throw CardStatus(Sw::WrongData);
			for (std::size_t i = 0; i < 8; i++)
				f->acs[i] = b[t.off + i];
			break;
		default:
			break; // 87, 8A, A5 …: stored, echoed in the FCI
		}
	}
	if (!have_fid || !have_kind || f->fid == 0xFFFF)
		throw CardStatus(Sw::WrongData);
	if (f->kind == FileKind::Df && f->fid != kMfFid && f->name.empty())
		throw CardStatus(Sw::WrongData);
	if (f->kind == FileKind::Transparent) {
		if (f->size > kMaxFileSize)
			throw CardStatus(Sw::NotEnoughMemory);
		f->content.assign(f->size, 0x00);
	}
	return f;
}

void FileSystem::reset_current()
{
	cur_df_ = mf_.get();
	cur_ef_ = nullptr;
}

File *FileSystem::select_fid(std::uint16_t fid)
{
	if (!mf_)
		throw CardStatus(Sw::FileNotFound);
	File *f = nullptr;
	if (fid == kMfFid)
		f = mf_.get();
	else if (cur_df_ && (f = cur_df_->child(fid)) == nullptr && cur_df_->fid == fid)
		f = cur_df_;
	if (!f)
		throw CardStatus(Sw::FileNotFound);
	if (f->is_df()) {
		cur_df_ = f;
		cur_ef_ = nullptr;
	} else {
		cur_df_ = f->parent;
		cur_ef_ = f;
	}
	return f;
}

File *FileSystem::select_name(const Bytes &name)
{
	std::function<File *(File *)> find = [&](File *d) -> File * {
		if (d->is_df() && d->name == name)
			return d;
		for (auto &c : d->children)
			if (File *r = find(c.get()))
				return r;
		return nullptr;
	};
	File *f = mf_ ? find(mf_.get()) : nullptr;
	if (!f)
		throw CardStatus(Sw::FileNotFound);
	cur_df_ = f;
	cur_ef_ = nullptr;
	return f;
}

File *FileSystem::create(std::unique_ptr<File> f)
{
	if (!mf_) {
		if (f->fid != kMfFid || !f->is_df())
			throw CardStatus(Sw::FileNotFound);
		mf_ = std::move(f);
		cur_df_ = mf_.get();
		cur_ef_ = nullptr;
		return mf_.get();
	}
	if (!cur_df_)
		throw CardStatus(Sw::FileNotFound);
	if (f->fid == kMfFid || cur_df_->child(f->fid) || cur_df_->fid == f->fid)
		throw CardStatus(Sw::FileExists);
	if (file_count() >= 512)
		throw CardStatus(Sw::NotEnoughMemory);
	f->parent = cur_df_;
	File *raw = f.get();
	cur_df_->children.push_back(std::move(f));
	if (raw->is_df()) {
		cur_df_ = raw;
		cur_ef_ = nullptr;
	}
	return raw;
}

File *FileSystem::lookup_for_delete(std::uint16_t fid) const
{
	if (!mf_)
		return nullptr;
	if (fid == kMfFid)
		return mf_.get();
	if (!cur_df_)
		return nullptr;
	if (File *c = cur_df_->child(fid))
		return c;
	if (cur_df_->fid == fid)
		return cur_df_;
	return nullptr;
}

bool FileSystem::remove(File *f)
{
	if (f == mf_.get()) {
		mf_.reset();
		cur_df_ = nullptr;
		cur_ef_ = nullptr;
		return true;
	}
	File *parent = f->parent;
	// the current DF/EF may live below the removed file
	auto below = [f](File *x) {
		for (; x; x = x->parent)
			if (x == f)
				return true;
		return false;
	};
	if (below(cur_df_))
		cur_df_ = parent;
	if (below(cur_ef_))
		cur_ef_ = nullptr;
	auto &v = parent->children;
	for (auto it = v.begin(); it != v.end(); ++it) {
		if (it->get() == f) {
			v.erase(it);
			break;
		}
	}
	return false;
}

std::size_t FileSystem::file_count() const
{
	std::function<std::size_t(const File *)> count = [&](const File *d) -> std::size_t {
		std::size_t n = 1;
		for (const auto &c : d->children)
			n += count(c.get());
		return n;
	};
	return mf_ ? count(mf_.get()) : 0;
}

static nlohmann::json file_to_json(const File &f)
{
	nlohmann::json j;
	j["fcp"] = to_hex(f.fcp);
	if (f.kind == FileKind::Transparent)
		j["content"] = to_hex(f.content);
	if (f.is_record()) {
		j["records"] = nlohmann::json::array();
		for (const auto &r : f.records)
			j["records"].push_back(to_hex(r));
	}
	if (f.key)
		j["key"] = f.key->to_json();
	if (f.is_df()) {
		j["children"] = nlohmann::json::array();
		for (const auto &c : f.children)
			j["children"].push_back(file_to_json(*c));
	}
	return j;
}

static std::unique_ptr<File> file_from_json(const nlohmann::json &j, File *parent)
{
	Bytes fcp = from_hex(j.at("fcp").get<std::string>());
	Bytes wrapped{0x62};
	sm::append_ber_length(wrapped, fcp.size());
	wrapped.insert(wrapped.end(), fcp.begin(), fcp.end());
	std::unique_ptr<File> f;
	try {
		f = parse_fcp(wrapped);
	} catch (const CardStatus &) {
		throw Error("file system: invalid FCP " + to_hex(fcp));
	}
	f->parent = parent;
	if (f->kind == FileKind::Transparent && j.contains("content")) {
		Bytes c = from_hex(j.at("content").get<std::string>());
		if (c.size() != f->size)
			throw Error("file system: content size of " + to_hex(fcp) + " does not match");
		f->content = c;
	}
	if (f->is_record() && j.contains("records"))
		for (const auto &r : j.at("records"))
			f->records.push_back(from_hex(r.get<std::string>()));
	if (j.contains("key"))
		f->key = AsymKey::from_json(j.at("key"));
	if (j.contains("children")) {
		if (!f->is_df())
			throw Error("file system: EF with children");
		for (const auto &c : j.at("children")) {
			auto child = file_from_json(c, f.get());
			if (f->child(child->fid))
				throw Error("file system: duplicate FID");
			f->children.push_back(std::move(child));
		}
	}
	return f;
}

nlohmann::json FileSystem::to_json() const
{
	return mf_ ? file_to_json(*mf_) : nlohmann::json(nullptr);
}

void FileSystem::load_json(const nlohmann::json &j)
{
	mf_.reset();
	if (!j.is_null()) {
		mf_ = file_from_json(j, nullptr);
		if (mf_->fid != kMfFid || !mf_->is_df())
			throw Error("file system: root is not the MF 3F00");
	}
	reset_current();
}

} // namespace vcard
