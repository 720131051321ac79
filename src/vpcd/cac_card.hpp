// SPDX-License-Identifier: LGPL-2.1-or-later
// A second card type behind the bridge: a US DoD CAC emulated by libcacard (the library QEMU uses),
// keys and certificates in an NSS database, driven by OpenSC's unmodified `cac` driver. It shows the
// recovery is not ePass2003-specific.
//
// libcacard is loaded at run time (dlopen "libcacard.so.0", Debian package libcacard0), so the
// bridge builds without it. libcacard keeps process-wide state: one CacCard per process.
// The NSS database's password, if it has one, is the card PIN; the certificates are named cert1,
// cert2, cert3 (tests/e2e/make_cac_db.sh). Note: without a verified PIN libcacard answers a
// signature with 6985 where a real CAC answers 6982, so OpenSC never re-verifies a cached PIN on
// it after a power cycle; the e2e tests therefore use a database without password.
#pragma once

#include <memory>
#include <string>

#include "../vcard/card.hpp"

namespace vpcd {

class CacCard : public vcard::Card {
public:
	// Throws std::runtime_error naming what failed (library, database, certificates).
	explicit CacCard(const std::string &nss_db_dir);
	~CacCard() override;
	CacCard(const CacCard &) = delete;
	CacCard &operator=(const CacCard &) = delete;

	vcard::Bytes atr() const override;
	void power_on() override;
	void power_off() override;
	void reset() override;
	bool powered() const override { return powered_; }
	vcard::Bytes process(const vcard::Bytes &command) override;

private:
	struct Library;
	std::unique_ptr<Library> lib_;
	void *reader_ = nullptr; // VReader *
	bool powered_ = false;
};

} // namespace vpcd
