import sys

from . import PLUME, write_plume

print(write_plume(sys.argv[1] if len(sys.argv) > 1 else PLUME))
