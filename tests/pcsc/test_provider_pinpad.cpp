// SPDX-License-Identifier: LGPL-2.1-or-later
// libvpcsc PIN-pad readers ("pinpad" in a scenario reader): the PC/SC part 10
// feature list and properties, FEATURE_VERIFY_PIN_DIRECT (PIN insertion in
// binary/BCD/ASCII formats, what reaches the card, keypad cancel/timeout,
// malformed structures), the SCardTransmit rules it shares, plain readers
// unchanged, scenario validation. No OpenSC here: the exact APDU the card
// received is proven by scripted cards that answer a distinct marker for each
// exact command and 63C0 for any other VERIFY.
#include <cstddef>
#include <string>
#include <vector>

#include "common.hpp"

using namespace vpcsc_test;

namespace {

using Bytes = std::vector<std::uint8_t>;

// The CCID driver's control codes: SCARD_CTL_CODE(0x330000 + feature).
constexpr DWORD ioctl_verify_pin_direct = 0x42330006;
constexpr DWORD ioctl_ifd_pin_properties = 0x4233000A;
constexpr DWORD ioctl_get_tlv_properties = 0x42330012;
constexpr DWORD ioctl_modify_pin_direct = 0x42330007;

const char *pad_scenario = R"({
  "readers": [
    {"name": "Pad", "card": "a", "pinpad": {"pin": "123456"}},
    {"name": "Plain", "card": "b"},
    {"name": "Empty Pad", "pinpad": {"pin": "1234", "result": "ok"}}],
  "cards": {
    "a": {"type": "scripted", "responses": [
      {"command": "00200001 08 313233343536FFFF", "response": "01 9000"},
      {"command": "00200001 0A AABB313233343536FFFF", "response": "02 9000"},
      {"command": "00200001 08 FFFF313233343536", "response": "03 9000"},
      {"command": "00200001 08 010203040506FFFF", "response": "04 9000"},
      {"command": "00200001 08 26123456FFFFFFFF", "response": "05 9000"},
      {"command": "00200001 03 123456", "response": "06 9000"},
      {"command": "00200001 06 313233343536", "response": "07 9000"},
      {"command": "00200001 04 FF123456", "response": "08 9000"},
      {"command": "0020*", "response": "63C0"}]},
    "b": {"type": "scripted", "responses": [{"command": "0020*", "response": "9000"}]}}})";

const char *pad_reader = "Pad 00 00";
const char *plain_reader = "Plain 01 00";
const char *empty_pad_reader = "Empty Pad 02 00";

Bytes
hex(const char *text)
{
	Bytes out;
	std::string digits;
	for (const char *p = text; *p; p++)
		if (*p != ' ')
			digits.push_back(*p);
	for (std::size_t i = 0; i + 1 < digits.size(); i += 2)
		out.push_back(static_cast<std::uint8_t>(std::stoul(digits.substr(i, 2), nullptr, 16)));
	return out;
}

// A PIN_VERIFY_STRUCTURE built byte by byte (PC/SC part 10, little-endian
// fields), independently of the provider's parser.
Bytes
verify_structure(std::uint8_t format, std::uint8_t block, std::uint8_t length_format, std::uint8_t min_digits,
		 std::uint8_t max_digits, const Bytes &apdu)
{
	Bytes s = {30,   30,         // bTimerOut, bTimerOut2
		   format, block, length_format,
		   max_digits, min_digits, // wPINMaxExtraDigit 0xMMmm, little endian
		   0x02,                   // bEntryValidationCondition: validation key
		   0x00,                   // bNumberMessage
		   0x00, 0x00,             // wLangId
		   0x00,                   // bMsgIndex
		   0x00, 0x00, 0x00};      // bTeoPrologue
	const std::uint32_t n = apdu.size();
	for (int i = 0; i < 4; i++)
		s.push_back(static_cast<std::uint8_t>((n >> (8 * i)) & 0xFF));
	s.insert(s.end(), apdu.begin(), apdu.end());
	return s;
}

// OpenSC's ASCII block (reader-pcsc.c part10_build_verify_pin_block with
// SC_PIN_CMD_NEED_PADDING, pad_length 8): 0x82, 0x08, 0x00, min 4, max 8.
Bytes
opensc_ascii(const Bytes &apdu)
{
	return verify_structure(0x82, 0x08, 0x00, 4, 8, apdu);
}

