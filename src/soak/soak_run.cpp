// SPDX-License-Identifier: LGPL-2.1-or-later
#include "soak/soak_run.hpp"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <random>

#include <time.h>

#include <nlohmann/json.hpp>

#include "soak/ckr_name.hpp"
#include "soak/error.hpp"
#include "soak/pkcs11_module.hpp"
#include "soak/process_memory.hpp"
#include "soak/verifier.hpp"
#include "soak/vpcsc_library.hpp"
#include "soak/work_dir.hpp"

namespace soak {

namespace {

constexpr std::size_t fault_log_capacity = 4096;
constexpr std::size_t runs_capacity = 4096;
constexpr std::uint32_t outcome_ok = 0, outcome_badsig = 1;

using Clock = std::chrono::steady_clock; // CLOCK_MONOTONIC

std::uint64_t
ns_between(Clock::time_point a, Clock::time_point b)
{
	return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(b - a).count());
}

double
cpu_seconds() noexcept
{
	timespec ts{};
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

std::string
scenario(const std::string &image)
{
	nlohmann::json j = {{"readers", nlohmann::json::array({{{"name", "Virtual ePass2003"}, {"card", "token"}}})},
			{"cards", {{"token", {{"type", "image"}, {"path", image}}}}}};
	return j.dump();
}

// Outcome bookkeeping with no allocation per operation once every outcome name has been seen.
class Outcomes {
public:
	explicit Outcomes(SoakResult &r) : r_(r)
	{
		r_.outcome_names = {"OK", "BADSIG"};
		r_.outcome_counts = {0, 0};
		r_.runs.reserve(runs_capacity);
	}

	std::uint32_t index_of(CK_RV rv)
	{
		std::string name = ckr_name(rv);
		for (std::uint32_t i = 0; i < r_.outcome_names.size(); i++)
			if (r_.outcome_names[i] == name)
				return i;
		r_.outcome_names.push_back(name);
		r_.outcome_counts.push_back(0);
		return static_cast<std::uint32_t>(r_.outcome_names.size() - 1);
	}

	void add(std::uint64_t op, std::uint32_t outcome)
	{
		r_.outcome_counts[outcome]++;
		if (!r_.runs.empty() && r_.runs.back().outcome == outcome && r_.runs_dropped == 0) {
			r_.runs.back().count++;
		} else if (r_.runs.size() < runs_capacity) {
			r_.runs.push_back({outcome, op, 1});
		} else {
			r_.runs_dropped++;
		}
	}

private:
	SoakResult &r_;
};

} // namespace

SoakRun::SoakRun(const Options &options) : options_(options) {}

SoakResult
SoakRun::run()
{
	SoakResult r;
	r.rss_start_kib = rss_kib();
	r.fault_log.resize(fault_log_capacity); // touched now, so that it does not grow the RSS later
	Outcomes outcomes(r);

	WorkDir dir(options_.work_dir);
	std::string image = dir.copy_image(options_.token);
	if (options_.require_pin_for_key)
		r.keys_patched = require_pin_for_key(image);
	setenv("OPENSC_CONF", dir.write_opensc_conf(options_.vpcsc, options_.opensc_debug).c_str(), 1);

	VpcscLibrary vpcsc(options_.vpcsc);
	try {
		vpcsc.reset(scenario(image));
	} catch (const SetupError &e) {
		throw SetupError("--token: " + options_.token + ": not usable as a card image (" + e.what() + ")");
	}

	Pkcs11Module module(options_.module);
	r.module_description = module.description();
	module.open_session();
	module.login(options_.pin); // the only C_Login of the run
	SigningKey key = module.find_signing_key(options_.key_id);
	Verifier verifier(key.modulus, key.exponent);
	r.key_id = key.id_hex;
	r.key_label = key.label;
	r.key_bits = verifier.bits();

	std::vector<std::uint8_t> sig(key.modulus.size() + 64);
	std::vector<std::uint8_t> data;
	data.reserve(64);
	auto message = [&data](std::uint64_t n) {
		char text[64];
		int len = std::snprintf(text, sizeof text, "soak message %llu", static_cast<unsigned long long>(n));
		data.assign(text, text + len);
	};
	// C_SignInit + C_Sign, verified; returns the outcome index and the latency
	auto operation = [&](std::uint64_t n, std::uint64_t &ns) -> std::uint32_t {
		message(n);
		Clock::time_point t0 = Clock::now();
		SignResult s = module.sign(key.handle, data, sig.data(), sig.size());
		ns = ns_between(t0, Clock::now());
		if (s.rv != CKR_OK)
			return outcomes.index_of(s.rv);
		return verifier.verify(data, sig.data(), s.sig_len) ? outcome_ok : outcome_badsig;
	};

	std::uint64_t ns = 0;
	if (operation(0, ns) != outcome_ok)
		throw SetupError("the first signature after C_Login failed (" + r.outcome_names.back() +
				"): wrong key or token, nothing to soak");
	r.rss_after_setup_kib = rss_kib();
	for (std::uint64_t i = 0; i < options_.warmup; i++)
		(operation(i + 1, ns) == outcome_ok ? r.warmup_ok : r.warmup_failed)++;
	r.rss_after_warmup_kib = rss_kib();
	r.provider_after_warmup = vpcsc.counts();

	std::mt19937_64 rng(options_.seed);
	bool faults_on = !options_.faults.empty();
	std::size_t pending_from = 0; // fault_log entries [pending_from, used) wait for an OK
	double cpu_start = cpu_seconds();
	Clock::time_point start = Clock::now();
	std::uint64_t limit_ns = options_.seconds ? static_cast<std::uint64_t>(*options_.seconds * 1e9) : UINT64_MAX;
	std::uint64_t max_ops = options_.iterations ? *options_.iterations : UINT64_MAX;
	bool last_was_fault = false;
	FaultKind last_kind = FaultKind::None;

	for (std::uint64_t op = 0; op < max_ops; op++) {
		std::uint64_t now = ns_between(start, Clock::now());
		if (now >= limit_ns)
			break;
		// a fault before this operation, on average every fault_every operations
		if (faults_on && rng() % options_.fault_every == 0) {
			FaultKind kind = options_.faults[rng() % options_.faults.size()];
			FaultStats &fs = r.faults[static_cast<std::size_t>(kind)];
			bool applied = vpcsc.inject(kind, options_.late_ms);
			std::uint64_t t = ns_between(start, Clock::now());
			if (!applied) {
				fs.inject_errors++;
				std::fprintf(stderr, "soak-driver: fault not applied: %s\n", vpcsc.error().c_str());
			} else {
				fs.injected++;
				if (fs.pending == 0)
					fs.pending_first_t = t;
				fs.pending++;
				fs.pending_sum_t += t;
				last_was_fault = true;
				last_kind = kind;
			}
			if (r.fault_log_used < r.fault_log.size())
				r.fault_log[r.fault_log_used++] = {op, kind, applied, false, -1, -1, t};
			else
				r.fault_log_dropped++;
		}

		std::uint32_t outcome = operation(op + 1 + options_.warmup, ns);
		std::uint64_t end = ns_between(start, Clock::now());
		outcomes.add(op, outcome);
		r.operations++;
		r.all_latency.record(ns);
		if (outcome == outcome_ok) {
			r.ok_latency.record(ns);
			if (last_was_fault)
				r.faults[static_cast<std::size_t>(last_kind)].recovered++;
			// the fault(s) since the previous OK operation: first OK reached
			for (FaultStats &fs : r.faults) {
				if (fs.pending == 0)
					continue;
				fs.eventually_ok += fs.pending;
				fs.ttfo_sum_ns += fs.pending * end - fs.pending_sum_t;
				fs.ttfo_max_ns = std::max(fs.ttfo_max_ns, end - fs.pending_first_t);
				fs.pending = fs.pending_sum_t = fs.pending_first_t = 0;
			}
			for (std::size_t i = pending_from; i < r.fault_log_used; i++) {
				FaultRecord &f = r.fault_log[i];
				f.ops_to_ok = static_cast<std::int64_t>(op - f.before_op + 1);
				f.ns_to_ok = static_cast<std::int64_t>(end - f.t_ns);
				f.recovered = f.applied && f.before_op == op;
			}
			pending_from = r.fault_log_used;
		}
		last_was_fault = false;
	}
	r.elapsed_s = static_cast<double>(ns_between(start, Clock::now())) / 1e9;
	r.cpu_s = cpu_seconds() - cpu_start;

	r.session_state_end = module.session_state();
	r.rss_end_kib = rss_kib();
	r.provider_end = vpcsc.counts();
	r.apdus = vpcsc.apdus();
	r.login_calls = module.login_calls();
	r.finalize_rv = ckr_name(module.finalize());
	r.provider_after_finalize = vpcsc.counts();
	return r;
}

} // namespace soak
