// SPDX-License-Identifier: LGPL-2.1-or-later
#include "pcsc/service.hpp"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <thread>

#include <reader.h>

#include "fault/config_error.hpp"
#include "fault/scard_code.hpp"
#include "pcsc/card_factory.hpp"

namespace pcsc {

namespace {

using fault::EntryPoint;

constexpr const char pnp_notification[] = "\\\\?PnP?\\Notification";
constexpr DWORD infinite = 0xFFFFFFFF;
constexpr DWORD ifd_version = 0x01000000; // 1.0.0
constexpr const char vendor_name[] = "vpcsc";

std::string
reader_name(const std::string &base, std::size_t index)
{
	char suffix[16];
	std::snprintf(suffix, sizeof suffix, " %02X 00", static_cast<unsigned>(index & 0xFF));
	return base + suffix;
}

// Copy `data` out following the PC/SC buffer protocol: NULL buffer = size
// query, SCARD_AUTOALLOCATE = allocate (freed by SCardFreeMemory), too small
// = SCARD_E_INSUFFICIENT_BUFFER with the needed size.
LONG
copy_out(const void *data, std::size_t size, void *buf, DWORD *len, std::set<void *> &allocations)
{
	if (buf == nullptr) {
		*len = size;
		return SCARD_S_SUCCESS;
	}
	if (*len == SCARD_AUTOALLOCATE) {
		void *p = std::malloc(size ? size : 1);
		if (p == nullptr)
			throw std::bad_alloc();
		allocations.insert(p);
		std::memcpy(p, data, size);
		*static_cast<void **>(buf) = p;
		*len = size;
		return SCARD_S_SUCCESS;
	}
	if (*len < size) {
		*len = size;
		return SCARD_E_INSUFFICIENT_BUFFER;
	}
	std::memcpy(buf, data, size);
	*len = size;
	return SCARD_S_SUCCESS;
}

bool
valid_share(DWORD share)
{
	return share == SCARD_SHARE_EXCLUSIVE || share == SCARD_SHARE_SHARED || share == SCARD_SHARE_DIRECT;
}

bool
valid_disposition(DWORD d)
{
	return d == SCARD_LEAVE_CARD || d == SCARD_RESET_CARD || d == SCARD_UNPOWER_CARD || d == SCARD_EJECT_CARD;
}

} // namespace

Service::Service()
{
	try {
		load(Scenario::from_environment());
	} catch (const fault::ConfigError &e) {
		config_error_ = e.what();
		std::fprintf(stderr, "vpcsc: scenario error: %s\n", e.what());
	}
}

Service::~Service()
{
	for (void *p : allocations_)
		std::free(p);
}

void
Service::shutdown()
{
	// Never throws: runs from a destructor at unload/exit.
	try {
		const std::string path = scenario_.stats_file;
		if (!path.empty()) {
			std::ofstream out(path);
			out << stats().dump(2) << "\n";
		}
		Lock lk(mutex_);
		for (auto &c : contexts_)
			c.second.dead = true;
		down_ = true;
		down_until_set_ = false;
		down_calls_ = 0;
		cv_.notify_all();
	} catch (...) {
	}
}

void
Service::reset(const std::string *scenario_json)
{
	Lock lk(mutex_);
	for (auto &c : contexts_)
		c.second.dead = true; // wake and fail anybody still waiting
	cv_.notify_all();
	try {
		config_error_.clear();
		load(scenario_json ? Scenario::parse_text(*scenario_json, "") : Scenario::from_environment());
	} catch (const fault::ConfigError &e) {
		config_error_ = e.what();
		std::fprintf(stderr, "vpcsc: scenario error: %s\n", e.what());
		throw;
	}
}

void
Service::load(Scenario scenario)
{
	std::map<std::string, std::unique_ptr<vcard::Card>> cards;
	for (const auto &item : scenario.cards)
		cards[item.first] = make_card(item.second);
	fault::EventLog log(scenario.event_log, "event_log");
	std::vector<Reader> readers;
	std::uint64_t seq = insertion_seq_;
	for (std::size_t i = 0; i < scenario.readers.size(); i++) {
		Reader r;
		r.name = reader_name(scenario.readers[i].name, i);
		if (scenario.readers[i].pinpad)
			r.pinpad.emplace(*scenario.readers[i].pinpad);
		if (scenario.readers[i].card) {
			r.card_name = *scenario.readers[i].card;
			r.card = cards.at(r.card_name).get();
			r.protocol = card_protocol(scenario.cards.at(r.card_name), r.card->atr());
			r.insertion = ++seq;
		}
		readers.push_back(std::move(r));
	}
	// Nothing can fail from here on.
	insertion_seq_ = seq;
	injector_ = fault::Injector(scenario.plan, std::move(log));
	scenario_ = std::move(scenario);
	cards_ = std::move(cards);
	readers_ = std::move(readers);
	contexts_.clear();
	handles_.clear();
	zombies_.clear();
	std::fill(std::begin(calls_), std::end(calls_), 0);
	for (auto &r : results_)
		r.clear();
	apdus_ = 0;
	std::fill(std::begin(apdus_by_ins_), std::end(apdus_by_ins_), 0);
	api_injections_ = 0;
	down_ = false;
	down_until_set_ = false;
	down_calls_ = 0;
	counter_after_ = 0;
}

// ---------------------------------------------------------------- faults

LONG
Service::begin_call(Lock &lk, EntryPoint entry, const BYTE *apdu, std::size_t apdu_len)
{
	calls_[static_cast<std::size_t>(entry)]++;
	maybe_come_up();
	if (!config_error_.empty())
		return SCARD_S_SUCCESS; // nothing configured: only EstablishContext reacts
	LONG forced = SCARD_S_SUCCESS;
	for (const fault::Action &a : injector_.on_call(entry, apdu, apdu_len)) {
		if (a.kind == fault::Action::Kind::Return) {
			if (forced == SCARD_S_SUCCESS)
				forced = a.code;
			continue;
		}
		try {
			apply(lk, a);
		} catch (const fault::ConfigError &e) {
			std::fprintf(stderr, "vpcsc: fault action not applied: %s\n", e.what());
		}
	}
	return forced;
}

void
Service::apply(Lock &lk, const fault::Action &a)
{
	using K = fault::Action::Kind;
	if ((a.kind == K::CardReset || a.kind == K::CardRemove || a.kind == K::CardInsert || a.kind == K::CardSwap ||
	     a.kind == K::SleepWake || a.kind == K::UsbPowerCycle || a.kind == K::ReaderRename) &&
	    a.reader >= readers_.size())
		throw fault::ConfigError("reader", "no reader with index " + std::to_string(a.reader));
	switch (a.kind) {
	case K::Return:
		break;
	case K::ServiceLost:
		service_lost(a.handles_invalid_after_release, a.code);
		break;
	case K::ServiceDown:
		service_down(a);
		break;
	case K::ServiceUp:
		if (down_)
			service_up();
		break;
	case K::CardReset:
		card_reset(a.reader, 0);
		break;
	case K::CardRemove:
		card_remove(a.reader);
		break;
	case K::SleepWake:
		readers_[a.reader].tx_owner = 0; // the transaction died with the power
		readers_[a.reader].tx_depth = 0;
		// the card lost power while the machine slept; PCSC.framework reports
		// SCARD_W_UNPOWERED_CARD, pcsc-lite a reset
		card_power_cycle(a.reader, 0,
				 scenario_.profile == Scenario::Profile::MacOS ? SCARD_W_UNPOWERED_CARD
									       : SCARD_W_RESET_CARD);
		break;
	case K::UsbPowerCycle:
		readers_[a.reader].tx_owner = 0; // the transaction died with the power
		readers_[a.reader].tx_depth = 0;
		// the reader (a USB token is its own reader) lost power and came back
		card_power_cycle(a.reader, 0,
				 scenario_.profile == Scenario::Profile::MacOS ? SCARD_E_NOT_TRANSACTED
									       : SCARD_W_RESET_CARD);
		break;
	case K::CardInsert: {
		const std::string name = a.card.empty() ? readers_[a.reader].last_card : a.card;
		if (name.empty())
			throw fault::ConfigError("card", "nothing to reinsert into reader " + std::to_string(a.reader));
		card_insert(a.reader, name);
		break;
	}
	case K::CardSwap:
		card_remove(a.reader);
		card_insert(a.reader, a.card);
		break;
	case K::ReaderRename: {
		Reader &r = readers_[a.reader];
		r.name = reader_name(a.name, a.reader);
		r.generation++;
		break;
	}
	case K::Delay:
		lk.unlock();
		std::this_thread::sleep_for(std::chrono::milliseconds(a.ms));
		lk.lock();
		break;
	}
	cv_.notify_all();
}

void
Service::service_lost(bool invalid_after_release, LONG code)
{
	for (auto &c : contexts_) {
		if (!c.second.dead) {
			c.second.invalid_after_release = invalid_after_release;
			c.second.dead_code = code;
		}
		c.second.dead = true;
	}
	// The service's view of transactions died with it; the card stays powered.
	for (Reader &r : readers_) {
		r.tx_owner = 0;
		r.tx_depth = 0;
	}
}

void
Service::service_down(const fault::Action &a)
{
	service_lost(a.handles_invalid_after_release, a.code);
	down_ = true;
	down_until_set_ = a.ms != 0;
	down_until_ = Clock::now() + std::chrono::milliseconds(a.ms);
	down_calls_ = a.calls;
	counter_after_ = a.counter_after;
	for (Reader &r : readers_) {
		if (r.card && r.card->powered()) {
			r.card->power_off();
			r.power_offs++;
		}
	}
}

void
Service::service_up(std::uint64_t card_delay_ms)
{
	down_ = false;
	down_until_set_ = false;
	down_calls_ = 0;
	const Clock::time_point back = Clock::now() + std::chrono::milliseconds(card_delay_ms);
	for (Reader &r : readers_) {
		// A restarted pcscd counts events from scratch.
		r.event_counter = counter_after_;
		if (card_delay_ms == 0) {
			if (!r.late_card.empty()) { // still pending from an earlier restart: there at once now
				card_arrives(r);
				r.event_counter = counter_after_;
			}
			continue;
		}
		// pcscd lists the reader at once but reports its card only once it
		// has polled it: the card is out of the reader until `back`.
		if (r.card) {
			r.late_card = r.card_name;
			r.card = nullptr;
			r.card_name.clear();
			r.protocol = 0;
			r.tx_owner = 0;
			r.tx_depth = 0;
		}
		if (!r.late_card.empty())
			r.card_back_at = back;
	}
}

void
Service::card_arrives(Reader &r)
{
	const std::string name = r.late_card;
	r.late_card.clear();
	r.card = cards_.at(name).get();
	r.card_name = name;
	r.protocol = card_protocol(scenario_.cards.at(name), r.card->atr());
	r.insertion = ++insertion_seq_;
	r.event_counter++;
	cv_.notify_all();
}

std::optional<Service::Clock::time_point>
Service::next_arrival() const
{
	std::optional<Clock::time_point> next;
	if (down_)
		return next;
	for (const Reader &r : readers_)
		if (!r.late_card.empty() && (!next || r.card_back_at < *next))
			next = r.card_back_at;
	return next;
}

void
Service::maybe_come_up()
{
	if (down_ && down_until_set_ && Clock::now() >= down_until_)
		service_up();
	if (down_)
		return;
	const Clock::time_point now = Clock::now();
	for (Reader &r : readers_)
		if (!r.late_card.empty() && now >= r.card_back_at)
			card_arrives(r);
}

void
Service::power_on(Reader &r)
{
	if (r.card && !r.card->powered()) {
		r.card->power_on();
		r.power_ons++;
	}
}

void
Service::card_reset(std::size_t reader, SCARDHANDLE except)
{
	Reader &r = readers_[reader];
	if (!r.card)
		return;
	r.card->reset();
	r.resets++;
	r.tx_owner = 0;
	r.tx_depth = 0;
	for (auto &h : handles_)
		if (h.second.reader == reader && h.first != except) {
			h.second.reset_pending = true;
			h.second.reset_code = SCARD_W_RESET_CARD;
		}
}

void
Service::card_power_cycle(std::size_t reader, SCARDHANDLE except, LONG code)
{
	Reader &r = readers_[reader];
	if (!r.card)
		return;
	if (r.card->powered()) {
		r.card->power_off();
		r.power_offs++;
	}
	power_on(r);
	for (auto &h : handles_)
		if (h.second.reader == reader && h.first != except) {
			h.second.reset_pending = true;
			h.second.reset_code = code;
		}
}

void
Service::card_remove(std::size_t reader)
{
	Reader &r = readers_[reader];
	if (!r.late_card.empty()) { // pulled before the restarted service noticed it
		r.last_card = r.late_card;
		r.late_card.clear();
	}
	if (!r.card)
		return;
	if (r.card->powered()) {
		r.card->power_off();
		r.power_offs++;
	}
	r.last_card = r.card_name;
	r.card = nullptr;
	r.card_name.clear();
	r.protocol = 0;
	r.tx_owner = 0;
	r.tx_depth = 0;
	r.event_counter++;
}

void
Service::card_insert(std::size_t reader, const std::string &name)
{
	Reader &r = readers_[reader];
	auto it = cards_.find(name);
	if (it == cards_.end())
		throw fault::ConfigError("card", "unknown card \"" + name + "\"");
	for (std::size_t i = 0; i < readers_.size(); i++)
		if (readers_[i].card_name == name || (i != reader && readers_[i].late_card == name))
			throw fault::ConfigError("card", "card \"" + name + "\" is already in reader " + std::to_string(i));
	r.late_card.clear(); // an insertion replaces a card not reported yet
	if (r.card)
		card_remove(reader);
	r.card = it->second.get();
	r.card_name = name;
	r.protocol = card_protocol(scenario_.cards.at(name), r.card->atr());
	r.insertion = ++insertion_seq_;
	r.event_counter++;
}

void
Service::inject(const std::string &action_json)
{
	nlohmann::json j;
	try {
		j = nlohmann::json::parse(action_json);
	} catch (const nlohmann::json::parse_error &e) {
		throw fault::ConfigError("action", std::string("not valid JSON: ") + e.what());
	}
	fault::Action a = fault::Plan::parse_action(j, "action");
	Lock lk(mutex_);
	if (a.kind == fault::Action::Kind::Return)
		throw fault::ConfigError("action.type", "\"return\" needs a trigger; use a scenario rule");
	if (!a.card.empty() && cards_.count(a.card) == 0)
		throw fault::ConfigError("action.card", "unknown card \"" + a.card + "\"");
	apply(lk, a);
	api_injections_++;
	injector_.log_injection(a);
}

void
Service::service_up_late(std::uint64_t card_delay_ms)
{
	if (card_delay_ms > Scenario::card_delay_ms_max)
		throw fault::ConfigError("card_delay_ms", "must be at most " + std::to_string(Scenario::card_delay_ms_max));
	fault::Action a;
	a.kind = fault::Action::Kind::ServiceUp;
	a.source = {{"type", "service_up"}, {"card_delay_ms", card_delay_ms}};
	Lock lk(mutex_);
	if (down_)
		service_up(card_delay_ms);
	cv_.notify_all();
	api_injections_++;
	injector_.log_injection(a);
}

// ---------------------------------------------------------------- lookup

LONG
Service::find_context(SCARDCONTEXT ctx, Context *&out)
{
	auto it = contexts_.find(ctx);
	if (it == contexts_.end())
		return SCARD_E_INVALID_HANDLE;
	if (it->second.dead)
		return it->second.dead_code;
	out = &it->second;
	return SCARD_S_SUCCESS;
}

LONG
Service::find_handle(SCARDHANDLE h, Handle *&out, bool any_reader)
{
	auto z = zombies_.find(h);
	if (z != zombies_.end())
		return z->second;
	auto it = handles_.find(h);
	if (it == handles_.end())
		return SCARD_E_INVALID_HANDLE;
	const Context &c = contexts_.at(it->second.ctx);
	if (c.dead)
		return c.dead_code;
	if (!any_reader && readers_[it->second.reader].generation != it->second.reader_generation)
		return SCARD_E_READER_UNAVAILABLE;
	out = &it->second;
	return SCARD_S_SUCCESS;
}

void
Service::wait_idle(Lock &lk, SCARDCONTEXT ctx)
{
	cv_.wait(lk, [&] {
		auto it = contexts_.find(ctx);
		return it == contexts_.end() || it->second.busy == 0;
	});
}

// find_handle, then wait until no other thread is inside a call on the handle's context (pcsc-lite
// serialises calls per context), then look the handle up again: it may have gone meanwhile.
LONG
Service::idle_handle(Lock &lk, SCARDHANDLE hid, Handle *&out, bool any_reader)
{
	LONG rv = find_handle(hid, out, any_reader);
	if (rv != SCARD_S_SUCCESS)
		return rv;
	wait_idle(lk, out->ctx);
	return find_handle(hid, out, any_reader);
}

// The card event a handle has not been told about yet: removal first, then reset.
LONG
Service::card_event(const Handle &h) const
{
	if (removed(h)) {
		// PCSC.framework reports a card that was removed and put back (or
		// replaced) as a reset, not as a removal
		if (scenario_.profile == Scenario::Profile::MacOS && readers_[h.reader].card != nullptr)
			return SCARD_W_RESET_CARD;
		return SCARD_W_REMOVED_CARD;
	}
	if (h.reset_pending)
		return h.reset_code;
	return SCARD_S_SUCCESS;
}

bool
Service::removed(const Handle &h) const
{
	const Reader &r = readers_[h.reader];
	if (h.share == SCARD_SHARE_DIRECT && h.insertion == 0)
		return false; // direct connection to an empty reader
	return r.card == nullptr || r.insertion != h.insertion;
}

bool
Service::share_conflict(std::size_t reader, DWORD share, SCARDHANDLE self) const
{
	for (const auto &h : handles_) {
		if (h.first == self || h.second.reader != reader || contexts_.at(h.second.ctx).dead)
			continue;
		if (share == SCARD_SHARE_EXCLUSIVE || h.second.share == SCARD_SHARE_EXCLUSIVE)
			return true;
	}
	return false;
}

void
Service::drop_handle(SCARDHANDLE id)
{
	auto it = handles_.find(id);
	if (it == handles_.end())
		return;
	Reader &r = readers_[it->second.reader];
	if (r.tx_owner == id) {
		r.tx_owner = 0;
		r.tx_depth = 0;
	}
	handles_.erase(it);
}

void
Service::drop_context(SCARDCONTEXT id, bool keep_zombies, LONG zombie_code)
{
	auto it = contexts_.find(id);
	if (it == contexts_.end())
		return;
	for (SCARDHANDLE h : it->second.handles) {
		if (keep_zombies)
			zombies_[h] = zombie_code;
		drop_handle(h);
	}
	contexts_.erase(it);
	cv_.notify_all();
}

// ---------------------------------------------------------------- contexts

LONG
Service::establish_context(DWORD scope, SCARDCONTEXT *out)
{
	Lock lk(mutex_);
	LONG rv = begin_call(lk, EntryPoint::EstablishContext);
	if (!config_error_.empty())
		return SCARD_F_INTERNAL_ERROR;
	if (rv != SCARD_S_SUCCESS)
		return rv;
	if (out == nullptr)
		return SCARD_E_INVALID_PARAMETER;
	if (scope != SCARD_SCOPE_USER && scope != SCARD_SCOPE_TERMINAL && scope != SCARD_SCOPE_SYSTEM &&
	    scope != SCARD_SCOPE_GLOBAL)
		return SCARD_E_INVALID_VALUE;
	if (down_) {
		if (down_calls_ > 0 && --down_calls_ == 0)
			service_up(); // the next attempt finds the service back
		return SCARD_E_NO_SERVICE;
	}
	const SCARDCONTEXT id = next_id();
	contexts_[id] = Context{};
	*out = id;
	return SCARD_S_SUCCESS;
}

LONG
Service::release_context(SCARDCONTEXT ctx)
{
	Lock lk(mutex_);
	LONG rv = begin_call(lk, EntryPoint::ReleaseContext);
	if (rv != SCARD_S_SUCCESS)
		return rv;
	wait_idle(lk, ctx);
	auto it = contexts_.find(ctx);
	if (it == contexts_.end())
		return SCARD_E_INVALID_HANDLE;
	if (it->second.dead) {
		// pcsc-lite frees the local state and reports the dead service.
		const LONG code = it->second.dead_code;
		drop_context(ctx, !it->second.invalid_after_release, code);
		return code;
	}
	drop_context(ctx, false);
	return SCARD_S_SUCCESS;
}

LONG
Service::is_valid_context(SCARDCONTEXT ctx)
{
	Lock lk(mutex_);
	LONG rv = begin_call(lk, EntryPoint::IsValidContext);
	if (rv != SCARD_S_SUCCESS)
		return rv;
	// A dead context is still "valid" locally (pcsc-lite, measured).
	return contexts_.count(ctx) ? SCARD_S_SUCCESS : SCARD_E_INVALID_HANDLE;
}

LONG
Service::cancel(SCARDCONTEXT ctx)
{
	Lock lk(mutex_);
	LONG rv = begin_call(lk, EntryPoint::Cancel);
	if (rv != SCARD_S_SUCCESS)
		return rv;
	Context *c = nullptr;
	if ((rv = find_context(ctx, c)) != SCARD_S_SUCCESS)
		return rv;
	c->cancel_gen++;
	cv_.notify_all();
	return SCARD_S_SUCCESS;
}

LONG
Service::list_readers(SCARDCONTEXT ctx, char *buf, DWORD *len)
{
	Lock lk(mutex_);
	LONG rv = begin_call(lk, EntryPoint::ListReaders);
	if (rv != SCARD_S_SUCCESS)
		return rv;
	if (len == nullptr)
		return SCARD_E_INVALID_PARAMETER;
	wait_idle(lk, ctx);
	Context *c = nullptr;
	if ((rv = find_context(ctx, c)) != SCARD_S_SUCCESS)
		return rv;
	if (readers_.empty())
		return SCARD_E_NO_READERS_AVAILABLE;
	std::string multi;
	for (const Reader &r : readers_) {
		multi += r.name;
		multi.push_back('\0');
	}
	multi.push_back('\0');
	return copy_out(multi.data(), multi.size(), buf, len, allocations_);
}

LONG
Service::free_memory(SCARDCONTEXT, const void *mem)
{
	Lock lk(mutex_);
	LONG rv = begin_call(lk, EntryPoint::FreeMemory);
	if (rv != SCARD_S_SUCCESS)
		return rv;
	auto it = allocations_.find(const_cast<void *>(mem));
	if (it == allocations_.end())
		return SCARD_E_INVALID_PARAMETER;
	std::free(*it);
	allocations_.erase(it);
	return SCARD_S_SUCCESS;
}

// ---------------------------------------------------------------- status change

DWORD
Service::reader_bits(const Reader &r) const
{
	if (!r.card)
		return SCARD_STATE_EMPTY;
	DWORD bits = SCARD_STATE_PRESENT;
	bool any = false, exclusive = false;
	for (const auto &h : handles_) {
		if (h.second.reader != static_cast<std::size_t>(&r - readers_.data()) || contexts_.at(h.second.ctx).dead)
			continue;
		any = true;
		exclusive = exclusive || h.second.share == SCARD_SHARE_EXCLUSIVE;
	}
	if (exclusive)
		bits |= SCARD_STATE_EXCLUSIVE;
	else if (any)
		bits |= SCARD_STATE_INUSE;
	return bits;
}

// Fill every entry's dwEventState (state bits, event counter in the high
// word, CHANGED) and the ATR; true if anything changed. The change rules
// follow pcsc-lite's client: UNAWARE always reports; the counter counts only
// when the caller's is non-zero; presence changes count only against the
// caller's EMPTY/PRESENT; INUSE<->EXCLUSIVE and sharing->none count, a first
// connection (none->INUSE) does not. Unknown names report UNKNOWN (a change
// once); the PnP pseudo reader and IGNOREd entries never change.
bool
Service::evaluate(SCARD_READERSTATE *states, DWORD count) const
{
	bool changed = false;
	for (DWORD i = 0; i < count; i++) {
		SCARD_READERSTATE &s = states[i];
		const DWORD cur = s.dwCurrentState;
		if (s.szReader == nullptr || (cur & SCARD_STATE_IGNORE) ||
		    std::strcmp(s.szReader, pnp_notification) == 0) {
			s.dwEventState = cur & ~static_cast<DWORD>(SCARD_STATE_CHANGED);
			continue;
		}
		const Reader *reader = nullptr;
		for (const Reader &r : readers_)
			if (r.name == s.szReader)
				reader = &r;
		if (reader == nullptr) {
			s.dwEventState = SCARD_STATE_UNKNOWN | SCARD_STATE_UNAVAILABLE;
			s.cbAtr = 0;
			if (!(cur & SCARD_STATE_UNKNOWN)) {
				s.dwEventState |= SCARD_STATE_CHANGED;
				changed = true;
			}
			continue;
		}
		const DWORD bits = reader_bits(*reader);
		const DWORD counter = reader->event_counter;
		bool c = cur == SCARD_STATE_UNAWARE || (cur & (SCARD_STATE_UNKNOWN | SCARD_STATE_UNAVAILABLE));
		if ((cur >> 16) != 0 && ((cur >> 16) & 0xFFFF) != counter)
			c = true;
		if ((bits & SCARD_STATE_EMPTY) && (cur & SCARD_STATE_PRESENT))
			c = true;
		if ((bits & SCARD_STATE_PRESENT) && (cur & SCARD_STATE_EMPTY))
			c = true;
		if ((bits & SCARD_STATE_EXCLUSIVE) && (cur & SCARD_STATE_INUSE))
			c = true;
		if ((bits & SCARD_STATE_INUSE) && (cur & SCARD_STATE_EXCLUSIVE))
			c = true;
		if (!(bits & (SCARD_STATE_INUSE | SCARD_STATE_EXCLUSIVE)) &&
		    (cur & (SCARD_STATE_INUSE | SCARD_STATE_EXCLUSIVE)))
			c = true;
		s.dwEventState = bits | (counter << 16) | (c ? SCARD_STATE_CHANGED : 0);
		if (reader->card) {
			const vcard::Bytes atr = reader->card->atr();
			s.cbAtr = std::min<DWORD>(atr.size(), sizeof s.rgbAtr);
			std::memcpy(s.rgbAtr, atr.data(), s.cbAtr);
		} else {
			s.cbAtr = 0;
		}
		changed = changed || c;
	}
	return changed;
}

LONG
Service::get_status_change(SCARDCONTEXT ctx, DWORD timeout, SCARD_READERSTATE *states, DWORD count)
{
	Lock lk(mutex_);
	LONG rv = begin_call(lk, EntryPoint::GetStatusChange);
	if (rv != SCARD_S_SUCCESS)
		return rv;
	if (count > 0 && states == nullptr)
		return SCARD_E_INVALID_PARAMETER;
	wait_idle(lk, ctx);
	Context *c = nullptr;
	if ((rv = find_context(ctx, c)) != SCARD_S_SUCCESS)
		return rv;
	const std::uint64_t cancel_gen = c->cancel_gen;
	const auto deadline = Clock::now() + std::chrono::milliseconds(timeout == infinite ? 0 : timeout);
	c->busy++;
	struct Unbusy {
		Service &s;
		SCARDCONTEXT id;
		~Unbusy()
		{
			auto it = s.contexts_.find(id);
			if (it != s.contexts_.end())
				it->second.busy--;
			s.cv_.notify_all();
		}
	} unbusy{*this, ctx};
	for (;;) {
		if ((rv = find_context(ctx, c)) != SCARD_S_SUCCESS)
			return rv;
		if (c->cancel_gen != cancel_gen)
			return SCARD_E_CANCELLED;
		if (evaluate(states, count))
			return SCARD_S_SUCCESS;
		if (timeout == 0)
			return SCARD_E_TIMEOUT;
		// A late card arrives by itself: wake up for it.
		const std::optional<Clock::time_point> arrival = next_arrival();
		if (timeout == infinite) {
			if (arrival)
				cv_.wait_until(lk, *arrival);
			else
				cv_.wait(lk);
		} else if (cv_.wait_until(lk, arrival && *arrival < deadline ? *arrival : deadline) ==
				   std::cv_status::timeout &&
			   Clock::now() >= deadline) {
			maybe_come_up();
			if ((rv = find_context(ctx, c)) != SCARD_S_SUCCESS)
				return rv;
			if (c->cancel_gen != cancel_gen)
				return SCARD_E_CANCELLED;
			return evaluate(states, count) ? SCARD_S_SUCCESS : SCARD_E_TIMEOUT;
		}
		maybe_come_up();
	}
}

// ---------------------------------------------------------------- handles

LONG
Service::connect(SCARDCONTEXT ctx, const char *reader, DWORD share, DWORD preferred, SCARDHANDLE *out,
		 DWORD *active)
{
	Lock lk(mutex_);
	LONG rv = begin_call(lk, EntryPoint::Connect);
	if (rv != SCARD_S_SUCCESS)
		return rv;
	if (reader == nullptr || out == nullptr || active == nullptr)
		return SCARD_E_INVALID_PARAMETER;
	if (!valid_share(share))
		return SCARD_E_INVALID_VALUE;
	wait_idle(lk, ctx);
	Context *c = nullptr;
	if ((rv = find_context(ctx, c)) != SCARD_S_SUCCESS)
		return rv;
	std::size_t index = readers_.size();
	for (std::size_t i = 0; i < readers_.size(); i++)
		if (readers_[i].name == reader)
			index = i;
	if (index == readers_.size())
		return SCARD_E_UNKNOWN_READER;
	Reader &r = readers_[index];
	DWORD protocol = SCARD_PROTOCOL_UNDEFINED;
	if (share != SCARD_SHARE_DIRECT) {
		if (!r.card)
			return SCARD_E_NO_SMARTCARD;
		if (preferred == 0)
			return SCARD_E_INVALID_VALUE;
		if (!(preferred & r.protocol))
			return SCARD_E_PROTO_MISMATCH;
		protocol = r.protocol;
	} else if (r.card && (preferred & r.protocol)) {
		protocol = r.protocol;
	}
	if (share_conflict(index, share, 0))
		return SCARD_E_SHARING_VIOLATION;
	if (share != SCARD_SHARE_DIRECT)
		power_on(r);
	const SCARDHANDLE id = next_id();
	Handle h;
	h.ctx = ctx;
	h.reader = index;
	h.share = share;
	h.protocol = protocol;
	h.insertion = r.card ? r.insertion : 0;
	h.reader_generation = r.generation;
	handles_[id] = h;
	c->handles.insert(id);
	*out = id;
	*active = protocol;
	cv_.notify_all(); // INUSE/EXCLUSIVE changed
	return SCARD_S_SUCCESS;
}

LONG
Service::reconnect(SCARDHANDLE hid, DWORD share, DWORD preferred, DWORD init, DWORD *active)
{
	Lock lk(mutex_);
	LONG rv = begin_call(lk, EntryPoint::Reconnect);
	if (rv != SCARD_S_SUCCESS)
		return rv;
	if (active == nullptr)
		return SCARD_E_INVALID_PARAMETER;
	if (!valid_share(share) || !valid_disposition(init))
		return SCARD_E_INVALID_VALUE;
	Handle *h = nullptr;
	if ((rv = idle_handle(lk, hid, h)) != SCARD_S_SUCCESS)
		return rv;
	Reader &r = readers_[h->reader];
	if (!r.card)
		return share == SCARD_SHARE_DIRECT ? SCARD_S_SUCCESS : SCARD_E_NO_SMARTCARD;
	if (share != SCARD_SHARE_DIRECT && !(preferred & r.protocol))
		return preferred == 0 ? SCARD_E_INVALID_VALUE : SCARD_E_PROTO_MISMATCH;
	if (share_conflict(h->reader, share, hid))
		return SCARD_E_SHARING_VIOLATION;
	if (init == SCARD_RESET_CARD) {
		card_reset(h->reader, hid);
	} else if (init == SCARD_UNPOWER_CARD || init == SCARD_EJECT_CARD) {
		card_power_cycle(h->reader, hid);
	} else {
		power_on(r);
	}
	h->share = share;
	h->protocol = (preferred & r.protocol) ? r.protocol : SCARD_PROTOCOL_UNDEFINED;
	h->insertion = r.insertion;
	h->reset_pending = false;
	*active = h->protocol;
	cv_.notify_all();
	return SCARD_S_SUCCESS;
}

LONG
Service::disconnect(SCARDHANDLE hid, DWORD disposition)
{
	Lock lk(mutex_);
	LONG rv = begin_call(lk, EntryPoint::Disconnect);
	if (rv != SCARD_S_SUCCESS)
		return rv;
	if (!valid_disposition(disposition))
		return SCARD_E_INVALID_VALUE;
	Handle *h = nullptr;
	if ((rv = idle_handle(lk, hid, h, true)) != SCARD_S_SUCCESS)
		return rv;
	if (!removed(*h)) {
		if (disposition == SCARD_RESET_CARD)
			card_reset(h->reader, hid);
		else if (disposition == SCARD_UNPOWER_CARD || disposition == SCARD_EJECT_CARD)
			card_power_cycle(h->reader, hid);
	}
	contexts_.at(h->ctx).handles.erase(hid);
	drop_handle(hid);
	cv_.notify_all();
	return SCARD_S_SUCCESS;
}

LONG
Service::begin_transaction(SCARDHANDLE hid)
{
	Lock lk(mutex_);
	LONG rv = begin_call(lk, EntryPoint::BeginTransaction);
	if (rv != SCARD_S_SUCCESS)
		return rv;
	Handle *h = nullptr;
	if ((rv = find_handle(hid, h)) != SCARD_S_SUCCESS)
		return rv;
	wait_idle(lk, h->ctx);
	for (;;) {
		if ((rv = find_handle(hid, h)) != SCARD_S_SUCCESS)
			return rv;
		if ((rv = card_event(*h)) != SCARD_S_SUCCESS)
			return rv;
		Reader &r = readers_[h->reader];
		if (r.tx_owner == 0 || r.tx_owner == hid) {
			r.tx_owner = hid;
			r.tx_depth++;
			return SCARD_S_SUCCESS;
		}
		// Another handle holds the card: block until it ends its
		// transaction. pcsc-lite's client polls, releasing the context
		// between polls, so other calls on our context go on meanwhile.
		cv_.wait(lk);
		maybe_come_up();
	}
}

LONG
Service::end_transaction(SCARDHANDLE hid, DWORD disposition)
{
	Lock lk(mutex_);
	LONG rv = begin_call(lk, EntryPoint::EndTransaction);
	if (rv != SCARD_S_SUCCESS)
		return rv;
	if (!valid_disposition(disposition))
		return SCARD_E_INVALID_VALUE;
	Handle *h = nullptr;
	if ((rv = idle_handle(lk, hid, h)) != SCARD_S_SUCCESS)
		return rv;
	if ((rv = card_event(*h)) != SCARD_S_SUCCESS)
		return rv;
	Reader &r = readers_[h->reader];
	if (r.tx_owner != hid)
		return SCARD_E_NOT_TRANSACTED;
	if (disposition == SCARD_RESET_CARD)
		card_reset(h->reader, hid);
	else if (disposition == SCARD_UNPOWER_CARD || disposition == SCARD_EJECT_CARD)
		card_power_cycle(h->reader, hid);
	if (r.tx_depth > 0)
		r.tx_depth--;
	if (r.tx_depth == 0)
		r.tx_owner = 0;
	cv_.notify_all();
	return SCARD_S_SUCCESS;
}

LONG
Service::status(SCARDHANDLE hid, char *name, DWORD *name_len, DWORD *state, DWORD *protocol, BYTE *atr,
		DWORD *atr_len)
{
	Lock lk(mutex_);
	LONG rv = begin_call(lk, EntryPoint::Status);
	if (rv != SCARD_S_SUCCESS)
		return rv;
	Handle *h = nullptr;
	if ((rv = idle_handle(lk, hid, h)) != SCARD_S_SUCCESS)
		return rv;
	const Reader &r = readers_[h->reader];
	// as pcsc-lite's server: sharing first, then card events
	if (r.tx_owner != 0 && r.tx_owner != hid)
		return SCARD_E_SHARING_VIOLATION;
	if ((rv = card_event(*h)) != SCARD_S_SUCCESS)
		return rv;
	if (name_len != nullptr) {
		const std::string n = r.name + '\0';
		if ((rv = copy_out(n.data(), n.size(), name, name_len, allocations_)) != SCARD_S_SUCCESS)
			return rv;
	} else if (name != nullptr) {
		return SCARD_E_INVALID_PARAMETER;
	}
	if (state != nullptr) {
		if (!r.card)
			*state = SCARD_ABSENT;
		else
			*state = SCARD_PRESENT | (r.card->powered() ? SCARD_POWERED : SCARD_SWALLOWED) |
				 (h->protocol != SCARD_PROTOCOL_UNDEFINED ? SCARD_SPECIFIC : SCARD_NEGOTIABLE);
	}
	if (protocol != nullptr)
		*protocol = h->protocol;
	if (atr_len != nullptr) {
		const vcard::Bytes a = r.card ? r.card->atr() : vcard::Bytes{};
		if ((rv = copy_out(a.data(), a.size(), atr, atr_len, allocations_)) != SCARD_S_SUCCESS)
			return rv;
	}
	return SCARD_S_SUCCESS;
}

LONG
Service::transmit(SCARDHANDLE hid, const SCARD_IO_REQUEST *send_pci, const BYTE *send, DWORD send_len,
		  SCARD_IO_REQUEST *recv_pci, BYTE *recv, DWORD *recv_len)
{
	Lock lk(mutex_);
	LONG rv = begin_call(lk, EntryPoint::Transmit, send, send ? send_len : 0);
	if (rv != SCARD_S_SUCCESS)
		return rv;
	if (send_pci == nullptr || send == nullptr || recv == nullptr || recv_len == nullptr || send_len == 0)
		return SCARD_E_INVALID_PARAMETER;
	Handle *h = nullptr;
	if ((rv = idle_handle(lk, hid, h)) != SCARD_S_SUCCESS)
		return rv;
	if ((rv = card_event(*h)) != SCARD_S_SUCCESS)
		return rv;
	Reader &r = readers_[h->reader];
	if (r.tx_owner != 0 && r.tx_owner != hid)
		return SCARD_E_SHARING_VIOLATION;
	if (!r.card || !r.card->powered())
		return SCARD_W_UNPOWERED_CARD;
	if (h->protocol == SCARD_PROTOCOL_UNDEFINED || !(send_pci->dwProtocol & h->protocol))
		return SCARD_E_PROTO_MISMATCH;
	const vcard::Bytes response = send_apdu(r, vcard::Bytes(send, send + send_len));
	if (response.size() > *recv_len) {
		*recv_len = response.size();
		return SCARD_E_INSUFFICIENT_BUFFER;
	}
	std::memcpy(recv, response.data(), response.size());
	*recv_len = response.size();
	if (recv_pci != nullptr) {
		recv_pci->dwProtocol = h->protocol;
		recv_pci->cbPciLength = sizeof(SCARD_IO_REQUEST);
	}
	return SCARD_S_SUCCESS;
}

vcard::Bytes
Service::send_apdu(Reader &r, const vcard::Bytes &command)
{
	vcard::Bytes response = r.card->process(command);
	apdus_++;
	if (command.size() >= 2)
		apdus_by_ins_[(command[0] & 0x80 ? 256 : 0) + command[1]]++;
	return response;
}

LONG
Service::control(SCARDHANDLE hid, DWORD code, const void *in, DWORD in_len, void *out, DWORD out_len,
		 DWORD *returned)
{
	Lock lk(mutex_);
	LONG rv = begin_call(lk, EntryPoint::Control);
	if (rv != SCARD_S_SUCCESS)
		return rv;
	if (returned == nullptr)
		return SCARD_E_INVALID_PARAMETER;
	Handle *h = nullptr;
	if ((rv = idle_handle(lk, hid, h)) != SCARD_S_SUCCESS)
		return rv;
	Reader &r = readers_[h->reader];
	if (r.tx_owner != 0 && r.tx_owner != hid)
		return SCARD_E_SHARING_VIOLATION;
	if (!r.pinpad) {
		if (code == CM_IOCTL_GET_FEATURE_REQUEST) {
			*returned = 0; // a plain reader: no PIN pad, no other Part-10 features
			return SCARD_S_SUCCESS;
		}
		return SCARD_E_UNSUPPORTED_FEATURE;
	}
	if (out == nullptr && out_len > 0)
		return SCARD_E_INVALID_PARAMETER;
	vcard::Bytes answer;
	if (code == CM_IOCTL_GET_FEATURE_REQUEST) {
		answer = Pinpad::features();
	} else if (code == Pinpad::ifd_pin_properties_ioctl()) {
		answer = Pinpad::pin_properties();
	} else if (code == Pinpad::get_tlv_properties_ioctl()) {
		answer = Pinpad::tlv_properties();
	} else if (code == Pinpad::verify_pin_direct_ioctl()) {
		Pinpad::Verify v;
		try {
			v = r.pinpad->verify(static_cast<const std::uint8_t *>(in), in ? in_len : 0);
		} catch (const PinpadError &e) {
			std::fprintf(stderr, "vpcsc: SCardControl(FEATURE_VERIFY_PIN_DIRECT) refused: %s\n", e.what());
			return SCARD_E_INVALID_PARAMETER;
		}
		// The card must be there and usable, as for SCardTransmit.
		if ((rv = card_event(*h)) != SCARD_S_SUCCESS)
			return rv;
		if (!r.card || !r.card->powered())
			return SCARD_W_UNPOWERED_CARD;
		if (h->protocol == SCARD_PROTOCOL_UNDEFINED)
			return SCARD_E_PROTO_MISMATCH;
		answer = v.keypad.empty() ? send_apdu(r, v.apdu) : v.keypad;
	} else {
		return SCARD_E_UNSUPPORTED_FEATURE;
	}
	if (answer.size() > out_len) {
		*returned = answer.size();
		return SCARD_E_INSUFFICIENT_BUFFER;
	}
	std::copy(answer.begin(), answer.end(), static_cast<std::uint8_t *>(out));
	*returned = answer.size();
	return SCARD_S_SUCCESS;
}

LONG
Service::get_attrib(SCARDHANDLE hid, DWORD id, BYTE *attr, DWORD *len)
{
	Lock lk(mutex_);
	LONG rv = begin_call(lk, EntryPoint::GetAttrib);
	if (rv != SCARD_S_SUCCESS)
		return rv;
	if (len == nullptr)
		return SCARD_E_INVALID_PARAMETER;
	Handle *h = nullptr;
	if ((rv = idle_handle(lk, hid, h)) != SCARD_S_SUCCESS)
		return rv;
	const Reader &r = readers_[h->reader];
	if (r.tx_owner != 0 && r.tx_owner != hid)
		return SCARD_E_SHARING_VIOLATION;
	if ((rv = card_event(*h)) != SCARD_S_SUCCESS)
		return rv;
	switch (id) {
	case SCARD_ATTR_VENDOR_NAME:
		return copy_out(vendor_name, sizeof vendor_name, attr, len, allocations_);
	case SCARD_ATTR_VENDOR_IFD_VERSION:
		return copy_out(&ifd_version, sizeof ifd_version, attr, len, allocations_);
	case SCARD_ATTR_DEVICE_FRIENDLY_NAME_A:
	case SCARD_ATTR_DEVICE_SYSTEM_NAME_A:
		return copy_out(r.name.c_str(), r.name.size() + 1, attr, len, allocations_);
	case SCARD_ATTR_ATR_STRING: {
		if (!r.card)
			return SCARD_E_NO_SMARTCARD;
		const vcard::Bytes a = r.card->atr();
		return copy_out(a.data(), a.size(), attr, len, allocations_);
	}
	default:
		return SCARD_E_UNSUPPORTED_FEATURE;
	}
}

// ---------------------------------------------------------------- inspection

std::uint64_t
Service::calls(const std::string &entry_point) const
{
	auto e = fault::entry_point_from_name(entry_point);
	if (!e)
		throw fault::ConfigError("entry_point", "unknown entry point \"" + entry_point + "\"");
	Lock lk(mutex_);
	return calls_[static_cast<std::size_t>(*e)];
}

void
Service::count_result(EntryPoint entry, LONG rv)
{
	Lock lk(mutex_);
	results_[static_cast<std::size_t>(entry)][rv]++;
}

std::uint64_t
Service::results(const std::string &entry_point, const std::string &code) const
{
	auto e = fault::entry_point_from_name(entry_point);
	if (!e)
		throw fault::ConfigError("entry_point", "unknown entry point \"" + entry_point + "\"");
	auto c = fault::scard_code_from_name(code);
	if (!c)
		throw fault::ConfigError("code", "unknown PC/SC code \"" + code + "\"");
	Lock lk(mutex_);
	const auto &m = results_[static_cast<std::size_t>(*e)];
	auto it = m.find(*c);
	return it == m.end() ? 0 : it->second;
}

std::size_t
Service::live_contexts() const
{
	Lock lk(mutex_);
	return contexts_.size();
}

std::size_t
Service::live_handles() const
{
	Lock lk(mutex_);
	return handles_.size();
}

std::size_t
Service::zombie_handles() const
{
	Lock lk(mutex_);
	return zombies_.size();
}

std::size_t
Service::dead_contexts() const
{
	Lock lk(mutex_);
	return static_cast<std::size_t>(
		std::count_if(contexts_.begin(), contexts_.end(), [](const auto &c) { return c.second.dead; }));
}

std::size_t
Service::dead_handles() const
{
	Lock lk(mutex_);
	return static_cast<std::size_t>(std::count_if(handles_.begin(), handles_.end(), [this](const auto &h) {
		auto c = contexts_.find(h.second.ctx);
		return c == contexts_.end() || c->second.dead;
	}));
}

std::uint64_t
Service::apdus_by_header(unsigned cla, unsigned ins) const
{
	if (cla > 0xFF || ins > 0xFF)
		throw fault::ConfigError("header", "CLA and INS are bytes (0..255)");
	Lock lk(mutex_);
	return apdus_by_ins_[(cla & 0x80 ? 256 : 0) + ins];
}

void
Service::snapshot(unsigned long long *calls, std::size_t ncalls, unsigned long long *by_ins, std::size_t nins) const
{
	Lock lk(mutex_);
	for (std::size_t i = 0; i < ncalls && i < fault::entry_point_count; i++)
		calls[i] = calls_[i];
	for (std::size_t i = 0; i < nins && i < apdu_header_slots; i++)
		by_ins[i] = apdus_by_ins_[i];
}

std::size_t
Service::open_transactions() const
{
	Lock lk(mutex_);
	return static_cast<std::size_t>(
		std::count_if(readers_.begin(), readers_.end(), [](const Reader &r) { return r.tx_owner != 0; }));
}

std::uint64_t
Service::apdus() const
{
	Lock lk(mutex_);
	return apdus_;
}

std::uint64_t
Service::injections() const
{
	Lock lk(mutex_);
	return injector_.injections();
}

nlohmann::json
Service::stats() const
{
	Lock lk(mutex_);
	nlohmann::json j;
	for (std::size_t i = 0; i < fault::entry_point_count; i++)
		j["calls"][fault::entry_point_name(static_cast<EntryPoint>(i))] = calls_[i];
	j["results"] = nlohmann::json::object();
	for (std::size_t i = 0; i < fault::entry_point_count; i++)
		for (const auto &r : results_[i])
			j["results"][fault::entry_point_name(static_cast<EntryPoint>(i))][fault::scard_code_name(r.first)] =
				r.second;
	j["live_contexts"] = contexts_.size();
	j["live_handles"] = handles_.size();
	j["zombie_handles"] = zombies_.size();
	j["dead_contexts"] = std::count_if(contexts_.begin(), contexts_.end(), [](const auto &c) { return c.second.dead; });
	j["apdus_by_ins"] = nlohmann::json::object();
	for (unsigned i = 0; i < apdu_header_slots; i++)
		if (apdus_by_ins_[i] != 0) {
			char key[8];
			std::snprintf(key, sizeof key, "%s%02X", i < 256 ? "" : "8x", i & 0xFF);
			j["apdus_by_ins"][key] = apdus_by_ins_[i];
		}
	j["open_transactions"] =
		std::count_if(readers_.begin(), readers_.end(), [](const Reader &r) { return r.tx_owner != 0; });
	j["apdus"] = apdus_;
	j["injections"] = injector_.injections();
	j["service"] = down_ ? "down" : "up";
	j["config_error"] = config_error_.empty() ? nlohmann::json(nullptr) : nlohmann::json(config_error_);
	j["readers"] = nlohmann::json::array();
	for (const Reader &r : readers_) {
		nlohmann::json jr;
		jr["name"] = r.name;
		jr["card"] = r.card ? nlohmann::json(r.card_name) : nlohmann::json(nullptr);
		jr["powered"] = r.card != nullptr && r.card->powered();
		jr["event_counter"] = r.event_counter;
		jr["power_ons"] = r.power_ons;
		jr["power_offs"] = r.power_offs;
		jr["resets"] = r.resets;
		j["readers"].push_back(jr);
	}
	return j;
}

} // namespace pcsc
