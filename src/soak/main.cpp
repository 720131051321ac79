// SPDX-License-Identifier: LGPL-2.1-or-later
// soak-driver: signs in a loop through one PKCS#11 module over libvpcsc while PC/SC faults are
// injected between operations, and reports what happened (src/soak/README.md).
#include <cstdio>
#include <exception>
#include <fstream>
#include <iostream>
#include <new>

#include "soak/error.hpp"
#include "soak/options.hpp"
#include "soak/report.hpp"
#include "soak/soak_run.hpp"

namespace {

constexpr int exit_ran = 0, exit_internal = 1, exit_usage = 2;

int
run(int argc, char **argv)
{
	soak::Options options;
	try {
		options = soak::parse_options(argc, argv);
	} catch (const soak::UsageError &e) {
		std::cerr << "soak-driver: " << e.what() << "\n" << soak::usage_text();
		return exit_usage;
	}
	if (options.help) {
		std::cout << soak::usage_text();
		return exit_ran;
	}
	// open the output first: a bad --json path is a usage error, not a lost run
	std::ofstream json_out;
	if (!options.json.empty()) {
		json_out.open(options.json, std::ios::trunc);
		if (!json_out) {
			std::cerr << "soak-driver: --json: cannot write " << options.json << "\n";
			return exit_usage;
		}
	}
	soak::SoakResult result;
	try {
		result = soak::SoakRun(options).run();
	} catch (const soak::SetupError &e) {
		std::cerr << "soak-driver: setup failed: " << e.what() << "\n";
		return exit_usage;
	}
	soak::print_summary(std::cout, options, result);
	if (json_out.is_open()) {
		json_out << soak::to_json(options, result).dump(1) << "\n";
		json_out.close();
		if (!json_out) {
			std::cerr << "soak-driver: --json: writing " << options.json << " failed\n";
			return exit_internal;
		}
	}
	return exit_ran;
}

} // namespace

int
main(int argc, char **argv)
{
	try {
		return run(argc, argv);
	} catch (const std::bad_alloc &) {
		std::fputs("soak-driver: out of memory\n", stderr);
	} catch (const std::exception &e) {
		std::fprintf(stderr, "soak-driver: internal error: %s\n", e.what());
	} catch (...) {
		std::fputs("soak-driver: internal error\n", stderr);
	}
	return exit_internal;
}
