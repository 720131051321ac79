// SPDX-License-Identifier: LGPL-2.1-or-later
#include "card_image.hpp"

#include "epass2003_card.hpp"
#include "error.hpp"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <sstream>
#include <sys/stat.h>
#include <unistd.h>

namespace vcard {

namespace {

std::string errno_text()
{
	return std::strerror(errno);
}

class Fd {
public:
	explicit Fd(int fd) : fd_(fd) {}
	~Fd()
	{
		if (fd_ >= 0)
			::close(fd_);
	}
	Fd(const Fd &) = delete;
	Fd &operator=(const Fd &) = delete;
	int get() const { return fd_; }
	int release()
	{
		int f = fd_;
		fd_ = -1;
		return f;
	}

private:
	int fd_;
};

std::string directory_of(const std::string &path)
{
	auto slash = path.rfind('/');
	if (slash == std::string::npos)
		return ".";
	if (slash == 0)
		return "/";
	return path.substr(0, slash);
}

} // namespace

void write_image_atomic(const std::string &path, const nlohmann::json &doc)
{
	const std::string text = doc.dump(1, '\t') + "\n";
	std::string tmpl = path + ".tmpXXXXXX";
	Fd fd(::mkstemp(&tmpl[0]));
	if (fd.get() < 0)
		throw Error(path + ": cannot create temporary file: " + errno_text());
	const std::string tmp = tmpl;
	auto fail = [&](const std::string &what) {
		std::string msg = path + ": " + what + ": " + errno_text();
		::unlink(tmp.c_str());
		throw Error(msg);
	};
	std::size_t off = 0;
	while (off < text.size()) {
		ssize_t n = ::write(fd.get(), text.data() + off, text.size() - off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			fail("write");
		}
		off += static_cast<std::size_t>(n);
	}
	if (::fchmod(fd.get(), 0600) != 0)
		fail("fchmod");
	if (::fsync(fd.get()) != 0)
		fail("fsync");
	if (::close(fd.release()) != 0)
		fail("close");
	if (::rename(tmp.c_str(), path.c_str()) != 0)
		fail("rename");
	Fd dir(::open(directory_of(path).c_str(), O_RDONLY | O_DIRECTORY));
	if (dir.get() >= 0)
		(void)::fsync(dir.get());
}

std::unique_ptr<Epass2003Card> open_epass2003_image(const std::string &path)
{
	std::ifstream in(path, std::ios::binary);
	if (!in)
		throw Error(path + ": cannot open card image: " + errno_text());
	std::stringstream ss;
	ss << in.rdbuf();
	nlohmann::json j;
	try {
		j = nlohmann::json::parse(ss.str());
	} catch (const nlohmann::json::exception &e) {
		throw Error(path + ": corrupt card image (not JSON): " + e.what());
	}
	if (!j.is_object() || j.value("format", std::string()) != kImageFormat)
		throw Error(path + ": not a vcard image (missing \"format\": \"" + kImageFormat + "\")");
	if (!j.contains("version") || !j["version"].is_number_integer() || j["version"].get<int>() != kImageVersion)
		throw Error(path + ": unsupported vcard image version (this build reads version " +
			    std::to_string(kImageVersion) + ")");
	std::unique_ptr<Epass2003Card> card;
	try {
		card = Epass2003Card::from_json(j);
	} catch (const nlohmann::json::exception &e) {
		throw Error(path + ": corrupt card image: " + e.what());
	} catch (const Error &e) {
		throw Error(path + ": corrupt card image: " + e.what());
	}
	card->set_image_path(path);
	if (const char *log = std::getenv(kApduLogEnv))
		if (*log)
			card->log().set_file(log);
	if (const char *cap = std::getenv(kApduLogCapacityEnv)) {
		if (*cap) {
			char *end = nullptr;
			errno = 0;
			unsigned long long n = std::strtoull(cap, &end, 10);
			if (errno != 0 || *end != '\0' || *cap < '0' || *cap > '9' || n > 100000000ULL)
				throw Error(std::string(kApduLogCapacityEnv) + ": not an APDU count 0..100000000: \"" + cap + "\"");
			card->log().set_capacity(static_cast<std::size_t>(n));
		}
	}
	return card;
}

void create_blank_image(const std::string &path, SmVariant variant, const Bytes &serial,
	const CardOptions &options, bool overwrite)
{
	struct stat st;
	if (!overwrite && ::stat(path.c_str(), &st) == 0)
		throw Error(path + ": exists (use --force to overwrite)");
	Epass2003Card card(variant, serial, options);
	write_image_atomic(path, card.to_json());
}

std::unique_ptr<Card> open_card_image(const std::string &path)
{
	return open_epass2003_image(path);
}

} // namespace vcard
