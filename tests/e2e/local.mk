## tests/e2e/local.mk — component fragment (see Makefile.am)
