// SPDX-License-Identifier: LGPL-2.1-or-later
#pragma once

#include <string>

#include "pkcs11.h"

namespace soak {

// "GENERAL_ERROR" for CKR_GENERAL_ERROR (without the CKR_ prefix), "0x..." for an unknown code.
std::string ckr_name(CK_RV rv);

} // namespace soak
