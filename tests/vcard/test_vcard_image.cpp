// SPDX-License-Identifier: LGPL-2.1-or-later
// Card image: round trip, atomic save, autosave, corrupt/unknown images
// refused with the file named and left untouched.
#include "vcard/card_image.hpp"
#include "vcard/epass2003_card.hpp"
#include "vcard/error.hpp"
#include "vcard/hex.hpp"
#include "vcard/sm_host.hpp"

#include <cstdarg>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <dirent.h>
#include <fstream>
#include <memory>
#include <setjmp.h>
#include <sstream>
#include <string>
#include <unistd.h>
extern "C" {
#include <cmocka.h>
}

using namespace vcard;

namespace {

struct Fixture {
	std::string dir;
	std::string path;
};

int setup(void **state)
{
	auto *f = new Fixture;
	char tmpl[] = "/tmp/test_vcard_image.XXXXXX";
	if (!mkdtemp(tmpl))
		return -1;
	f->dir = tmpl;
	f->path = f->dir + "/card.img";
	*state = f;
	return 0;
}

int teardown(void **state)
{
	auto *f = static_cast<Fixture *>(*state);
	if (DIR *d = opendir(f->dir.c_str())) {
		while (dirent *e = readdir(d))
			if (e->d_name[0] != '.')
				unlink((f->dir + "/" + e->d_name).c_str());
		closedir(d);
	}
	rmdir(f->dir.c_str());
	delete f;
	return 0;
}

std::string slurp(const std::string &p)
{
	std::ifstream in(p, std::ios::binary);
	std::stringstream ss;
	ss << in.rdbuf();
	return ss.str();
}

void spit(const std::string &p, const std::string &s)
{
	std::ofstream out(p, std::ios::binary | std::ios::trunc);
	out << s;
}

int count_files(const std::string &dir)
{
	int n = 0;
	if (DIR *d = opendir(dir.c_str())) {
		while (dirent *e = readdir(d))
			if (e->d_name[0] != '.')
				n++;
		closedir(d);
	}
	return n;
}

std::uint16_t run(Card &card, SmHost &host, const char *hex)
{
	Apdu a = parse_apdu(from_hex(hex));
	return host.transmit(card, a).sw;
}

void personalise(Card &card, SmHost &host)
{
	assert_true(host.open(card));
	assert_int_equal(run(card, host, "00E0000028 6226820238008302 3F00 840E656E74657273616665 2D66697073 8502007F 86089090FF90FFFFFFFF"),
		0x9000);
	assert_int_equal(run(card, host, "00E0000018 6216800200108202010083020001 86089090FF90FFFFFFFF"), 0x9000);
	assert_int_equal(run(card, host, "00A40000020001 00"), 0x9000);
	assert_int_equal(run(card, host, "00D6000004 CAFEBABE"), 0x9000);
	assert_int_equal(run(card, host,
				 "80E3000022 0401909698980006FF66 7C4A8D09CA3762AF61E59520943DC26494F8941B00000006"),
		0x9000);
}

void test_image_round_trip_keeps_non_volatile_state(void **state)
{
	auto &f = *static_cast<Fixture *>(*state);
	create_blank_image(f.path, SmVariant::Des, from_hex("A1A2A3A4A5A6A7A8"), CardOptions(), false);
	auto card = open_epass2003_image(f.path);
	card->power_on();
	SmHost host(SmVariant::Des);
	personalise(*card, host);
	card->save();
	auto again = open_epass2003_image(f.path);
	assert_string_equal(again->to_json().dump().c_str(), card->to_json().dump().c_str());
	assert_int_equal(again->variant(), SmVariant::Des);
	assert_string_equal(to_hex(again->serial()).c_str(), "A1A2A3A4A5A6A7A8");
	// volatile state is not part of the image
	again->power_on();
	assert_int_equal(again->security_state(), 0);
	assert_false(again->sm_active());
	SmHost h2(SmVariant::Des);
	assert_true(h2.open(*again));
	Apdu rd = parse_apdu(from_hex("00B0000004"));
	assert_int_equal(run(*again, h2, "00A40000020001 00"), 0x9000);
	SmHost::Response r = h2.transmit(*again, rd);
	assert_int_equal(r.sw, 0x9000);
	assert_string_equal(to_hex(r.data).c_str(), "CAFEBABE");
	assert_int_equal(count_files(f.dir), 1); // no temporary file left behind
}

void test_image_autosave_after_mutation(void **state)
{
	auto &f = *static_cast<Fixture *>(*state);
	create_blank_image(f.path, SmVariant::Aes, from_hex("0102030405060708"), CardOptions(), false);
	const std::string before = slurp(f.path);
	auto card = open_epass2003_image(f.path);
	card->power_on();
	SmHost host(SmVariant::Aes);
	assert_true(host.open(*card));
	assert_string_equal(slurp(f.path).c_str(), before.c_str()); // no mutation, no write
	assert_int_equal(run(*card, host, "00E0000028 6226820238008302 3F00 840E656E74657273616665 2D66697073 8502007F 86089090FF90FFFFFFFF"),
		0x9000);
	assert_false(card->dirty());
	assert_string_not_equal(slurp(f.path).c_str(), before.c_str());
	assert_non_null(open_epass2003_image(f.path)->file_system().mf());
}

void test_image_no_autosave_until_save(void **state)
{
	auto &f = *static_cast<Fixture *>(*state);
	CardOptions o;
	o.autosave = false;
	create_blank_image(f.path, SmVariant::Aes, from_hex("0102030405060708"), o, false);
	const std::string before = slurp(f.path);
	auto card = open_epass2003_image(f.path);
	card->power_on();
	SmHost host(SmVariant::Aes);
	personalise(*card, host);
	assert_true(card->dirty());
	assert_string_equal(slurp(f.path).c_str(), before.c_str());
	card->save();
	assert_false(card->dirty());
	assert_non_null(open_epass2003_image(f.path)->file_system().mf());
}

void expect_refused(const std::string &path, const std::string &content, const char *needle)
{
	spit(path, content);
	bool thrown = false;
	try {
		open_card_image(path);
	} catch (const Error &e) {
		thrown = true;
		const std::string msg = e.what();
		assert_true(msg.find(path) != std::string::npos);
		assert_true(msg.find(needle) != std::string::npos);
	}
	assert_true(thrown);
	assert_string_equal(slurp(path).c_str(), content.c_str());
}

void test_image_corrupt_refused_and_untouched(void **state)
{
	auto &f = *static_cast<Fixture *>(*state);
	create_blank_image(f.path, SmVariant::Aes, from_hex("0102030405060708"), CardOptions(), false);
	std::string good = slurp(f.path);
	expect_refused(f.path, good.substr(0, good.size() / 2), "not JSON");
	expect_refused(f.path, "{\"hello\":1}", "not a vcard image");
	std::string bad_serial = good;
	bad_serial.replace(bad_serial.find("0102030405060708"), 16, "01020304050607");
	expect_refused(f.path, bad_serial, "serial");
	std::string bad_opt = good;
	bad_opt.replace(bad_opt.find("\"autosave\""), 10, "\"autosafe\"");
	expect_refused(f.path, bad_opt, "autosafe");
}

void test_image_unknown_version_refused(void **state)
{
	auto &f = *static_cast<Fixture *>(*state);
	create_blank_image(f.path, SmVariant::Aes, from_hex("0102030405060708"), CardOptions(), false);
	std::string img = slurp(f.path);
	img.replace(img.find("\"version\": 1"), 12, "\"version\": 9");
	expect_refused(f.path, img, "unsupported vcard image version");
}

void test_image_missing_file_named(void **state)
{
	auto &f = *static_cast<Fixture *>(*state);
	try {
		open_card_image(f.dir + "/nope.img");
		fail();
	} catch (const Error &e) {
		assert_true(std::string(e.what()).find("nope.img") != std::string::npos);
	}
}

void test_image_create_refuses_overwrite(void **state)
{
	auto &f = *static_cast<Fixture *>(*state);
	create_blank_image(f.path, SmVariant::Aes, from_hex("0102030405060708"), CardOptions(), false);
	bool thrown = false;
	try {
		create_blank_image(f.path, SmVariant::Fips, from_hex("0102030405060708"), CardOptions(), false);
	} catch (const Error &) {
		thrown = true;
	}
	assert_true(thrown);
	assert_int_equal(open_epass2003_image(f.path)->variant(), SmVariant::Aes);
}

// VCARD_APDU_LOG_CAPACITY: how many APDUs the card keeps in memory (0: none); a bad value is refused
// with the variable named. A card answers while unpowered too (6985), which is enough to log.
void test_image_apdu_log_capacity_from_environment(void **state)
{
	auto &f = *static_cast<Fixture *>(*state);
	create_blank_image(f.path, SmVariant::Aes, from_hex("0102030405060708"), CardOptions(), false);
	const Bytes select = from_hex("00A40000023F00");
	assert_int_equal(open_epass2003_image(f.path)->log().capacity(), ApduLog::kDefaultCapacity);
	setenv(kApduLogCapacityEnv, "0", 1);
	auto none = open_epass2003_image(f.path);
	none->process(select);
	assert_int_equal(none->log().capacity(), 0);
	assert_true(none->log().entries().empty());
	setenv(kApduLogCapacityEnv, "4", 1);
	auto four = open_epass2003_image(f.path);
	for (int i = 0; i < 5; i++)
		four->process(select);
	assert_true(four->log().entries().size() <= 4);
	assert_true(four->log().entries().size() >= 2);
	assert_int_equal(four->log().entries().back().seq, 10); // command + response each, none lost from seq
	setenv(kApduLogCapacityEnv, "12x", 1);
	bool named = false;
	try {
		open_epass2003_image(f.path);
	} catch (const Error &e) {
		named = std::string(e.what()).find(kApduLogCapacityEnv) != std::string::npos;
	}
	unsetenv(kApduLogCapacityEnv);
	assert_true(named);
}

} // namespace

int main()
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_image_round_trip_keeps_non_volatile_state, setup, teardown),
		cmocka_unit_test_setup_teardown(test_image_autosave_after_mutation, setup, teardown),
		cmocka_unit_test_setup_teardown(test_image_no_autosave_until_save, setup, teardown),
		cmocka_unit_test_setup_teardown(test_image_corrupt_refused_and_untouched, setup, teardown),
		cmocka_unit_test_setup_teardown(test_image_unknown_version_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_image_missing_file_named, setup, teardown),
		cmocka_unit_test_setup_teardown(test_image_create_refuses_overwrite, setup, teardown),
		cmocka_unit_test_setup_teardown(test_image_apdu_log_capacity_from_environment, setup, teardown),
	};
	return cmocka_run_group_tests(tests, nullptr, nullptr);
}
