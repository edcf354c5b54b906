#!/bin/sh
# bench/simnet.sh [BUILD_DIR] [NODES] [RECORDS] [--KNOB VALUE ...] - the simnet figures
# of docs/PERFORMANCE.md:
# wall time of the simulation (and of the whole process with the flood baseline), CPU time,
# memory per simulated node, bytes received per delivery against record size (gossip and
# flooding). Extra knobs go to tlpmesh-simnet (e.g. --resolution 5, --threads 1).
# SIMNET_JSON=FILE keeps the simulator's JSON result there (scripts/bench).
set -eu
build=${1:-build}
nodes=${2:-1000}
records=${3:-10000}
[ $# -ge 3 ] && shift 3 || shift $#
out=$(mktemp)
/usr/bin/time -f 'wall %e s, user %U s, max RSS %M KiB' "$build/tlpmesh-simnet" --nodes "$nodes" \
    --degree 8 --records "$records" --seed 42 --baseline flood --json "$@" >"$out" 2>"$out.err" || true
python3 - "$out" "$out.err" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
t = open(sys.argv[2]).read().strip().splitlines()[-1]
n, m = r['nodes'], r['memory']
d = sum(v['delivered'] for v in r['tlp'].values())
print(f"simnet {n} nodes x {r['records']} records: simulation {r['run_seconds']:.1f} s wall on "
      f"{r['threads']} threads (goal for 1000 x 10,000: < 60 s); whole process incl. the flood "
      f"baseline: {t}; {r['events']} events, {d} deliveries")
print(f"  memory per node {r['memory_per_node_bytes']/1024:.0f} KiB (RSS growth / nodes), "
      f"peak RSS / nodes {m['max_rss_bytes']/1024/n:.0f} KiB; record store tables "
      f"{m['store_bytes_per_node']/1024:.1f} KiB/node, shared record pool {m['pool_bytes']/1024:.0f} KiB")
print(f"  bytes received per delivery / record size: gossip {r['rx_per_delivery_over_record_size']:.2f}"
      f" (target <= 1.5), flood {r.get('flood', {}).get('rx_per_delivery_over_record_size', 0):.2f}")
k = r['rx_per_delivery_by_kind']
print(f"  received per delivery: records {k['records_bytes']:.1f} B ({k['record_copies']:.2f} copies), "
      f"announce {k['announce_bytes']:.1f} B, PRUNE {k['prune_bytes']:.1f} B, framing and sessions "
      f"{k['framing_bytes']:.1f} B ({k['gossip_messages']:.2f} gossip messages)")
print(f"  delay p50/p99 ms {r['delay_ms']['p50']}/{r['delay_ms']['p99']}; "
      f"oracle ok: {r['oracle_ok']}  result digest {r['result_digest'][:16]}")
PY
[ -n "${SIMNET_JSON:-}" ] && cp "$out" "$SIMNET_JSON" # scripts/bench reads the whole result
rm -f "$out" "$out.err"
