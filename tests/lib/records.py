"""Signed tlpmesh records written independently of the C encoder (docs/PROTOCOL.md "Records":
canonical msgpack, shortest forms, integer keys in order), for the tests and scripts that play a
peer on the wire: tests/test_peer_budgets.py and scripts/soak. Signing is the `cryptography`
package's Ed25519 (python3-cryptography).
"""
import struct

from cryptography.hazmat.primitives import serialization

SIGN_CONTEXT = b"tlpmesh-record-v1\x00"
MAX_BODY = 65535 - 16 - 1  # SESSION_MAX_BODY: a frame less the tag and the type byte
RECORDS = 16  # the gossip message type of RECORDS


def mp(v):
    """Canonical msgpack of uint / str / bytes (bin) / list / dict with int keys (in order)."""
    if isinstance(v, bool):
        raise TypeError("no bools in records")
    if isinstance(v, int):
        assert v >= 0
        if v < 128:
            return bytes([v])
        for tag, fmt, top in ((0xcc, ">B", 1 << 8), (0xcd, ">H", 1 << 16),
                              (0xce, ">I", 1 << 32), (0xcf, ">Q", 1 << 64)):
            if v < top:
                return bytes([tag]) + struct.pack(fmt, v)
    if isinstance(v, str):
        b = v.encode()
        assert len(b) < 256
        hdr = bytes([0xa0 | len(b)]) if len(b) < 32 else b"\xd9" + bytes([len(b)])
        return hdr + b
    if isinstance(v, bytes):
        assert len(v) < 256
        return b"\xc4" + bytes([len(v)]) + v
    if isinstance(v, list):
        assert len(v) < 16
        return bytes([0x90 | len(v)]) + b"".join(mp(x) for x in v)
    if isinstance(v, dict):
        assert len(v) < 16
        return bytes([0x80 | len(v)]) + b"".join(mp(k) + mp(x) for k, x in v.items())
    raise TypeError(type(v))


def raw_pk(sk):
    """The 32 raw bytes of an Ed25519 private key's public half."""
    return sk.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def indicators(sk, itype, values, created, valid_until, tlp=0, recipients=(), confidence=50):
    """Signed indicators of origin sk (sig || body), one for each of values: itype VALUE,
    created and valid until the given ms, TLP level tlp, addressed to recipients (raw keys).
    Only the value differs, so the body around it is encoded once: signing is then most of the
    cost (a flood of 10^5 records is signed in half the time)."""
    fields = {0: 1, 1: 1, 2: raw_pk(sk), 3: created, 4: tlp, 5: [], 6: sorted(recipients),
              16: itype, 17: "", 18: valid_until, 19: confidence, 20: [], 21: ""}
    head = bytes([0x80 | len(fields)]) + b"".join(mp(k) + mp(v) for k, v in fields.items()
                                                   if k < 17) + mp(17)
    tail = b"".join(mp(k) + mp(v) for k, v in fields.items() if k > 17)
    bodies = (head + mp(v) + tail for v in values)
    return [sk.sign(SIGN_CONTEXT + b) + b for b in bodies]


def indicator(sk, itype, value, created, valid_until, tlp=0, recipients=(), confidence=50):
    """One signed indicator (indicators() of one value)."""
    return indicators(sk, itype, [value], created, valid_until, tlp, recipients, confidence)[0]


def records_msgs(recs):
    """RECORDS message bodies (u16 count || (u16 length || signed record)...) holding recs, each
    at most MAX_BODY bytes."""
    out, cur = [], []
    size = 2
    for r in recs:
        if size + 2 + len(r) > MAX_BODY or len(cur) == 0xffff:
            out.append(cur)
            cur, size = [], 2
        cur.append(r)
        size += 2 + len(r)
    if cur:
        out.append(cur)
    return [struct.pack(">H", len(c)) + b"".join(struct.pack(">H", len(r)) + r for r in c)
            for c in out]