struct State {
	SCARDCONTEXT ctx = 0;
};

int
setup(void **state)
{
	if (reset_with(pad_scenario) != 0)
		return -1;
	auto *s = new State;
	if (SCardEstablishContext(SCARD_SCOPE_USER, nullptr, nullptr, &s->ctx) != SCARD_S_SUCCESS) {
		delete s;
		return -1;
	}
	*state = s;
	return 0;
}

int
teardown(void **state)
{
	auto *s = static_cast<State *>(*state);
	SCardReleaseContext(s->ctx);
	delete s;
	return 0;
}

SCARDCONTEXT
ctx_of(void **state)
{
	return static_cast<State *>(*state)->ctx;
}

SCARDHANDLE
connect(SCARDCONTEXT ctx, const char *reader, DWORD share = SCARD_SHARE_SHARED)
{
	SCARDHANDLE h = 0;
	DWORD proto = 0;
	assert_int_equal(SCardConnect(ctx, reader, share, SCARD_PROTOCOL_T0 | SCARD_PROTOCOL_T1, &h, &proto),
			 SCARD_S_SUCCESS);
	return h;
}

LONG
control(SCARDHANDLE h, DWORD code, const Bytes &in, Bytes &out, DWORD capacity = 258)
{
	out.assign(capacity, 0xEE);
	DWORD returned = 0xDEAD;
	const LONG rv = SCardControl(h, code, in.empty() ? nullptr : in.data(), in.size(), out.data(), capacity,
				     &returned);
	if (rv == SCARD_S_SUCCESS)
		out.resize(returned);
	else
		out.assign(1, static_cast<std::uint8_t>(returned & 0xFF)); // keep the size hint visible
	return rv;
}

void
assert_bytes(const Bytes &got, const Bytes &want)
{
	if (got != want) {
		std::string g, w;
		char b[4];
		for (auto x : got) {
			std::snprintf(b, sizeof b, "%02X ", x);
			g += b;
		}
		for (auto x : want) {
			std::snprintf(b, sizeof b, "%02X ", x);
			w += b;
		}
		print_error("got  %s\nwant %s\n", g.c_str(), w.c_str());
	}
	assert_true(got == want);
}

// Verify through the PIN pad and expect this card response.
void
expect_verify(SCARDHANDLE h, const Bytes &structure, const char *response)
{
	Bytes out;
	assert_int_equal(control(h, ioctl_verify_pin_direct, structure, out), SCARD_S_SUCCESS);
	assert_bytes(out, hex(response));
}

void
test_pinpad_feature_request_lists_ccid_tlvs(void **state)
{
	// The layout this test hard-codes is pcsc-lite's.
	assert_int_equal(offsetof(PIN_VERIFY_STRUCTURE, abData), 19);
	SCARDHANDLE h = connect(ctx_of(state), pad_reader);
	Bytes out;
	assert_int_equal(control(h, CM_IOCTL_GET_FEATURE_REQUEST, {}, out), SCARD_S_SUCCESS);
	assert_bytes(out, hex("06 04 42330006  0A 04 4233000A  12 04 42330012"));
	assert_int_equal(out.size() % sizeof(PCSC_TLV_STRUCTURE), 0);
	assert_int_equal(control(h, ioctl_ifd_pin_properties, {}, out), SCARD_S_SUCCESS);
	assert_bytes(out, hex("0000 07 00")); // wLcdLayout 0 (no display), validation 07, bTimeOut2 0
	assert_int_equal(out.size(), sizeof(PIN_PROPERTIES_STRUCTURE));
	assert_int_equal(control(h, ioctl_get_tlv_properties, {}, out), SCARD_S_SUCCESS);
	// wLcdLayout 0, bTimeOut2 0, bMinPINSize 4, bMaxPINSize 16, bEntryValidationCondition 02 (key),
	// bPPDUSupport 0, dwMaxAPDUDataSize 0 (short APDUs)
	assert_bytes(out, hex("01 02 0000  03 01 00  06 01 04  07 01 10  02 01 02  09 01 00  0A 04 00000000"));
	// too small a buffer: the needed size comes back
	DWORD returned = 0;
	BYTE small[10];
	assert_int_equal(SCardControl(h, CM_IOCTL_GET_FEATURE_REQUEST, nullptr, 0, small, sizeof small, &returned),
			 SCARD_E_INSUFFICIENT_BUFFER);
	assert_int_equal(returned, 18);
	// modify is not advertised and not implemented
	assert_int_equal(control(h, ioctl_modify_pin_direct, {}, out), SCARD_E_UNSUPPORTED_FEATURE);
	// a PIN-pad reader without a card answers the reader-level ioctls on a DIRECT handle
	SCARDHANDLE d = 0;
	DWORD proto = 0;
	assert_int_equal(SCardConnect(ctx_of(state), empty_pad_reader, SCARD_SHARE_DIRECT, 0, &d, &proto),
			 SCARD_S_SUCCESS);
	assert_int_equal(control(d, CM_IOCTL_GET_FEATURE_REQUEST, {}, out), SCARD_S_SUCCESS);
	assert_int_equal(out.size(), 18);
	assert_int_equal(vpcsc_apdus(), 0);
}

