// opensc-p11-info MODULE: load a PKCS#11 module, call C_GetInfo and print its fields, one per line:
//   cryptoki=3.0
//   manufacturer=OpenSC Project
//   description=OpenSC smartcard fw (+recovery1)
//   version=0.27
// The installer (build-aux/opensc-recovery-install) uses it to tell an OpenSC module (manufacturer
// "OpenSC Project") and the fork (description with "+recovery") from anything else.
// Exit: 0 printed; 2 usage; 3 cannot load; 4 not a PKCS#11 module (no C_GetFunctionList); 5 a PKCS#11
// call failed (the CKR is printed).
#include <dlfcn.h>

#include <cstdio>
#include <memory>
#include <string>

#include "pkcs11.h"

namespace {

struct DlClose {
	void operator()(void *h) const
	{
		if (h != nullptr)
			dlclose(h);
	}
};

std::string field(const unsigned char *p, size_t n)
{
	std::string s(reinterpret_cast<const char *>(p), n);
	const auto end = s.find_last_not_of(" \t");
	return end == std::string::npos ? std::string() : s.substr(0, end + 1);
}

} // namespace

int main(int argc, char **argv)
{
	if (argc != 2) {
		std::fprintf(stderr, "usage: opensc-p11-info MODULE\n");
		return 2;
	}
	std::unique_ptr<void, DlClose> lib(dlopen(argv[1], RTLD_NOW | RTLD_LOCAL));
	if (!lib) {
		std::fprintf(stderr, "opensc-p11-info: cannot load %s: %s\n", argv[1], dlerror());
		return 3;
	}
	auto get_list = reinterpret_cast<CK_C_GetFunctionList>(dlsym(lib.get(), "C_GetFunctionList"));
	if (get_list == nullptr) {
		std::fprintf(stderr, "opensc-p11-info: %s: no C_GetFunctionList (not a PKCS#11 module)\n", argv[1]);
		return 4;
	}
	CK_FUNCTION_LIST_PTR f = nullptr;
	CK_RV rv = get_list(&f);
	if (rv != CKR_OK || f == nullptr) {
		std::fprintf(stderr, "opensc-p11-info: %s: C_GetFunctionList: CKR 0x%lx\n", argv[1], static_cast<unsigned long>(rv));
		return 5;
	}
	rv = f->C_Initialize(nullptr);
	if (rv != CKR_OK && rv != CKR_CRYPTOKI_ALREADY_INITIALIZED) {
		std::fprintf(stderr, "opensc-p11-info: %s: C_Initialize: CKR 0x%lx\n", argv[1], static_cast<unsigned long>(rv));
		return 5;
	}
	CK_INFO info{};
	rv = f->C_GetInfo(&info);
	f->C_Finalize(nullptr);
	if (rv != CKR_OK) {
		std::fprintf(stderr, "opensc-p11-info: %s: C_GetInfo: CKR 0x%lx\n", argv[1], static_cast<unsigned long>(rv));
		return 5;
	}
	std::printf("cryptoki=%u.%u\n", info.cryptokiVersion.major, info.cryptokiVersion.minor);
	std::printf("manufacturer=%s\n", field(info.manufacturerID, sizeof info.manufacturerID).c_str());
	std::printf("description=%s\n", field(info.libraryDescription, sizeof info.libraryDescription).c_str());
	std::printf("version=%u.%u\n", info.libraryVersion.major, info.libraryVersion.minor);
	return 0;
}
