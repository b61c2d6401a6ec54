"""sourcey.http.Client against real servers on loopback: Python's http.server and
aiohttp (in threads), aiohttp over TLS with trustme certificates, and Debian's nginx (a
private instance, skipped when nginx is not installed). The loop runs in the test
thread; every wait is bounded."""

from __future__ import annotations

import asyncio
import hashlib
import http.server
import os
import shutil
import socket
import ssl
import subprocess
import threading
import time

import pytest
from clientlib import fetch, finish

from sourcey.http import Client, ConnectionClosedError

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"


@pytest.fixture
def loop(checked_loop):
    return checked_loop


@pytest.fixture
def runner(checked_runner):
    return checked_runner


# -- Python's http.server -----------------------------------------------------------------


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        body = f"{self.path} {self.client_address[1]}".encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.send_response(201)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


class _Handler10(_Handler):
    protocol_version = "HTTP/1.0"


@pytest.fixture(params=[_Handler, _Handler10], ids=["1.1", "1.0"])
def pyserver(request):
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), request.param)
    srv.daemon_threads = True
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    srv.url = f"http://127.0.0.1:{srv.server_address[1]}"
    srv.keeps_alive = request.param is _Handler
    yield srv
    srv.shutdown()
    srv.server_close()
    thread.join(5)


def test_http_server(loop, runner, pyserver):
    client = Client(loop)
    peers = set()
    for i in range(3):
        resp, err = fetch(loop, runner, client, "GET", f"{pyserver.url}/p{i}")
        assert err is None and resp.status == 200
        path, port = resp.body.decode().split()
        assert path == f"/p{i}"
        peers.add(port)
    assert len(peers) == (1 if pyserver.keeps_alive else 3)
    resp, err = fetch(loop, runner, client, "POST", pyserver.url + "/", body=b"data" * 1000)
    assert err is None and resp.status == 201 and resp.body == b"data" * 1000
    finish(loop, runner, client)


def test_idle_connections_do_not_keep_the_loop_alive(loop, runner, pyserver):
    client = Client(loop)
    done = []
    client.request("GET", pyserver.url + "/", callback=lambda r, e: done.append(e))
    runner.run(loop)            # returns though a connection may wait in the pool
    assert done == [None]
    assert client.idle_connections == (1 if pyserver.keeps_alive else 0)
    finish(loop, runner, client)


# -- aiohttp (plain and TLS) ------------------------------------------------------------


aiohttp_web = pytest.importorskip("aiohttp.web")
trustme = pytest.importorskip("trustme")


@pytest.fixture(scope="module")
def ca():
    return trustme.CA()


@pytest.fixture(scope="module")
def client_ctx(ca):
    ctx = ssl.create_default_context()
    ca.configure_trust(ctx)
    return ctx


class AioServer:
    """An aiohttp.web app on its own event loop in a thread: ``/echo`` answers with the
    request body, ``/stream`` streams a chunked body, ``/sni`` tells the TLS server name
    the client sent."""

    def __init__(self, ssl_context=None):
        self.sni = []
        self.url = None
        self._ready = threading.Event()
        self._ssl = ssl_context
        if ssl_context is not None:
            ssl_context.sni_callback = self._sni
        self._thread = threading.Thread(target=self._main, daemon=True)
        self._thread.start()
        assert self._ready.wait(10), "aiohttp did not start"

    def _sni(self, sslobj, name, ctx):
        self.sni.append(name)

    async def _echo(self, request):
        body = await request.read()
        return aiohttp_web.Response(body=body, headers={
            "X-Chunked": str(request.headers.get("Transfer-Encoding") == "chunked")})

    async def _stream(self, request):
        resp = aiohttp_web.StreamResponse()
        resp.enable_chunked_encoding()
        await resp.prepare(request)
        for i in range(100):
            await resp.write(b"%05d" % i * 200)
        await resp.write_eof()
        return resp

    def _main(self):
        asyncio.run(self._serve())

    async def _serve(self):
        app = aiohttp_web.Application()
        app.router.add_post("/echo", self._echo)
        app.router.add_put("/echo", self._echo)
        app.router.add_get("/stream", self._stream)
        runner = aiohttp_web.AppRunner(app, access_log=None)
        await runner.setup()
        site = aiohttp_web.TCPSite(runner, "127.0.0.1", 0, ssl_context=self._ssl)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]
        scheme = "https" if self._ssl else "http"
        self.port = port
        self.url = f"{scheme}://127.0.0.1:{port}"
        self._stop = asyncio.Event()
        self._loop = asyncio.get_running_loop()
        self._ready.set()
        await self._stop.wait()
        await runner.cleanup()

    def close(self):
        self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)


@pytest.fixture
def aio():
    srv = AioServer()
    yield srv
    srv.close()


@pytest.fixture
def aio_tls(ca):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ca.issue_cert("localhost", "127.0.0.1").configure_cert(ctx)
    srv = AioServer(ctx)
    yield srv
    srv.close()


