"""``python -m interpkernel install``: register the kernel with Jupyter."""

import json
import sys
import tempfile
from pathlib import Path

from jupyter_client.kernelspec import KernelSpecManager

__all__ = ['KERNEL_NAME', 'DISPLAY_NAME', 'kernel_spec', 'install']

KERNEL_NAME = 'interp'
DISPLAY_NAME = 'Python 3 (subinterpreters)'


def kernel_spec(python=None):
    """The kernel.json content, for the Python running this (or `python`)."""
    return {
        'argv': [python or sys.executable, '-m', 'interpkernel.kernel',
                 '-f', '{connection_file}'],
        'display_name': DISPLAY_NAME,
        'language': 'python',
        'interrupt_mode': 'signal',
        'metadata': {'debugger': False},
    }


def install(user=False, prefix=None):
    """Install the kernelspec; return the directory it went to.

    Args:
        user: into the user's Jupyter data directory.
        prefix: into PREFIX/share/jupyter/kernels (sys.prefix for --sys-prefix).
    """
    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / 'kernel.json').write_text(json.dumps(kernel_spec(), indent=1))
        return KernelSpecManager().install_kernel_spec(folder, KERNEL_NAME, user=user,
                                                       prefix=prefix)
