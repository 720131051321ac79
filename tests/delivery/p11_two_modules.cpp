// p11-two-modules [--global] FIRST SECOND: one process that loads two PKCS#11 modules (FIRST with
// RTLD_GLOBAL when --global, so its exported symbols are visible to everything loaded after it),
// initialises both and prints each one's C_GetInfo library description:
//   FIRST: OpenSC smartcard fw (+recovery1) 0.27
//   SECOND: OpenSC smartcard framework 0.27
// With an OpenSC debug_file in OPENSC_CONF, each libopensc context also logs "OpenSC version: ...":
// tests/delivery/test_module.sh reads those lines to see which libopensc code each module ran.
// Exit: 0 both answered; 1 otherwise.
#include <dlfcn.h>

#include <cstdio>
#include <cstring>
#include <string>

#include "pkcs11.h"

namespace {

CK_FUNCTION_LIST_PTR load(const char *path, int flags)
{
	void *h = dlopen(path, RTLD_NOW | flags);
	if (h == nullptr) {
		std::fprintf(stderr, "p11-two-modules: %s: %s\n", path, dlerror());
		return nullptr;
	}
	auto get = reinterpret_cast<CK_C_GetFunctionList>(dlsym(h, "C_GetFunctionList"));
	CK_FUNCTION_LIST_PTR f = nullptr;
	if (get == nullptr || get(&f) != CKR_OK || f == nullptr) {
		std::fprintf(stderr, "p11-two-modules: %s: no function list\n", path);
		return nullptr;
	}
	// dlopen handles are kept for the life of the process on purpose: both modules stay loaded.
	return f;
}

bool describe(const char *label, CK_FUNCTION_LIST_PTR f)
{
	CK_INFO info{};
	CK_RV rv = f->C_GetInfo(&info);
	if (rv != CKR_OK) {
		std::fprintf(stderr, "p11-two-modules: %s: C_GetInfo: 0x%lx\n", label, static_cast<unsigned long>(rv));
		return false;
	}
	std::string d(reinterpret_cast<const char *>(info.libraryDescription), sizeof info.libraryDescription);
	d.erase(d.find_last_not_of(' ') + 1);
	std::printf("%s: %s %u.%u\n", label, d.c_str(), info.libraryVersion.major, info.libraryVersion.minor);
	return true;
}

} // namespace

int main(int argc, char **argv)
{
	int i = 1;
	int first_flags = RTLD_LOCAL;
	if (argc > 1 && std::strcmp(argv[1], "--global") == 0) {
		first_flags = RTLD_GLOBAL;
		i++;
	}
	if (argc - i != 2) {
		std::fprintf(stderr, "usage: p11-two-modules [--global] FIRST SECOND\n");
		return 1;
	}
	CK_FUNCTION_LIST_PTR a = load(argv[i], first_flags);
	if (a == nullptr)
		return 1;
	if (a->C_Initialize(nullptr) != CKR_OK) {
		std::fprintf(stderr, "p11-two-modules: FIRST: C_Initialize failed\n");
		return 1;
	}
	CK_FUNCTION_LIST_PTR b = load(argv[i + 1], RTLD_LOCAL);
	if (b == nullptr)
		return 1;
	if (b->C_Initialize(nullptr) != CKR_OK) {
		std::fprintf(stderr, "p11-two-modules: SECOND: C_Initialize failed\n");
		return 1;
	}
	const bool ok = describe("FIRST", a) && describe("SECOND", b);
	b->C_Finalize(nullptr);
	a->C_Finalize(nullptr);
	return ok ? 0 : 1;
}