def test_aiohttp_chunked_upload_and_download(loop, runner, aio):
    client = Client(loop)
    pieces = [os.urandom(n) for n in (1, 1000, 65536, 300000)]
    resp, err = fetch(loop, runner, client, "PUT", aio.url + "/echo", body=iter(pieces))
    assert err is None and resp.status == 200
    assert resp.headers["X-Chunked"] == "True" and resp.body == b"".join(pieces)
    resp, err = fetch(loop, runner, client, "GET", aio.url + "/stream")
    assert err is None and resp.body == b"".join(b"%05d" % i * 200 for i in range(100))
    chunks = []
    resp, err = fetch(loop, runner, client, "GET", aio.url + "/stream",
                      on_data=lambda r, c: chunks.append(c))
    assert err is None and resp.body == b""
    assert b"".join(chunks) == b"".join(b"%05d" % i * 200 for i in range(100))
    assert client.connections == 1
    finish(loop, runner, client)


def test_https_verified_with_sni(loop, runner, aio_tls, client_ctx):
    client = Client(loop, ssl_context=client_ctx)
    url = f"https://localhost:{aio_tls.port}/echo"
    for i in range(3):
        resp, err = fetch(loop, runner, client, "POST", url, body=b"secret %d" % i)
        assert err is None and resp.body == b"secret %d" % i
    assert client.connections == 1                  # kept alive over TLS
    assert aio_tls.sni == ["localhost"]             # one handshake, the name as SNI
    resp, err = fetch(loop, runner, client, "GET", f"https://localhost:{aio_tls.port}/stream")
    assert err is None and len(resp.body) == 100 * 1000
    finish(loop, runner, client)


def test_https_by_ip_address(loop, runner, aio_tls, client_ctx):
    client = Client(loop, ssl_context=client_ctx)
    resp, err = fetch(loop, runner, client, "POST", aio_tls.url + "/echo", body=b"x")
    assert err is None and resp.body == b"x"
    finish(loop, runner, client)


def test_https_untrusted_certificate_fails(loop, runner, aio_tls):
    client = Client(loop)                           # the system's CAs: not trustme's
    resp, err = fetch(loop, runner, client, "POST", aio_tls.url + "/echo", body=b"x")
    assert resp is None and isinstance(err, ssl.SSLCertVerificationError)
    assert client.connections == 0
    finish(loop, runner, client)


def test_https_wrong_host_name_fails(loop, runner, ca, client_ctx):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ca.issue_cert("other.test").configure_cert(ctx)
    srv = AioServer(ctx)
    try:
        client = Client(loop, ssl_context=client_ctx)
        resp, err = fetch(loop, runner, client, "POST", srv.url + "/echo", body=b"x")
        assert resp is None and isinstance(err, ssl.SSLCertVerificationError)
        finish(loop, runner, client)
    finally:
        srv.close()


def test_https_to_a_plain_server_fails(loop, runner, aio, client_ctx):
    client = Client(loop, ssl_context=client_ctx)
    resp, err = fetch(loop, runner, client, "GET", f"https://127.0.0.1:{aio.port}/stream")
    assert resp is None and isinstance(err, (ssl.SSLError, ConnectionClosedError))
    finish(loop, runner, client)


# -- nginx ------------------------------------------------------------------------------

NGINX_CONF = """
daemon off;
master_process off;
worker_processes 1;
pid {d}/nginx.pid;
error_log {d}/error.log;
events {{ worker_connections 64; }}
http {{
    access_log off;
    client_body_temp_path {d}/body;
    proxy_temp_path {d}/proxy;
    fastcgi_temp_path {d}/fastcgi;
    uwsgi_temp_path {d}/uwsgi;
    scgi_temp_path {d}/scgi;
    default_type application/octet-stream;
    keepalive_requests 1000;
    server {{
        listen 127.0.0.1:{port};
        root {d}/www;
        location /sub/ {{
            sub_filter hello HELLO;
            sub_filter_once off;
            sub_filter_types *;
        }}
        location /dav/ {{
            dav_methods PUT DELETE;
            create_full_put_path on;
            client_max_body_size 50m;
        }}
        location = /moved {{
            return 301 /small.txt;
        }}
    }}
}}
"""


