/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * pcsclite_cardmod.so: an empty shared object with the soname libpcsclite.so.1
 * that depends on libvpcsc. In cardmod (minidriver) mode OpenSC ignores
 * provider_library and dlopens "libpcsclite.so.1"; once this shim is loaded,
 * that dlopen returns it (the dynamic loader matches loaded objects by soname)
 * and OpenSC's dlsym finds the SCard* functions in its dependency, libvpcsc.
 * Used by the cardmod case of test_recovery_libopensc (RECOVERY.md §7.14).
 */
int recovery_pcsclite_cardmod_shim = 1;
