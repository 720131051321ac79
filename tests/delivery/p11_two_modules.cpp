// p11-two-modules ITEM...: loads shared objects into one process, in order, the way applications do,
// and reports what each one's code answers. Items:
//   --module PATH          a PKCS#11 module, dlopen(RTLD_NOW | RTLD_LOCAL) (ssh-pkcs11-helper, p11-kit);
//                          C_Initialize, then C_GetInfo printed as "module N: <description> <major>.<minor>"
//   --global-module PATH   the same with RTLD_GLOBAL (its C_* symbols visible to everything loaded later)
//   --global-lib PATH      a libopensc, dlopen(RTLD_NOW | RTLD_GLOBAL), as if the program were linked with it
//                          (OpenSC's tools are); sc_establish_context() + sc_release_context(), and
//                          "lib N: <sc_get_version()>" printed
// No RTLD_DEEPBIND (OpenSC's own loader uses it, most PKCS#11 hosts do not). With an OpenSC debug_file in
// OPENSC_CONF every libopensc context also logs "OpenSC version: ...": tests/delivery/test_module.sh reads
// those lines to see whose libopensc code each object ran. Exit: 0 every item answered; 1 otherwise.
#include <dlfcn.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "pkcs11.h"

namespace {

void *open_or_report(const char *path, int flags)
{
	void *h = dlopen(path, RTLD_NOW | flags);
	if (h == nullptr)
		std::fprintf(stderr, "p11-two-modules: %s: %s\n", path, dlerror());
	return h; // kept loaded for the life of the process on purpose
}

bool run_module(int n, const char *path, int flags, std::vector<CK_FUNCTION_LIST_PTR> &initialised)
{
	void *h = open_or_report(path, flags);
	if (h == nullptr)
		return false;
	auto get = reinterpret_cast<CK_C_GetFunctionList>(dlsym(h, "C_GetFunctionList"));
	CK_FUNCTION_LIST_PTR f = nullptr;
	if (get == nullptr || get(&f) != CKR_OK || f == nullptr) {
		std::fprintf(stderr, "p11-two-modules: %s: no function list\n", path);
		return false;
	}
	CK_RV rv = f->C_Initialize(nullptr);
	if (rv != CKR_OK) {
		std::fprintf(stderr, "p11-two-modules: module %d (%s): C_Initialize: 0x%lx\n", n, path, static_cast<unsigned long>(rv));
		return false;
	}
	initialised.push_back(f);
	CK_INFO info{};
	rv = f->C_GetInfo(&info);
	if (rv != CKR_OK) {
		std::fprintf(stderr, "p11-two-modules: module %d: C_GetInfo: 0x%lx\n", n, static_cast<unsigned long>(rv));
		return false;
	}
	std::string d(reinterpret_cast<const char *>(info.libraryDescription), sizeof info.libraryDescription);
	d.erase(d.find_last_not_of(' ') + 1);
	std::printf("module %d: %s %u.%u\n", n, d.c_str(), info.libraryVersion.major, info.libraryVersion.minor);
	return true;
}

bool run_lib(int n, const char *path)
{
	void *h = open_or_report(path, RTLD_GLOBAL);
	if (h == nullptr)
		return false;
	using establish_fn = int (*)(void **, const char *);
	using release_fn = int (*)(void *);
	using version_fn = const char *(*)();
	auto establish = reinterpret_cast<establish_fn>(dlsym(h, "sc_establish_context"));
	auto release = reinterpret_cast<release_fn>(dlsym(h, "sc_release_context"));
	auto version = reinterpret_cast<version_fn>(dlsym(h, "sc_get_version"));
	if (establish == nullptr || release == nullptr || version == nullptr) {
		std::fprintf(stderr, "p11-two-modules: %s: not a libopensc\n", path);
		return false;
	}
	void *ctx = nullptr;
	if (establish(&ctx, "p11-two-modules") != 0 || ctx == nullptr) {
		std::fprintf(stderr, "p11-two-modules: lib %d: sc_establish_context failed\n", n);
		return false;
	}
	release(ctx);
	std::printf("lib %d: %s\n", n, version());
	return true;
}

} // namespace

int main(int argc, char **argv)
{
	if (argc < 3 || (argc - 1) % 2 != 0) {
		std::fprintf(stderr, "usage: p11-two-modules {--module|--global-module|--global-lib} PATH ...\n");
		return 1;
	}
	std::vector<CK_FUNCTION_LIST_PTR> initialised;
	bool ok = true;
	for (int i = 1; i + 1 < argc; i += 2) {
		const int n = (i + 1) / 2;
		if (std::strcmp(argv[i], "--module") == 0)
			ok = run_module(n, argv[i + 1], RTLD_LOCAL, initialised) && ok;
		else if (std::strcmp(argv[i], "--global-module") == 0)
			ok = run_module(n, argv[i + 1], RTLD_GLOBAL, initialised) && ok;
		else if (std::strcmp(argv[i], "--global-lib") == 0)
			ok = run_lib(n, argv[i + 1]) && ok;
		else {
			std::fprintf(stderr, "p11-two-modules: unknown item %s\n", argv[i]);
			return 1;
		}
	}
	for (auto it = initialised.rbegin(); it != initialised.rend(); ++it)
		(*it)->C_Finalize(nullptr);
	return ok ? 0 : 1;
}
