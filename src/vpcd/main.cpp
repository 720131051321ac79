// SPDX-License-Identifier: LGPL-2.1-or-later
// vpcd-bridge: serve a virtual card (a card image, or the built-in scripted
// card) to pcscd through vsmartcard's vpcd driver.
#include "bridge.hpp"
#include "cac_card.hpp"
#include "logger.hpp"
#include "scripted_card.hpp"
#include "unique_fd.hpp"

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <getopt.h>
#include <memory>
#include <string>
#include <sys/signalfd.h>

namespace {

void usage(std::FILE *out)
{
	std::fprintf(out,
		     "Usage: vpcd-bridge (--card IMAGE | --scripted | --cac NSSDB) [options]\n"
		     "Serve a virtual card to pcscd through vsmartcard's vpcd (connects to 127.0.0.1).\n"
		     "\n"
		     "  -c, --card IMAGE        card image file (virtual ePass2003); saved on exit\n"
		     "  -s, --scripted          built-in scripted test card (fixed ATR, no state)\n"
		     "  -C, --cac NSSDB         CAC emulated by libcacard (certs cert1..3 in NSS db NSSDB)\n"
		     "  -p, --port PORT         vpcd base port (default 35963 = 0x8C7B)\n"
		     "  -S, --slot N            vpcd slot: connects to PORT + N (default 0)\n"
		     "  -b, --backoff-max MS    longest delay between reconnect attempts (default 500)\n"
		     "  -1, --once              exit when the first connection ends\n"
		     "  -l, --log FILE          append the log to FILE (default: stderr)\n"
		     "  -v, --verbose           log every APDU\n"
		     "  -q, --quiet             log errors only\n"
		     "  -h, --help              this text\n"
		     "\n"
		     "SIGTERM / SIGINT: stop, power the card off and save its image.\n");
}

bool parse_number(const char *text, unsigned long max, unsigned long &value)
{
	char *end = nullptr;
	errno = 0;
	value = std::strtoul(text, &end, 0);
	return errno == 0 && end && *end == '\0' && end != text && value <= max;
}

} // namespace

int main(int argc, char **argv)
{
	static const struct option long_options[] = {
		{"card", required_argument, nullptr, 'c'},      {"scripted", no_argument, nullptr, 's'},
		{"cac", required_argument, nullptr, 'C'},
		{"port", required_argument, nullptr, 'p'},      {"slot", required_argument, nullptr, 'S'},
		{"backoff-max", required_argument, nullptr, 'b'}, {"once", no_argument, nullptr, '1'},
		{"log", required_argument, nullptr, 'l'},       {"verbose", no_argument, nullptr, 'v'},
		{"quiet", no_argument, nullptr, 'q'},           {"help", no_argument, nullptr, 'h'},
		{nullptr, 0, nullptr, 0},
	};
	std::string image;
	std::string log_path;
	std::string cac_db;
	bool scripted = false;
	vpcd::BridgeOptions options;
	vpcd::LogLevel level = vpcd::LogLevel::info;
	int opt;
	unsigned long number;
	while ((opt = getopt_long(argc, argv, "c:sC:p:S:b:1l:vqh", long_options, nullptr)) != -1) {
		switch (opt) {
		case 'c':
			image = optarg;
			break;
		case 's':
			scripted = true;
			break;
		case 'C':
			cac_db = optarg;
			break;
		case 'p':
			if (!parse_number(optarg, 0xFFFF, number) || number == 0) {
				std::fprintf(stderr, "vpcd-bridge: bad --port '%s'\n", optarg);
				return 2;
			}
			options.port = static_cast<std::uint16_t>(number);
			break;
		case 'S':
			if (!parse_number(optarg, 15, number)) {
				std::fprintf(stderr, "vpcd-bridge: bad --slot '%s' (0..15)\n", optarg);
				return 2;
			}
			options.slot = static_cast<unsigned>(number);
			break;
		case 'b':
			if (!parse_number(optarg, 60000, number) || number == 0) {
				std::fprintf(stderr, "vpcd-bridge: bad --backoff-max '%s' (1..60000 ms)\n", optarg);
				return 2;
			}
			options.backoff_max = std::chrono::milliseconds(number);
			break;
		case '1':
			options.exit_on_disconnect = true;
			break;
		case 'l':
			log_path = optarg;
			break;
		case 'v':
			level = vpcd::LogLevel::debug;
			break;
		case 'q':
			level = vpcd::LogLevel::error;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc || int{scripted} + int{!image.empty()} + int{!cac_db.empty()} != 1) {
		std::fprintf(stderr, "vpcd-bridge: give exactly one of --card IMAGE, --scripted or --cac NSSDB\n");
		usage(stderr);
		return 2;
	}
	if (options.port + options.slot > 0xFFFF) {
		std::fprintf(stderr, "vpcd-bridge: port + slot exceeds 65535\n");
		return 2;
	}

	std::unique_ptr<std::FILE, int (*)(std::FILE *)> log_file(nullptr, std::fclose);
	if (!log_path.empty()) {
		log_file.reset(std::fopen(log_path.c_str(), "a"));
		if (!log_file) {
			std::fprintf(stderr, "vpcd-bridge: cannot open log %s: %s\n", log_path.c_str(),
				     std::strerror(errno));
			return 2;
		}
	}
	vpcd::Logger log(log_file ? log_file.get() : stderr, level);

	// Termination arrives through a signalfd the bridge polls: no handler, no
	// global state, and the card is saved on the normal return path.
	sigset_t stop_signals;
	sigemptyset(&stop_signals);
	sigaddset(&stop_signals, SIGTERM);
	sigaddset(&stop_signals, SIGINT);
	sigaddset(&stop_signals, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &stop_signals, nullptr) != 0) {
		log.log(vpcd::LogLevel::error, "sigprocmask: %s", std::strerror(errno));
		return 1;
	}
	vpcd::UniqueFd stop_fd(signalfd(-1, &stop_signals, SFD_CLOEXEC));
	if (!stop_fd.valid()) {
		log.log(vpcd::LogLevel::error, "signalfd: %s", std::strerror(errno));
		return 1;
	}
	std::signal(SIGPIPE, SIG_IGN);

	std::unique_ptr<vcard::Card> card;
	try {
		if (scripted)
			card = std::make_unique<vpcd::ScriptedCard>();
		else if (!cac_db.empty())
			card = std::make_unique<vpcd::CacCard>(cac_db);
		else
			card = vcard::open_card_image(image);
	} catch (const std::exception &e) {
		log.log(vpcd::LogLevel::error, "cannot open the card: %s", e.what());
		return 1;
	}
	const std::string what = scripted ? std::string("built-in scripted card")
				 : !cac_db.empty() ? "CAC (libcacard) with NSS database " + cac_db
						   : "card image " + image;
	log.log(vpcd::LogLevel::info, "card: %s", what.c_str());

	int status = 0;
	try {
		vpcd::Bridge bridge(*card, log, options);
		bridge.run(stop_fd.get());
	} catch (const std::exception &e) {
		log.log(vpcd::LogLevel::error, "bridge failed: %s", e.what());
		status = 1;
	}
	if (card->powered())
		card->power_off();
	try {
		card->save();
		if (!image.empty())
			log.log(vpcd::LogLevel::info, "card image saved to %s", image.c_str());
	} catch (const std::exception &e) {
		log.log(vpcd::LogLevel::error, "saving the card image failed: %s", e.what());
		status = 1;
	}
	return status;
}
