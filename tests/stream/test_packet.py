"""Packet: data, metadata, flags and the retention rule."""

import pytest

from sourcey.stream import FINAL, NO_MODIFY, Packet


def test_fields_and_defaults():
    p = Packet(b"abc")
    assert p.data == b"abc" and p.flags == 0 and p.info is None and p.opaque is None
    assert len(p) == 3 and bytes(p) == b"abc"
    q = Packet(b"x", FINAL | NO_MODIFY, info={"pts": 1}, opaque="app")
    assert q.final and q.no_modify
    assert q.info == {"pts": 1} and q.opaque == "app"
    assert Packet.FINAL == FINAL and Packet.NO_MODIFY == NO_MODIFY


def test_data_must_be_bytes_like():
    with pytest.raises(TypeError, match="bytes-like"):
        Packet("text")
    with pytest.raises(TypeError, match="bytes-like"):
        Packet(None)
    assert Packet(memoryview(b"ab")).data == b"ab"


def test_bytes_are_kept_by_reference_and_retain_copies_mutable_data():
    data = b"immutable"
    p = Packet(data)
    assert p.retain() is p and p.data is data
    buf = bytearray(b"mutable")
    q = Packet(buf)
    assert q.data is buf  # borrowed until retained
    q.retain()
    buf[:] = b"changed"
    assert type(q.data) is bytes and q.data == b"mutable"


def test_copy_keeps_metadata():
    p = Packet(b"a", FINAL, info=1, opaque=2)
    c = p.copy(b"b")
    assert (c.data, c.flags, c.info, c.opaque) == (b"b", FINAL, 1, 2)
    assert p.copy().data is p.data
