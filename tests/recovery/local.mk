## tests/recovery/local.mk — component fragment (see Makefile.am)
