"""An independent tlpmesh initiator: the Noise XX handshake from dissononce (Debian's
python3-dissononce), not our own code, so that a test checks the wire format (docs/PROTOCOL.md
"Channel") against something else. Used by test_channel.py, test_handshake_flood.py and scripts/soak.
"""
import base64
import socket
import struct

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from dissononce.cipher.chachapoly import ChaChaPolyCipher
from dissononce.dh.x25519.x25519 import X25519DH
from dissononce.hash.blake2b import Blake2bHash
from dissononce.processing.handshakepatterns.interactive.XX import XXHandshakePattern
from dissononce.processing.impl.cipherstate import CipherState
from dissononce.processing.impl.handshakestate import HandshakeState
from dissononce.processing.impl.symmetricstate import SymmetricState


def make_hs(prologue, initiator):
    hs = HandshakeState(SymmetricState(CipherState(ChaChaPolyCipher()), Blake2bHash()), X25519DH())
    s = X25519DH().generate_keypair()
    hs.initialize(XXHandshakePattern(), initiator, prologue, s=s)
    return hs, s


def recv_frame(sock):
    def exact(n):
        buf = b""
        while len(buf) < n:
            chunk = sock.recv(n - len(buf))
            if not chunk:
                return None
            buf += chunk
        return buf
    hdr = exact(2)
    return None if hdr is None else exact(struct.unpack(">H", hdr)[0])


def frame(msg):
    return struct.pack(">H", len(msg)) + bytes(msg)


def session(port, node_key, sign_key, network="test-mesh", source=None, timeout=20.0):
    """Runs the tlpmesh handshake and the HELLO exchange against 127.0.0.1:port from source (an
    address to bind, or None). Returns (socket, send cipher, receive cipher) of the open session,
    which the caller owns, or None if the node (whose base64 key is node_key) closed the
    connection first."""
    hs, s = make_hs(b"tlpmesh/1\x00" + network.encode(), True)
    pk = sign_key.public_key().public_bytes(serialization.Encoding.Raw,
                                            serialization.PublicFormat.Raw)
    auth = pk + sign_key.sign(b"tlpmesh-noise-static-v1" + s.public.data)
    src = (source, 0) if source else None
    sock = socket.create_connection(("127.0.0.1", port), timeout=timeout, source_address=src)
    try:
        m1 = bytearray()
        hs.write_message(b"", m1)
        assert len(m1) == 32
        sock.sendall(frame(m1))
        m2 = recv_frame(sock)
        if m2 is None:
            sock.close()
            return None
        assert len(m2) == 192
        payload = bytearray()
        hs.read_message(m2, payload)
        assert len(payload) == 96
        assert base64.b64encode(bytes(payload[:32])).decode() == node_key
        Ed25519PublicKey.from_public_bytes(bytes(payload[:32])).verify(
            bytes(payload[32:]), b"tlpmesh-noise-static-v1" + hs.rs.data)
        m3 = bytearray()
        send_cs, recv_cs = hs.write_message(auth, m3)
        hello = send_cs.encrypt_with_ad(b"", b"\x01\x01\x00\x00\x00\x00")
        sock.sendall(frame(m3) + frame(hello))
        theirs = recv_frame(sock)
        if theirs is None:
            sock.close()
            return None
        pt = recv_cs.decrypt_with_ad(b"", theirs)
        assert pt[0] == 1 and pt[1] == 1 and len(pt) == 6, pt
        return sock, send_cs, recv_cs
    except (ConnectionResetError, BrokenPipeError):
        sock.close()
        return None
    except BaseException:
        sock.close()
        raise


def initiator(port, node_key, sign_key, network="test-mesh", source=None, timeout=20.0):
    """Runs the tlpmesh handshake (session() above). Returns True if the node sent its HELLO,
    False if it closed the connection first."""
    opened = session(port, node_key, sign_key, network, source, timeout)
    if opened is None:
        return False
    opened[0].close()
    return True
