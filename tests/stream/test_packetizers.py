"""ChunkedPacketizer and MultipartPacketizer: their framing, parsed back with
sourcey.http.parse and a strict multipart reader, in a stream and into a real
sourcey.http response (ResponseSink)."""

from __future__ import annotations

import http.client
import socket
import threading

import pytest
from multipartlib import MultipartReader, boundary_of

from sourcey import uv
from sourcey.http import Server, parse
from sourcey.net import TCPServer
from sourcey.stream import (
    FINAL,
    NO_MODIFY,
    Broadcaster,
    ChunkedPacketizer,
    MultipartPacketizer,
    Packet,
    PacketStream,
    ResponseSink,
    SocketSink,
)
from sourcey.stream.chunked import LAST_CHUNK, chunk

PAYLOADS = [b"a", bytearray(b"hello world"), b"", b"\r\n0\r\n\r\n--x--\r\n", bytes(range(256)) * 70]


def run_stream(processor, payloads, last_flags=FINAL):
    """Write ``payloads`` (the last one with ``last_flags``) through ``processor``;
    return what the emitter got."""
    s = PacketStream("framing")
    s.attach(processor)
    out = []
    s.emitter += out.append
    s.start()
    for i, data in enumerate(payloads):
        s.write(data, last_flags if i == len(payloads) - 1 else 0, {"seq": i})
    s.close()
    return out


# --- chunked ----------------------------------------------------------------------------


def test_chunk_framing():
    assert chunk(b"abc") == b"3\r\nabc\r\n"
    assert chunk(bytearray(b"x" * 255)) == b"ff\r\n" + b"x" * 255 + b"\r\n"
    assert chunk(b"") == b""
    assert chunk(b"", final=True) == LAST_CHUNK
    assert chunk(b"ab", final=True) == b"2\r\nab\r\n0\r\n\r\n"