void
test_pinpad_plain_reader_has_no_features(void **state)
{
	SCARDHANDLE h = connect(ctx_of(state), plain_reader);
	Bytes out;
	assert_int_equal(control(h, CM_IOCTL_GET_FEATURE_REQUEST, {}, out), SCARD_S_SUCCESS);
	assert_int_equal(out.size(), 0);
	const Bytes s = opensc_ascii(hex("00200001 08 FFFFFFFFFFFFFFFF"));
	assert_int_equal(control(h, ioctl_verify_pin_direct, s, out), SCARD_E_UNSUPPORTED_FEATURE);
	assert_int_equal(control(h, ioctl_get_tlv_properties, {}, out), SCARD_E_UNSUPPORTED_FEATURE);
	assert_int_equal(vpcsc_apdus(), 0);
}

void
test_pinpad_verify_ascii_formats(void **state)
{
	SCARDHANDLE h = connect(ctx_of(state), pad_reader);
	// OpenSC's usual block: ASCII, byte units, position 0, left, 8-byte block, 0xFF padding kept
	expect_verify(h, opensc_ascii(hex("00200001 08 FFFFFFFFFFFFFFFF")), "01 9000");
	// position 2 bytes (0x82 | 2 << 3, OpenSC's pin1.offset 7), Lc 10
	expect_verify(h, verify_structure(0x92, 0x08, 0x00, 4, 8, hex("00200001 0A AABBFFFFFFFFFFFFFFFF")), "02 9000");
	// right justified in the 8-byte block
	expect_verify(h, verify_structure(0x86, 0x08, 0x00, 4, 8, hex("00200001 08 FFFFFFFFFFFFFFFF")), "03 9000");
	// variable length (block size 0) on a case 1 template: Lc is added
	expect_verify(h, verify_structure(0x82, 0x00, 0x00, 4, 8, hex("00200001")), "07 9000");
	assert_int_equal(vpcsc_apdus(), 4);
	assert_int_equal(vpcsc_calls("SCardControl"), 4);
	assert_int_equal(vpcsc_calls("SCardTransmit"), 0);
}

void
test_pinpad_verify_binary_and_bcd_formats(void **state)
{
	SCARDHANDLE h = connect(ctx_of(state), pad_reader);
	// binary: one byte per digit
	expect_verify(h, verify_structure(0x80, 0x08, 0x00, 4, 8, hex("00200001 08 FFFFFFFFFFFFFFFF")), "04 9000");
	// ISO 9564 format 2 as OpenSC builds it for GLP PINs: BCD at bit 8,
	// 8-byte block, 4-bit length field at bit 4 (2N control byte)
	expect_verify(h, verify_structure(0x41, 0x48, 0x04, 4, 8, hex("00200001 08 2FFFFFFFFFFFFFFF")), "05 9000");
	// OpenSC's BCD block: byte units, no padding -> variable length, Lc follows
	expect_verify(h, verify_structure(0x81, 0x00, 0x00, 4, 8, hex("00200001")), "06 9000");
	// BCD right justified in a 4-byte block, the template's padding kept
	expect_verify(h, verify_structure(0x85, 0x04, 0x00, 4, 8, hex("00200001 04 FFFFFFFF")), "08 9000");
	assert_int_equal(vpcsc_apdus(), 4);
}

