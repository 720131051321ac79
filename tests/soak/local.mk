## tests/soak/local.mk — the soak driver's smoke test (in TESTS, seconds), and the long runs as their
## own targets (never in make check): make soak (faults, stock vs patched side by side) and make bench
## (no faults, throughput/latency/RSS ratios patched vs stock). See src/soak/README.md.

TESTS += tests/soak/test_soak_smoke.sh tests/soak/test_soak_histogram
check_PROGRAMS += tests/soak/test_soak_histogram
tests_soak_test_soak_histogram_SOURCES = tests/soak/test_soak_histogram.cpp src/soak/latency_histogram.cpp src/soak/apdu_kind.cpp \
	src/soak/fault_kind.cpp
tests_soak_test_soak_histogram_CXXFLAGS = $(AM_CXXFLAGS) $(CMOCKA_CFLAGS)
tests_soak_test_soak_histogram_LDADD = $(CMOCKA_LIBS)
dist_check_SCRIPTS += tests/soak/test_soak_smoke.sh
EXTRA_DIST += tests/soak/common.sh tests/soak/soak.sh tests/soak/bench.sh tests/soak/chart.sh build-aux/extra-packages

# the smoke test runs the driver and personalises a token with vcard-tool + stock pkcs15-init
check_soak_deps = soak-driver$(EXEEXT) libvpcsc.la vcard-tool$(EXEEXT)
tests/soak/test_soak_smoke.log: $(check_soak_deps)

## make soak and make bench find everything relative to the directory make runs in ($(CURDIR): the top
## build directory), not the one configure recorded, so that a copy of the build tree uses itself. In
## such a copy they build nothing (the objects' dependencies name the original tree): the copy must be
## complete (cp -a of a built tree).
soak_top = $(CURDIR)
soak_relocated = $(filter-out $(abs_top_builddir),$(CURDIR))
soak_srcdir = $(if $(filter $(abs_top_srcdir),$(abs_top_builddir)),$(CURDIR),$(abs_top_srcdir))
soak_deps = $(if $(soak_relocated),,$(check_soak_deps) opensc)
SOAK_ENVIRONMENT = top_srcdir='$(soak_srcdir)' top_builddir='$(soak_top)' \
	OPENSC_STOCK_PREFIX='$(soak_top)/opensc/stock/prefix' OPENSC_PATCHED_PREFIX='$(soak_top)/opensc/patched/prefix' \
	VPCSC_LIBRARY='$(soak_top)/.libs/libvpcsc.so'

## make soak [SOAK_SECONDS=60] [SOAK_WARMUP=500] [SOAK_SEED=1] [SOAK_FAULT_EVERY=10] [SOAK_FAULTS=kinds]
##           [SOAK_FAULT_COUNT=N] [SOAK_READERS=1] [SOAK_SESSIONS=N] [SOAK_POLLER=0|1] [SOAK_TOKEN=image]
SOAK_SECONDS = 60
SOAK_SEED = 1
SOAK_FAULT_EVERY = 10
# empty: the four kinds (and service_outage with SOAK_POLLER=1), see tests/soak/soak.sh
SOAK_FAULTS =
SOAK_WARMUP = 500
SOAK_READERS = 1
SOAK_POLLER = 1
soak: $(soak_deps)
	@$(SOAK_ENVIRONMENT) SOAK_SECONDS='$(SOAK_SECONDS)' SOAK_SEED='$(SOAK_SEED)' \
	SOAK_FAULT_EVERY='$(SOAK_FAULT_EVERY)' SOAK_FAULTS='$(SOAK_FAULTS)' SOAK_WARMUP='$(SOAK_WARMUP)' \
	SOAK_READERS='$(SOAK_READERS)' SOAK_POLLER='$(SOAK_POLLER)' SOAK_OUT='$(soak_top)/soak-results' \
	$(BASH) $(soak_srcdir)/tests/soak/soak.sh

## make bench [BENCH_ITERATIONS=2000] [BENCH_ROUNDS=8]
BENCH_ITERATIONS = 2000
BENCH_ROUNDS = 8
bench: $(soak_deps)
	@$(SOAK_ENVIRONMENT) BENCH_ITERATIONS='$(BENCH_ITERATIONS)' BENCH_ROUNDS='$(BENCH_ROUNDS)' \
	SOAK_OUT='$(soak_top)/bench-results' $(BASH) $(soak_srcdir)/tests/soak/bench.sh

.PHONY: soak bench

# the result directories of make soak / make bench (mk/opensc.mk's clean-local runs this)
clean-soak:
	-rm -rf $(abs_top_builddir)/soak-results $(abs_top_builddir)/bench-results $(abs_top_builddir)/soak-real-results
.PHONY: clean-soak
