// SPDX-License-Identifier: LGPL-2.1-or-later
// Card image files: a versioned JSON document (format in
// src/vcard/README.md). Loading validates everything before a card is
// built; saving writes a temporary file, fsyncs it and renames it over the
// image, so a crash leaves either the old or the new image.
#pragma once

#include "card.hpp"
#include "card_options.hpp"
#include "sm_variant.hpp"

#include <nlohmann/json.hpp>

#include <memory>
#include <string>

namespace vcard {

class Epass2003Card;

constexpr const char *kImageFormat = "opensc-recovery/vcard-image";
constexpr int kImageVersion = 1;

// Environment variable naming a JSON-lines APDU log file.
constexpr const char *kApduLogEnv = "VCARD_APDU_LOG";
// Environment variable: how many APDUs the card keeps in memory (ApduLog capacity, default 100000;
// 0: none). A long-running process (the soak driver) sets it so its RSS is not the log's.
constexpr const char *kApduLogCapacityEnv = "VCARD_APDU_LOG_CAPACITY";

void write_image_atomic(const std::string &path, const nlohmann::json &doc);

// Opens an ePass2003 image; throws vcard::Error naming the file.
std::unique_ptr<Epass2003Card> open_epass2003_image(const std::string &path);

// Writes a blank card image; refuses to overwrite unless overwrite is set.
void create_blank_image(const std::string &path, SmVariant variant, const Bytes &serial,
	const CardOptions &options, bool overwrite);

} // namespace vcard
