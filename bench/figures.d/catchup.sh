#!/bin/sh
# a new partner's catch-up of N indicators between two real tlpmesh run processes (issue 14.2)
exec python3 "$(dirname "$0")/../catchupbench.py" "$@"
