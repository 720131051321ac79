## src/vcard/local.mk — component fragment (see Makefile.am)
