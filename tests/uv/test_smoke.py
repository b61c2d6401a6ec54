import pytest

from sourcey import uv


def test_echo_roundtrip(loop, runner):
    received = []
    server = uv.TCP(loop)
    server.bind(("127.0.0.1", 0))
    port = server.getsockname()[1]
    peers = []

    def on_read(handle, data, error):
        if data is None:
            handle.close()
        else:
            handle.write(data)

    def on_connection(srv, error):
        assert error is None
        conn = uv.TCP(loop)
        srv.accept(conn)
        conn.start_read(on_read)
        peers.append(conn)

    def on_client_read(handle, data, error):
        received.append(data)
        if b"".join(received) == b"ping":
            handle.close()
            server.close()

    def on_connect(handle, error):
        assert error is None
        handle.start_read(on_client_read)
        handle.write(b"ping")

    server.listen(on_connection)
    client = uv.TCP(loop)
    client.connect(("127.0.0.1", port), on_connect)
    runner.run(loop)
    assert b"".join(received) == b"ping"


def test_write_to_closed_handle_raises(loop, runner):
    tcp = uv.TCP(loop)
    tcp.close()
    with pytest.raises(uv.error.HandleClosedError):
        tcp.write(b"x")
    runner.run(loop)
