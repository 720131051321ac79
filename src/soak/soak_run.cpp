// SPDX-License-Identifier: LGPL-2.1-or-later
#include "soak/soak_run.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <random>
#include <thread>

#include <time.h>
#include <unistd.h>

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
reader_name(unsigned i)
{
	return i == 0 ? "Virtual ePass2003" : "Virtual ePass2003 #" + std::to_string(i + 1);
}

std::string
scenario(const std::vector<std::string> &images)
{
	nlohmann::json readers = nlohmann::json::array(), cards = nlohmann::json::object();
	for (unsigned i = 0; i < images.size(); i++) {
		std::string card = "token" + std::to_string(i);
		readers.push_back({{"name", reader_name(i)}, {"card", card}});
		cards[card] = {{"type", "image"}, {"path", images[i]}};
	}
	return nlohmann::json{{"readers", readers}, {"cards", cards}}.dump();
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

// The provider's counters between two snapshots, as one operation's OpCounts.
class CounterDelta {
public:
	explicit CounterDelta(const VpcscLibrary &vpcsc, SoakResult &r) : vpcsc_(vpcsc), r_(r)
	{
		if (!vpcsc_.counters(prev_))
			r_.counters_ok = false;
	}
	// Everything the provider counted since the previous call.
	OpCounts next(std::uint64_t ops) noexcept
	{
		OpCounts d;
		d.ops = ops;
		if (!vpcsc_.counters(cur_)) {
			r_.counters_ok = false;
			return d;
		}
		for (std::size_t i = 0; i < d.calls.size(); i++)
			d.calls[i] = cur_.calls[i] - prev_.calls[i];
		for (unsigned i = 0; i < cur_.apdus_by_ins.size(); i++)
			if (cur_.apdus_by_ins[i] != prev_.apdus_by_ins[i])
				d.apdus[static_cast<std::size_t>(apdu_kind_of(i >= 256, i & 0xFF))] +=
						cur_.apdus_by_ins[i] - prev_.apdus_by_ins[i];
		prev_ = cur_;
		return d;
	}

private:
	const VpcscLibrary &vpcsc_;
	SoakResult &r_;
	CallCounters prev_, cur_;
};

struct Signer {
	CK_SESSION_HANDLE session = CK_INVALID_HANDLE;
	SigningKey key;
	std::unique_ptr<Verifier> verifier;
};

// --poller: C_GetSlotList, C_GetSessionInfo on every session and C_WaitForSlotEvent(CKF_DONT_BLOCK),
// every poll_interval_ms, as NSS and other callers poll while the main thread signs.
class Poller {
public:
	Poller(CK_FUNCTION_LIST_PTR f, std::vector<CK_SESSION_HANDLE> sessions, unsigned long interval_ms,
			const std::atomic<std::uint64_t> &ops, PollerStats &stats)
	    : f_(f), sessions_(std::move(sessions)), interval_ms_(interval_ms), ops_(ops), stats_(stats)
	{
		thread_ = std::thread([this] { loop(); });
	}
	Poller(const Poller &) = delete;
	Poller &operator=(const Poller &) = delete;
	~Poller() { stop(); }
	void stop()
	{
		stop_ = true;
		if (thread_.joinable())
			thread_.join();
	}

private:
	void loop() noexcept
	{
		CK_SLOT_ID slots[64];
		while (!stop_) {
			CK_ULONG n = 64;
			CK_RV rv = f_->C_GetSlotList(CK_TRUE, slots, &n);
			stats_.slot_list.add(rv);
			if (rv == CKR_OK) {
				stats_.slot_list_max = std::max<std::uint64_t>(stats_.slot_list_max, n);
				stats_.slot_list_min = std::min<std::uint64_t>(stats_.slot_list_min, n);
			}
			for (CK_SESSION_HANDLE s : sessions_) {
				CK_SESSION_INFO info{};
				rv = f_->C_GetSessionInfo(s, &info);
				stats_.session_info.add(rv);
				if (rv == CKR_SESSION_HANDLE_INVALID || rv == CKR_SESSION_CLOSED) {
					if (stats_.sessions_lost++ == 0)
						stats_.first_loss_op = static_cast<std::int64_t>(ops_.load());
				} else if (rv == CKR_OK && info.state != CKS_RW_USER_FUNCTIONS) {
					stats_.not_logged_in++;
				}
			}
			CK_SLOT_ID slot = 0;
			stats_.wait_event.add(f_->C_WaitForSlotEvent(CKF_DONT_BLOCK, &slot, nullptr));
			stats_.rounds++;
			if (interval_ms_ > 0)
				usleep(static_cast<useconds_t>(interval_ms_ * 1000));
		}
	}

	CK_FUNCTION_LIST_PTR f_;
	std::vector<CK_SESSION_HANDLE> sessions_;
	unsigned long interval_ms_;
	const std::atomic<std::uint64_t> &ops_;
	PollerStats &stats_;
	std::atomic<bool> stop_{false};
	std::thread thread_;
};

// The progress line (rate, faults, failures, ETA), at most once a second.
class Progress {
public:
	Progress(const Options &o) : o_(o)
	{
		bool tty = isatty(STDOUT_FILENO) != 0;
		on_ = o.progress == Options::Progress::On || (o.progress == Options::Progress::Auto && tty);
		out_ = tty ? stdout : stderr;
	}
	bool on() const noexcept { return on_; }
	void show(double t, std::uint64_t ops, std::uint64_t ok, std::uint64_t faults, double eta) noexcept
	{
		if (!on_)
			return;
		char eta_text[32] = "?";
		if (eta >= 0)
			std::snprintf(eta_text, sizeof eta_text, "%.0f s", eta);
		std::fprintf(out_, "\r\033[K  %s%s%.0f s: %llu ops, %.1f ops/s, %llu faults, %llu failures, ETA %s",
				o_.label.c_str(), o_.label.empty() ? "" : ": ", t, static_cast<unsigned long long>(ops),
				t > 0 ? static_cast<double>(ops) / t : 0.0, static_cast<unsigned long long>(faults),
				static_cast<unsigned long long>(ops - ok), eta_text);
		std::fflush(out_);
		shown_ = true;
	}
	void done() noexcept
	{
		if (on_ && shown_) {
			std::fputs("\r\033[K", out_);
			std::fflush(out_);
		}
	}

private:
	const Options &o_;
	bool on_ = false, shown_ = false;
	std::FILE *out_ = stdout;
};

} // namespace

