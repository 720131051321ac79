## src/vpcd/local.mk — component fragment (see Makefile.am)
