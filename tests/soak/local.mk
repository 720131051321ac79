## tests/soak/local.mk — the soak driver's smoke test (in TESTS, seconds), and the long runs as their
## own targets (never in make check): make soak (faults, stock vs patched side by side) and make bench
## (no faults, throughput/latency/RSS ratios patched vs stock). See src/soak/README.md.

TESTS += tests/soak/test_soak_smoke.sh tests/soak/test_soak_histogram
check_PROGRAMS += tests/soak/test_soak_histogram
tests_soak_test_soak_histogram_SOURCES = tests/soak/test_soak_histogram.cpp src/soak/latency_histogram.cpp \
	src/soak/fault_kind.cpp
tests_soak_test_soak_histogram_CXXFLAGS = $(AM_CXXFLAGS) $(CMOCKA_CFLAGS)
tests_soak_test_soak_histogram_LDADD = $(CMOCKA_LIBS)
dist_check_SCRIPTS += tests/soak/test_soak_smoke.sh
EXTRA_DIST += tests/soak/common.sh tests/soak/soak.sh tests/soak/bench.sh

# the smoke test runs the driver and personalises a token with vcard-tool + stock pkcs15-init
check_soak_deps = soak-driver$(EXEEXT) libvpcsc.la vcard-tool$(EXEEXT)
tests/soak/test_soak_smoke.log: $(check_soak_deps)

## make soak [SOAK_SECONDS=60] [SOAK_WARMUP=7000] [SOAK_SEED=1] [SOAK_FAULT_EVERY=10] [SOAK_FAULTS=...] [SOAK_TOKEN=image]
SOAK_SECONDS = 60
SOAK_SEED = 1
SOAK_FAULT_EVERY = 10
SOAK_FAULTS = service_lost,service_down_up,service_up_late,card_reset
SOAK_WARMUP = 7000
soak: $(check_soak_deps) opensc
	@$(AM_TESTS_ENVIRONMENT) SOAK_SECONDS='$(SOAK_SECONDS)' SOAK_SEED='$(SOAK_SEED)' \
	SOAK_FAULT_EVERY='$(SOAK_FAULT_EVERY)' SOAK_FAULTS='$(SOAK_FAULTS)' SOAK_WARMUP='$(SOAK_WARMUP)' SOAK_OUT='$(abs_top_builddir)/soak-results' \
	$(BASH) $(srcdir)/tests/soak/soak.sh

## make bench [BENCH_ITERATIONS=2000] [BENCH_ROUNDS=8]
BENCH_ITERATIONS = 2000
BENCH_ROUNDS = 8
bench: $(check_soak_deps) opensc
	@$(AM_TESTS_ENVIRONMENT) BENCH_ITERATIONS='$(BENCH_ITERATIONS)' BENCH_ROUNDS='$(BENCH_ROUNDS)' \
	SOAK_OUT='$(abs_top_builddir)/bench-results' $(BASH) $(srcdir)/tests/soak/bench.sh

.PHONY: soak bench

# the result directories of make soak / make bench (mk/opensc.mk's clean-local runs this)
clean-soak:
	-rm -rf $(abs_top_builddir)/soak-results $(abs_top_builddir)/bench-results $(abs_top_builddir)/soak-real-results
.PHONY: clean-soak
