/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libvpcsc inspection and control API. Besides the SCard* functions of
 * pcsc-lite's winscard.h, libvpcsc.so exports these; tests that load the
 * provider with dlopen() (as OpenSC does) fetch them with dlsym() from the
 * same handle, so they see the very instance OpenSC drives.
 *
 * Functions returning int give 0 on success and -1 on error; the error text
 * is then available from vpcsc_last_error() (per thread).
 */
#ifndef VPCSC_H
#define VPCSC_H

#ifdef __cplusplus
extern "C" {
#endif

/* Replace the whole provider state (readers, cards, contexts, handles,
 * counters, fault plan) by a scenario given as JSON text, or by the
 * environment (VPCSC_SCENARIO / VPCSC_SCENARIO_JSON / built-in) if NULL.
 * Call it only while no other thread is inside an SCard* call. */
int vpcsc_reset(const char *scenario_json);

/* Apply one fault action now, e.g. {"type":"service_lost"} or
 * {"type":"card_swap","reader":0,"card":"other"}; it is logged like a
 * plan injection (rule -1). "return" actions need a trigger: use a plan. */
int vpcsc_inject(const char *action_json);
int vpcsc_service_lost(void);
/* ms == 0: down until vpcsc_service_up(). */
int vpcsc_service_down(unsigned long ms);
int vpcsc_service_up(void);
/* End a service_down now, with every card reported card_delay_ms late, as a
 * restarted pcscd lists its readers at once but reports a card only after
 * polling it: until then the reader is empty (SCardConnect: NO_SMARTCARD,
 * GetStatusChange: EMPTY), then the card is inserted (event counter + 1,
 * powered on by the next connect). 0: the card is there at once. No-op while
 * the service is up. card_delay_ms <= 3600000. */
int vpcsc_service_up_late(unsigned long card_delay_ms);
int vpcsc_card_reset(unsigned reader);
int vpcsc_card_remove(unsigned reader);
/* card == NULL: reinsert the card last removed from this reader. */
int vpcsc_card_insert(unsigned reader, const char *card);
int vpcsc_card_swap(unsigned reader, const char *card);

/* Counters. vpcsc_calls() takes an entry point name ("SCardTransmit") and
 * returns -1 for an unknown name. */
long vpcsc_calls(const char *entry_point);
/* How often an entry point returned a code ("SCARD_E_NO_SERVICE",
 * "SCARD_S_SUCCESS"); -1 for an unknown entry point or code name. */
long vpcsc_results(const char *entry_point, const char *code);
long vpcsc_live_contexts(void);
long vpcsc_live_handles(void);
/* Handles of released dead contexts that still answer SCARD_E_NO_SERVICE. */
long vpcsc_zombie_handles(void);
/* Contexts the service lost (service_lost, service_down) that the caller has
 * not released yet, and the handles on them: counted in live_contexts/
 * live_handles too, so live - dead is what still works. */
long vpcsc_dead_contexts(void);
long vpcsc_dead_handles(void);
long vpcsc_open_transactions(void);
long vpcsc_apdus(void);
long vpcsc_injections(void);
/* Command APDUs sent to the cards with this INS in the class of cla: the
 * interindustry class (CLA bit 8 clear) or the proprietary one (CLA 80..FE);
 * secure messaging keeps both in clear. -1 for a value > 255. */
long vpcsc_apdus_by_header(unsigned cla, unsigned ins);
/* The entry point counted at index i by vpcsc_counters ("SCardEstablishContext",
 * ...); NULL past the last one. */
const char *vpcsc_entry_point_name(unsigned i);
/* A consistent snapshot (one lock) of the calls per entry point (calls[i]
 * for entry point i, up to ncalls) and of the command APDUs by class and INS
 * (apdus_by_ins[ins] for the interindustry class, apdus_by_ins[256 + ins]
 * for the proprietary class; up to nins <= 512). Cheap enough to call around
 * every operation. */
int vpcsc_counters(unsigned long long *calls, unsigned long ncalls, unsigned long long *apdus_by_ins,
		   unsigned long nins);

/* All of the above (and per-reader state) as a JSON document; free the
 * string with vpcsc_free(). NULL on error. */
char *vpcsc_stats_json(void);
void vpcsc_free(void *p);

const char *vpcsc_last_error(void);

#ifdef __cplusplus
}
#endif

#endif /* VPCSC_H */