void
test_pinpad_verify_odd_bcd_pads_with_f_and_returns_card_data(void **)
{
	assert_int_equal(reset_with(R"({"readers": [{"name": "Pad", "card": "a", "pinpad": {"pin": "1234567"}}],
	  "cards": {"a": {"type": "scripted", "responses": [
	    {"command": "00200001 04 1234567F", "response": "CAFE 9000"},
	    {"command": "0020*", "response": "63C0"}]}}})"),
			 0);
	SCARDCONTEXT ctx = 0;
	assert_int_equal(SCardEstablishContext(SCARD_SCOPE_USER, nullptr, nullptr, &ctx), SCARD_S_SUCCESS);
	SCARDHANDLE h = connect(ctx, pad_reader);
	expect_verify(h, verify_structure(0x81, 0x00, 0x00, 4, 8, hex("00200001")), "CAFE 9000");
	// a receive buffer too small for the card's answer
	Bytes out;
	assert_int_equal(control(h, ioctl_verify_pin_direct, verify_structure(0x81, 0x00, 0x00, 4, 8, hex("00200001")),
				 out, 3),
			 SCARD_E_INSUFFICIENT_BUFFER);
	assert_int_equal(out[0], 4);
	SCardReleaseContext(ctx);
}

void
test_pinpad_cancel_and_timeout_send_nothing(void **)
{
	const struct {
		const char *result;
		const char *sw;
	} cases[] = {{"cancel", "6401"}, {"timeout", "6400"}};
	for (const auto &c : cases) {
		const std::string scenario = std::string(R"({"readers": [{"name": "Pad", "card": "a",
		    "pinpad": {"pin": "123456", "result": ")") + c.result + R"("}}],
		    "cards": {"a": {"type": "scripted", "default_response": "9000"}}})";
		assert_int_equal(reset_with(scenario.c_str()), 0);
		SCARDCONTEXT ctx = 0;
		assert_int_equal(SCardEstablishContext(SCARD_SCOPE_USER, nullptr, nullptr, &ctx), SCARD_S_SUCCESS);
		SCARDHANDLE h = connect(ctx, pad_reader);
		expect_verify(h, opensc_ascii(hex("00200001 08 FFFFFFFFFFFFFFFF")), c.sw);
		assert_int_equal(vpcsc_apdus(), 0);
		SCardReleaseContext(ctx);
	}
}

void
test_pinpad_pin_outside_length_limits_answers_6403(void **state)
{
	SCARDHANDLE h = connect(ctx_of(state), pad_reader);
	// the 6-digit PIN against min 8, against max 5, and too long for a 4-byte ASCII block
	expect_verify(h, verify_structure(0x82, 0x08, 0x00, 8, 12, hex("00200001 08 FFFFFFFFFFFFFFFF")), "6403");
	expect_verify(h, verify_structure(0x82, 0x08, 0x00, 4, 5, hex("00200001 08 FFFFFFFFFFFFFFFF")), "6403");
	expect_verify(h, verify_structure(0x82, 0x04, 0x00, 4, 8, hex("00200001 04 FFFFFFFF")), "6403");
	// a 2-bit length field cannot hold 6
	expect_verify(h, verify_structure(0x82, 0x28, 0x10, 4, 8, hex("00200001 09 00FFFFFFFFFFFFFFFF")), "6403");
	assert_int_equal(vpcsc_apdus(), 0);
}

