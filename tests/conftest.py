"""Shared fixtures: one real pool of subinterpreter workers per test module, and
one real local ipyparallel cluster of two engines per test session."""

import faulthandler
import os
from pathlib import Path

import pytest
from IPython.core.interactiveshell import InteractiveShell

from interpkernel import Pool
from interpkernel.cluster import ClusterEngine
from interpkernel.kernel.install import install
from interpkernel.pool import SubinterpreterEngine

EXIT_DEADLINE = 120   # seconds the test process may take to exit after the last test
ROOT = Path(__file__).parent.parent


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config):
    # A thread or worker left running makes the process wait for it at exit,
    # beyond any test's timeout: after the deadline, print every thread's stack
    # and exit with status 1 instead of hanging.
    faulthandler.dump_traceback_later(EXIT_DEADLINE, exit=True)


@pytest.fixture(scope='module')
def pool():
    with Pool(2) as shared:
        shared.wait_ready()
        yield shared


@pytest.fixture(scope='module')
def workers():
    """The kernel's engine with two workers, ready."""
    engine = SubinterpreterEngine(2)
    engine.wait_ready()
    yield engine
    engine.close()


@pytest.fixture(scope='session')
def cluster(tmp_path_factory):
    """A `ClusterEngine` on a real local cluster of two engine processes (loopback).

    Tests that break an engine start a cluster of their own.
    """
    engine = ClusterEngine.start(2, profile_dir=str(tmp_path_factory.mktemp('ipython')))
    yield engine
    engine.close()


@pytest.fixture(scope='module')
def shell():
    """A real IPython shell with the extension loaded."""
    ip = InteractiveShell.instance()
    ip.run_line_magic('load_ext', 'interpkernel')
    yield ip
    ip.run_line_magic('unload_ext', 'interpkernel')


def streamed(future, name='stdout'):
    """All text a finished cell wrote to stream `name`."""
    return ''.join(e.content['text'] for e in future.events
                   if e.msg_type == 'stream' and e.content['name'] == name)


@pytest.fixture(scope='session')
def kernelspec(tmp_path_factory):
    """The interp kernelspec, installed in a temporary prefix that Jupyter searches."""
    prefix = tmp_path_factory.mktemp('prefix')
    install(prefix=str(prefix))
    saved = os.environ.get('JUPYTER_PATH')
    os.environ['JUPYTER_PATH'] = str(prefix / 'share' / 'jupyter')
    yield prefix
    if saved is None:
        del os.environ['JUPYTER_PATH']
    else:
        os.environ['JUPYTER_PATH'] = saved


@pytest.fixture(scope='session')
def artefacts():
    """A folder for what tests leave to be looked at (screenshots), kept after the run.

    ``build/screenshots/`` in the repository (git-ignored), or the folder
    ``$INTERPKERNEL_ARTEFACTS`` names.  Each test writes files named for what they
    show, replacing the previous run's.
    """
    folder = Path(os.environ.get('INTERPKERNEL_ARTEFACTS') or ROOT / 'build' / 'screenshots')
    folder.mkdir(parents=True, exist_ok=True)
    return folder
