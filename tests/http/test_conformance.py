"""The HTTP/1 parser against the shared conformance data (../shared/conformance/http1).

llhttp-strict.jsonl: every case whole, one byte at a time and at seeded random split
points (``no_split`` cases whole only). h11-io.json: its reader cases, mapped onto the
parser's face. Where the folder is missing, these tests skip and say so.

What is compared, and why:

* A vector's ``messages`` are llhttp's callbacks, so the last of them may be a message
  that was still in progress when the input (or the parser) stopped. Our completed
  messages must be exactly the vector's first messages; at most the last vector message
  may be left unfinished. Where its head is parsed, the head and the body received so far
  must match too.
* An input that ends inside a message is truncated data, not a malformed one: feed_eof()
  reports it with code ``INCOMPLETE``, which counts as "not rejected" here (the vectors
  were recorded without signalling the end of the input, except for responses delimited
  by it). Any other ParseError is a rejection.
* Trailer fields: llhttp reports them as more headers; we keep them apart
  (``Message.trailers``), so headers + trailers is compared.
* Where we believe a vector is wrong, the case is xfail(strict=True) with the RFC section
  (see XFAIL_LLHTTP and XFAIL_H11). Where the only disagreement is the trailing OWS kept in
  the vector's field values, test_llhttp_trailing_ows_removed checks everything else.
"""

import base64
import json
import random
from itertools import pairwise
from pathlib import Path

import pytest

from sourcey.http import ParseError, Parser

CONFORMANCE = Path(__file__).resolve().parents[2].parent / "shared" / "conformance"
HTTP1 = CONFORMANCE / "http1"
MISSING = f"conformance data not found at {HTTP1} (see ../shared/conformance/README.md)"

RANDOM_SPLITS = 8  # random splittings per case


def _load_llhttp():
    path = HTTP1 / "llhttp-strict.jsonl"
    if not path.is_file():
        return None
    with path.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def _load_h11():
    path = HTTP1 / "h11-io.json"
    if not path.is_file():
        return None
    with path.open(encoding="utf-8") as f:
        return json.load(f)


LLHTTP = _load_llhttp()
H11 = _load_h11()

# RFC 9110 §5.5 / RFC 9112 §5: "field-line = field-name ":" OWS field-value OWS" and a
# field value "does not include leading or trailing whitespace". llhttp reports the value
# span with the trailing OWS; we remove it. test_llhttp_trailing_ows_removed compares the
# rest of these cases with that OWS removed from the vector.
_OWS = ("RFC 9110 §5.5, RFC 9112 §5: trailing OWS is not part of a field value; the "
        "vector keeps it")
_NOT_HTTP = ("RFC 9112 §2.3: HTTP-version = \"HTTP/\" DIGIT \".\" DIGIT; RTSP/ICE are other "
             "protocols, rejected")
_BODY_LOST = ("vector bug: the body lost its CR/LF bytes in conversion from llhttp's "
              "markdown; RFC 9112 §6.3 / §7.1: the content is every octet sent (EOF-delimited "
              "or chunk data)")
OWS_CASES = (6, 8, 23, 24, 120, 121, 153)
XFAIL_LLHTTP = {
    **{case_id: _OWS for case_id in OWS_CASES},
    187: _BODY_LOST + "; " + _OWS,
    150: _BODY_LOST,
    188: _BODY_LOST,
    204: _BODY_LOST,
    43: ("RFC 9110 §9.1: method = token; MKCOLA is a well-formed (unknown) method, which "
         "a server answers with 501, not a parse error. llhttp rejects methods it does "
         "not list"),
    34: ("RFC 9110 §9.1: method = token; ANNOUNCE over HTTP/1.0 is well-formed (llhttp "
         "rejects it as an RTSP-only method)"),
    65: _NOT_HTTP,
    66: _NOT_HTTP,
    67: _NOT_HTTP,
    183: _NOT_HTTP,
    184: _NOT_HTTP,
    93: ("RFC 9112 §3: request-line = method SP request-target SP HTTP-version; an "
         "HTTP/0.9 request line without a version is rejected (fail-closed policy)"),
    198: ("RFC 9112 §2.3 and our policy: only HTTP/1.0 and HTTP/1.1 are spoken; "
          "HTTP/0.9 is rejected as unsupported (505)"),
    68: ("RFC 9113 §3.4: the HTTP/2 connection preface is \"PRI * HTTP/2.0\" (which we "
         "reject as version 505); \"PRI * HTTP/1.1\" is an ordinary HTTP/1.1 request, "
         "not an upgrade, and the \"SM\" line after it is malformed"),
}