void
test_pinpad_malformed_structures_refused(void **state)
{
	SCARDHANDLE h = connect(ctx_of(state), pad_reader);
	const Bytes good_apdu = hex("00200001 08 FFFFFFFFFFFFFFFF");
	Bytes out;
	std::vector<Bytes> bad;
	bad.push_back(Bytes(10, 0));                                           // shorter than the header
	bad.push_back(opensc_ascii(hex("002000")));                            // APDU shorter than 4 bytes
	Bytes wrong_length = opensc_ascii(good_apdu);
	wrong_length[15] = 12;                                                  // ulDataLength 12, 13 follow
	bad.push_back(wrong_length);
	Bytes trailing = opensc_ascii(good_apdu);
	trailing.push_back(0x00);                                               // one byte more than ulDataLength
	bad.push_back(trailing);
	bad.push_back(verify_structure(0x83, 0x08, 0x00, 4, 8, good_apdu));     // PIN format 11b
	bad.push_back(verify_structure(0x82, 0x08, 0x20, 4, 8, good_apdu));     // RFU bits of bmPINLengthFormat
	bad.push_back(verify_structure(0x82, 0x08, 0x00, 9, 8, good_apdu));     // min above max
	bad.push_back(opensc_ascii(hex("00200001 09 FFFFFFFFFFFFFFFF")));       // Lc 9, 8 data bytes
	bad.push_back(opensc_ascii(hex("00200001 00 FFFF")));                   // extended-length Lc
	bad.push_back(opensc_ascii(hex("00200001 05")));                        // Lc 5 without data
	bad.push_back(verify_structure(0xC2, 0x08, 0x00, 4, 8, good_apdu));     // position byte 8 of 8
	bad.push_back(verify_structure(0x82, 0x48, 0x0F, 4, 8, hex("00200001 01 FF"))); // length field beyond data
	bad.push_back(verify_structure(0x02 | (3 << 3), 0x00, 0x00, 4, 8, hex("00200001"))); // variable block at bit 3
	for (std::size_t i = 0; i < bad.size(); i++) {
		const LONG rv = control(h, ioctl_verify_pin_direct, bad[i], out);
		if (rv != SCARD_E_INVALID_PARAMETER)
			print_error("malformed structure %zu accepted (rv 0x%lx)\n", i, static_cast<unsigned long>(rv));
		assert_int_equal(rv, SCARD_E_INVALID_PARAMETER);
	}
	DWORD returned = 0;
	assert_int_equal(SCardControl(h, ioctl_verify_pin_direct, nullptr, 0, nullptr, 0, &returned),
			 SCARD_E_INVALID_PARAMETER);
	assert_int_equal(vpcsc_apdus(), 0);
	// the handle still works afterwards
	expect_verify(h, opensc_ascii(good_apdu), "01 9000");
}

void
test_pinpad_verify_follows_transmit_rules(void **state)
{
	SCARDCONTEXT ctx = ctx_of(state);
	const Bytes s = opensc_ascii(hex("00200001 08 FFFFFFFFFFFFFFFF"));
	Bytes out;
	SCARDHANDLE h = connect(ctx, pad_reader);
	SCARDHANDLE other = connect(ctx, pad_reader);
	// another handle's transaction
	assert_int_equal(SCardBeginTransaction(other), SCARD_S_SUCCESS);
	assert_int_equal(control(h, ioctl_verify_pin_direct, s, out), SCARD_E_SHARING_VIOLATION);
	expect_verify(other, s, "01 9000"); // the owner may
	assert_int_equal(SCardEndTransaction(other, SCARD_LEAVE_CARD), SCARD_S_SUCCESS);
	// a DIRECT handle on an empty PIN-pad reader: no card to send to
	SCARDHANDLE d = 0;
	DWORD proto = 0;
	assert_int_equal(SCardConnect(ctx, empty_pad_reader, SCARD_SHARE_DIRECT, 0, &d, &proto), SCARD_S_SUCCESS);
	assert_int_equal(control(d, ioctl_verify_pin_direct, s, out), SCARD_W_UNPOWERED_CARD);
	// card removed: the handle learns it as from SCardTransmit
	assert_int_equal(vpcsc_card_remove(0), 0);
	assert_int_equal(control(h, ioctl_verify_pin_direct, s, out), SCARD_W_REMOVED_CARD);
	LONG rv;
	get_serial(h, &rv);
	assert_int_equal(rv, SCARD_W_REMOVED_CARD);
	assert_int_equal(vpcsc_card_insert(0, nullptr), 0);
	DWORD active = 0;
	assert_int_equal(SCardReconnect(h, SCARD_SHARE_SHARED, SCARD_PROTOCOL_T1, SCARD_LEAVE_CARD, &active),
			 SCARD_S_SUCCESS);
	expect_verify(h, s, "01 9000");
	// a reset by somebody else
	assert_int_equal(vpcsc_card_reset(0), 0);
	assert_int_equal(control(h, ioctl_verify_pin_direct, s, out), SCARD_W_RESET_CARD);
	assert_int_equal(SCardReconnect(h, SCARD_SHARE_SHARED, SCARD_PROTOCOL_T1, SCARD_LEAVE_CARD, &active),
			 SCARD_S_SUCCESS);
	// service lost
	assert_int_equal(vpcsc_service_lost(), 0);
	assert_int_equal(control(h, ioctl_verify_pin_direct, s, out), SCARD_E_NO_SERVICE);
	assert_int_equal(control(h, CM_IOCTL_GET_FEATURE_REQUEST, {}, out), SCARD_E_NO_SERVICE);
	assert_int_equal(vpcsc_apdus(), 2);
}

