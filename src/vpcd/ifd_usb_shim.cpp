// ifd_usb_shim.cpp — an IFD handler that makes vsmartcard's vpcd look like a one-slot USB reader.
//
// pcscd 1.9.9 (Debian, built with libudev hotplug) removes a reader only when udev reports its USB
// device gone; readers from reader.conf.d stay for the daemon's lifetime (tests/e2e/README.md,
// doc/reader-reenumeration.md). To make the reader itself disappear and come back, the test harness
// installs this library as a USB driver bundle (Info.plist with a made-up vendor/product id) in a
// private /usr/lib/pcsc/drivers and sends udev "add"/"remove" events for a made-up USB device
// (tests/e2e/udev-event). pcscd then calls IFDHCreateChannelByName with a USB device name
// ("usb:VVVV/PPPP:libudev:0:/dev/bus/usb/…"), which vpcd cannot parse; this shim forwards every call
// to vpcd's libifdvpcd.so with vpcd's own device name instead, and reports one slot (an ePass2003 is
// a one-slot reader), so the reader is "NAME (SERIAL) 00 00" as a real token's reader would be.
// Each USB bus is one vpcd slot: the device on bus B (…/dev/bus/usb/B/…) is vpcd slot B-1 (port
// base + B-1), whatever reader context pcscd gives it, so a token keeps its vpcd port across replugs
// and a second reader (another bus) does not take it.
//
// Environment (pcscd's): IFD_SHIM_VPCD_DRIVER (default /usr/lib/pcsc/drivers/serial/libifdvpcd.so),
// IFD_SHIM_VPCD_DEVICE (default /dev/null:0x8C7B), IFD_SHIM_POLL_LOG (optional: a file that gets one
// byte appended at each IFDHICCPresence, i.e. each poll of pcscd's polling thread, so that the harness
// can unplug right after a poll: tests/e2e/usb_reader.sh usb_reader_wait_poll). Test-only code: no
// exception leaves a C entry point.
#include <dlfcn.h>
#include <fcntl.h>
#include <unistd.h>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <string>

// ifdhandler.h has no extern "C" guard.
extern "C" {
#include <ifdhandler.h>
}

namespace {

struct Vpcd {
	void *handle = nullptr;
	RESPONSECODE (*create_by_name)(DWORD, LPSTR) = nullptr;
	RESPONSECODE (*create)(DWORD, DWORD) = nullptr;
	RESPONSECODE (*close)(DWORD) = nullptr;
	RESPONSECODE (*get_cap)(DWORD, DWORD, PDWORD, PUCHAR) = nullptr;
	RESPONSECODE (*set_cap)(DWORD, DWORD, DWORD, PUCHAR) = nullptr;
	RESPONSECODE (*set_proto)(DWORD, DWORD, UCHAR, UCHAR, UCHAR, UCHAR) = nullptr;
	RESPONSECODE (*power)(DWORD, DWORD, PUCHAR, PDWORD) = nullptr;
	RESPONSECODE (*transmit)(DWORD, SCARD_IO_HEADER, PUCHAR, DWORD, PUCHAR, PDWORD, PSCARD_IO_HEADER) = nullptr;
	RESPONSECODE (*control)(DWORD, DWORD, PUCHAR, DWORD, PUCHAR, DWORD, LPDWORD) = nullptr;
	RESPONSECODE (*presence)(DWORD) = nullptr;

	~Vpcd()
	{
		if (handle)
			dlclose(handle);
	}
};

Vpcd vpcd;
std::mutex load_mutex;
std::mutex lun_mutex;
std::map<DWORD, DWORD> vpcd_lun; // pcscd's Lun -> the vpcd slot of its USB bus

DWORD slot_of_device(const char *name)
{
	const char *p = name ? std::strstr(name, "/dev/bus/usb/") : nullptr;
	if (!p)
		return 0;
	const unsigned long bus = std::strtoul(p + std::strlen("/dev/bus/usb/"), nullptr, 10);
	return bus >= 1 ? static_cast<DWORD>(bus - 1) : 0;
}

DWORD lun(DWORD Lun)
{
	std::lock_guard<std::mutex> lock(lun_mutex);
	auto it = vpcd_lun.find(Lun);
	return it == vpcd_lun.end() ? (Lun & 0xffff) : it->second;
}

template <typename F> bool bind(F &fn, const char *name)
{
	fn = reinterpret_cast<F>(dlsym(vpcd.handle, name));
	if (!fn)
		std::fprintf(stderr, "ifd-usb-shim: %s missing in vpcd's driver\n", name);
	return fn != nullptr;
}

bool load()
{
	std::lock_guard<std::mutex> lock(load_mutex);
	if (vpcd.handle)
		return true;
	const char *path = std::getenv("IFD_SHIM_VPCD_DRIVER");
	if (!path || !*path)
		path = "/usr/lib/pcsc/drivers/serial/libifdvpcd.so";
	vpcd.handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!vpcd.handle) {
		std::fprintf(stderr, "ifd-usb-shim: cannot load %s: %s\n", path, dlerror());
		return false;
	}
	bool ok = bind(vpcd.create_by_name, "IFDHCreateChannelByName") & bind(vpcd.create, "IFDHCreateChannel") &
		  bind(vpcd.close, "IFDHCloseChannel") & bind(vpcd.get_cap, "IFDHGetCapabilities") &
		  bind(vpcd.set_cap, "IFDHSetCapabilities") & bind(vpcd.set_proto, "IFDHSetProtocolParameters") &
		  bind(vpcd.power, "IFDHPowerICC") & bind(vpcd.transmit, "IFDHTransmitToICC") &
		  bind(vpcd.control, "IFDHControl") & bind(vpcd.presence, "IFDHICCPresence");
	if (!ok) {
		dlclose(vpcd.handle);
		vpcd.handle = nullptr;
	}
	return ok;
}

} // namespace