H11_BARE_LF = ("RFC 9112 §2.2: a recipient MAY accept a bare LF as a line terminator; our "
               "strict policy requires CRLF (as llhttp-strict does)")
XFAIL_H11 = {
    # test index in h11-io.json -> reason
    8: ("RFC 9112 §7.1: chunk = chunk-size [ chunk-ext ] CRLF, and the BWS of chunk-ext "
        "only precedes \";\"; whitespace after the size is rejected (as llhttp case 122)"),
    17: ("RFC 9110 §5.5: field-value = *field-content, field-vchar = VCHAR / obs-text; a "
         "CTL (0x01) in a value is rejected by our policy (h11 tolerates it in cookies)"),
    30: H11_BARE_LF,
    31: H11_BARE_LF,
    32: H11_BARE_LF,
    33: ("RFC 9112 §5.2: a server MUST either reject obs-fold with 400 or unfold it; we "
         "reject (h11 unfolds)"),
}


def _raw(case):
    return base64.b64decode(case["raw_b64"])


def _b(text):
    return text.encode("utf-8", "surrogateescape")


def _splits(raw, mode, seed):
    if mode == "whole":
        return [[raw]]
    if mode == "bytewise":
        return [[raw[i:i + 1] for i in range(len(raw))]]
    rnd = random.Random(seed)
    out = []
    for _ in range(RANDOM_SPLITS):
        cuts = sorted(rnd.sample(range(1, len(raw)), min(len(raw) - 1, rnd.randint(1, 6))))
        bounds = [0, *cuts, len(raw)]
        out.append([raw[a:b] for a, b in pairwise(bounds)])
    return out


class Outcome:
    def __init__(self, parser, done, error, truncated):
        self.parser = parser
        self.done = done
        self.error = error
        self.truncated = truncated


def _run(kind, pieces, eof=True, **options):
    parser = Parser(kind, **options)
    done, error, truncated = [], None, False
    try:
        for piece in pieces:
            done += parser.feed(piece)
        if eof:
            done += parser.feed_eof()
    except ParseError as exc:
        done += exc.messages
        if exc.code == "INCOMPLETE":
            truncated = True
        else:
            error = exc
    return Outcome(parser, done, error, truncated)


def _view(m):
    """A Message as the vector's fields (bytes where the vector has text)."""
    return {
        "method": _b(m.method or ""),
        "url": _b(m.target or ""),
        "status": m.reason if m.reason is not None else b"",
        "version": _b(m.version),
        "headers": [[n, v] for n, v in m.headers + m.trailers],
        "body": m.body,
    }


def _expected(m, strip_ows=False):
    def value(v):
        b = _b(v)
        return b.strip(b" \t") if strip_ows else b

    return {
        "method": _b(m["method"]),
        "url": _b(m["url"]),
        "status": _b(m["status"]),
        "version": _b(m["version"]),
        "headers": [[_b(n), value(v)] for n, v in m["headers"]],
        "body": _b(m["body"]),
    }


def _check_llhttp(case, pieces, strip_ows=False):
    out = _run(case["kind"], pieces, skip_body=bool(case.get("skip_body")))
    expected = [_expected(m, strip_ows) for m in case["messages"]]
    got = [_view(m) for m in out.done]
    if case["error"] is None:
        assert out.error is None, f"rejected: {out.error!r}"
    else:
        assert out.error is not None, "accepted, but the vector rejects it"
    assert got == expected[:len(got)]
    missing = len(expected) - len(got)
    assert missing in (0, 1), f"{missing} messages not completed"
    if case["error"] is None and missing:
        assert out.truncated, "the last message neither completed nor cut short"
    pending = out.parser.pending
    if missing and pending is not None:
        # the unfinished message: its head and the body so far
        assert _view(pending) == expected[-1]
    if case.get("stops_after_head"):
        assert missing == 0 and out.done and out.done[-1].upgrade
        assert out.parser.upgraded
        assert out.parser.remainder == _raw(case)[len(_raw(case)) - len(out.parser.remainder):]
    elif out.error is None:
        assert not out.parser.upgraded
        assert not any(m.upgrade for m in out.done)


