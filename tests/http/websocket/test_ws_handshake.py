"""The opening handshake and the permessage-deflate negotiation, sans-IO."""

from __future__ import annotations

import pytest

from sourcey.http.websocket.handshake import (
    Deflate,
    HandshakeError,
    accept_key,
    check_origin,
    check_request,
    check_response,
    client_request,
    new_key,
    parse_extensions,
    server_handshake,
)

RFC_KEY = "dGhlIHNhbXBsZSBub25jZQ=="      # RFC 6455 §1.3


def request_headers(**extra):
    headers = [("Host", "server.example.com"), ("Upgrade", "websocket"),
               ("Connection", "keep-alive, Upgrade"), ("Sec-WebSocket-Key", RFC_KEY),
               ("Sec-WebSocket-Version", "13")]
    for name, value in extra.items():
        name = name.replace("_", "-")
        headers = [h for h in headers if h[0] != name]
        if value is not None:
            headers.append((name, value))
    return headers


def test_accept_key_rfc_example():
    assert accept_key(RFC_KEY) == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="


def test_new_keys_are_valid_and_fresh():
    a, b = new_key(), new_key()
    assert a != b
    assert check_request("GET", "1.1", request_headers(**{"Sec-WebSocket-Key": a})) == a


def test_check_request_accepts_bytes_pairs_and_token_lists():
    headers = [(k.encode(), v.encode()) for k, v in request_headers(Upgrade="WebSocket")]
    assert check_request("GET", "1.1", headers) == RFC_KEY


@pytest.mark.parametrize("method,version,extra,status", [
    ("POST", "1.1", {}, 400),
    ("GET", "1.0", {}, 400),
    ("GET", "1.1", {"Upgrade": None}, 400),
    ("GET", "1.1", {"Upgrade": "h2c"}, 400),
    ("GET", "1.1", {"Connection": "keep-alive"}, 400),
    ("GET", "1.1", {"Sec-WebSocket-Version": "8"}, 426),
    ("GET", "1.1", {"Sec-WebSocket-Version": None}, 426),
    ("GET", "1.1", {"Sec-WebSocket-Key": None}, 400),
    ("GET", "1.1", {"Sec-WebSocket-Key": "not base64!"}, 400),
    ("GET", "1.1", {"Sec-WebSocket-Key": "c2hvcnQ="}, 400),          # 5 bytes
])
def test_check_request_rejects(method, version, extra, status):
    with pytest.raises(HandshakeError) as info:
        check_request(method, version, request_headers(**extra))
    assert info.value.status == status


def test_check_origin():
    headers = request_headers(Origin="https://Good.example")
    assert check_origin(headers, ["https://good.example"])
    assert not check_origin(headers, ["https://other.example"])
    assert not check_origin(request_headers(), ["https://good.example"])
    assert check_origin(request_headers(), [None])


def test_parse_extensions():
    assert parse_extensions(['permessage-deflate; client_max_window_bits, '
                             'permessage-deflate; server_max_window_bits="10"',
                             "x-foo"]) == [
        ("permessage-deflate", [("client_max_window_bits", None)]),
        ("permessage-deflate", [("server_max_window_bits", "10")]),
        ("x-foo", [])]
    for bad in ["bad name", "p; a b", 'p; a="unterminated', "p; a=@"]:
        with pytest.raises(HandshakeError):
            parse_extensions([bad])


def negotiate(offer, ours=None):
    (name, params), = parse_extensions([offer])
    return (ours or Deflate()).negotiate(params)


def test_negotiation_plain_offer():
    value, agreed = negotiate("permessage-deflate")
    assert value == "permessage-deflate" and agreed == Deflate()


def test_negotiation_echoes_requested_limits():
    value, agreed = negotiate("permessage-deflate; server_no_context_takeover; "
                              "client_no_context_takeover; server_max_window_bits=10; "
                              "client_max_window_bits")
    assert value == ("permessage-deflate; server_no_context_takeover; "
                     "client_no_context_takeover; server_max_window_bits=10")
    assert agreed.server_max_window_bits == 10 and agreed.client_max_window_bits is None
    args = agreed.codec_args(client=False)
    assert args["compress_window_bits"] == 10 and args["compress_no_context_takeover"]
    assert args["decompress_no_context_takeover"]


def test_negotiation_applies_our_limits():
    ours = Deflate(client_max_window_bits=12, server_max_window_bits=11,
                   client_no_context_takeover=True)
    value, agreed = negotiate("permessage-deflate; client_max_window_bits=14", ours)
    assert value == ("permessage-deflate; client_no_context_takeover; "
                     "server_max_window_bits=11; client_max_window_bits=12")
    # a client that did not say it takes a client window limit gets none
    value, _ = negotiate("permessage-deflate", ours)
    assert "client_max_window_bits" not in value


