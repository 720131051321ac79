## src/pcsc/local.mk — component fragment (see Makefile.am)
