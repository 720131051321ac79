// SPDX-License-Identifier: LGPL-2.1-or-later
// librecovery_vcard.so: libvcard (the virtual ePass2003) as a shared object. libvpcsc declares
// vcard::open_card_image weak; a process that has this library in its global scope (LD_PRELOAD for
// OpenSC's tools, dlopen RTLD_GLOBAL before libvpcsc in test_recovery_pkcs11) gets image cards.
#include "vcard/card.hpp"

namespace vcard {

// Referenced so that the linker keeps the image loader even without --whole-archive.
[[maybe_unused]] static auto *const recovery_open_card_image = &open_card_image;

} // namespace vcard
