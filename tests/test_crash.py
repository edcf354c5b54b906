"""Crash safety at random moments (issue 12 point 5): node a is killed with SIGKILL at random
moments (seeded; the seed is printed, TLPMESH_CRASH_SEED replays it) in three kinds of work, in
turn:

  import   `tlpmesh import` writes into a's store while a runs; a and the import are killed
  ingest   b imports records and pushes them to a; a is killed while it verifies and commits
  recon    a was stopped while b got records; a starts, reconciles, and is killed

After every kill, before a restarts: `tlpmesh check-store` finds the store sound (every record,
every index entry), every record an import reported done is there, and every record of a's that
b holds is there (a forwards nothing it has not committed). At the end a and b re-sync: both hold
exactly the same records, all that b's imports reported done included.
"""
import json
import os
import random
import signal
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
from mesh import BIN, Mesh, ok  # noqa: E402
from tlpm import tlpmesh, wait_for  # noqa: E402


def asan_build():
    r = subprocess.run(["ldd", BIN], capture_output=True, text=True)
    return "libasan" in r.stdout


ROUNDS = 21  # 7 of each kind
CHUNK = 200 if asan_build() else 600  # records per round: an import commits 512 at a time
WINDOW_S = 1.5 if asan_build() else 0.8  # the random moment falls in [0, WINDOW_S)


class CrashAtRandomMoments(unittest.TestCase):
    def setUp(self):
        self.seed = int(os.environ.get("TLPMESH_CRASH_SEED", random.randrange(1 << 32)))
        print(f"crash test seed {self.seed} (TLPMESH_CRASH_SEED={self.seed} replays it)",
              file=sys.stderr)
        self.rng = random.Random(self.seed)
        self.mesh = Mesh()
        self.failed = True

    def tearDown(self):
        self.mesh.close(self.failed)

    def values_file(self, tag, n):
        path = self.mesh.tmp.join(f"{tag}.txt")
        with open(path, "w") as f:
            for i in range(n):
                f.write(f"{tag}-{i}.crash.example\n")
        return path

    def import_cmd(self, node, path):
        return [BIN, "import", "-c", node.conf, "--format", "text", "--type", "domain",
                "--tlp", "green", path]

    def values(self, node):
        r = ok("list", "-c", node.conf, "--all", "--json")
        return {o["value"]: o for o in r.json_lines()}

    def moment(self):
        time.sleep(self.rng.uniform(0, WINDOW_S))  # the fault injector's random moment

    def after_kill(self, a, b, acked):
        r = tlpmesh("check-store", "-c", a.conf, "--json", timeout=120)
        self.assertEqual(r.rc, 0, f"check-store after a kill: {r.out} {r.err}")
        report = json.loads(r.out)
        self.assertEqual(report["problems"], 0, report)
        have = self.values(a)
        missing = acked - set(have)
        self.assertEqual(missing, set(), f"{len(missing)} acknowledged records lost")
        forwarded = {v for v, o in self.values(b).items() if o["origin"] == a.key}
        self.assertEqual(forwarded - set(have), set(), "b holds records of a that a lost")
        return report["records"]

    def restart(self, a):
        a.start()
        wait_for(lambda: a.answering(), timeout=60, what="a's control socket")

    def test_kill9_at_random_moments(self):
        a = self.mesh.add("a", "CERT-A")
        b = self.mesh.add("b", "CERT-B")
        self.mesh.link("a", "b", "green", "green")
        self.mesh.start()
        self.mesh.wait_links()
        acked_a, acked_b, kills = set(), set(), []
        for k in range(ROUNDS):
            kind = ("import", "ingest", "recon")[k % 3]
            tag = f"r{k}"
            path = self.values_file(tag, CHUNK)
            values = {f"{tag}-{i}.crash.example" for i in range(CHUNK)}
            if kind == "import":
                p = subprocess.Popen(self.import_cmd(a, path), stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
                self.moment()
                p.send_signal(signal.SIGKILL)
                a.kill9()
                if p.wait() == 0:  # it finished before the kill: it said done
                    acked_a |= values
            elif kind == "ingest":
                ok(*self.import_cmd(b, path)[1:], timeout=120)
                acked_b |= values
                self.moment()
                a.kill9()
            else:
                a.stop()
                ok(*self.import_cmd(b, path)[1:], timeout=120)
                acked_b |= values
                self.restart(a)
                self.moment()
                a.kill9()
            records = self.after_kill(a, b, acked_a)
            kills.append((kind, records))
            self.restart(a)
        print(f"{len(kills)} kills: " + ", ".join(f"{k} ({n} records after)" for k, n in kills),
              file=sys.stderr)

        def synced():
            va, vb = set(self.values(a)), set(self.values(b))
            if va == vb and acked_a | acked_b <= va:
                return None
            return f"a lacks {len(vb - va)}, b lacks {len(va - vb)}"
        from mesh import converge
        converge(synced, timeout=120, what="a and b to re-sync", interval=0.5)
        r = tlpmesh("check-store", "-c", b.conf)
        self.assertEqual(r.rc, 0, r.out)
        self.failed = False


if __name__ == "__main__":
    unittest.main(verbosity=2)