void
test_pinpad_control_faults_apply(void **)
{
	assert_int_equal(reset_with(R"({"readers": [{"name": "Pad", "card": "a", "pinpad": {"pin": "123456"}}],
	  "cards": {"a": {"type": "scripted", "default_response": "9000"}},
	  "faults": {"rules": [{"trigger": {"call": "SCardControl", "nth": 2},
	                        "action": {"type": "return", "code": "SCARD_E_NO_SERVICE"}}]}})"),
			 0);
	SCARDCONTEXT ctx = 0;
	assert_int_equal(SCardEstablishContext(SCARD_SCOPE_USER, nullptr, nullptr, &ctx), SCARD_S_SUCCESS);
	SCARDHANDLE h = connect(ctx, pad_reader);
	const Bytes s = opensc_ascii(hex("00200001 08 FFFFFFFFFFFFFFFF"));
	Bytes out;
	assert_int_equal(control(h, CM_IOCTL_GET_FEATURE_REQUEST, {}, out), SCARD_S_SUCCESS);
	assert_int_equal(control(h, ioctl_verify_pin_direct, s, out), SCARD_E_NO_SERVICE);
	assert_int_equal(vpcsc_apdus(), 0); // the faulted call did not execute
	expect_verify(h, s, "9000");
	assert_int_equal(vpcsc_apdus(), 1);
	assert_int_equal(vpcsc_injections(), 1);
	SCardReleaseContext(ctx);
}

void
test_pinpad_scenario_validation(void **)
{
	const struct {
		const char *pinpad;
		const char *error;
	} cases[] = {
		{R"({"pin": "123456", "pim": 1})", "readers[0].pinpad.pim: unknown field"},
		{R"({})", "readers[0].pinpad.pin: missing"},
		{R"({"pin": 123456})", "readers[0].pinpad.pin: must be a string"},
		{R"({"pin": "123"})", "readers[0].pinpad.pin: must be 4..16 digits"},
		{R"({"pin": "12345678901234567"})", "readers[0].pinpad.pin: must be 4..16 digits"},
		{R"({"pin": "12a4"})", "readers[0].pinpad.pin: must be ASCII digits"},
		{R"({"pin": "1234", "result": "maybe"})", "readers[0].pinpad.result: must be"},
		{R"({"pin": "1234", "result": true})", "readers[0].pinpad.result: must be a string"},
		{R"("123456")", "readers[0].pinpad: must be an object"},
	};
	for (const auto &c : cases) {
		const std::string scenario =
			std::string(R"({"readers": [{"name": "Pad", "pinpad": )") + c.pinpad + "}]}";
		assert_int_equal(vpcsc_reset(scenario.c_str()), -1);
		const char *err = vpcsc_last_error();
		if (err == nullptr || std::strstr(err, c.error) == nullptr)
			print_error("pinpad %s: error \"%s\", want \"%s\"\n", c.pinpad, err ? err : "(null)", c.error);
		assert_non_null(err);
		assert_non_null(std::strstr(err, c.error));
	}
	// boundaries accepted
	assert_int_equal(reset_with(R"({"readers": [{"name": "Pad", "pinpad": {"pin": "0000"}},
	  {"name": "Pad2", "pinpad": {"pin": "1234567890123456", "result": "timeout"}}]})"),
			 0);
	assert_int_equal(reset_with(pad_scenario), 0);
}

} // namespace

int
main()
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_pinpad_feature_request_lists_ccid_tlvs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pinpad_plain_reader_has_no_features, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pinpad_verify_ascii_formats, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pinpad_verify_binary_and_bcd_formats, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pinpad_verify_odd_bcd_pads_with_f_and_returns_card_data, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_pinpad_cancel_and_timeout_send_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pinpad_pin_outside_length_limits_answers_6403, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pinpad_malformed_structures_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pinpad_verify_follows_transmit_rules, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pinpad_control_faults_apply, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pinpad_scenario_validation, setup, teardown),
	};
	return cmocka_run_group_tests(tests, nullptr, nullptr);
}
