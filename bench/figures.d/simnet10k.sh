#!/bin/sh
# simnet 10,000 nodes x 10,000 records (issue 15 point 5), --full only: a run takes minutes.
# simnet_10k_wall_s (<= 180 s), simnet_kib_per_node (peak RSS / nodes, <= 256 KiB),
# simnet_10k_cpu_s (user + system: the figure to compare on a machine others share).
exec python3 - "$@" <<'PY'
import json, os, resource, subprocess, sys
mode, build = sys.argv[1], sys.argv[2]
if mode != "full":
    print("{}")
    sys.exit(0)
p = subprocess.run([os.path.join(build, "tlpmesh-simnet"), "--nodes", "10000", "--degree", "8",
                    "--records", "10000", "--seed", "42", "--baseline", "none", "--json"],
                   capture_output=True, text=True)
if p.returncode != 0:
    sys.exit(f"bench/figures.d/simnet10k.sh: tlpmesh-simnet failed ({p.returncode}): "
             f"{p.stderr.strip()[-300:]}")
r = json.loads(p.stdout)
ru = resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({
    "simnet_10k_wall_s": {"value": round(r["run_seconds"], 1), "limit": 180, "sense": "max"},
    "simnet_kib_per_node": {"value": round(r["memory"]["max_rss_bytes"] / 1024 / r["nodes"]),
                            "limit": 256, "sense": "max"},
    "simnet_10k_cpu_s": {"value": round(ru.ru_utime + ru.ru_stime, 1), "limit": None,
                         "sense": "max"},
    "simnet_10k_oracle_ok": {"value": 1 if r["oracle_ok"] else 0, "limit": 1, "sense": "min"},
}))
PY
