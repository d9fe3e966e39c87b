import sys
from pathlib import Path

# ``-m`` put the kernel's directory (the notebook's) first on the import path, before
# the standard library: a notebook's own random.py would stop the kernel starting.
# Taken off as ipykernel_launcher does; IPython puts '' back after the standard library.
if sys.path and (sys.path[0] == '' or Path(sys.path[0]) == Path.cwd()):
    del sys.path[0]

from .app import launch_instance  # noqa: E402 - after the import path is safe

# At module level, as ipykernel_launcher does: a cell runs as deep in the stack
# as on ipykernel (see _ipykernel.RUN_CELL_DEPTH).
launch_instance()
