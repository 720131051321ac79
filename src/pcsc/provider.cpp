// SPDX-License-Identifier: LGPL-2.1-or-later
// The exported C ABI of libvpcsc.so: pcsc-lite's SCard* functions and the
// vpcsc_* inspection/control API. Every body goes through a guard.
//
// The provider is, by nature, one per process: the Service below is the
// only global, created on first use (scenario read from the environment
// then) and destroyed at unload/exit (statistics dumped then).
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <cstring>
#include <string>

#include <winscard.h>

#include "pcsc/guard.hpp"
#include "pcsc/service.hpp"
#include "pcsc/vpcsc.h"

namespace pcsc {

namespace {

// The one instance, created on first use. At unload/exit it dumps its
// statistics, wakes every blocked caller and is deleted once no call is in
// flight (a thread still blocked after a second keeps it alive rather than
// hanging the exit in a condition variable's destructor).
std::once_flag created;
Service *instance = nullptr;
std::atomic<bool> unloading{false};
std::atomic<int> in_flight{0};

Service &
service()
{
	if (unloading)
		throw std::runtime_error("libvpcsc is being unloaded");
	std::call_once(created, [] { instance = new Service; });
	return *instance;
}

struct Unloader {
	Unloader() = default;
	Unloader(const Unloader &) = delete;
	Unloader &operator=(const Unloader &) = delete;
	~Unloader()
	{
		unloading = true;
		if (instance == nullptr)
			return;
		instance->shutdown();
		for (int i = 0; i < 1000 && in_flight > 0; i++)
			std::this_thread::sleep_for(std::chrono::milliseconds(1));
		if (in_flight == 0)
			delete instance;
	}
} unloader;

// An SCard* body: counted in flight, refused once unloading, guarded, its
// result counted per entry point and code.
template <typename F>
LONG
scard(fault::EntryPoint entry, F &&body) noexcept
{
	in_flight++;
	LONG rv = SCARD_E_NO_SERVICE;
	if (!unloading) {
		rv = guard([&] { return body(service()); });
		guard([&] {
			service().count_result(entry, rv);
			return SCARD_S_SUCCESS;
		});
	}
	in_flight--;
	return rv;
}

thread_local std::string last_error;

int
inject(const std::string &json)
{
	service().inject(json);
	return 0;
}

std::string
quoted(const char *s)
{
	return nlohmann::json(std::string(s)).dump();
}

} // namespace

void
set_last_error(const std::string &message) noexcept
{
	try {
		last_error = message;
	} catch (...) {
	}
}

} // namespace pcsc

using pcsc::guard;
using pcsc::scard;
using pcsc::Service;
using pcsc::guard_api;
using pcsc::service;

