// SPDX-License-Identifier: LGPL-2.1-or-later
// The virtual Feitian ePass2003 card OS (EPASS2003.md). One dispatcher owns
// parsing, SM unwrap, the INS → handler table, SM wrap and status words;
// handlers (split over epass2003_*_commands.cpp) never see SM.
#pragma once

#include "apdu.hpp"
#include "apdu_log.hpp"
#include "card.hpp"
#include "card_options.hpp"
#include "file_system.hpp"
#include "secret_store.hpp"
#include "sm_session.hpp"

#include <nlohmann/json.hpp>

#include <memory>
#include <mutex>
#include <string>

namespace vcard {

class Epass2003Card : public Card {
public:
	// A blank card (no MF, no keys), static SM keys 01..10 (§2.2).
	Epass2003Card(SmVariant variant, const Bytes &serial, CardOptions options = CardOptions());

	Bytes atr() const override;
	void power_on() override;
	void power_off() override;
	void reset() override;
	bool powered() const override;
	Bytes process(const Bytes &command) override;
	// Writes the image if state changed since the last save (cheap otherwise).
	void save() override;

	// Image binding: save() writes here; empty = in-memory card.
	void set_image_path(const std::string &path) { image_path_ = path; }
	const std::string &image_path() const { return image_path_; }
	bool dirty() const { return dirty_; }

	// Introspection for tests and vcard-tool.
	ApduLog &log() { return log_; }
	const ApduLog &log() const { return log_; }
	const FileSystem &file_system() const { return fs_; }
	const SecretStore &secrets() const { return secrets_; }
	SmVariant variant() const { return variant_; }
	const Bytes &serial() const { return serial_; }
	const CardOptions &options() const { return options_; }
	CardOptions &options() { return options_; }
	std::uint8_t security_state() const { return security_state_; }
	bool sm_active() const { return session_.active(); }

	// Non-volatile state as the image's JSON document (card_image.cpp).
	nlohmann::json to_json() const;
	static std::unique_ptr<Epass2003Card> from_json(const nlohmann::json &j);

private:
	using Handler = Bytes (Epass2003Card::*)(const Apdu &);
	struct Command {
		std::uint8_t ins;
		Handler handler;
	};
	static const Command kCommands[];

	Bytes dispatch(const Apdu &plain);
	bool is_plain_allowed(const Apdu &a) const;
	void clear_volatile();
	void touch() { dirty_ = true; }
	void require(std::uint8_t ac) const;
	File &current_ef() const;
	File &key_file_in_current_df(std::uint16_t fid) const;
	void save_locked();

	// file commands (epass2003_file_commands.cpp)
	Bytes cmd_select(const Apdu &a);
	Bytes cmd_read_binary(const Apdu &a);
	Bytes cmd_update_binary(const Apdu &a);
	Bytes cmd_read_record(const Apdu &a);
	Bytes cmd_append_record(const Apdu &a);
	Bytes cmd_update_record(const Apdu &a);
	Bytes cmd_create_file(const Apdu &a);
	Bytes cmd_delete_file(const Apdu &a);
	Bytes cmd_list_files(const Apdu &a);
	Bytes cmd_get_data(const Apdu &a);
	// security commands (epass2003_security_commands.cpp)
	Bytes cmd_get_challenge(const Apdu &a);
	Bytes cmd_initialize_update(const Apdu &a);
	Bytes cmd_external_authenticate(const Apdu &a);
	Bytes cmd_verify(const Apdu &a);
	Bytes cmd_install_secret_key(const Apdu &a);
	Bytes cmd_update_secret_key(const Apdu &a);
	Bytes authenticate_with(SecretKey &key, bool ok);
	// key commands (epass2003_key_commands.cpp)
	Bytes cmd_manage_security_environment(const Apdu &a);
	Bytes cmd_perform_security_operation(const Apdu &a);
	Bytes cmd_generate_key(const Apdu &a);
	Bytes cmd_read_public_key(const Apdu &a);
	Bytes cmd_write_key_factor(const Apdu &a);

	// non-volatile
	SmVariant variant_;
	Bytes serial_;
	CardOptions options_;
	SecureBytes static_enc_;
	SecureBytes static_mac_;
	FileSystem fs_;
	SecretStore secrets_;
	// volatile
	bool powered_ = false;
	SmSession session_;
	std::uint8_t security_state_ = 0;
	Bytes challenge_;
	File *mse_key_ = nullptr;
	std::uint8_t mse_algorithm_ = 0;
	// bookkeeping
	ApduLog log_;
	std::string image_path_;
	bool dirty_ = false;
	mutable std::mutex mutex_;
};

} // namespace vcard
