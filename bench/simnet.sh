#!/bin/sh
# bench/simnet.sh [BUILD_DIR] [NODES] [RECORDS] - DESIGN.md §8 simnet figures: wall time, memory
# per simulated node, bytes received per delivery against record size (gossip and flooding).
set -eu
build=${1:-build}
nodes=${2:-1000}
records=${3:-10000}
out=$(mktemp)
/usr/bin/time -f 'wall %e s, max RSS %M KiB' "$build/tlpmesh-simnet" --nodes "$nodes" --degree 8 \
    --records "$records" --seed 42 --baseline flood --json >"$out" 2>"$out.err" || true
python3 - "$out" "$out.err" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
t = open(sys.argv[2]).read().strip().splitlines()[-1]
print(f"simnet {r['nodes']} nodes x {r['records']} records: {t}")
print(f"  memory per node {r['memory_per_node_bytes']/1024:.0f} KiB (RSS growth / nodes)")
print(f"  bytes received per delivery / record size: gossip {r['rx_per_delivery_over_record_size']:.2f}"
      f" (target <= 1.5), flood {r.get('flood', {}).get('rx_per_delivery_over_record_size', 0):.2f}")
print(f"  oracle ok: {r['oracle_ok']}  result digest {r['result_digest'][:16]}")
PY
rm -f "$out" "$out.err"
