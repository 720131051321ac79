// udev_event.cpp — send one udev "add" or "remove" event for a USB interface, as systemd-udevd
// broadcasts it after processing a kernel uevent, to the libudev monitors of the current network
// namespace (pcscd's hotplug thread listens there: udev_monitor_new_from_netlink(udev, "udev")).
//
//   udev-event add|remove DEVPATH [SEQNUM]
//
// DEVPATH is the interface's path below /sys (e.g. /devices/software/reenum/usb1/1-1/1-1:1.0); for
// "add", pcscd reads the USB device's sysfs attributes (idVendor, idProduct, serial, uevent) from
// the parent directory, which the test creates (tests/e2e/reader_replug.sh). Test-only; needs
// CAP_NET_ADMIN in the network namespace (root in the test's namespaces).
//
// Wire format (systemd 252, src/libsystemd/sd-device/device-monitor.c, device_monitor_send_device):
// a monitor_netlink_header ("libudev", magic 0xfeedcafe in network order, header size, offset and
// length of the properties, MurmurHash2 (seed 0) of SUBSYSTEM and DEVTYPE in network order for the
// receivers' BPF filters, tag bloom 0), then the properties as KEY=VALUE strings, each NUL-ended,
// sent to netlink multicast group 2 (MONITOR_GROUP_UDEV). The receiver checks SCM_CREDENTIALS uid 0.
#include <arpa/inet.h>
#include <linux/netlink.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

struct MonitorNetlinkHeader {
	char prefix[8];
	unsigned magic;
	unsigned header_size;
	unsigned properties_off;
	unsigned properties_len;
	unsigned filter_subsystem_hash;
	unsigned filter_devtype_hash;
	unsigned filter_tag_bloom_hi;
	unsigned filter_tag_bloom_lo;
};

// MurmurHash2 by Austin Appleby (public domain), as systemd's src/basic/MurmurHash2.c.
uint32_t murmur2(const std::string &s, uint32_t seed = 0)
{
	const uint32_t m = 0x5bd1e995;
	const int r = 24;
	size_t len = s.size();
	uint32_t h = seed ^ static_cast<uint32_t>(len);
	const auto *data = reinterpret_cast<const unsigned char *>(s.data());
	while (len >= 4) {
		uint32_t k;
		std::memcpy(&k, data, 4);
		k *= m;
		k ^= k >> r;
		k *= m;
		h *= m;
		h ^= k;
		data += 4;
		len -= 4;
	}
	switch (len) {
	case 3:
		h ^= data[2] << 16;
		[[fallthrough]];
	case 2:
		h ^= data[1] << 8;
		[[fallthrough]];
	case 1:
		h ^= data[0];
		h *= m;
	}
	h ^= h >> 13;
	h *= m;
	h ^= h >> 15;
	return h;
}

int usage()
{
	std::fprintf(stderr, "usage: udev-event add|remove DEVPATH [SEQNUM]\n");
	return 2;
}

} // namespace

int main(int argc, char **argv)
{
	if (argc < 3 || argc > 4)
		return usage();
	const std::string action = argv[1], devpath = argv[2];
	if (action != "add" && action != "remove")
		return usage();
	const std::string seqnum = argc == 4 ? argv[3] : "1";
	const std::string subsystem = "usb", devtype = "usb_interface";

	std::vector<std::string> props = {"ACTION=" + action, "DEVPATH=" + devpath, "SUBSYSTEM=" + subsystem,
					  "DEVTYPE=" + devtype, "SEQNUM=" + seqnum, "INTERFACE=11/0/0"};
	std::string nulstr;
	for (const auto &p : props) {
		nulstr += p;
		nulstr.push_back('\0');
	}
	MonitorNetlinkHeader h{};
	std::memcpy(h.prefix, "libudev", 8);
	h.magic = htonl(0xfeedcafe);
	h.header_size = sizeof h;
	h.properties_off = sizeof h;
	h.properties_len = static_cast<unsigned>(nulstr.size());
	h.filter_subsystem_hash = htonl(murmur2(subsystem));
	h.filter_devtype_hash = htonl(murmur2(devtype));

	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_KOBJECT_UEVENT);
	if (fd < 0) {
		std::perror("udev-event: socket");
		return 1;
	}
	sockaddr_nl self{};
	self.nl_family = AF_NETLINK;
	if (bind(fd, reinterpret_cast<sockaddr *>(&self), sizeof self) < 0) {
		std::perror("udev-event: bind");
		close(fd);
		return 1;
	}
	sockaddr_nl dest{};
	dest.nl_family = AF_NETLINK;
	dest.nl_groups = 2; // MONITOR_GROUP_UDEV
	iovec iov[2] = {{&h, sizeof h}, {nulstr.data(), nulstr.size()}};
	msghdr msg{};
	msg.msg_name = &dest;
	msg.msg_namelen = sizeof dest;
	msg.msg_iov = iov;
	msg.msg_iovlen = 2;
	ssize_t n = sendmsg(fd, &msg, 0);
	// As systemd: sending to a multicast group with no listener gives ECONNREFUSED.
	if (n < 0 && errno != ECONNREFUSED) {
		std::perror("udev-event: sendmsg");
		close(fd);
		return 1;
	}
	close(fd);
	return 0;
}
