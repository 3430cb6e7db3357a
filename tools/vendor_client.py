"""Copy the engine's client module (`engine/billow/client.py`) into the DCC add-ons.

The add-ons run inside Blender's and Houdini's own Pythons, which cannot import the engine, so
each carries a copy of the one standard-library-only client (frame ranges, the `--progress json`
protocol, launching the engine). The copies are made here, never by hand:

    python tools/vendor_client.py          # write the copies
    python tools/vendor_client.py --check  # exit 1 if a copy differs from the source

Run it after every change to `engine/billow/client.py` (tests/test_client_vendored.py fails
until you do); the Blender extension zip and the Houdini package then carry the new copy.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SOURCE = REPO / "engine" / "billow" / "client.py"
COPIES = (REPO / "plugin_blender" / "vendor" / "billow_client.py",
          REPO / "plugin_houdini" / "python" / "billow_houdini" / "vendor" / "billow_client.py")
HEADER = ("# Vendored copy of engine/billow/client.py, written by tools/vendor_client.py:\n"
          "# do not edit here; edit the engine's file and run `python tools/vendor_client.py`.\n")


def vendored_text() -> str:
    """What every copy must hold: the header, then the source byte for byte."""
    return HEADER + SOURCE.read_text()


def _shown(path: Path) -> str:
    return str(path.relative_to(REPO)) if path.is_relative_to(REPO) else str(path)


def stale() -> list[Path]:
    want = vendored_text()
    return [c for c in COPIES if not c.is_file() or c.read_text() != want]


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--check", action="store_true", help="only check; exit 1 if a copy differs")
    args = p.parse_args()
    if args.check:
        bad = stale()
        for c in bad:
            print(f"{_shown(c)}: differs from {_shown(SOURCE)}; "
                  "run python tools/vendor_client.py", file=sys.stderr)
        return 1 if bad else 0
    text = vendored_text()
    for c in COPIES:
        c.write_text(text)
        print(f"wrote {_shown(c)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
