// SPDX-License-Identifier: LGPL-2.1-or-later
#include "epass2003_card.hpp"

#include "access_rule.hpp"
#include "card_image.hpp"
#include "error.hpp"
#include "hex.hpp"
#include "status_word.hpp"

namespace vcard {

namespace {

// The 2022 OpenSC-initialised token (EPASS2003.md §1.1).
const Bytes kAtr = {0x3B, 0x9F, 0x95, 0x81, 0x31, 0xFE, 0x9F, 0x00, 0x66, 0x46, 0x53, 0x05,
	0x23, 0x00, 0x25, 0x71, 0xDF, 0x00, 0x00, 0x03, 0x90, 0x00, 0x96};

// §2.2: OpenSC hard-codes both static keys.
const Bytes kDefaultStaticKey = {0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08,
	0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x0E, 0x0F, 0x10};

constexpr std::uint8_t kClaSmBits = 0x0C;
constexpr std::uint8_t kInsGetData = 0xCA;
constexpr std::uint8_t kInsInitializeUpdate = 0x50;
constexpr std::uint8_t kInsExternalAuthenticate = 0x82;
constexpr std::uint8_t kClaGpMac = 0x84;

std::uint16_t sw_of(Sw sw)
{
	return static_cast<std::uint16_t>(sw);
}

void append_sw(Bytes &b, std::uint16_t sw)
{
	b.push_back(static_cast<std::uint8_t>(sw >> 8));
	b.push_back(static_cast<std::uint8_t>(sw));
}

} // namespace

const Epass2003Card::Command Epass2003Card::kCommands[] = {
	{0xA4, &Epass2003Card::cmd_select},
	{0xB0, &Epass2003Card::cmd_read_binary},
	{0xD6, &Epass2003Card::cmd_update_binary},
	{0xB2, &Epass2003Card::cmd_read_record},
	{0xE2, &Epass2003Card::cmd_append_record},
	{0xDC, &Epass2003Card::cmd_update_record},
	{0xE0, &Epass2003Card::cmd_create_file},
	{0xE4, &Epass2003Card::cmd_delete_file},
	{0x34, &Epass2003Card::cmd_list_files},
	{0xCA, &Epass2003Card::cmd_get_data},
	{0x84, &Epass2003Card::cmd_get_challenge},
	{0x50, &Epass2003Card::cmd_initialize_update},
	{0x82, &Epass2003Card::cmd_external_authenticate},
	{0x20, &Epass2003Card::cmd_verify},
	{0xE3, &Epass2003Card::cmd_install_secret_key},
	{0xE5, &Epass2003Card::cmd_update_secret_key},
	{0x22, &Epass2003Card::cmd_manage_security_environment},
	{0x2A, &Epass2003Card::cmd_perform_security_operation},
	{0x46, &Epass2003Card::cmd_generate_key},
	{0xB4, &Epass2003Card::cmd_read_public_key},
	{0xE7, &Epass2003Card::cmd_write_key_factor},
};

Epass2003Card::Epass2003Card(SmVariant variant, const Bytes &serial, CardOptions options)
    : variant_(variant), serial_(serial), options_(options), static_enc_(kDefaultStaticKey),
      static_mac_(kDefaultStaticKey), session_(variant)
{
	if (serial_.size() != 8)
		throw Error("epass2003: the serial number must be 8 bytes");
}

Bytes Epass2003Card::atr() const
{
	return kAtr;
}

void Epass2003Card::clear_volatile()
{
	session_.close();
	security_state_ = 0;
	challenge_.clear();
	mse_key_ = nullptr;
	mse_algorithm_ = 0;
	fs_.reset_current();
}

void Epass2003Card::power_on()
{
	std::lock_guard<std::mutex> lock(mutex_);
	clear_volatile();
	powered_ = true;
}

void Epass2003Card::power_off()
{
	std::lock_guard<std::mutex> lock(mutex_);
	clear_volatile();
	powered_ = false;
}

void Epass2003Card::reset()
{
	std::lock_guard<std::mutex> lock(mutex_);
	clear_volatile();
	powered_ = true;
}

bool Epass2003Card::powered() const
{
	std::lock_guard<std::mutex> lock(mutex_);
	return powered_;
}

bool Epass2003Card::is_plain_allowed(const Apdu &a) const
{
	// §2.9: the three commands that are always plain.
	if (a.cla == 0x00 && a.ins == kInsGetData && a.p1 == 0x01 && a.p2 == 0x86)
		return true;
	if (a.cla == 0x80 && a.ins == kInsInitializeUpdate)
		return true;
	if (a.cla == kClaGpMac && a.ins == kInsExternalAuthenticate && a.p1 == 0x03)
		return true;
	return false;
}

void Epass2003Card::require(std::uint8_t ac) const
{
	if (!ac_satisfied(ac, security_state_))
		throw CardStatus(Sw::SecurityNotSatisfied);
}

File &Epass2003Card::current_ef() const
{
	File *f = fs_.current_ef();
	if (!f)
		throw CardStatus(Sw::CommandNotAllowed);
	return *f;
}

File &Epass2003Card::key_file_in_current_df(std::uint16_t fid) const
{
	File *df = fs_.current_df();
	File *f = df ? df->child(fid) : nullptr;
	if (!f)
		throw CardStatus(Sw::FileNotFound);
	if (!f->is_key())
		throw CardStatus(Sw::WrongData);
	return *f;
}

Bytes Epass2003Card::dispatch(const Apdu &a)
{
	const std::uint8_t cla = a.cla & static_cast<std::uint8_t>(~kClaSmBits);
	if (cla != 0x00 && cla != 0x80)
		throw CardStatus(Sw::ClaNotSupported);
	for (const auto &c : kCommands)
		if (c.ins == a.ins)
			return (this->*c.handler)(a);
	throw CardStatus(Sw::InsNotSupported);
}

Bytes Epass2003Card::process(const Bytes &command)
{
	std::lock_guard<std::mutex> lock(mutex_);
	log_.add(ApduLog::Side::Wire, ApduLog::Dir::Command, command);
	Bytes out;
	if (!powered_) {
		append_sw(out, sw_of(Sw::ConditionsNotSatisfied));
		log_.add(ApduLog::Side::Wire, ApduLog::Dir::Response, out);
		return out;
	}
	bool wrapped = false;
	try {
		Apdu wire = parse_apdu(command);
		Apdu plain;
		wrapped = (wire.cla & kClaSmBits) == kClaSmBits && wire.cla != kClaGpMac;
		if (variant_ == SmVariant::Plain) {
			if (wrapped)
				throw CardStatus(Sw::SmNotSupported);
			plain = wire;
		} else if (wrapped) {
			if (!session_.unwrap(wire, plain, options_.accept_opensc_fips_query_mac))
				throw CardStatus(options_.bad_sm_status);
		} else {
			if (!is_plain_allowed(wire) && options_.plain_apdu_policy == PlainApduPolicy::Strict)
				throw CardStatus(options_.bad_sm_status);
			plain = wire;
		}
		log_.add(ApduLog::Side::Plain, ApduLog::Dir::Command, wrapped ? command_bytes(plain) : command);
		Bytes data;
		std::uint16_t sw = sw_of(Sw::Ok);
		try {
			data = dispatch(plain);
		} catch (const CardStatus &st) {
			sw = st.sw();
			data.clear();
		}
		Bytes p(data);
		append_sw(p, sw);
		log_.add(ApduLog::Side::Plain, ApduLog::Dir::Response, p);
		if (wrapped) {
			out = session_.wrap(data, sw);
		} else {
			out = data;
			append_sw(out, sw);
		}
	} catch (const CardStatus &st) {
		// Malformed APDU or SM failure: a bare status word (§2.10).
		out.clear();
		append_sw(out, st.sw());
	}
	log_.add(ApduLog::Side::Wire, ApduLog::Dir::Response, out);
	if (dirty_ && options_.autosave && !image_path_.empty())
		save_locked();
	return out;
}

void Epass2003Card::save()
{
	std::lock_guard<std::mutex> lock(mutex_);
	if (dirty_ && !image_path_.empty())
		save_locked();
}

void Epass2003Card::save_locked()
{
	write_image_atomic(image_path_, to_json());
	dirty_ = false;
}

nlohmann::json Epass2003Card::to_json() const
{
	nlohmann::json j;
	j["format"] = kImageFormat;
	j["version"] = kImageVersion;
	j["card"] = "epass2003";
	j["serial"] = to_hex(serial_);
	j["sm_variant"] = to_string(variant_);
	j["options"] = options_.to_json();
	j["sm_static_keys"] = {{"enc", to_hex(static_enc_.data(), static_enc_.size())},
		{"mac", to_hex(static_mac_.data(), static_mac_.size())}};
	j["secrets"] = secrets_.to_json();
	j["mf"] = fs_.to_json();
	return j;
}

std::unique_ptr<Epass2003Card> Epass2003Card::from_json(const nlohmann::json &j)
{
	if (j.value("card", std::string()) != "epass2003")
		throw Error("not an ePass2003 image");
	Bytes serial = from_hex(j.at("serial").get<std::string>());
	SmVariant v = sm_variant_from_string(j.at("sm_variant").get<std::string>());
	CardOptions o = CardOptions::from_json(j.at("options"));
	auto card = std::make_unique<Epass2003Card>(v, serial, o);
	const auto &keys = j.at("sm_static_keys");
	card->static_enc_ = SecureBytes(from_hex(keys.at("enc").get<std::string>()));
	card->static_mac_ = SecureBytes(from_hex(keys.at("mac").get<std::string>()));
	if (card->static_enc_.size() != 16 || card->static_mac_.size() != 16)
		throw Error("SM static keys must be 16 bytes");
	card->secrets_.load_json(j.at("secrets"));
	card->fs_.load_json(j.at("mf"));
	return card;
}

} // namespace vcard