SoakRun::SoakRun(const Options &options) : options_(options) {}

SoakResult
SoakRun::run()
{
	SoakResult r;
	r.rss_start_kib = rss_kib();
	r.fault_log.resize(fault_log_capacity); // touched now, so that it does not grow the RSS later
	r.timeline.reserve();
	r.poller = options_.poller;
	r.faults_requested = options_.fault_count ? *options_.fault_count : 0;
	Outcomes outcomes(r);

	WorkDir dir(options_.work_dir);
	std::vector<std::string> images;
	for (unsigned i = 0; i < options_.readers; i++) {
		images.push_back(dir.copy_image(options_.token, i == 0 ? "token.img" : "token-" + std::to_string(i + 1) + ".img"));
		if (options_.require_pin_for_key)
			r.keys_patched += require_pin_for_key(images.back());
	}
	setenv("OPENSC_CONF", dir.write_opensc_conf(options_.vpcsc, options_.opensc_debug).c_str(), 1);
	// the virtual card's in-memory APDU log (libvcard), so that the RSS measured is OpenSC's
	setenv("VCARD_APDU_LOG_CAPACITY", std::to_string(options_.apdu_log_capacity).c_str(), 1);
	if (!options_.apdu_log.empty())
		setenv("VCARD_APDU_LOG", options_.apdu_log.c_str(), 1);

	VpcscLibrary vpcsc(options_.vpcsc);
	try {
		vpcsc.reset(scenario(images));
	} catch (const SetupError &e) {
		throw SetupError("--token: " + options_.token + ": not usable as a card image (" + e.what() + ")");
	}

	Pkcs11Module module(options_.module);
	r.module_description = module.description();
	std::vector<CK_SLOT_ID> slots = module.token_slots();
	r.tokens = static_cast<unsigned>(slots.size());
	if (slots.size() < options_.readers)
		throw SetupError("--readers " + std::to_string(options_.readers) + ": the module sees only " +
				std::to_string(slots.size()) + " token(s)");
	std::vector<Signer> signers(options_.sessions);
	std::vector<CK_SESSION_HANDLE> sessions;
	for (unsigned i = 0; i < options_.sessions; i++) {
		Signer &s = signers[i];
		s.session = module.open_session(slots[i % options_.readers]);
		if (i < options_.readers)
			module.login(s.session, options_.pin); // the only C_Login of this token
		s.key = module.find_signing_key(s.session, options_.key_id);
		s.verifier = std::make_unique<Verifier>(s.key.modulus, s.key.exponent);
		sessions.push_back(s.session);
	}
	r.key_id = signers[0].key.id_hex;
	r.key_label = signers[0].key.label;
	r.key_bits = signers[0].verifier->bits();
	r.login_calls = module.login_calls();

	std::size_t sig_size = 0;
	for (const Signer &s : signers)
		sig_size = std::max(sig_size, s.key.modulus.size() + 64);
	std::vector<std::uint8_t> sig(sig_size);
	std::vector<std::uint8_t> data;
	data.reserve(64);
	auto message = [&data](std::uint64_t n) {
		char text[64];
		int len = std::snprintf(text, sizeof text, "soak message %llu", static_cast<unsigned long long>(n));
		data.assign(text, text + len);
	};
	// C_SignInit + C_Sign on session n % sessions, verified; returns the outcome index and the latency
	auto operation = [&](std::uint64_t n, std::uint64_t &ns) -> std::uint32_t {
		const Signer &s = signers[n % signers.size()];
		message(n);
		Clock::time_point t0 = Clock::now();
		SignResult res = module.sign(s.session, s.key.handle, data, sig.data(), sig.size());
		ns = ns_between(t0, Clock::now());
		if (res.rv != CKR_OK)
			return outcomes.index_of(res.rv);
		return s.verifier->verify(data, sig.data(), res.sig_len) ? outcome_ok : outcome_badsig;
	};

	std::uint64_t ns = 0;
	for (unsigned i = 0; i < signers.size(); i++)
		if (operation(i, ns) != outcome_ok)
			throw SetupError("the first signature after C_Login failed (" + r.outcome_names.back() +
					"): wrong key or token, nothing to soak");
	std::atomic<std::uint64_t> ops_done{0};
	std::unique_ptr<Poller> poller;
	if (options_.poller)
		poller = std::make_unique<Poller>(module.functions(), sessions, options_.poll_interval_ms, ops_done, r.poll);
	r.proc_after_setup = process_counts();

	CounterDelta counters(vpcsc, r);
	for (std::size_t i = 0; i < pcsc_entry_points; i++)
		r.entry_points[i] = vpcsc.entry_point_name(i);
	std::size_t transmit = 0;
	while (transmit + 1 < pcsc_entry_points && std::string(vpcsc.entry_point_name(transmit)) != "SCardTransmit")
		transmit++;
	for (std::uint64_t i = 0; i < options_.warmup; i++) {
		bool ok = operation(signers.size() + i, ns) == outcome_ok;
		OpCounts d = counters.next(1);
		(ok ? r.warmup_ok : r.warmup_failed)++;
		if (ok)
			r.per_signature.add(d);
	}
	r.proc_after_warmup = process_counts();
	r.fds_max = r.proc_after_warmup.fds;
	r.threads_max = r.proc_after_warmup.threads;
	r.provider_after_warmup = vpcsc.counts();

	std::mt19937_64 rng(options_.seed);
	bool faults_on = !options_.faults.empty();
	std::vector<FaultKind> bag; // every kind once per round, in a random order
	bag.reserve(options_.faults.size());
	std::uint64_t attempted = 0, since_fault = 0;
	std::size_t pending_from = 0; // fault_log entries [pending_from, used) wait for an OK
	bool window_open = false;     // a recovery: from a fault to the first OK operation
	FaultKind window_kind = FaultKind::None;
	std::size_t window_record = SIZE_MAX;
	OpCounts window;
	Progress progress(options_);
	double cpu_start = cpu_seconds();
	Clock::time_point start = Clock::now();
	std::uint64_t limit_ns = options_.seconds ? static_cast<std::uint64_t>(*options_.seconds * 1e9) : UINT64_MAX;
	std::uint64_t max_ops = options_.iterations ? *options_.iterations : UINT64_MAX;
	std::uint64_t next_tick = 1000000000;
	std::uint64_t op_base = signers.size() + options_.warmup;
	counters.next(0); // the warm-up's tail is not the loop's

	for (std::uint64_t op = 0; op < max_ops; op++) {
		std::uint64_t now = ns_between(start, Clock::now());
		if (now >= limit_ns)
			break;
		if (options_.fault_count && attempted >= *options_.fault_count && since_fault >= options_.fault_every)
			break;
		if (now >= next_tick) {
			next_tick = now + 1000000000;
			ProcessCounts pc{-1, open_fds(), thread_count()};
			r.fds_max = std::max(r.fds_max, pc.fds);
			r.threads_max = std::max(r.threads_max, pc.threads);
			if (progress.on()) {
				double t = static_cast<double>(now) / 1e9, rate = static_cast<double>(op) / t, eta = -1;
				auto least = [&eta](double e) { eta = eta < 0 ? e : std::min(eta, e); };
				if (options_.seconds)
					least(*options_.seconds - t);
				if (options_.iterations && rate > 0)
					least(static_cast<double>(max_ops - op) / rate);
				if (options_.fault_count && rate > 0)
					least(static_cast<double>((*options_.fault_count - attempted) * options_.fault_every) / rate);
				std::uint64_t injected = 0;
				for (const FaultStats &fs : r.faults)
					injected += fs.injected + fs.inject_errors;
				progress.show(t, op, r.outcome_counts[outcome_ok], injected, eta);
			}
		}
		// a fault before this operation, on average every fault_every operations
		bool fault_now = false;
		FaultKind now_kind = FaultKind::None;
		std::size_t record = SIZE_MAX;
		if (faults_on && (!options_.fault_count || attempted < *options_.fault_count) &&
				rng() % options_.fault_every == 0) {
			if (bag.empty()) {
				bag = options_.faults;
				std::shuffle(bag.begin(), bag.end(), rng);
			}
			FaultKind kind = bag.back();
			bag.pop_back();
			unsigned reader = options_.readers > 1 ? static_cast<unsigned>(rng() % options_.readers) : 0;
			FaultStats &fs = r.faults[static_cast<std::size_t>(kind)];
			bool applied = vpcsc.inject(kind, options_.late_ms, reader, options_.outage_ms);
			std::uint64_t t = ns_between(start, Clock::now());
			attempted++;
			since_fault = 0;
			r.timeline.faults[r.timeline.slot(t)]++;
			if (!applied) {
				fs.inject_errors++;
				std::fprintf(stderr, "soak-driver: fault not applied: %s\n", vpcsc.error().c_str());
			} else {
				fs.injected++;
				if (fs.pending == 0)
					fs.pending_first_t = t;
				fs.pending++;
				fs.pending_sum_t += t;
				fault_now = true;
				now_kind = kind;
			}
			if (r.fault_log_used < r.fault_log.size()) {
				record = r.fault_log_used++;
				FaultRecord &f = r.fault_log[record];
				f = FaultRecord{};
				f.before_op = op;
				f.kind = kind;
				f.reader = kind == FaultKind::CardReset ? reader : 0;
				f.applied = applied;
				f.t_ns = t;
			} else {
				r.fault_log_dropped++;
			}
			if (applied && !window_open) {
				window_open = true;
				window_kind = kind;
				window_record = record;
				window = OpCounts{};
				r.faults[static_cast<std::size_t>(kind)].recoveries++;
				if (record != SIZE_MAX)
					r.fault_log[record].opened_recovery = true;
			}
		}

		std::uint32_t outcome = operation(op_base + op, ns);
		std::uint64_t end = ns_between(start, Clock::now());
		OpCounts d = counters.next(1);
		ops_done.store(op + 1, std::memory_order_relaxed);
		since_fault++;
		outcomes.add(op, outcome);
		r.operations++;
		r.all_latency.record(ns);
		std::size_t bucket = r.timeline.slot(end);
		(outcome == outcome_ok ? r.timeline.ok : r.timeline.failed)[bucket]++;
		if (record != SIZE_MAX) {
			r.fault_log[record].first_op_ns = ns;
			r.fault_log[record].first_op_ok = outcome == outcome_ok;
		}
		if (window_open)
			window.add(d);
		if (outcome == outcome_ok) {
			r.ok_latency.record(ns);
			if (fault_now)
				r.faults[static_cast<std::size_t>(now_kind)].recovered++;
			if (window_open) {
				r.faults[static_cast<std::size_t>(window_kind)].recovery.add(window);
				r.faults[static_cast<std::size_t>(window_kind)].recoveries_done++;
				if (window_record != SIZE_MAX) {
					FaultRecord &f = r.fault_log[window_record];
					f.recovery_calls = static_cast<std::uint32_t>(window.calls_total());
					for (std::size_t k = 0; k < apdu_kinds; k++)
						f.recovery_apdus[k] = static_cast<std::uint32_t>(window.apdus[k]);
					f.recovery_transmits = static_cast<std::uint32_t>(window.calls[transmit]);
				}
				window_open = false;
			} else {
				r.per_signature.add(d);
			}
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
	}
	r.elapsed_s = static_cast<double>(ns_between(start, Clock::now())) / 1e9;
	r.cpu_s = cpu_seconds() - cpu_start;
	progress.done();
	if (poller)
		poller->stop();

	for (const Signer &s : signers)
		r.session_state_end.push_back(module.session_state(s.session));
	r.proc_end = process_counts();
	r.fds_max = std::max(r.fds_max, r.proc_end.fds);
	r.threads_max = std::max(r.threads_max, r.proc_end.threads);
	r.provider_end = vpcsc.counts();
	r.apdus = vpcsc.apdus();
	r.finalize_rv = ckr_name(module.finalize());
	poller.reset();
	r.proc_after_finalize = process_counts();
	r.provider_after_finalize = vpcsc.counts();
	return r;
}

} // namespace soak
