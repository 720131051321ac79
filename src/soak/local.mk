## src/soak/local.mk — the soak driver (filled by the soak work)
