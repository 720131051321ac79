// SPDX-License-Identifier: LGPL-2.1-or-later
#include "soak/work_dir.hpp"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

#include <sys/stat.h>

#include "soak/error.hpp"

namespace soak {

namespace fs = std::filesystem;

WorkDir::WorkDir(const std::string &path)
{
	if (path.empty()) {
		const char *tmp = std::getenv("TMPDIR");
		std::string tmpl = std::string(tmp && *tmp ? tmp : "/tmp") + "/soak-driver.XXXXXX";
		std::vector<char> buf(tmpl.begin(), tmpl.end());
		buf.push_back('\0');
		if (mkdtemp(buf.data()) == nullptr)
			throw SetupError("work dir: mkdtemp " + tmpl + ": " + std::strerror(errno));
		path_ = buf.data();
		temporary_ = true;
		return;
	}
	std::error_code ec;
	fs::create_directories(path, ec);
	if (ec || !fs::is_directory(path))
		throw SetupError("--work-dir: " + path + ": cannot create the directory" + (ec ? ": " + ec.message() : ""));
	path_ = fs::absolute(path).string();
}

WorkDir::~WorkDir()
{
	if (temporary_) {
		std::error_code ec;
		fs::remove_all(path_, ec);
	}
}

std::string
WorkDir::copy_image(const std::string &image, const std::string &name) const
{
	std::string dest = path_ + "/" + name;
	std::error_code ec;
	fs::copy_file(image, dest, fs::copy_options::overwrite_existing, ec);
	if (ec)
		throw SetupError("--token: cannot copy " + image + " to " + dest + ": " + ec.message());
	chmod(dest.c_str(), 0600);
	return dest;
}

std::string
WorkDir::write_opensc_conf(const std::string &vpcsc, int debug) const
{
	std::string conf = path_ + "/opensc.conf";
	std::ofstream f(conf);
	f << "app default {\n";
	if (debug > 0)
		f << "\tdebug = " << debug << ";\n\tdebug_file = \"" << path_ << "/opensc-debug.log\";\n";
	f << "\treader_driver pcsc {\n\t\tprovider_library = \"" << vpcsc << "\";\n\t}\n}\n";
	f.close();
	if (!f)
		throw SetupError("work dir: cannot write " + conf);
	return conf;
}

int
require_pin_for_key(const std::string &image)
{
	std::ifstream in(image, std::ios::binary);
	std::stringstream ss;
	ss << in.rdbuf();
	if (!in)
		throw SetupError("--require-pin-for-key: cannot read " + image);
	std::string text = ss.str();
	static const std::string fid = "830229", acs = "8608FF909090";
	int patched = 0;
	for (std::size_t at = text.find(fid); at != std::string::npos; at = text.find(fid, at + 1)) {
		std::size_t end = text.find('"', at);
		std::size_t hit = text.find(acs, at);
		if (hit == std::string::npos || hit > end)
			continue;
		text[hit + 8] = '9';
		text[hit + 9] = '6';
		patched++;
	}
	if (patched == 0)
		throw SetupError("--require-pin-for-key: " + image +
				": no private key file (FID 29xx) with access conditions FF909090 in the image");
	std::ofstream out(image, std::ios::binary | std::ios::trunc);
	out << text;
	out.close();
	if (!out)
		throw SetupError("--require-pin-for-key: cannot write " + image);
	return patched;
}

} // namespace soak