def test_chunked_stream_parses_back_split_anywhere():
    out = run_stream(ChunkedPacketizer(), PAYLOADS)
    assert [p.info for p in out] == [{"seq": i} for i in range(len(PAYLOADS))]
    assert out[-1].flags & FINAL and not out[0].flags & FINAL
    assert all(type(p.data) is bytes for p in out)
    body = b"".join(p.data for p in out)
    wire = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + body
    expected = b"".join(bytes(d) for d in PAYLOADS)
    for cut in (1, 7, len(wire) // 2):
        pieces = [wire[i:i + cut] for i in range(0, len(wire), cut)]
        (msg,) = parse("response", pieces, eof=False)
        assert msg.body == expected
    # before the FINAL packet's last chunk, the body has not ended
    assert parse("response", [wire[:-len(LAST_CHUNK)]], eof=False) == []


def test_chunked_final_empty_packet_is_the_last_chunk_alone():
    out = run_stream(ChunkedPacketizer(), [b"abc", b""])
    assert [p.data for p in out] == [b"3\r\nabc\r\n", LAST_CHUNK]


def test_no_modify_packets_pass_the_packetizer_unframed():
    s = PacketStream("raw")
    s.attach(ChunkedPacketizer())
    out = []
    s.emitter += lambda p: out.append(p.data)
    s.start()
    s.write(b"framed")
    s.write(b"as is", NO_MODIFY)
    s.close()
    assert out == [b"6\r\nframed\r\n", b"as is"]


def test_chunked_packetizer_over_raw_socket_sinks(loop, runner):
    """HTTP framed by hand on sourcey.net connections: the head written by the
    application, the body by a Broadcaster with a ChunkedPacketizer."""
    payloads = [b"alpha", bytearray(b"beta" * 5000), b"", b"omega"]
    bc = Broadcaster(packetizer=ChunkedPacketizer())
    sinks = []

    def on_accept(conn):
        conn.Error += lambda s, exc: None       # the client's close after ours
        conn.send(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
        sinks.append(SocketSink(conn))
        bc.add(sinks[-1])
        if len(sinks) == 2:
            server.close()
            for i, data in enumerate(payloads):
                bc.broadcast(Packet(data, FINAL if i == len(payloads) - 1 else 0))

    server = TCPServer("127.0.0.1", 0, on_accept, loop=loop)
    port = server.address.port
    got = []

    def client():
        with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
            data = b""
            while piece := s.recv(65536):
                data += piece
        got.append(data)

    threads = [threading.Thread(target=client) for _ in range(2)]
    for t in threads:
        t.start()
    runner.run(loop, 10)
    for t in threads:
        t.join(10)
    assert len(got) == 2 and all(s.closed for s in sinks) and bc.clients == []
    for wire in got:
        (msg,) = parse("response", [wire])
        assert msg.body == b"".join(bytes(p) for p in payloads)
        assert wire.endswith(b"5\r\nomega\r\n0\r\n\r\n")


# --- multipart --------------------------------------------------------------------------


def test_multipart_stream_parses_back_part_by_part():
    mp = MultipartPacketizer("image/jpeg")
    payloads = PAYLOADS + [b"--" + mp.boundary.encode() + b"-not-quite"]
    out = run_stream(mp, payloads)
    reader = MultipartReader(boundary_of(mp.content_type))
    parts = []
    for p in out:                       # each packet is exactly one whole part
        got = reader.feed(p.data)
        assert len(got) == 1 and reader.buf == b""
        parts += got
    assert reader.closed
    assert [body for _, body in parts] == [bytes(d) for d in payloads]
    assert {f["content-type"] for f, _ in parts} == {"image/jpeg"}
    assert [int(f["content-length"]) for f, _ in parts] == [len(d) for d in payloads]


def test_multipart_whole_body_read_byte_by_byte():
    mp = MultipartPacketizer()
    body = b"".join(mp.frame(d) for d in PAYLOADS[:3]) + mp.frame(Packet(b"end", FINAL))
    reader = MultipartReader(boundary_of(mp.content_type))
    parts = []
    for i in range(len(body)):
        parts += reader.feed(body[i:i + 1])
    assert reader.closed
    assert [b for _, b in parts] == [bytes(d) for d in PAYLOADS[:3]] + [b"end"]
    assert parts[0][0]["content-type"] == "application/octet-stream"


def test_multipart_per_packet_type_boundary_and_validation():
    mp = MultipartPacketizer("image/jpeg", boundary="frame")
    assert mp.content_type == "multipart/x-mixed-replace; boundary=frame"
    assert mp.frame(Packet(b"{}", info={"content_type": "application/json"})) == (
        b"--frame\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}\r\n")
    spaced = MultipartPacketizer(boundary="a b:c")
    assert spaced.content_type == 'multipart/x-mixed-replace; boundary="a b:c"'
    assert boundary_of(spaced.content_type) == b"a b:c"
    assert MultipartPacketizer().boundary != MultipartPacketizer().boundary
    for bad in ("", "x" * 71, "ends ", "semi;colon", "new\r\nline"):
        with pytest.raises(ValueError, match="boundary"):
            MultipartPacketizer(boundary=bad)
    with pytest.raises(ValueError, match="Content-Type"):
        MultipartPacketizer("image/jpeg\r\nX-Evil: 1")
    with pytest.raises(ValueError, match="Content-Type"):
        mp.frame(Packet(b"x", info={"content_type": "a\nb"}))


# --- into a sourcey.http response ------------------------------------------------------


def serve_stream(loop, runner, processors, payloads, client):
    """A server whose handler streams a synchronised PacketStream (``processors``, then
    a ResponseSink) to the response; a producer thread writes ``payloads`` (the last
    FINAL) once the sink is in place; ``client(port)`` runs in a thread."""
    streams = []
    box = {}

    def handler(request, response):
        s = PacketStream("response")
        for order, proc in enumerate(processors):
            s.attach(proc, order)
        s.synchronize_output(loop)
        content_type = getattr(processors[0] if processors else None, "content_type",
                               "application/octet-stream")
        s.emitter += ResponseSink(response, content_type)
        s.start()
        streams.append(s)

        def produce():
            for i, data in enumerate(payloads):
                s.write(data, FINAL if i == len(payloads) - 1 else 0)
        threading.Thread(target=produce).start()

    server = Server(handler, loop=loop)
    _, port = server.listen("127.0.0.1", 0)

    def main():
        try:
            box["result"] = client(port)
        except BaseException as exc:  # noqa: BLE001 - handed to the test thread
            box["error"] = exc
        finally:
            done.send()

    def finished(handle):
        handle.close()
        for s in streams:
            s.close()
        server.close()

    done = uv.Async(loop, finished)
    thread = threading.Thread(target=main)
    thread.start()
    runner.run(loop, 10)
    thread.join(10)
    if "error" in box:
        raise box["error"]
    return box["result"]


def test_multipart_into_a_response_read_by_http_client(loop, runner):
    payloads = [b"frame %d " % i * (i + 1) for i in range(20)]

    def client(port):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        try:
            conn.request("GET", "/mjpeg")
            r = conn.getresponse()
            reader = MultipartReader(boundary_of(r.getheader("Content-Type")))
            parts = []
            while not reader.closed:
                data = r.read1(65536)
                assert data, "the body ended before the close delimiter"
                parts += reader.feed(data)
            assert r.read() == b""          # the chunked body ends with the stream
            return r.status, r.getheader("Transfer-Encoding"), parts
        finally:
            conn.close()

    status, coding, parts = serve_stream(loop, runner, [MultipartPacketizer("image/jpeg")],
                                         payloads, client)
    assert (status, coding) == (200, "chunked")
    assert [body for _, body in parts] == payloads


def test_packets_are_the_chunks_of_a_response(loop, runner):
    payloads = [b"one", b"two-two", bytearray(b"three" * 1000), b"last"]

    def client(port):
        with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
            s.sendall(b"GET /chunks HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            got = b""
            while chunk_ := s.recv(65536):
                got += chunk_
        return got

    wire = serve_stream(loop, runner, [], payloads, client)
    (msg,) = parse("response", [wire])
    assert msg.status == 200 and msg.body == b"".join(bytes(p) for p in payloads)
    body = wire.partition(b"\r\n\r\n")[2]
    assert body == b"".join(chunk(p) for p in payloads) + LAST_CHUNK
