"""IPython's ``%autoreload`` in an interpreter that runs kernel cells (a worker).

The host's IPython reloads the modules whose files changed before each host
cell.  A worker holds copies of its own of the modules it imported, so before
each of its cells it does the same, with IPython's own ``ModuleReloader``,
following the settings the host's ``%autoreload`` and ``%aimport`` left
(`protocol.AutoreloadSettings`); after each cell it notes the files of the
modules the cell imported, as IPython's ``post_execute`` hook does.

IPython is imported here only once a notebook turns autoreload on.
"""

import sys

__all__ = ['before_cell', 'after_cell']


class _Reloading:
    reloader = None      # IPython's ModuleReloader, once autoreload is on
    known = frozenset()  # the modules loaded when it last looked


_here = _Reloading()


def before_cell(settings):
    """Reload the modules whose files changed since they were loaded, as `settings` say."""
    if _here.reloader is None:
        from IPython.extensions.autoreload import ModuleReloader
        _here.reloader = ModuleReloader()     # notes the files of the modules loaded now
        _here.known = frozenset(sys.modules)
    reloader = _here.reloader
    reloader.enabled = True
    reloader.check_all = settings.check_all
    reloader.modules = dict.fromkeys(settings.modules, True)
    reloader.skip_modules = dict.fromkeys(settings.skip_modules, True)
    reloader.check()


def after_cell():
    """Note when the files of the modules the cell imported were last changed."""
    reloader = _here.reloader
    if reloader is None:
        return
    for name in set(sys.modules) - _here.known:
        _, changed = reloader.filename_and_mtime(sys.modules[name])
        if changed is not None:
            reloader.modules_mtimes[name] = changed
    _here.known = frozenset(sys.modules)
