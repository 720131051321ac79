# shellcheck shell=bash
# A USB token's reader that can be unplugged and plugged in again under Debian's own pcscd 1.9.9,
# inside tests/harness/netns-run (private mount and network namespaces; root). Source after
# tests/harness/lib.sh and harness_init.
#
# pcscd 1.9.9 as Debian builds it (libudev hotplug) never removes a reader from reader.conf.d (its
# SIGUSR1 re-check is a no-op with libudev; doc/reader-reenumeration.md); a reader leaves pcscd's
# list only when udev reports its USB device removed. So this file makes a USB reader:
#   - a private /usr/lib/pcsc/drivers (tmpfs) holding one driver bundle, reenum-usb.bundle, whose
#     Info.plist claims the ePass2003's USB id 096e:0807 and whose library is ifd-usb-shim
#     (src/vpcd/ifd_usb_shim.cpp: forwards to vpcd's libifdvpcd.so, one slot; USB bus B is vpcd's
#     slot B-1, so the token (bus 1) keeps vpcd's first port and a second reader (bus 2) gets another);
#   - a private tmpfs over /sys/devices/software with a made-up USB device and interface
#     (uevent, subsystem link, idVendor, idProduct, serial, bInterfaceNumber) — what libudev reads
#     (pcscd runs with SYSTEMD_DEVICE_VERIFY_SYSFS=0 so that libudev accepts a tmpfs there);
#   - udev "add"/"remove" events for the interface sent to pcscd's libudev monitor on the namespace's
#     netlink (udev-event, src/vpcd/udev_event.cpp), as systemd-udevd sends them after a replug.
# pcscd then adds the reader "ePass2003 (SERIAL) 00 00" (its libudev naming: Info.plist name, the
# USB serial), opens vpcd's port through the shim, and removes the reader (closing vpcd's port, so
# the bridge sees the reader gone) on "remove" — the same code path as a real USB replug.
#
#   usb_reader_setup              before harness_start_pcscd: the driver dir, the fake sysfs, an empty
#                                 reader.conf.d (no static vpcd reader)
#   usb_reader_plug SERIAL [BUS]  create the device (bus number BUS, default 1) and send "add";
#                                 SERIAL "" = no USB serial (the reader name has none)
#   usb_reader_unplug [BUS]       send "remove" for the device on bus BUS (1) and delete it
#   usb_reader_mark, usb_reader_wait_log PATTERN SECONDS   until pcscd.log shows PATTERN (after the mark)
#   usb_reader_wait_poll [SECONDS] until pcscd's polling thread has just polled the reader (the shim
#                                 appends a byte to USB_READER_POLL_LOG at each IFDHICCPresence). A
#                                 "remove" right after a poll makes pcscd's removal wait a whole poll
#                                 period (~0.4 s: EHDestroyEventHandler joins the polling thread, which
#                                 looks at its stop flag only after its sleep), with the reader still
#                                 listed but SCARD_E_READER_UNAVAILABLE to SCardConnect and the card
#                                 handle; without it that window is 0-0.4 s, by the thread's phase.

USB_READER_SYSFS=/sys/devices/software
declare -A USB_READER_DEVPATH=()
USB_READER_SEQNUM=0

usb_reader_shim() { echo "${IFD_USB_SHIM:-${top_builddir:-.}/.libs/libifd-usb-shim.so}"; }
usb_reader_udev_event() { echo "${UDEV_EVENT:-${top_builddir:-.}/udev-event}"; }

