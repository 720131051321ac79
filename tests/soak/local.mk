## tests/soak/local.mk — soak smoke test and make soak / make bench (filled by the soak work)
