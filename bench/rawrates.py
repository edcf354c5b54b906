"""bench/rawrates.py - the raw Ed25519 rates a hook divides by, measured by tlpmesh-bench in the
hook's own run (the machine's load moves between scripts/bench's benches; a ratio is only fair to
a rate taken beside it). Shared by bench/importbench.py and bench/catchupbench.py."""
import os
import re
import subprocess
import sys


def raw_rates(build, who):
    """(cores, raw verify per s on 1 core, raw sign per s on 1 core); exits naming who on failure."""
    for _ in range(3):  # its ingest row sometimes ends the session on a budget (20,000 records: often)
        p = subprocess.run([os.path.join(build, "tlpmesh-bench"), "--records", "10000",
                            "--recon-sizes", "", "--cidr-ranges", "0"], capture_output=True,
                           text=True)
        if p.returncode == 0:
            break
    cores = re.search(r"(\d+) cores", p.stdout)
    verify = re.search(r"^raw Ed25519 verify, 1 core\s+(\d+)", p.stdout, re.M)
    sign = re.search(r"^raw Ed25519 sign, 1 core\s+(\d+)", p.stdout, re.M)
    if p.returncode != 0 or not cores or not verify or not sign:
        print(f"{who}: tlpmesh-bench failed ({p.returncode}): {p.stderr.strip()[-300:]}",
              file=sys.stderr)
        sys.exit(1)
    return int(cores.group(1)), float(verify.group(1)), float(sign.group(1))
