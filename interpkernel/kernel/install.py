"""``python -m interpkernel install``: register the kernel with Jupyter."""

import json
import sys
import tempfile
from importlib import resources
from pathlib import Path

from jupyter_client.kernelspec import KernelSpecManager

__all__ = ['KERNEL_NAME', 'DISPLAY_NAME', 'LOGOS', 'kernel_spec', 'install']

KERNEL_NAME = 'interp'
# Short enough for JupyterLab's launcher tile, which breaks long words mid-word.
DISPLAY_NAME = 'Python 3 (interp)'
# The launcher and notebook toolbar show these (jupyter_client finds them by name).
LOGOS = ('logo-32x32.png', 'logo-64x64.png', 'logo-svg.svg')


def kernel_spec(python=None):
    """The kernel.json content, for the Python running this (or `python`)."""
    return {
        'argv': [python or sys.executable, '-m', 'interpkernel.kernel',
                 '-f', '{connection_file}'],
        'display_name': DISPLAY_NAME,
        'language': 'python',
        'interrupt_mode': 'signal',
        # It speaks CurveZMQ (ipykernel does), so launchers may provision keys.
        'metadata': {'debugger': False, 'supported_encryption': ['curve']},
    }


def install(user=False, prefix=None):
    """Install the kernelspec (kernel.json and the logos); return the directory it went to.

    Args:
        user: into the user's Jupyter data directory.
        prefix: into PREFIX/share/jupyter/kernels (sys.prefix for --sys-prefix).
    """
    shipped = resources.files(__package__) / 'resources'
    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / 'kernel.json').write_text(json.dumps(kernel_spec(), indent=1))
        for name in LOGOS:
            (Path(folder) / name).write_bytes((shipped / name).read_bytes())
        return KernelSpecManager().install_kernel_spec(folder, KERNEL_NAME, user=user,
                                                       prefix=prefix)
