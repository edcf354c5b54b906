"""`tlpmesh import` signing on every core (issue 15 point 4): the outcome is exactly that of
importing the values one by one (same records, none twice, held copies not re-published), and a
progress bar with rate and ETA only when stderr is a terminal."""
import os
import pty
import re
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
from tlpm import BIN, NodeTest, init_node, tlpmesh  # noqa: E402

BATCH = 4096  # LIMIT_IMPORT_BATCH: several batches, each signed by several threads
SLOW = 600    # seconds: a loaded 2-core machine, never a timing assertion


def values(n, start=0):
    return [f"h{i}.parallel{i % 7}.example" for i in range(start, start + n)]


class ParallelImportTest(NodeTest):
    def write(self, name, vals):
        path = self.tmp.join(name)
        with open(path, "w") as f:
            f.write("".join(v + "\n" for v in vals))
        return path

    def imp(self, conf, path, tlp="green", timeout=SLOW):
        r = tlpmesh("import", "-c", conf, "--format", "text", "--type", "domain", "--tlp", tlp,
                    path, "--json", timeout=timeout)
        self.assertEqual(r.rc, 0, r)
        return r.json_lines()[0]

    def records(self, conf):
        """(type, value, tlp, communities, recipients) of every live record, as a sorted list:
        ids and created times differ between runs, these must not."""
        r = tlpmesh("list", "-c", conf, "--json", timeout=SLOW)
        self.assertEqual(r.rc, 0, r)
        return sorted((o["type"], o["value"], o["tlp"], tuple(o["communities"]),
                       tuple(o["recipients"])) for o in r.json_lines())

    def test_several_batches_exact_no_duplicate(self):
        n = 2 * BATCH + 300
        vals = values(n)
        self.imp(self.conf, self.write("seed-green.txt", vals[:50]))
        self.imp(self.conf, self.write("seed-amber.txt", vals[50:80]), tlp="amber")
        dups = vals[1000:1100]  # the same indicator later in the input: skipped, counted
        big = self.write("big.txt", vals[:4000] + dups + vals[4000:])
        s = self.imp(self.conf, big)
        self.assertEqual((s["candidates"], s["imported"], s["already_present"]),
                         (n + 100, n - 80, 50))
        self.assertEqual(s["skipped"]["duplicate in input"], 100)
        self.assertEqual(s["skipped"]["already held with a narrower audience"], 30)
        want = sorted([("domain", v, "green", (), ()) for v in vals[:50] + vals[80:]] +
                      [("domain", v, "amber", (), ()) for v in vals[50:80]])
        self.assertEqual(self.records(self.conf), want)
        s = self.imp(self.conf, big)
        self.assertEqual((s["imported"], s["already_present"]), (0, n - 30))
        self.assertEqual(self.records(self.conf), want)

    def test_same_records_as_one_import_per_value(self):
        vals = values(130, start=10**6)  # 130: more than one signer per batch
        one, _ = init_node(self.tmp, "one", "CERT-A")
        for i, v in enumerate(vals):
            self.imp(one, self.write(f"v{i}.txt", [v, vals[0]]))
        s = self.imp(self.conf, self.write("all.txt", vals + vals[:3]))
        self.assertEqual((s["imported"], s["skipped"]["duplicate in input"]), (130, 3))
        self.assertEqual(self.records(self.conf), self.records(one))
        self.assertEqual(len(self.records(one)), 130)

    def run_on_pty(self, path):
        """Runs an import with stderr on a pseudo-terminal; (rc, what the terminal got)."""
        master, slave = pty.openpty()
        p = subprocess.Popen([BIN, "import", "-c", self.conf, "--format", "text", "--type",
                              "domain", "--tlp", "green", path], stdin=subprocess.DEVNULL,
                             stdout=subprocess.DEVNULL, stderr=slave)
        os.close(slave)
        got = b""
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            got += chunk
        os.close(master)
        return p.wait(timeout=SLOW), got.decode()

    def test_progress_bar_on_a_terminal_only(self):
        path = self.write("bar.txt", values(BATCH + 10))
        rc, err = self.run_on_pty(path)
        self.assertEqual(rc, 0, err)
        final = rf"importing \[#{{30}}\] 100% {BATCH + 10}/{BATCH + 10} candidates, \d+/s, " \
                r"ETA 0:00\r?\n"
        self.assertRegex(err, final)
        self.assertIn(f"\rimporting [", err)
        self.assertIn(f"imported {BATCH + 10}, already present 0", err)
        r = tlpmesh("import", "-c", self.conf, "--format", "text", "--type", "domain", "--tlp",
                    "green", path, timeout=SLOW)
        self.assertEqual(r.rc, 0, r)
        self.assertEqual(r.err, f"tlpmesh import: {path}: imported 0, already present "
                                f"{BATCH + 10}, skipped 0, invalid 0\n")


if __name__ == "__main__":
    unittest.main(verbosity=2)
