"""The IPython extension: ``%load_ext interpkernel`` adds ``%%interp`` and ``%interp``."""

from .interp import InterpMagics

__all__ = ['load_ipython_extension', 'unload_ipython_extension', 'InterpMagics']

_loaded = {}


def load_ipython_extension(ipython):
    """Register the magics (and their tab completion) with `ipython`."""
    if ipython in _loaded:
        return
    magics = InterpMagics(ipython)
    ipython.register_magics(magics)
    for key in ('%interp', '%%interp'):
        ipython.set_hook('complete_command', lambda shell, event: magics.complete(event),
                         str_key=key)
    _loaded[ipython] = magics


def unload_ipython_extension(ipython):
    """Close every worker the extension started."""
    magics = _loaded.pop(ipython, None)
    if magics is not None:
        magics.close()