@pytest.mark.parametrize("offer", [
    "permessage-deflate; server_max_window_bits=8",     # zlib cannot honour it
    "permessage-deflate; server_max_window_bits=16",
    "permessage-deflate; server_max_window_bits",
    "permessage-deflate; client_max_window_bits=7",
    "permessage-deflate; server_no_context_takeover=1",
    "permessage-deflate; unknown",
    "permessage-deflate; server_no_context_takeover; server_no_context_takeover",
])
def test_negotiation_declines(offer):
    assert negotiate(offer) is None


def test_server_handshake_picks_first_acceptable_offer_and_protocol():
    hs = server_handshake("GET", "1.1", request_headers(**{
        "Sec-WebSocket-Extensions": "permessage-deflate; server_max_window_bits=8, "
                                    "permessage-deflate; server_max_window_bits=9",
        "Sec-WebSocket-Protocol": "a, b"}), protocols=["c", "b", "a"], compression=Deflate())
    assert hs.protocol == "b"
    assert ("Sec-WebSocket-Protocol", "b") in hs.headers
    assert ("Sec-WebSocket-Extensions",
            "permessage-deflate; server_max_window_bits=9") in hs.headers
    assert ("Sec-WebSocket-Accept", "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=") in hs.headers
    declined = server_handshake("GET", "1.1", request_headers(), protocols=["x"],
                                compression=None)
    assert declined.protocol is None and declined.deflate is None
    assert len(declined.headers) == 3


def response(key=RFC_KEY, **extra):
    headers = [("Upgrade", "websocket"), ("Connection", "Upgrade"),
               ("Sec-WebSocket-Accept", accept_key(key))]
    return headers + [(k.replace("_", "-"), v) for k, v in extra.items()]


def test_check_response():
    ours = Deflate(server_no_context_takeover=True)
    protocol, agreed = check_response(101, response(**{
        "Sec-WebSocket-Protocol": "chat",
        "Sec-WebSocket-Extensions": "permessage-deflate; server_no_context_takeover; "
                                    "client_max_window_bits=10"}),
        RFC_KEY, protocols=["chat"], compression=ours)
    assert protocol == "chat"
    assert agreed.server_no_context_takeover and agreed.client_max_window_bits == 10
    assert agreed.codec_args(client=True)["compress_window_bits"] == 10
    assert check_response(101, response(), RFC_KEY, compression=ours) == (None, None)


@pytest.mark.parametrize("status,headers,ours", [
    (200, response(), None),
    (101, response(key="AAAAAAAAAAAAAAAAAAAAAA=="), None),
    (101, response()[1:], None),                                     # no Upgrade
    (101, response(**{"Sec-WebSocket-Protocol": "chat"}), None),    # not offered
    (101, response(**{"Sec-WebSocket-Extensions": "permessage-deflate"}), None),
    (101, response(**{"Sec-WebSocket-Extensions": "permessage-deflate, "
                      "permessage-deflate"}), Deflate()),
    (101, response(**{"Sec-WebSocket-Extensions": "permessage-deflate"}),
     Deflate(server_no_context_takeover=True)),                     # not honoured
    (101, response(**{"Sec-WebSocket-Extensions": "permessage-deflate; "
                      "server_max_window_bits=12"}), Deflate(server_max_window_bits=10)),
    (101, response(**{"Sec-WebSocket-Extensions": "permessage-deflate; "
                      "client_max_window_bits=8"}), Deflate()),
    (101, response(**{"Sec-WebSocket-Extensions": "permessage-deflate; bogus"}), Deflate()),
])
def test_check_response_rejects(status, headers, ours):
    with pytest.raises(HandshakeError):
        check_response(status, headers, RFC_KEY, protocols=["x"], compression=ours)


def test_client_request():
    data = client_request("example.com:8080", "/chat?x=1", RFC_KEY, origin="http://o",
                          protocols=["a", "b"], compression=Deflate(),
                          headers=[("X-Token", "t")])
    assert data.startswith(b"GET /chat?x=1 HTTP/1.1\r\nHost: example.com:8080\r\n")
    assert b"Sec-WebSocket-Protocol: a, b\r\n" in data
    assert b"Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n" in data
    assert data.endswith(b"X-Token: t\r\n\r\n")
    with pytest.raises(ValueError):
        client_request("h", "/", RFC_KEY, headers=[("X", "a\r\nInjected: 1")])


def test_deflate_rejects_bad_window_bits():
    with pytest.raises(ValueError):
        Deflate(server_max_window_bits=16)
