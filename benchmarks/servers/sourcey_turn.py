"""The sourcey TURN server for the benchmark: ``python -m sourcey.turn``'s command line
(the same arguments), run as a script so that the repository's source tree, not on
sys.path here, cannot shadow the build PYTHONPATH names.

    python sourcey_turn.py --listen H:P --realm R --user NAME:PASSWORD ...
"""

from __future__ import annotations

import sys

try:
    from sourcey.turn.__main__ import main
except ImportError as exc:
    sys.exit(f"sourcey_turn: sourcey is not built or not importable: {exc!r}")

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
