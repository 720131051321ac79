// SPDX-License-Identifier: LGPL-2.1-or-later
#include "soak/report.hpp"

#include "soak/ckr_name.hpp"

#include <cmath>
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
	return {{"contexts", c.contexts}, {"handles", c.handles}, {"dead_contexts", c.dead_contexts},
			{"dead_handles", c.dead_handles}, {"alive_contexts", c.contexts - c.dead_contexts},
			{"alive_handles", c.handles - c.dead_handles}, {"zombie_handles", c.zombie_handles},
			{"open_transactions", c.open_transactions}};
}

double
per(std::uint64_t n, std::uint64_t d)
{
	return d ? static_cast<double>(n) / static_cast<double>(d) : 0.0;
}

double
r3(double v)
{
	return std::round(v * 1000) / 1000;
}

// mean PC/SC calls by entry point and APDUs by kind over `over` operations/recoveries
nlohmann::json
op_counts_json(const OpCounts &c, std::uint64_t over, const EntryPointNames &names)
{
	nlohmann::json calls = nlohmann::json::object(), apdus = nlohmann::json::object();
	for (std::size_t i = 0; i < c.calls.size(); i++)
		if (c.calls[i] > 0)
			calls[names[i]] = r3(per(c.calls[i], over));
	for (std::size_t k = 0; k < apdu_kinds; k++)
		apdus[apdu_kind_name(k)] = r3(per(c.apdus[k], over));
	return {{"pcsc_calls", calls}, {"pcsc_calls_total", r3(per(c.calls_total(), over))}, {"apdus", apdus},
			{"apdus_total", r3(per(c.apdus_total(), over))}};
}

// a recovery's APDUs beyond those of one ordinary signature (its last, OK operation), by kind
std::array<double, apdu_kinds>
extra_apdus(const FaultStats &f, const OpCounts &per_signature)
{
	std::array<double, apdu_kinds> x{};
	for (std::size_t k = 0; k < apdu_kinds; k++)
		x[k] = per(f.recovery.apdus[k], f.recoveries_done) -
		       per(per_signature.apdus[k], per_signature.ops);
	return x;
}

const char *
extra_name(std::size_t k)
{
	return static_cast<ApduKind>(k) == ApduKind::Operation ? "retried_operation" : apdu_kind_name(k);
}

nlohmann::json
rv_json(const RvCounts &c)
{
	nlohmann::json j = nlohmann::json::object();
	for (std::size_t i = 0; i < c.used; i++)
		j[ckr_name(c.rv[i])] = c.n[i];
	if (c.other)
		j["other"] = c.other;
	return j;
}

