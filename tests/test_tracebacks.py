"""The kernel's traceback formatting and what it prepares at start."""

import sys
import types

from interpkernel import tracebacks


def test_warming_up_tracebacks_survives_a_module_without_a_name(monkeypatch):
    # IPython's %run puts a stand-in __main__ in sys.modules and takes its __name__
    # off before restoring the real one: the kernel's warm-up thread, running then,
    # printed an AttributeError traceback into the first cell (hunt 20, 1 run in 20).
    stand_in = types.ModuleType('stand_in')
    stand_in.__file__ = '/nonexistent/stand_in.py'
    del stand_in.__name__
    monkeypatch.setitem(sys.modules, 'interpkernel_test_stand_in', stand_in)
    tracebacks.warm_up()
    assert 'pygments.lexers.python' in sys.modules     # the rest was warmed all the same