extern "C" {

LONG
SCardEstablishContext(DWORD dwScope, LPCVOID, LPCVOID, LPSCARDCONTEXT phContext)
{
	return scard(fault::EntryPoint::EstablishContext, [&](Service &s) { return s.establish_context(dwScope, phContext); });
}

LONG
SCardReleaseContext(SCARDCONTEXT hContext)
{
	return scard(fault::EntryPoint::ReleaseContext, [&](Service &s) { return s.release_context(hContext); });
}

LONG
SCardIsValidContext(SCARDCONTEXT hContext)
{
	return scard(fault::EntryPoint::IsValidContext, [&](Service &s) { return s.is_valid_context(hContext); });
}

LONG
SCardConnect(SCARDCONTEXT hContext, LPCSTR szReader, DWORD dwShareMode, DWORD dwPreferredProtocols,
	     LPSCARDHANDLE phCard, LPDWORD pdwActiveProtocol)
{
	return scard(fault::EntryPoint::Connect, [&](Service &s) {
		return s.connect(hContext, szReader, dwShareMode, dwPreferredProtocols, phCard,
					 pdwActiveProtocol);
	});
}

LONG
SCardReconnect(SCARDHANDLE hCard, DWORD dwShareMode, DWORD dwPreferredProtocols, DWORD dwInitialization,
	       LPDWORD pdwActiveProtocol)
{
	return scard(fault::EntryPoint::Reconnect, [&](Service &s) {
		return s.reconnect(hCard, dwShareMode, dwPreferredProtocols, dwInitialization,
					   pdwActiveProtocol);
	});
}

LONG
SCardDisconnect(SCARDHANDLE hCard, DWORD dwDisposition)
{
	return scard(fault::EntryPoint::Disconnect, [&](Service &s) { return s.disconnect(hCard, dwDisposition); });
}

LONG
SCardBeginTransaction(SCARDHANDLE hCard)
{
	return scard(fault::EntryPoint::BeginTransaction, [&](Service &s) { return s.begin_transaction(hCard); });
}

LONG
SCardEndTransaction(SCARDHANDLE hCard, DWORD dwDisposition)
{
	return scard(fault::EntryPoint::EndTransaction, [&](Service &s) { return s.end_transaction(hCard, dwDisposition); });
}

LONG
SCardStatus(SCARDHANDLE hCard, LPSTR szReaderName, LPDWORD pcchReaderLen, LPDWORD pdwState, LPDWORD pdwProtocol,
	    LPBYTE pbAtr, LPDWORD pcbAtrLen)
{
	return scard(fault::EntryPoint::Status, [&](Service &s) {
		return s.status(hCard, szReaderName, pcchReaderLen, pdwState, pdwProtocol, pbAtr, pcbAtrLen);
	});
}

LONG
SCardGetStatusChange(SCARDCONTEXT hContext, DWORD dwTimeout, SCARD_READERSTATE *rgReaderStates, DWORD cReaders)
{
	return scard(fault::EntryPoint::GetStatusChange, [&](Service &s) { return s.get_status_change(hContext, dwTimeout, rgReaderStates, cReaders); });
}

LONG
SCardCancel(SCARDCONTEXT hContext)
{
	return scard(fault::EntryPoint::Cancel, [&](Service &s) { return s.cancel(hContext); });
}

LONG
SCardTransmit(SCARDHANDLE hCard, const SCARD_IO_REQUEST *pioSendPci, LPCBYTE pbSendBuffer, DWORD cbSendLength,
	      SCARD_IO_REQUEST *pioRecvPci, LPBYTE pbRecvBuffer, LPDWORD pcbRecvLength)
{
	return scard(fault::EntryPoint::Transmit, [&](Service &s) {
		return s.transmit(hCard, pioSendPci, pbSendBuffer, cbSendLength, pioRecvPci, pbRecvBuffer,
					  pcbRecvLength);
	});
}

LONG
SCardListReaders(SCARDCONTEXT hContext, LPCSTR, LPSTR mszReaders, LPDWORD pcchReaders)
{
	return scard(fault::EntryPoint::ListReaders, [&](Service &s) { return s.list_readers(hContext, mszReaders, pcchReaders); });
}

LONG
SCardFreeMemory(SCARDCONTEXT hContext, LPCVOID pvMem)
{
	return scard(fault::EntryPoint::FreeMemory, [&](Service &s) { return s.free_memory(hContext, pvMem); });
}

LONG
SCardGetAttrib(SCARDHANDLE hCard, DWORD dwAttrId, LPBYTE pbAttr, LPDWORD pcbAttrLen)
{
	return scard(fault::EntryPoint::GetAttrib, [&](Service &s) { return s.get_attrib(hCard, dwAttrId, pbAttr, pcbAttrLen); });
}

LONG
SCardControl(SCARDHANDLE hCard, DWORD dwControlCode, LPCVOID pbSendBuffer, DWORD cbSendLength, LPVOID pbRecvBuffer,
	     DWORD cbRecvLength, LPDWORD lpBytesReturned)
{
	return scard(fault::EntryPoint::Control, [&](Service &s) {
		return s.control(hCard, dwControlCode, pbSendBuffer, cbSendLength, pbRecvBuffer, cbRecvLength,
					 lpBytesReturned);
	});
}

int
vpcsc_reset(const char *scenario_json)
{
	return guard_api(-1, [&] {
		if (scenario_json) {
			const std::string text(scenario_json);
			service().reset(&text);
		} else {
			service().reset(nullptr);
		}
		return 0;
	});
}

int
vpcsc_inject(const char *action_json)
{
	return guard_api(-1, [&] {
		if (action_json == nullptr)
			throw std::invalid_argument("action: NULL");
		return pcsc::inject(action_json);
	});
}

int
vpcsc_service_lost(void)
{
	return guard_api(-1, [] { return pcsc::inject(R"({"type":"service_lost"})"); });
}

int
vpcsc_service_down(unsigned long ms)
{
	return guard_api(-1, [&] {
		return pcsc::inject(ms ? R"({"type":"service_down","ms":)" + std::to_string(ms) + "}"
				       : std::string(R"({"type":"service_down"})"));
	});
}

int
vpcsc_service_up(void)
{
	return guard_api(-1, [] { return pcsc::inject(R"({"type":"service_up"})"); });
}

int
vpcsc_service_up_late(unsigned long card_delay_ms)
{
	return guard_api(-1, [&] {
		service().service_up_late(card_delay_ms);
		return 0;
	});
}

int
vpcsc_card_reset(unsigned reader)
{
	return guard_api(-1, [&] {
		return pcsc::inject(R"({"type":"card_reset","reader":)" + std::to_string(reader) + "}");
	});
}

int
vpcsc_card_remove(unsigned reader)
{
	return guard_api(-1, [&] {
		return pcsc::inject(R"({"type":"card_remove","reader":)" + std::to_string(reader) + "}");
	});
}

int
vpcsc_card_insert(unsigned reader, const char *card)
{
	return guard_api(-1, [&] {
		std::string j = R"({"type":"card_insert","reader":)" + std::to_string(reader);
		if (card)
			j += ",\"card\":" + pcsc::quoted(card);
		return pcsc::inject(j + "}");
	});
}

int
vpcsc_card_swap(unsigned reader, const char *card)
{
	return guard_api(-1, [&] {
		if (card == nullptr)
			throw std::invalid_argument("card: NULL");
		return pcsc::inject(R"({"type":"card_swap","reader":)" + std::to_string(reader) +
				    ",\"card\":" + pcsc::quoted(card) + "}");
	});
}

long
vpcsc_calls(const char *entry_point)
{
	return guard_api(-1L, [&] {
		if (entry_point == nullptr)
			throw std::invalid_argument("entry_point: NULL");
		return static_cast<long>(service().calls(entry_point));
	});
}

long
vpcsc_results(const char *entry_point, const char *code)
{
	return guard_api(-1L, [&] {
		if (entry_point == nullptr || code == nullptr)
			throw std::invalid_argument("entry_point/code: NULL");
		return static_cast<long>(service().results(entry_point, code));
	});
}

long
vpcsc_live_contexts(void)
{
	return guard_api(-1L, [] { return static_cast<long>(service().live_contexts()); });
}

long
vpcsc_live_handles(void)
{
	return guard_api(-1L, [] { return static_cast<long>(service().live_handles()); });
}

long
vpcsc_zombie_handles(void)
{
	return guard_api(-1L, [] { return static_cast<long>(service().zombie_handles()); });
}

long
vpcsc_dead_contexts(void)
{
	return guard_api(-1L, [] { return static_cast<long>(service().dead_contexts()); });
}

long
vpcsc_dead_handles(void)
{
	return guard_api(-1L, [] { return static_cast<long>(service().dead_handles()); });
}

long
vpcsc_apdus_by_header(unsigned cla, unsigned ins)
{
	return guard_api(-1L, [&] { return static_cast<long>(service().apdus_by_header(cla, ins)); });
}

const char *
vpcsc_entry_point_name(unsigned i)
{
	if (i >= fault::entry_point_count)
		return nullptr;
	return fault::entry_point_name(static_cast<fault::EntryPoint>(i));
}

int
vpcsc_counters(unsigned long long *calls, unsigned long ncalls, unsigned long long *apdus_by_ins, unsigned long nins)
{
	return guard_api(-1, [&] {
		if ((calls == nullptr && ncalls != 0) || (apdus_by_ins == nullptr && nins != 0))
			throw std::invalid_argument("counters: NULL buffer");
		service().snapshot(calls, ncalls, apdus_by_ins, nins);
		return 0;
	});
}

long
vpcsc_open_transactions(void)
{
	return guard_api(-1L, [] { return static_cast<long>(service().open_transactions()); });
}

long
vpcsc_apdus(void)
{
	return guard_api(-1L, [] { return static_cast<long>(service().apdus()); });
}

long
vpcsc_injections(void)
{
	return guard_api(-1L, [] { return static_cast<long>(service().injections()); });
}

char *
vpcsc_stats_json(void)
{
	return guard_api(static_cast<char *>(nullptr), [] {
		const std::string text = service().stats().dump(2);
		char *out = static_cast<char *>(std::malloc(text.size() + 1));
		if (out == nullptr)
			throw std::bad_alloc();
		std::memcpy(out, text.c_str(), text.size() + 1);
		return out;
	});
}

void
vpcsc_free(void *p)
{
	std::free(p);
}

const char *
vpcsc_last_error(void)
{
	return pcsc::last_error.c_str();
}

} // extern "C"