def _llhttp_params():
    if LLHTTP is None:
        return [pytest.param(None, None, marks=pytest.mark.skip(reason=MISSING))]
    params = []
    for case in LLHTTP:
        modes = ["whole"] if case.get("no_split") else ["whole", "bytewise", "random"]
        for mode in modes:
            marks = []
            if case["id"] in XFAIL_LLHTTP:
                marks.append(pytest.mark.xfail(reason=XFAIL_LLHTTP[case["id"]], strict=True))
            params.append(pytest.param(case, mode, marks=marks,
                                       id=f"{case['id']}-{mode}"))
    return params


@pytest.mark.parametrize("case,mode", _llhttp_params())
def test_llhttp(case, mode):
    raw = _raw(case)
    for pieces in _splits(raw, mode, seed=case["id"]):
        _check_llhttp(case, pieces)


def test_llhttp_counts():
    if LLHTTP is None:
        pytest.skip(MISSING)
    assert len(LLHTTP) == 210
    assert sum(c["kind"] == "request" for c in LLHTTP) == 134


@pytest.mark.parametrize("case_id", OWS_CASES)
def test_llhttp_trailing_ows_removed(case_id):
    """The cases that differ only in the vector's trailing OWS, with it removed."""
    if LLHTTP is None:
        pytest.skip(MISSING)
    case = LLHTTP[case_id]
    assert case["id"] == case_id
    raw = _raw(case)
    for mode in ("whole", "bytewise", "random"):
        for pieces in _splits(raw, mode, seed=case_id):
            _check_llhttp(case, pieces, strip_ows=True)


# h11's reader cases. Body readers get a head that selects the same framing.
_BODY_HEADS = {
    "body:ChunkedReader": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
    "body:Http10Reader": b"HTTP/1.0 200 OK\r\n\r\n",
}


def _lower(headers):
    return [[n.lower(), v] for n, v in headers]


def _check_h11(case, pieces_of):
    reader = case["reader"]
    raw = _raw(case)
    if reader.startswith("body:"):
        head = _BODY_HEADS.get(reader)
        if head is None:  # ContentLengthReader(n): the length is the input's
            head = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(raw)
        out = _run("response", pieces_of(head + raw), eof=case["eof"])
        expect = case["expect"]
        if "error" in expect[-1]:
            assert out.error is not None, "accepted, but h11 rejects it"
            return
        assert out.error is None and not out.truncated, out.error
        data = b"".join(_b(e["data"]) for e in expect if e["event"] == "Data")
        ends = [e for e in expect if e["event"] == "EndOfMessage"]
        if ends:
            assert len(out.done) == 1
            assert out.done[0].body == data
            assert _lower(out.done[0].trailers) == [[_b(n), _b(v)] for n, v in
                                                     ends[0]["headers"]]
        else:
            assert out.done == []
            assert out.parser.pending.body == data
        return

    kind = "request" if reader == "maybe_read_from_IDLE_client" else "response"
    out = _run(kind, pieces_of(raw), eof=False)
    expect = case["expect"]
    if expect is None:
        assert out.error is not None, "accepted, but h11 rejects it"
        return
    assert out.error is None, out.error
    m = out.done[0] if out.done else out.parser.pending
    assert m is not None, "no head parsed"
    assert m.version == expect["http_version"]
    assert _lower(m.headers) == [[_b(n), _b(v)] for n, v in expect["headers"]]
    if kind == "request":
        assert expect["event"] == "Request"
        assert (m.method, m.target) == (expect["method"], expect["target"])
    else:
        assert m.status == expect["status_code"]
        assert m.reason == _b(expect["reason"])
        assert m.upgrade == (expect["event"] == "InformationalResponse"
                             and expect["status_code"] == 101)


def _h11_params():
    if H11 is None:
        return [pytest.param(None, None, None, marks=pytest.mark.skip(reason=MISSING))]
    params = []
    for index, case in enumerate(H11):
        for mode in ("whole", "bytewise"):
            marks = []
            if index in XFAIL_H11:
                marks.append(pytest.mark.xfail(reason=XFAIL_H11[index], strict=True))
            params.append(pytest.param(index, case, mode, marks=marks,
                                       id=f"{index}-{case['test']}-{mode}"))
    return params


@pytest.mark.parametrize("index,case,mode", _h11_params())
def test_h11(index, case, mode):
    if mode == "whole":
        _check_h11(case, lambda raw: [raw])
    else:
        _check_h11(case, lambda raw: [raw[i:i + 1] for i in range(len(raw))])


def test_h11_counts():
    if H11 is None:
        pytest.skip(MISSING)
    assert len(H11) == 46