@pytest.fixture(scope="module")
def nginx(tmp_path_factory):
    if not os.access(NGINX, os.X_OK):
        pytest.skip(f"nginx is not installed ({NGINX}; Debian: apt-get install nginx-light)")
    d = tmp_path_factory.mktemp("nginx")
    www = d / "www"
    (www / "sub").mkdir(parents=True)
    (www / "dav").mkdir()
    (www / "small.txt").write_bytes(b"small file\n")
    large = os.urandom(8 << 20)
    (www / "large.bin").write_bytes(large)
    (www / "sub" / "page.txt").write_bytes(b"hello world, hello again\n" * 1000)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    (d / "nginx.conf").write_text(NGINX_CONF.format(d=d, port=port))
    proc = subprocess.Popen([NGINX, "-p", str(d), "-c", str(d / "nginx.conf"),
                             "-e", str(d / "error.log")],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                pytest.skip(f"nginx did not start: {proc.stderr.read().decode()[-500:]}")
            time.sleep(0.02)       # polling an external process's port, not a sync point
    yield {"url": f"http://127.0.0.1:{port}", "large": large}
    proc.terminate()
    proc.wait(10)


def test_nginx_static_files_keep_alive(loop, runner, nginx):
    client = Client(loop)
    resp, err = fetch(loop, runner, client, "GET", nginx["url"] + "/small.txt")
    assert err is None and resp.status == 200 and resp.body == b"small file\n"
    assert resp.headers["server"].startswith("nginx")
    resp, err = fetch(loop, runner, client, "GET", nginx["url"] + "/large.bin")
    assert err is None and resp.headers["Content-Length"] == str(len(nginx["large"]))
    assert hashlib.sha256(resp.body).digest() == hashlib.sha256(nginx["large"]).digest()
    resp, err = fetch(loop, runner, client, "HEAD", nginx["url"] + "/large.bin")
    assert err is None and resp.body == b""
    resp, err = fetch(loop, runner, client, "GET", nginx["url"] + "/missing")
    assert err is None and resp.status == 404
    assert client.connections == 1
    finish(loop, runner, client)


def test_nginx_chunked_response(loop, runner, nginx):
    client = Client(loop)
    resp, err = fetch(loop, runner, client, "GET", nginx["url"] + "/sub/page.txt")
    assert err is None and resp.status == 200
    assert resp.headers["Transfer-Encoding"] == "chunked"
    assert resp.body == b"HELLO world, HELLO again\n" * 1000
    finish(loop, runner, client)


def test_nginx_streamed_large_download(loop, runner, nginx):
    client = Client(loop, max_body=1 << 20)
    digest = hashlib.sha256()
    sizes = []

    def on_data(resp, chunk):
        digest.update(chunk)
        sizes.append(len(chunk))

    resp, err = fetch(loop, runner, client, "GET", nginx["url"] + "/large.bin",
                      on_data=on_data)
    assert err is None and resp.status == 200 and resp.body == b""
    assert sum(sizes) == len(nginx["large"]) and len(sizes) > 1
    assert digest.digest() == hashlib.sha256(nginx["large"]).digest()
    finish(loop, runner, client)


def test_nginx_uploads(loop, runner, nginx):
    client = Client(loop)
    data = os.urandom(3 << 20)
    resp, err = fetch(loop, runner, client, "PUT", nginx["url"] + "/dav/fixed.bin", body=data)
    assert err is None and resp.status in (201, 204)
    pieces = (data[i:i + 100000] for i in range(0, len(data), 100000))
    resp, err = fetch(loop, runner, client, "PUT", nginx["url"] + "/dav/chunked.bin",
                      body=pieces)
    assert err is None and resp.status in (201, 204)
    for name in ("fixed.bin", "chunked.bin"):
        resp, err = fetch(loop, runner, client, "GET", f"{nginx['url']}/dav/{name}")
        assert err is None and resp.body == data
    finish(loop, runner, client)


def test_nginx_redirect(loop, runner, nginx):
    client = Client(loop, follow_redirects=True)
    resp, err = fetch(loop, runner, client, "GET", nginx["url"] + "/moved")
    assert err is None and resp.status == 200 and resp.body == b"small file\n"
    assert [r.status for r in resp.history] == [301]
    assert resp.url == nginx["url"] + "/small.txt"
    finish(loop, runner, client)


# -- TLS truncation ---------------------------------------------------------------------


class TLSOnce:
    """A thread that answers one TLS request with ``response``, then ends the TLS
    session cleanly (close_notify) or just drops the connection (``clean=False``)."""

    def __init__(self, ca, response, clean):
        self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ca.issue_cert("127.0.0.1").configure_cert(self.ctx)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(10)
        self.port = self.listener.getsockname()[1]
        self.response = response
        self.clean = clean
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        raw, _ = self.listener.accept()
        raw.settimeout(10)
        with self.ctx.wrap_socket(raw, server_side=True) as conn:
            data = b""
            while b"\r\n\r\n" not in data:
                data += conn.recv(4096)
            conn.sendall(self.response)
            if self.clean:
                conn.unwrap().close()

    def close(self):
        self.thread.join(10)
        self.listener.close()


@pytest.mark.parametrize("clean", [True, False], ids=["close_notify", "no_close_notify"])
def test_tls_body_delimited_by_the_close(loop, runner, ca, client_ctx, clean):
    srv = TLSOnce(ca, b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nthe whole body", clean)
    client = Client(loop, ssl_context=client_ctx)
    resp, err = fetch(loop, runner, client, "GET", f"https://127.0.0.1:{srv.port}/")
    if clean:
        assert err is None and resp.body == b"the whole body"
    else:
        assert resp is None and isinstance(err, ConnectionClosedError)
    finish(loop, runner, client)
    srv.close()


def test_tls_length_delimited_body_needs_no_close_notify(loop, runner, ca, client_ctx):
    srv = TLSOnce(ca, b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nbody", False)
    client = Client(loop, ssl_context=client_ctx)
    resp, err = fetch(loop, runner, client, "GET", f"https://127.0.0.1:{srv.port}/")
    assert err is None and resp.body == b"body"
    finish(loop, runner, client)
    srv.close()