extern "C" {

RESPONSECODE IFDHCreateChannelByName(DWORD Lun, LPSTR DeviceName)
{
	if (!load())
		return IFD_COMMUNICATION_ERROR;
	const char *env = std::getenv("IFD_SHIM_VPCD_DEVICE");
	std::string device = (env && *env) ? env : "/dev/null:0x8C7B";
	const DWORD slot = slot_of_device(DeviceName);
	std::fprintf(stderr, "ifd-usb-shim: %s -> vpcd %s slot %lu\n", DeviceName ? DeviceName : "(null)", device.c_str(),
		     static_cast<unsigned long>(slot));
	{
		std::lock_guard<std::mutex> lock(lun_mutex);
		vpcd_lun[Lun] = slot;
	}
	const RESPONSECODE rv = vpcd.create_by_name(slot, device.data());
	if (rv != IFD_SUCCESS) {
		std::lock_guard<std::mutex> lock(lun_mutex);
		vpcd_lun.erase(Lun);
	}
	return rv;
}

RESPONSECODE IFDHCreateChannel(DWORD Lun, DWORD Channel)
{
	return load() ? vpcd.create(lun(Lun), Channel) : IFD_COMMUNICATION_ERROR;
}

RESPONSECODE IFDHCloseChannel(DWORD Lun)
{
	if (!load())
		return IFD_COMMUNICATION_ERROR;
	const RESPONSECODE rv = vpcd.close(lun(Lun));
	std::lock_guard<std::mutex> lock(lun_mutex);
	vpcd_lun.erase(Lun);
	return rv;
}

RESPONSECODE IFDHGetCapabilities(DWORD Lun, DWORD Tag, PDWORD Length, PUCHAR Value)
{
	if (!load())
		return IFD_COMMUNICATION_ERROR;
	if (Tag == TAG_IFD_SLOTS_NUMBER) {
		// One slot: the reader of a USB token.
		if (!Length || *Length < 1 || !Value)
			return IFD_ERROR_INSUFFICIENT_BUFFER;
		*Length = 1;
		Value[0] = 1;
		return IFD_SUCCESS;
	}
	if (Tag == TAG_IFD_SIMULTANEOUS_ACCESS) {
		// Readers of this driver at once (as libccid answers): one per vpcd slot (two by default).
		if (!Length || *Length < 1 || !Value)
			return IFD_ERROR_INSUFFICIENT_BUFFER;
		*Length = 1;
		Value[0] = 2;
		return IFD_SUCCESS;
	}
	return vpcd.get_cap(lun(Lun), Tag, Length, Value);
}

RESPONSECODE IFDHSetCapabilities(DWORD Lun, DWORD Tag, DWORD Length, PUCHAR Value)
{
	return load() ? vpcd.set_cap(lun(Lun), Tag, Length, Value) : IFD_COMMUNICATION_ERROR;
}

RESPONSECODE IFDHSetProtocolParameters(DWORD Lun, DWORD Protocol, UCHAR Flags, UCHAR PTS1, UCHAR PTS2, UCHAR PTS3)
{
	return load() ? vpcd.set_proto(lun(Lun), Protocol, Flags, PTS1, PTS2, PTS3) : IFD_COMMUNICATION_ERROR;
}

RESPONSECODE IFDHPowerICC(DWORD Lun, DWORD Action, PUCHAR Atr, PDWORD AtrLength)
{
	return load() ? vpcd.power(lun(Lun), Action, Atr, AtrLength) : IFD_COMMUNICATION_ERROR;
}

RESPONSECODE IFDHTransmitToICC(DWORD Lun, SCARD_IO_HEADER SendPci, PUCHAR TxBuffer, DWORD TxLength, PUCHAR RxBuffer,
			       PDWORD RxLength, PSCARD_IO_HEADER RecvPci)
{
	return load() ? vpcd.transmit(lun(Lun), SendPci, TxBuffer, TxLength, RxBuffer, RxLength, RecvPci)
		      : IFD_COMMUNICATION_ERROR;
}

RESPONSECODE IFDHControl(DWORD Lun, DWORD dwControlCode, PUCHAR TxBuffer, DWORD TxLength, PUCHAR RxBuffer,
			 DWORD RxLength, LPDWORD pdwBytesReturned)
{
	return load() ? vpcd.control(lun(Lun), dwControlCode, TxBuffer, TxLength, RxBuffer, RxLength, pdwBytesReturned)
		      : IFD_COMMUNICATION_ERROR;
}

RESPONSECODE IFDHICCPresence(DWORD Lun)
{
	const RESPONSECODE rv = load() ? vpcd.presence(lun(Lun)) : IFD_COMMUNICATION_ERROR;
	const char *poll_log = std::getenv("IFD_SHIM_POLL_LOG");
	if (poll_log && *poll_log) {
		// after the poll: pcscd's polling thread now sleeps a whole period before it looks again
		const int fd = open(poll_log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
		if (fd >= 0) {
			if (write(fd, "p", 1) != 1) {
				// nothing to do: the harness then waits for the next poll
			}
			close(fd);
		}
	}
	return rv;
}

} // extern "C"
