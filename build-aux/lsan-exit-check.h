/* Force-included (-include) into this project's C sources by build-aux/check-recovery-asan only.
 * The recovery suite runs each case in a forked process that ends with _exit(), which skips
 * LeakSanitizer's at-exit check; this runs the check first, so a leak in a case process is reported
 * (and, with abort_on_error=1, aborts it: the case shows CRASH). */
#ifndef OPENSC_RECOVERY_LSAN_EXIT_CHECK_H
#define OPENSC_RECOVERY_LSAN_EXIT_CHECK_H
#include <unistd.h>
#include <sanitizer/lsan_interface.h>
static inline void lsan_exit_check_(int status)
{
	__lsan_do_leak_check();
	_exit(status);
}
#define _exit lsan_exit_check_
#endif
