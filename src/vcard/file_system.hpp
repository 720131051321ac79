// SPDX-License-Identifier: LGPL-2.1-or-later
// The card's file tree: MF, DFs, transparent and record EFs, BSOs and key
// files; FCP parsing (CREATE FILE), FCI building (the FCP echoed back with
// 62→6F, record count updated, EPASS2003.md §8.3), current DF / EF.
#pragma once

#include "asym_key.hpp"
#include "card.hpp"

#include <nlohmann/json.hpp>

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

namespace vcard {

// Operation indices of the 8 AC bytes (EPASS2003.md §3.19).
enum class AcOp : std::size_t {
	DfList = 0,
	DfCreate = 1,
	DfDelete = 3,
	EfRead = 0,
	EfUpdate = 1,
	RecWrite = 2,
	EfDelete = 3,
	BsoUpdate = 0,
	KeyUpdate = 1,
	KeyUse = 2,
	KeyDelete = 3,
};

enum class FileKind : std::uint8_t {
	Df = 0x38,
	Transparent = 0x01,
	LinearFixed = 0x02,
	LinearVariable = 0x04,
	Bso = 0x10,
	RsaPrivate = 0x11,
	RsaPublic = 0x12,
	EcPrivate = 0x13,
	EcPublic = 0x14,
};

struct File {
	std::uint16_t fid = 0;
	FileKind kind = FileKind::Transparent;
	Bytes fcp; // TLVs inside the 62 template, as created
	std::array<std::uint8_t, 8> acs{};
	Bytes name; // DF name (tag 84)
	std::size_t size = 0;
	Bytes content;
	std::vector<Bytes> records;
	std::size_t max_record_len = 0;
	std::optional<AsymKey> key;
	std::vector<std::unique_ptr<File>> children;
	File *parent = nullptr;

	bool is_df() const { return kind == FileKind::Df; }
	bool is_record() const { return kind == FileKind::LinearFixed || kind == FileKind::LinearVariable; }
	bool is_key() const;
	std::uint8_t ac(AcOp op) const { return acs[static_cast<std::size_t>(op)]; }
	File *child(std::uint16_t id) const;
	Bytes fci() const;
};

// Parses a CREATE FILE FCP (62 L …); throws CardStatus(WrongData) on errors.
std::unique_ptr<File> parse_fcp(const Bytes &fcp);

class FileSystem {
public:
	File *mf() const { return mf_.get(); }
	File *current_df() const { return cur_df_; }
	File *current_ef() const { return cur_ef_; }

	// Volatile state after reset: current DF = MF, no current EF.
	void reset_current();

	// SELECT by FID (§3.1.1); throws CardStatus(FileNotFound).
	File *select_fid(std::uint16_t fid);
	// SELECT by DF name (§3.1.2).
	File *select_name(const Bytes &name);

	// Adds a file to the current DF (or creates the MF); DF creation makes
	// it current. Throws CardStatus on conflicts.
	File *create(std::unique_ptr<File> f);
	// Removes a child of the current DF or the current DF itself; returns
	// true if the MF was removed.
	bool remove(File *f);
	// Child of the current DF or the current DF itself, or nullptr.
	File *lookup_for_delete(std::uint16_t fid) const;

	std::size_t file_count() const;

	nlohmann::json to_json() const;
	void load_json(const nlohmann::json &j);

private:
	std::unique_ptr<File> mf_;
	File *cur_df_ = nullptr;
	File *cur_ef_ = nullptr;
};

} // namespace vcard
