// SPDX-License-Identifier: LGPL-2.1-or-later
#include "soak/report.hpp"

#include <cstdio>
#include <ostream>

namespace soak {

namespace {

nlohmann::json
latency_json(const LatencyHistogram &h)
{
	return {{"count", h.count()}, {"min", h.min()}, {"p50", h.quantile(0.50)}, {"p90", h.quantile(0.90)},
			{"p99", h.quantile(0.99)}, {"max", h.max()}, {"mean", static_cast<std::uint64_t>(h.mean())}};
}

nlohmann::json
counts_json(const ProviderCounts &c)
{
	return {{"contexts", c.contexts}, {"handles", c.handles}, {"zombie_handles", c.zombie_handles},
			{"open_transactions", c.open_transactions}};
}

std::uint64_t
total(const SoakResult &r, std::uint64_t FaultStats::*field)
{
	std::uint64_t n = 0;
	for (const FaultStats &f : r.faults)
		n += f.*field;
	return n;
}

} // namespace

nlohmann::json
to_json(const Options &o, const SoakResult &r)
{
	nlohmann::json j;
	j["label"] = o.label;
	j["module"] = o.module;
	j["module_description"] = r.module_description;
	j["token"] = o.token;
	j["key"] = {{"id", r.key_id}, {"label", r.key_label}, {"bits", r.key_bits},
			{"require_pin_for_key", o.require_pin_for_key}, {"key_files_patched", r.keys_patched}};
	nlohmann::json faults_enabled = nlohmann::json::array();
	for (FaultKind k : o.faults)
		faults_enabled.push_back(fault_name(k));
	j["config"] = {{"iterations", o.iterations ? nlohmann::json(*o.iterations) : nlohmann::json(nullptr)},
			{"seconds", o.seconds ? nlohmann::json(*o.seconds) : nlohmann::json(nullptr)},
			{"warmup", o.warmup}, {"seed", o.seed}, {"fault_every", o.fault_every},
			{"faults", faults_enabled}, {"late_ms", o.late_ms}};
	j["warmup"] = {{"ok", r.warmup_ok}, {"failed", r.warmup_failed}};
	j["operations"] = r.operations;
	j["elapsed_s"] = r.elapsed_s;
	j["cpu_s"] = r.cpu_s;
	j["ops_per_s"] = r.elapsed_s > 0 ? static_cast<double>(r.operations) / r.elapsed_s : 0.0;

	nlohmann::json outcomes = nlohmann::json::object();
	for (std::size_t i = 0; i < r.outcome_names.size(); i++)
		if (r.outcome_counts[i] > 0 || i < 2)
			outcomes[r.outcome_names[i]] = r.outcome_counts[i];
	j["outcomes"] = outcomes;
	nlohmann::json runs = nlohmann::json::array();
	for (const OutcomeRun &run : r.runs)
		runs.push_back({r.outcome_names[run.outcome], run.first_op, run.count});
	j["outcome_runs"] = runs;
	j["outcome_runs_dropped"] = r.runs_dropped;

	j["latency_ns"] = {{"ok", latency_json(r.ok_latency)}, {"all", latency_json(r.all_latency)}};

	nlohmann::json by_kind = nlohmann::json::object();
	for (std::size_t k = 0; k < r.faults.size(); k++) {
		const FaultStats &f = r.faults[k];
		if (f.injected == 0 && f.inject_errors == 0)
			continue;
		by_kind[fault_name(static_cast<FaultKind>(k))] = {{"injected", f.injected},
				{"inject_errors", f.inject_errors}, {"recovered", f.recovered},
				{"eventually_ok", f.eventually_ok},
				{"time_to_first_ok_ms_mean",
						f.eventually_ok ? static_cast<double>(f.ttfo_sum_ns) / f.eventually_ok / 1e6 : 0.0},
				{"time_to_first_ok_ms_max", static_cast<double>(f.ttfo_max_ns) / 1e6}};
	}
	j["faults"] = {{"injected", total(r, &FaultStats::injected)}, {"inject_errors", total(r, &FaultStats::inject_errors)},
			{"recovered", total(r, &FaultStats::recovered)},
			{"eventually_ok", total(r, &FaultStats::eventually_ok)}, {"by_kind", by_kind}};
	nlohmann::json log = nlohmann::json::array();
	for (std::size_t i = 0; i < r.fault_log_used; i++) {
		const FaultRecord &f = r.fault_log[i];
		log.push_back({{"before_op", f.before_op}, {"kind", fault_name(f.kind)}, {"applied", f.applied},
				{"recovered", f.recovered},
				{"ops_to_ok", f.ops_to_ok >= 0 ? nlohmann::json(f.ops_to_ok) : nlohmann::json(nullptr)},
				{"ms_to_ok", f.ns_to_ok >= 0 ? nlohmann::json(static_cast<double>(f.ns_to_ok) / 1e6)
							      : nlohmann::json(nullptr)}});
	}
	j["fault_log"] = log;
	j["fault_log_dropped"] = r.fault_log_dropped;

	j["rss_kib"] = {{"start", r.rss_start_kib}, {"after_setup", r.rss_after_setup_kib},
			{"after_warmup", r.rss_after_warmup_kib}, {"end", r.rss_end_kib},
			{"growth_after_warmup", r.rss_end_kib - r.rss_after_warmup_kib}};
	j["provider"] = {{"after_warmup", counts_json(r.provider_after_warmup)}, {"end", counts_json(r.provider_end)},
			{"after_finalize", counts_json(r.provider_after_finalize)}, {"apdus", r.apdus}};
	j["session_state_end"] = r.session_state_end;
	j["login_calls"] = r.login_calls;
	j["finalize"] = r.finalize_rv;
	return j;
}

void
print_summary(std::ostream &out, const Options &o, const SoakResult &r)
{
	char line[512];
	std::uint64_t ok = r.outcome_counts.empty() ? 0 : r.outcome_counts[0];
	out << "soak-driver" << (o.label.empty() ? "" : " [" + o.label + "]") << ": " << r.module_description << "\n";
	std::snprintf(line, sizeof line, "  operations %llu in %.2f s (%.1f ops/s), OK %llu (%.1f %%), BADSIG %llu\n",
			static_cast<unsigned long long>(r.operations), r.elapsed_s,
			r.elapsed_s > 0 ? static_cast<double>(r.operations) / r.elapsed_s : 0.0,
			static_cast<unsigned long long>(ok),
			r.operations ? 100.0 * static_cast<double>(ok) / static_cast<double>(r.operations) : 0.0,
			static_cast<unsigned long long>(r.outcome_counts.size() > 1 ? r.outcome_counts[1] : 0));
	out << line;
	std::string others;
	for (std::size_t i = 2; i < r.outcome_names.size(); i++)
		if (r.outcome_counts[i] > 0)
			others += " " + r.outcome_names[i] + "=" + std::to_string(r.outcome_counts[i]);
	if (!others.empty())
		out << "  failures:" << others << "\n";
	std::snprintf(line, sizeof line, "  faults injected %llu, recovered (next op OK) %llu, later OK %llu\n",
			static_cast<unsigned long long>(total(r, &FaultStats::injected)),
			static_cast<unsigned long long>(total(r, &FaultStats::recovered)),
			static_cast<unsigned long long>(total(r, &FaultStats::eventually_ok)));
	out << line;
	for (std::size_t k = 0; k < r.faults.size(); k++) {
		const FaultStats &f = r.faults[k];
		if (f.injected == 0)
			continue;
		std::snprintf(line, sizeof line, "    %-16s %6llu injected, %6llu recovered, ", fault_name(static_cast<FaultKind>(k)),
				static_cast<unsigned long long>(f.injected), static_cast<unsigned long long>(f.recovered));
		out << line;
		if (f.eventually_ok == 0) {
			out << "never an OK operation after it\n";
			continue;
		}
		std::snprintf(line, sizeof line, "first OK after %.1f ms mean, %.1f ms max%s\n",
				static_cast<double>(f.ttfo_sum_ns) / static_cast<double>(f.eventually_ok) / 1e6,
				static_cast<double>(f.ttfo_max_ns) / 1e6,
				f.eventually_ok < f.injected ? " (not all were followed by an OK)" : "");
		out << line;
	}
	std::snprintf(line, sizeof line, "  latency of OK ops: p50 %.2f ms, p99 %.2f ms, max %.2f ms\n",
			r.ok_latency.quantile(0.5) / 1e6, r.ok_latency.quantile(0.99) / 1e6,
			static_cast<double>(r.ok_latency.max()) / 1e6);
	out << line;
	std::snprintf(line, sizeof line, "  RSS KiB: start %ld, after warm-up %ld, end %ld (growth %+ld)\n", r.rss_start_kib,
			r.rss_after_warmup_kib, r.rss_end_kib, r.rss_end_kib - r.rss_after_warmup_kib);
	out << line;
	std::snprintf(line, sizeof line,
			"  libvpcsc live contexts/handles: after warm-up %ld/%ld, end %ld/%ld, after C_Finalize %ld/%ld; session %s\n",
			r.provider_after_warmup.contexts, r.provider_after_warmup.handles, r.provider_end.contexts,
			r.provider_end.handles, r.provider_after_finalize.contexts, r.provider_after_finalize.handles,
			r.session_state_end.c_str());
	out << line;
}

} // namespace soak
