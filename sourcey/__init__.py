"""sourcey: libuv for Python, with LibSourcey's networking layers on top.

The layers, lowest first: ``sourcey.uv`` (the libuv binding).
"""

__version__ = "0.1.0"
