// SPDX-License-Identifier: LGPL-2.1-or-later
// The run's directory: the copy of the token image, opensc.conf, OpenSC's debug log. A temporary
// directory is removed at the end; one given with --work-dir is kept.
#pragma once

#include <string>

namespace soak {

class WorkDir {
public:
	// path empty: a new directory under $TMPDIR (or /tmp). Throws SetupError.
	explicit WorkDir(const std::string &path);
	WorkDir(const WorkDir &) = delete;
	WorkDir &operator=(const WorkDir &) = delete;
	~WorkDir();

	const std::string &path() const noexcept { return path_; }
	// Copies the user's image into the directory (the copy is what the card writes to).
	std::string copy_image(const std::string &image, const std::string &name = "token.img") const;
	// opensc.conf pointing the pcsc reader driver at the provider; returns its path.
	std::string write_opensc_conf(const std::string &vpcsc, int debug) const;

private:
	std::string path_;
	bool temporary_ = false;
};

// Sets the "use" access condition of every RSA/EC private key file (FID 29xx) of an ePass2003 image
// from "everyone under SM" (90, OpenSC's profile) to "user PIN verified" (96), so that a new SM session
// needs the PIN again (as tests/recovery does). Returns how many files changed; throws SetupError if none.
int require_pin_for_key(const std::string &image);

} // namespace soak
