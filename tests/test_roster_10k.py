"""A community of 10,000 members over real processes (issue 15, point 2).

Node A creates community `nation` with `tlpmesh community create --members-file`: 9,998 members
from the file (B, C and random keys) and A itself. The roster is chunked (docs/PROTOCOL.md
"Chunked rosters"). Topology: A - B, B - C, B - D; every node trusts A as roster owner; D is not a
member. The roster must reach B and C whole (10,000 members, the same version and id as A's); a
GREEN record for `nation` published on A must reach C, and D must not get it nor the roster, while
a CLEAR record published after it does reach D (so D was reachable all along)."""
import base64
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
from mesh import Mesh, converge, ok  # noqa: E402

COMMUNITY = "nation"
MEMBERS = 10000
# Chunks that do not list a new member are refused by its inbound gate until it holds the one that
# does; the rest then come with the next reconciliation round (LIMIT_RECON_INTERVAL_MS, 60 s).
DEADLINE_S = 240


def roster_of(node):
    r = ok("community", "show", "-c", node.conf, "--json")
    rows = [o for o in r.json_lines() if o["name"] == COMMUNITY]
    return rows[0] if rows else None


def holds(node, rid):
    return rid in node.records()


def main():
    m = Mesh(network="roster-10k")
    a, b, c, d = (m.add(n, f"CERT-{n.upper()}") for n in "abcd")
    m.link("a", "b", "amber", "amber")
    m.link("b", "c", "amber", "amber")
    m.link("b", "d", "amber", "amber")
    for n in (b, c, d):
        n.trust_roster_owner(a.key)
    members = os.path.join(m.tmp.path, "members.txt")
    with open(members, "w") as f:
        f.write("# the constituents of nation\n")
        f.write(f"{b.key}=CERT-B\n{c.key}=CERT-C\n")
        for i in range(MEMBERS - 3):
            f.write(base64.b64encode(os.urandom(32)).decode() + f"=operator {i}\n")
    failed = True
    t0 = time.monotonic()
    try:
        r = ok("community", "create", "-c", a.conf, COMMUNITY, "--members-file", members)
        rid = r.out.strip()
        assert r.err.startswith(f"tlpmesh community create: {MEMBERS} members in "), r
        mine = roster_of(a)
        assert (mine["id"], mine["version"], len(mine["members"])) == (rid, 1, MEMBERS), mine
        m.start()
        m.wait_links()

        def roster_missing():
            gaps = []
            for n in (b, c):
                got = roster_of(n)
                if got is None or (got["id"], len(got["members"])) != (rid, MEMBERS):
                    gaps.append(n.name)
            return f"roster not complete on {gaps}" if gaps else None
        converge(roster_missing, DEADLINE_S, "the 10,000-member roster to reach B and C")
        assert roster_of(c)["members"] == mine["members"]
        t_roster = time.monotonic() - t0

        green = a.publish("domain", "nation-only.example", "green", communities=[COMMUNITY])
        converge(lambda: None if holds(c, green) else "C lacks it", DEADLINE_S,
                 "the community record to reach member C")
        clear = a.publish("domain", "everyone.example", "clear")
        converge(lambda: None if holds(d, clear) else "D lacks it", DEADLINE_S,
                 "the CLEAR record to reach D")
        held = d.records()
        assert green not in held, "non-member D got the community record"
        assert roster_of(d) is None, "non-member D got the roster"
        print(f"roster of {MEMBERS} members at B and C in {t_roster:.1f}s; community record at C,"
              f" not at D")
        for n in m.nodes.values():
            n.stop()
        failed = False
    finally:
        m.close(failed)
    print(f"test_roster_10k: ok in {time.monotonic() - t0:.1f}s")


if __name__ == "__main__":
    main()
