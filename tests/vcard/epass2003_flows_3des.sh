#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Stock OpenSC flows against the virtual ePass2003, SM variant 3des.
exec bash "$(dirname "$0")/epass2003_flows.sh" 3des