nlohmann::json
proc_json(long setup, long warmup, long max, long end, long fin)
{
	return {{"after_setup", setup}, {"after_warmup", warmup}, {"max", max}, {"end", end}, {"after_finalize", fin}};
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
			{"fault_count", o.fault_count ? nlohmann::json(*o.fault_count) : nlohmann::json(nullptr)},
			{"warmup", o.warmup}, {"seed", o.seed}, {"fault_every", o.fault_every},
			{"faults", faults_enabled}, {"late_ms", o.late_ms}, {"outage_ms", o.outage_ms}, {"readers", o.readers},
			{"sessions", o.sessions}, {"poller", o.poller}, {"poll_interval_ms", o.poll_interval_ms},
			{"apdu_log_capacity", o.apdu_log_capacity}};
	j["tokens"] = r.tokens;
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

	// counts: per ordinary signature, per recovery
	j["counters_ok"] = r.counters_ok;
	j["per_signature"] = op_counts_json(r.per_signature, r.per_signature.ops, r.entry_points);
	j["per_signature"]["signatures"] = r.per_signature.ops;

	nlohmann::json by_kind = nlohmann::json::object();
	OpCounts all_recoveries;
	std::uint64_t all_done = 0;
	for (std::size_t k = 0; k < r.faults.size(); k++) {
		const FaultStats &f = r.faults[k];
		if (f.injected == 0 && f.inject_errors == 0)
			continue;
		nlohmann::json rec = op_counts_json(f.recovery, f.recoveries_done, r.entry_points);
		rec["recoveries"] = f.recoveries;
		rec["completed"] = f.recoveries_done;
		rec["ops"] = r3(per(f.recovery.ops, f.recoveries_done));
		nlohmann::json extra = nlohmann::json::object();
		std::array<double, apdu_kinds> x = extra_apdus(f, r.per_signature);
		double total = 0;
		for (std::size_t e = 0; e < apdu_kinds; e++) {
			extra[extra_name(e)] = r3(x[e]);
			total += x[e];
		}
		extra["total"] = r3(total);
		rec["extra_apdus"] = f.recoveries_done ? extra : nlohmann::json(nullptr);
		all_recoveries.add(f.recovery);
		all_done += f.recoveries_done;
		by_kind[fault_name(static_cast<FaultKind>(k))] = {{"injected", f.injected},
				{"inject_errors", f.inject_errors}, {"recovered", f.recovered},
				{"eventually_ok", f.eventually_ok},
				{"time_to_first_ok_ms_mean",
						f.eventually_ok ? static_cast<double>(f.ttfo_sum_ns) / f.eventually_ok / 1e6 : 0.0},
				{"time_to_first_ok_ms_max", static_cast<double>(f.ttfo_max_ns) / 1e6}, {"recovery", rec}};
	}
	j["faults"] = {{"requested", r.faults_requested ? nlohmann::json(r.faults_requested) : nlohmann::json(nullptr)},
			{"injected", total(r, &FaultStats::injected)}, {"inject_errors", total(r, &FaultStats::inject_errors)},
			{"recovered", total(r, &FaultStats::recovered)},
			{"eventually_ok", total(r, &FaultStats::eventually_ok)},
			{"recovery", op_counts_json(all_recoveries, all_done, r.entry_points)}, {"by_kind", by_kind}};
	j["faults"]["recovery"]["completed"] = all_done;
	nlohmann::json log = nlohmann::json::array();
	for (std::size_t i = 0; i < r.fault_log_used; i++) {
		const FaultRecord &f = r.fault_log[i];
		nlohmann::json e = {{"before_op", f.before_op}, {"kind", fault_name(f.kind)}, {"applied", f.applied},
				{"t_s", static_cast<double>(f.t_ns) / 1e9}, {"recovered", f.recovered},
				{"first_op_ms", static_cast<double>(f.first_op_ns) / 1e6}, {"first_op_ok", f.first_op_ok},
				{"ops_to_ok", f.ops_to_ok >= 0 ? nlohmann::json(f.ops_to_ok) : nlohmann::json(nullptr)},
				{"ms_to_ok", f.ns_to_ok >= 0 ? nlohmann::json(static_cast<double>(f.ns_to_ok) / 1e6)
							      : nlohmann::json(nullptr)}};
		if (f.kind == FaultKind::CardReset)
			e["reader"] = f.reader;
		if (f.opened_recovery && f.ops_to_ok >= 0) {
			nlohmann::json apdus = nlohmann::json::object();
			for (std::size_t k = 0; k < apdu_kinds; k++)
				apdus[apdu_kind_name(k)] = f.recovery_apdus[k];
			e["recovery"] = {{"pcsc_calls", f.recovery_calls}, {"transmits", f.recovery_transmits}, {"apdus", apdus}};
		}
		log.push_back(e);
	}
	j["fault_log"] = log;
	j["fault_log_dropped"] = r.fault_log_dropped;

	nlohmann::json ok = nlohmann::json::array(), failed = nlohmann::json::array(), marks = nlohmann::json::array();
	for (std::size_t i = 0; i < r.timeline.used; i++) {
		ok.push_back(r.timeline.ok[i]);
		failed.push_back(r.timeline.failed[i]);
		marks.push_back(r.timeline.faults[i]);
	}
	j["timeline"] = {{"bucket_s", static_cast<double>(r.timeline.bucket_ns) / 1e9}, {"ok", ok}, {"failed", failed},
			{"faults", marks}};

	j["rss_kib"] = {{"start", r.rss_start_kib}, {"after_setup", r.proc_after_setup.rss_kib},
			{"after_warmup", r.proc_after_warmup.rss_kib}, {"end", r.proc_end.rss_kib},
			{"after_finalize", r.proc_after_finalize.rss_kib},
			{"growth_after_warmup", r.proc_end.rss_kib - r.proc_after_warmup.rss_kib}};
	j["process"] = {{"fds", proc_json(r.proc_after_setup.fds, r.proc_after_warmup.fds, r.fds_max, r.proc_end.fds,
					r.proc_after_finalize.fds)},
			{"threads", proc_json(r.proc_after_setup.threads, r.proc_after_warmup.threads, r.threads_max,
					r.proc_end.threads, r.proc_after_finalize.threads)}};
	j["provider"] = {{"after_warmup", counts_json(r.provider_after_warmup)}, {"end", counts_json(r.provider_end)},
			{"after_finalize", counts_json(r.provider_after_finalize)}, {"apdus", r.apdus}};
	// one session: its state; several: "RW_USER" only if every one is, else the first other state
	std::string state = "-";
	for (const std::string &st : r.session_state_end)
		if (state == "-" || (state == "RW_USER" && st != "RW_USER"))
			state = st;
	j["session_state_end"] = state;
	j["session_states_end"] = r.session_state_end;
	j["login_calls"] = r.login_calls;
	j["finalize"] = r.finalize_rv;
	j["poller"] = {{"enabled", r.poller}};
	if (r.poller) {
		j["poller"]["interval_ms"] = o.poll_interval_ms;
		j["poller"]["rounds"] = r.poll.rounds;
		j["poller"]["C_GetSlotList"] = rv_json(r.poll.slot_list);
		j["poller"]["C_GetSessionInfo"] = rv_json(r.poll.session_info);
		j["poller"]["C_WaitForSlotEvent"] = rv_json(r.poll.wait_event);
		j["poller"]["sessions_lost"] = r.poll.sessions_lost;
		j["poller"]["not_logged_in"] = r.poll.not_logged_in;
		j["poller"]["first_loss_op"] = r.poll.first_loss_op >= 0 ? nlohmann::json(r.poll.first_loss_op) : nlohmann::json(nullptr);
		j["poller"]["tokens_seen"] = {{"min", r.poll.slot_list_min == UINT64_MAX ? 0 : r.poll.slot_list_min},
				{"max", r.poll.slot_list_max}};
	}
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
	// counts: an ordinary signature, and each kind of recovery beyond it
	auto calls_text = [&r](const OpCounts &c, std::uint64_t over) {
		std::string t;
		char buf[96];
		for (std::size_t i = 0; i < c.calls.size(); i++) {
			if (c.calls[i] == 0)
				continue;
			std::string name = r.entry_points[i];
			if (name.rfind("SCard", 0) == 0)
				name = name.substr(5);
			std::snprintf(buf, sizeof buf, "%s%s %.3g", t.empty() ? "" : ", ", name.c_str(), per(c.calls[i], over));
			t += buf;
		}
		return t.empty() ? std::string("none") : t;
	};
	const OpCounts &ps = r.per_signature;
	std::snprintf(line, sizeof line, "  per signature (%llu ordinary): PC/SC calls %.3g (%s)\n",
			static_cast<unsigned long long>(ps.ops), per(ps.calls_total(), ps.ops), calls_text(ps, ps.ops).c_str());
	out << line;
	std::string apdus;
	for (std::size_t k = 0; k < apdu_kinds; k++) {
		char buf[64];
		std::snprintf(buf, sizeof buf, "%s%s %.3g", k ? ", " : "", apdu_kind_name(k), per(ps.apdus[k], ps.ops));
		apdus += buf;
	}
	std::snprintf(line, sizeof line, "                 APDUs %.3g (%s)\n", per(ps.apdus_total(), ps.ops), apdus.c_str());
	out << line;
	for (std::size_t k = 0; k < r.faults.size(); k++) {
		const FaultStats &f = r.faults[k];
		if (f.recoveries_done == 0)
			continue;
		std::array<double, apdu_kinds> x = extra_apdus(f, ps);
		std::snprintf(line, sizeof line,
				"  per recovery %-16s (%llu): %.3g ops, PC/SC calls %.3g, extra APDUs: SM %.3g, identity %.3g, "
				"PIN %.3g, retried op %.3g, other %.3g\n",
				fault_name(static_cast<FaultKind>(k)), static_cast<unsigned long long>(f.recoveries_done),
				per(f.recovery.ops, f.recoveries_done), per(f.recovery.calls_total(), f.recoveries_done),
				x[static_cast<std::size_t>(ApduKind::SecureMessaging)], x[static_cast<std::size_t>(ApduKind::Identity)],
				x[static_cast<std::size_t>(ApduKind::Pin)], x[static_cast<std::size_t>(ApduKind::Operation)],
				x[static_cast<std::size_t>(ApduKind::Other)]);
		out << line;
		std::snprintf(line, sizeof line, "      %s\n", calls_text(f.recovery, f.recoveries_done).c_str());
		out << line;
	}
	std::snprintf(line, sizeof line, "  RSS KiB: start %ld, after warm-up %ld, end %ld (growth %+ld)\n", r.rss_start_kib,
			r.proc_after_warmup.rss_kib, r.proc_end.rss_kib, r.proc_end.rss_kib - r.proc_after_warmup.rss_kib);
	out << line;
	std::snprintf(line, sizeof line,
			"  fds after warm-up %ld, max %ld, end %ld, after C_Finalize %ld; threads %ld, max %ld, end %ld, after C_Finalize %ld\n",
			r.proc_after_warmup.fds, r.fds_max, r.proc_end.fds, r.proc_after_finalize.fds, r.proc_after_warmup.threads,
			r.threads_max, r.proc_end.threads, r.proc_after_finalize.threads);
	out << line;
	const ProviderCounts &w = r.provider_after_warmup, &e = r.provider_end, &fin = r.provider_after_finalize;
	std::snprintf(line, sizeof line,
			"  libvpcsc contexts/handles alive (dead apart): after warm-up %ld/%ld (%ld/%ld), end %ld/%ld (%ld/%ld), "
			"after C_Finalize %ld/%ld (%ld/%ld); zombie handles %ld\n",
			w.contexts - w.dead_contexts, w.handles - w.dead_handles, w.dead_contexts, w.dead_handles,
			e.contexts - e.dead_contexts, e.handles - e.dead_handles, e.dead_contexts, e.dead_handles,
			fin.contexts - fin.dead_contexts, fin.handles - fin.dead_handles, fin.dead_contexts, fin.dead_handles,
			e.zombie_handles);
	out << line;
	std::string states;
	for (const std::string &st : r.session_state_end)
		states += (states.empty() ? "" : " ") + st;
	out << "  sessions at end: " << states << "; C_Login calls " << r.login_calls << "\n";
	if (r.poller) {
		auto rvs = [](const RvCounts &c) {
			std::string t;
			for (std::size_t i = 0; i < c.used; i++)
				t += (t.empty() ? "" : " ") + ckr_name(c.rv[i]) + "=" + std::to_string(c.n[i]);
			return t;
		};
		out << "  poller: " << r.poll.rounds << " rounds; C_GetSlotList " << rvs(r.poll.slot_list) << "; C_GetSessionInfo "
		    << rvs(r.poll.session_info) << "; C_WaitForSlotEvent " << rvs(r.poll.wait_event) << "; sessions lost "
		    << r.poll.sessions_lost << ", not logged in " << r.poll.not_logged_in << "\n";
	}
}

} // namespace soak
