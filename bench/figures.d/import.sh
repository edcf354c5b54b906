#!/bin/sh
# tlpmesh import: records/s, its ratio to cores x raw sign, write bytes per record (issue 15.4)
exec python3 "$(dirname "$0")/../importbench.py" "$@"
