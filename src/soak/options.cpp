// SPDX-License-Identifier: LGPL-2.1-or-later
#include "soak/options.hpp"

#include <cctype>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <sys/stat.h>
#include <unistd.h>

#include "soak/error.hpp"

namespace soak {

namespace {

std::uint64_t
parse_count(const std::string &option, const std::string &value, std::uint64_t min, std::uint64_t max)
{
	std::uint64_t n = 0;
	const char *end = value.data() + value.size();
	auto [ptr, ec] = std::from_chars(value.data(), end, n);
	if (value.empty() || ec != std::errc() || ptr != end)
		throw UsageError(option + ": not a number: \"" + value + "\"");
	if (n < min || n > max)
		throw UsageError(option + ": " + value + " is out of range " + std::to_string(min) + ".." +
				std::to_string(max));
	return n;
}

double
parse_seconds(const std::string &option, const std::string &value)
{
	char *end = nullptr;
	errno = 0;
	double s = value.empty() || std::isspace(static_cast<unsigned char>(value[0])) ? NAN : std::strtod(value.c_str(), &end);
	if (std::isnan(s) || errno != 0 || end == nullptr || *end != '\0')
		throw UsageError(option + ": not a number: \"" + value + "\"");
	if (!(s > 0) || s > 86400.0 * 365)
		throw UsageError(option + ": " + value + " must be > 0 (and at most a year)");
	return s;
}

std::vector<FaultKind>
parse_fault_list(const std::string &option, const std::string &value)
{
	std::vector<FaultKind> out;
	std::size_t start = 0;
	while (true) {
		std::size_t comma = value.find(',', start);
		std::string name = value.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
		std::optional<FaultKind> k = parse_fault(name);
		if (!k)
			throw UsageError(option + ": unknown fault \"" + name + "\" (known: " + fault_names() + ")");
		out.push_back(*k);
		if (comma == std::string::npos)
			break;
		start = comma + 1;
	}
	return out;
}

std::string
parse_hex_id(const std::string &option, const std::string &value)
{
	std::string out;
	for (char c : value) {
		if (c == ':' || c == ' ')
			continue;
		if (!std::isxdigit(static_cast<unsigned char>(c)))
			throw UsageError(option + ": not hex: \"" + value + "\"");
		out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
	}
	if (out.empty() || out.size() % 2 != 0)
		throw UsageError(option + ": need an even, non-zero number of hex digits: \"" + value + "\"");
	return out;
}

void
require_readable_file(const std::string &option, const std::string &path)
{
	struct stat st {};
	if (path.empty())
		throw UsageError(option + ": empty path");
	if (stat(path.c_str(), &st) != 0)
		throw UsageError(option + ": " + path + ": no such file");
	if (!S_ISREG(st.st_mode))
		throw UsageError(option + ": " + path + ": not a regular file");
	if (access(path.c_str(), R_OK) != 0)
		throw UsageError(option + ": " + path + ": not readable");
}

} // namespace

const char *
usage_text() noexcept
{
	return "usage: soak-driver --module <prefix>/lib/opensc-pkcs11.so --token IMAGE\n"
	       "         [--iterations N] [--seconds S] [--faults N] [--warmup N] [--seed N] [--fault-every K]\n"
	       "         [--fault-kinds LIST | --no-faults] [--late-ms MS] [--outage-ms MS] [--pin PIN] [--key-id HEX] [--require-pin-for-key]\n"
	       "         [--readers N] [--sessions N] [--poller] [--poll-interval-ms MS] [--progress | --no-progress]\n"
	       "         [--apdu-log-capacity N] [--apdu-log FILE]\n"
	       "         [--vpcsc libvpcsc.so] [--label NAME] [--json FILE] [--work-dir DIR] [--opensc-debug N]\n"
	       "Signs (SHA256-RSA-PKCS, verified with OpenSSL) in a loop on the same sessions and key handles of\n"
	       "the module over libvpcsc with copies of the virtual ePass2003 IMAGE, injecting PC/SC faults\n"
	       "between operations; counts PC/SC calls and APDUs per signature and per recovery.\n"
	       "LIST: comma-separated of service_lost, service_down_up, service_up_late, card_reset,\n"
	       "service_outage, none (default: the first four). --faults N: exactly N faults, the run ends --fault-every operations\n"
	       "after the last (or at --iterations/--seconds, whichever comes first).\n"
	       "Defaults: --iterations 100 (unless --seconds or --faults), --warmup 20, --seed 1, --fault-every 10,\n"
	       "--late-ms 400, --outage-ms 200, --pin 123456, --readers 1, --sessions = --readers, --poll-interval-ms 20,\n"
	       "--apdu-log-capacity 0, --vpcsc $VPCSC_LIBRARY; a progress line when stdout is a terminal.\n"
	       "Exit: 0 it ran (whatever the outcomes), 1 internal error, 2 bad usage or setup error.\n";
}

Options
parse_options(int argc, char **argv)
{
	Options o;
	for (int i = 1; i < argc; i++) {
		std::string opt = argv[i];
		std::string value;
		bool has_value = false;
		if (opt.rfind("--", 0) == 0) {
			std::size_t eq = opt.find('=');
			if (eq != std::string::npos) {
				value = opt.substr(eq + 1);
				opt = opt.substr(0, eq);
				has_value = true;
			}
		}
		auto arg = [&]() -> const std::string & {
			if (!has_value) {
				if (i + 1 >= argc)
					throw UsageError(opt + ": needs a value");
				value = argv[++i];
				has_value = true;
			}
			return value;
		};
		if (opt == "--help" || opt == "-h") {
			o.help = true;
		} else if (opt == "--module") {
			o.module = arg();
		} else if (opt == "--token") {
			o.token = arg();
		} else if (opt == "--vpcsc") {
			o.vpcsc = arg();
		} else if (opt == "--pin") {
			o.pin = arg();
			if (o.pin.empty())
				throw UsageError("--pin: empty PIN");
		} else if (opt == "--key-id") {
			o.key_id = parse_hex_id(opt, arg());
		} else if (opt == "--label") {
			o.label = arg();
		} else if (opt == "--json") {
			o.json = arg();
			if (o.json.empty())
				throw UsageError("--json: empty path");
		} else if (opt == "--work-dir") {
			o.work_dir = arg();
			if (o.work_dir.empty())
				throw UsageError("--work-dir: empty path");
		} else if (opt == "--iterations") {
			o.iterations = parse_count(opt, arg(), 1, 1000000000000ULL);
		} else if (opt == "--seconds") {
			o.seconds = parse_seconds(opt, arg());
		} else if (opt == "--warmup") {
			o.warmup = parse_count(opt, arg(), 0, 1000000);
		} else if (opt == "--seed") {
			o.seed = parse_count(opt, arg(), 0, UINT64_MAX);
		} else if (opt == "--fault-every") {
			o.fault_every = parse_count(opt, arg(), 1, 1000000000);
		} else if (opt == "--fault-kinds") {
			o.faults = parse_fault_list(opt, arg());
		} else if (opt == "--faults") {
			const std::string &v = arg();
			if (!v.empty() && parse_fault(v.substr(0, v.find(','))))
				throw UsageError("--faults: takes a count, not \"" + v + "\" (the kinds are --fault-kinds)");
			o.fault_count = parse_count(opt, v, 1, 1000000000);
		} else if (opt == "--readers") {
			o.readers = static_cast<unsigned>(parse_count(opt, arg(), 1, 16));
		} else if (opt == "--sessions") {
			o.sessions = static_cast<unsigned>(parse_count(opt, arg(), 1, 64));
		} else if (opt == "--poller") {
			if (has_value)
				throw UsageError(opt + ": takes no value");
			o.poller = true;
		} else if (opt == "--poll-interval-ms") {
			o.poll_interval_ms = static_cast<unsigned long>(parse_count(opt, arg(), 0, 60000));
		} else if (opt == "--progress" || opt == "--no-progress") {
			if (has_value)
				throw UsageError(opt + ": takes no value");
			o.progress = opt == "--progress" ? Options::Progress::On : Options::Progress::Off;
		} else if (opt == "--apdu-log-capacity") {
			o.apdu_log_capacity = parse_count(opt, arg(), 0, 100000000);
		} else if (opt == "--apdu-log") {
			o.apdu_log = arg();
			if (o.apdu_log.empty())
				throw UsageError("--apdu-log: empty path");
			if (std::FILE *f = std::fopen(o.apdu_log.c_str(), "a"))
				std::fclose(f);
			else
				throw UsageError("--apdu-log: cannot write " + o.apdu_log);
		} else if (opt == "--no-faults") {
			if (has_value)
				throw UsageError(opt + ": takes no value");
			o.faults.clear();
		} else if (opt == "--outage-ms") {
			o.outage_ms = static_cast<unsigned long>(parse_count(opt, arg(), 0, 3600000));
		} else if (opt == "--late-ms") {
			o.late_ms = static_cast<unsigned long>(parse_count(opt, arg(), 0, 3600000));
		} else if (opt == "--require-pin-for-key") {
			if (has_value)
				throw UsageError(opt + ": takes no value");
			o.require_pin_for_key = true;
		} else if (opt == "--opensc-debug") {
			o.opensc_debug = static_cast<int>(parse_count(opt, arg(), 0, 99));
		} else {
			throw UsageError("unknown option \"" + opt + "\"");
		}
		if (has_value && value.empty() && opt != "--label")
			throw UsageError(opt + ": empty value");
	}
	if (o.help)
		return o;
	if (o.module.empty())
		throw UsageError("--module: missing (the PKCS#11 module, <prefix>/lib/opensc-pkcs11.so)");
	if (o.token.empty())
		throw UsageError("--token: missing (a personalised virtual ePass2003 image, e.g. from make test-token)");
	require_readable_file("--module", o.module);
	require_readable_file("--token", o.token);
	if (o.vpcsc.empty()) {
		const char *env = std::getenv("VPCSC_LIBRARY");
		if (env == nullptr || *env == '\0')
			throw UsageError("--vpcsc: missing (give the path of libvpcsc.so or set VPCSC_LIBRARY)");
		o.vpcsc = env;
		require_readable_file("--vpcsc (from VPCSC_LIBRARY)", o.vpcsc);
	} else {
		require_readable_file("--vpcsc", o.vpcsc);
	}
	if (o.sessions == 0)
		o.sessions = o.readers;
	if (o.sessions < o.readers)
		throw UsageError("--sessions: " + std::to_string(o.sessions) + " is fewer than --readers " +
				std::to_string(o.readers) + " (every token gets at least one session)");
	if (o.fault_count && o.faults.empty())
		throw UsageError("--faults: " + std::to_string(*o.fault_count) + " faults asked for, but --no-faults");
	if (!o.iterations && !o.seconds && !o.fault_count)
		o.iterations = 100;
	return o;
}

} // namespace soak
