"""STUN credentials (RFC 8489 §9): the keys for MESSAGE-INTEGRITY(-SHA256).

Strings are prepared with SASLprep (RFC 4013), the profile RFC 5389 names; RFC 8489
replaced it with the OpaqueString profile (RFC 8265). The two agree on every ASCII
password; on other text they differ only in details (SASLprep maps with NFKC, removes
the "commonly mapped to nothing" characters such as U+00AD), and the RFC 5769 sample
key is computed with SASLprep. Unassigned code points are let through (SASLprep's rule
for queries), so that passwords with characters newer than Unicode 3.2 still work.
Prohibited characters (controls, private use, surrogates...) raise StunError.

- short-term: key = SASLprep(password)
- long-term:  key = MD5(username ":" SASLprep(realm) ":" SASLprep(password)), or SHA-256
  of the same with PASSWORD-ALGORITHM SHA-256
- USERHASH:   SHA-256(SASLprep(username) ":" SASLprep(realm))
"""

from __future__ import annotations

import hashlib
import stringprep
import unicodedata

from .constants import ALGORITHM_MD5, ALGORITHM_SHA256
from .errors import StunError

_PROHIBITED = (
    stringprep.in_table_c12, stringprep.in_table_c21_c22, stringprep.in_table_c3,
    stringprep.in_table_c4, stringprep.in_table_c5, stringprep.in_table_c6,
    stringprep.in_table_c7, stringprep.in_table_c8, stringprep.in_table_c9,
)


def saslprep(text: str) -> str:
    """SASLprep (RFC 4013) of ``text``, for a query (unassigned code points allowed)."""
    if text.isascii() and text.isprintable():
        return text         # nothing to map, normalise or prohibit
    mapped = "".join(" " if stringprep.in_table_c12(c) else c
                     for c in text if not stringprep.in_table_b1(c))
    out = unicodedata.normalize("NFKC", mapped)
    for c in out:
        if any(table(c) for table in _PROHIBITED):
            raise StunError(f"SASLprep: prohibited character U+{ord(c):04X}")
    if any(stringprep.in_table_d1(c) for c in out):
        # RFC 3454 §6: right-to-left text has no left-to-right characters, and starts
        # and ends with a right-to-left one.
        if (any(stringprep.in_table_d2(c) for c in out)
                or not stringprep.in_table_d1(out[0]) or not stringprep.in_table_d1(out[-1])):
            raise StunError("SASLprep: mixed or badly delimited bidirectional text")
    return out


def short_term_key(password: str) -> bytes:
    return saslprep(password).encode()


def long_term_key(username: str, realm: str, password: str,
                  algorithm: int = ALGORITHM_MD5) -> bytes:
    """The long-term credential key; ``algorithm`` ALGORITHM_MD5 (16 bytes) or
    ALGORITHM_SHA256 (32 bytes)."""
    text = f"{username}:{saslprep(realm)}:{saslprep(password)}".encode()
    if algorithm == ALGORITHM_MD5:
        return hashlib.md5(text, usedforsecurity=False).digest()
    if algorithm == ALGORITHM_SHA256:
        return hashlib.sha256(text).digest()
    raise StunError(f"unsupported password algorithm {algorithm:#06x}")


def userhash(username: str, realm: str) -> bytes:
    """The USERHASH value (RFC 8489 §14.4)."""
    return hashlib.sha256(f"{saslprep(username)}:{saslprep(realm)}".encode()).digest()
