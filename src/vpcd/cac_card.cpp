// SPDX-License-Identifier: LGPL-2.1-or-later
#include "cac_card.hpp"

#include <atomic>
#include <dlfcn.h>
#include <stdexcept>

namespace vpcd {

namespace {

// The few libcacard entry points used, with their C signatures (vreader.h, vcard_emul.h);
// handles are opaque. Enum results: VReaderStatus VREADER_OK = 0, VCardEmulError VCARD_EMUL_OK = 0.
using OptionsFn = void *(*)(const char *args);
using InitFn = int (*)(const void *options);
using FinalizeFn = int (*)();
using ReaderByNameFn = void *(*)(const char *name);
using ReaderFreeFn = void (*)(void *reader);
using PowerOnFn = int (*)(void *reader, unsigned char *atr, int *len);
using PowerOffFn = int (*)(void *reader);
using XfrFn = int (*)(void *reader, unsigned char *send, int send_len, unsigned char *recv, int *recv_len);
using CardPresentFn = int (*)(void *reader);
using GetAtrFn = void (*)(void *card, unsigned char *atr, int *len);

constexpr int reader_ok = 0;
constexpr int emul_ok = 0;
constexpr const char *reader_name = "opensc-recovery CAC";
constexpr int max_atr = 40;

std::atomic<bool> instance_alive{false};

} // namespace

struct CacCard::Library {
	void *handle = nullptr;
	OptionsFn options = nullptr;
	InitFn init = nullptr;
	FinalizeFn finalize = nullptr;
	ReaderByNameFn reader_by_name = nullptr;
	ReaderFreeFn reader_free = nullptr;
	PowerOnFn power_on = nullptr;
	PowerOffFn power_off = nullptr;
	XfrFn xfr = nullptr;
	CardPresentFn card_present = nullptr;
	GetAtrFn get_atr = nullptr;

	Library()
	{
		handle = dlopen("libcacard.so.0", RTLD_NOW | RTLD_LOCAL);
		if (!handle)
			throw std::runtime_error(std::string("CAC card: cannot load libcacard.so.0 (Debian package libcacard0): ") +
						 dlerror());
		load(options, "vcard_emul_options");
		load(init, "vcard_emul_init");
		load(finalize, "vcard_emul_finalize");
		load(reader_by_name, "vreader_get_reader_by_name");
		load(reader_free, "vreader_free");
		load(power_on, "vreader_power_on");
		load(power_off, "vreader_power_off");
		load(xfr, "vreader_xfr_bytes");
		load(card_present, "vreader_card_is_present");
		load(get_atr, "vcard_emul_get_atr");
	}
	~Library()
	{
		// libcacard and NSS cannot be re-initialised in one process: keep the library mapped.
	}
	template <typename Fn> void load(Fn &fn, const char *name)
	{
		fn = reinterpret_cast<Fn>(dlsym(handle, name));
		if (!fn)
			throw std::runtime_error(std::string("CAC card: libcacard lacks ") + name);
	}
};

CacCard::CacCard(const std::string &nss_db_dir)
{
	if (instance_alive.exchange(true))
		throw std::runtime_error("CAC card: libcacard supports one card per process");
	try {
		lib_ = std::make_unique<Library>();
		const std::string args = "db=\"sql:" + nss_db_dir + "\" use_hw=no soft=(," + reader_name +
					 ",CAC,,cert1,cert2,cert3)";
		void *opts = lib_->options(args.c_str());
		if (!opts)
			throw std::runtime_error("CAC card: libcacard rejected the options " + args);
		if (lib_->init(opts) != emul_ok)
			throw std::runtime_error("CAC card: libcacard could not open the NSS database " + nss_db_dir +
						 " with certificates cert1, cert2, cert3");
		reader_ = lib_->reader_by_name(reader_name);
		if (!reader_ || lib_->card_present(reader_) != reader_ok)
			throw std::runtime_error("CAC card: no card in libcacard's reader (certificates cert1..3 and "
						 "their keys in " + nss_db_dir + "?)");
	} catch (...) {
		if (reader_ && lib_)
			lib_->reader_free(reader_);
		instance_alive = false;
		throw;
	}
}

CacCard::~CacCard()
{
	if (reader_)
		lib_->reader_free(reader_);
	instance_alive = false;
}

vcard::Bytes CacCard::atr() const
{
	unsigned char buf[max_atr];
	int len = sizeof buf;
	lib_->get_atr(nullptr, buf, &len);
	return vcard::Bytes(buf, buf + len);
}

void CacCard::power_on()
{
	if (lib_->power_on(reader_, nullptr, nullptr) != reader_ok)
		throw std::runtime_error("CAC card: power on failed");
	powered_ = true;
}

void CacCard::power_off()
{
	lib_->power_off(reader_);
	powered_ = false;
}

void CacCard::reset()
{
	power_off();
	power_on();
}

vcard::Bytes CacCard::process(const vcard::Bytes &command)
{
	vcard::Bytes in = command;
	vcard::Bytes out(65538);
	int out_len = static_cast<int>(out.size());
	if (lib_->xfr(reader_, in.data(), static_cast<int>(in.size()), out.data(), &out_len) != reader_ok)
		throw std::runtime_error("CAC card: libcacard transfer failed");
	out.resize(static_cast<std::size_t>(out_len));
	return out;
}

} // namespace vpcd
