#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# p11test conformance (see p11test_conformance.sh), SM variant fips.
exec bash "$(dirname "$0")/p11test_conformance.sh" fips
