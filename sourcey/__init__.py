"""sourcey: libuv for Python, with LibSourcey's networking layers on top.

The layers, lowest first: ``sourcey.uv`` (the libuv binding), ``sourcey.Signal`` and
``sourcey.net`` (sockets with signals, adapters).
"""

from .signals import Signal

__version__ = "0.1.0"
__all__ = ["Signal", "__version__"]