usb_reader_setup()
{
	local drv bundle
	[ "${HARNESS_IN_NAMESPACE:-0}" = 1 ] || harness_die "usb_reader_setup outside netns-run"
	[ -r "$(usb_reader_shim)" ] || harness_die "no ifd-usb-shim ($(usb_reader_shim))"
	[ -x "$(usb_reader_udev_event)" ] || harness_die "no udev-event ($(usb_reader_udev_event))"
	# vpcd's driver lives under the directory about to be hidden: keep a copy.
	drv="$HARNESS_DIR/libifdvpcd.so"
	cp "$(harness_vpcd_driver)" "$drv"
	mount -t tmpfs -o mode=0755,size=16m tmpfs /usr/lib/pcsc/drivers
	bundle=/usr/lib/pcsc/drivers/reenum-usb.bundle/Contents
	mkdir -p "$bundle/Linux"
	cp "$(usb_reader_shim)" "$bundle/Linux/libifd-usb-shim.so"
	cat >"$bundle/Info.plist" <<-'PLIST'
		<?xml version="1.0" encoding="UTF-8"?>
		<!DOCTYPE plist PUBLIC "-//Apple Computer//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
		<plist version="1.0">
		<dict>
			<key>CFBundleExecutable</key>
			<string>libifd-usb-shim.so</string>
			<key>CFBundleName</key>
			<string>ifd-usb-shim</string>
			<key>ifdVendorID</key>
			<array><string>0x096E</string></array>
			<key>ifdProductID</key>
			<array><string>0x0807</string></array>
			<key>ifdFriendlyName</key>
			<array><string>Feitian ePass2003</string></array>
		</dict>
		</plist>
	PLIST
	[ -d "$USB_READER_SYSFS" ] || harness_die "no $USB_READER_SYSFS to hold the made-up USB device"
	mount -t tmpfs -o mode=0755,size=1m tmpfs "$USB_READER_SYSFS"
	# libudev disables a udev monitor unless udev runs (/run/udev/control) or /dev is devtmpfs
	# (systemd 252 device-monitor.c:138-158); in a container without either, pretend udev runs, in
	# this mount namespace only.
	if [ ! -e /run/udev/control ] && [ "$(findmnt -n -o FSTYPE /dev 2>/dev/null)" != devtmpfs ]; then
		mkdir -p /run/udev && mount -t tmpfs -o mode=0755,size=64k tmpfs /run/udev && : >/run/udev/control ||
			harness_die "cannot make /run/udev/control for libudev's monitor"
	fi
	# no static reader: the only reader is the USB one
	rm -f "$HARNESS_DIR/reader.conf.d/vpcd"
	export IFD_SHIM_VPCD_DRIVER=$drv IFD_SHIM_VPCD_DEVICE=/dev/null:$HARNESS_VPCD_PORT
	USB_READER_POLL_LOG="$HARNESS_DIR/shim-polls"
	export IFD_SHIM_POLL_LOG=$USB_READER_POLL_LOG
	# libudev (systemd 252, sd-device.c device_set_syspath) refuses a device directory that is not on
	# sysfs unless SYSTEMD_DEVICE_VERIFY_SYSFS=0 (systemd's documented switch, docs/ENVIRONMENT.md):
	# pcscd inherits it, nothing else in pcscd changes.
	export SYSTEMD_DEVICE_VERIFY_SYSFS=0
}

usb_reader_plug()
{
	local serial=$1 bus=${2:-1} dev intf
	dev="$USB_READER_SYSFS/reenum/usb$bus/$bus-1"
	intf="$dev/$bus-1:1.0"
	mkdir -p "$intf"
	printf 'MAJOR=189\nMINOR=%d\nDEVNAME=bus/usb/%03d/002\nDEVTYPE=usb_device\nPRODUCT=96e/807/100\n' \
		$(((bus - 1) * 128 + 1)) "$bus" >"$dev/uevent"
	ln -s ../../../../../bus/usb "$dev/subsystem"
	echo 096e >"$dev/idVendor"
	echo 0807 >"$dev/idProduct"
	[ -z "$serial" ] || echo "$serial" >"$dev/serial"
	printf 'DEVTYPE=usb_interface\nINTERFACE=11/0/0\n' >"$intf/uevent"
	ln -s ../../../../../../bus/usb "$intf/subsystem"
	echo 00 >"$intf/bInterfaceNumber"
	USB_READER_DEVPATH[$bus]=${intf#/sys}
	USB_READER_SEQNUM=$((USB_READER_SEQNUM + 1))
	"$(usb_reader_udev_event)" add "${USB_READER_DEVPATH[$bus]}" "$USB_READER_SEQNUM"
}

usb_reader_unplug()
{
	local bus=${1:-1} dev
	[ -n "${USB_READER_DEVPATH[$bus]:-}" ] || return 0
	USB_READER_SEQNUM=$((USB_READER_SEQNUM + 1))
	"$(usb_reader_udev_event)" remove "${USB_READER_DEVPATH[$bus]}" "$USB_READER_SEQNUM"
	dev=$(dirname "/sys${USB_READER_DEVPATH[$bus]}")
	rm -rf "$(dirname "$dev")"
	unset "USB_READER_DEVPATH[$bus]"
}

# usb_reader_wait_log PATTERN SECONDS: until pcscd.log has a line matching PATTERN beyond what it had
# when usb_reader_mark was called.
usb_reader_mark() { USB_READER_MARK=$(wc -l <"$HARNESS_DIR/pcscd.log"); }
usb_reader_wait_log()
{
	local pattern=$1 s=$2 i
	for ((i = 0; i < s * 20; i++)); do
		tail -n +"$((USB_READER_MARK + 1))" "$HARNESS_DIR/pcscd.log" | grep -q -e "$pattern" && return 0
		sleep 0.05
	done
	return 1
}

usb_reader_wait_poll()
{
	local s=${1:-2} n0 i
	n0=$(stat -c %s "$USB_READER_POLL_LOG" 2>/dev/null || echo 0)
	for ((i = 0; i < s * 200; i++)); do
		[ "$(stat -c %s "$USB_READER_POLL_LOG" 2>/dev/null || echo 0)" -gt "$n0" ] && return 0
		sleep 0.005
	done
	return 1
}
