"""Shared fixtures: one real pool of subinterpreter workers per test module."""

import pytest

from interpkernel import Pool


@pytest.fixture(scope='module')
def pool():
    with Pool(2) as shared:
        shared.wait_ready()
        yield shared


def streamed(future, name='stdout'):
    """All text a finished cell wrote to stream `name`."""
    return ''.join(e.content['text'] for e in future.events
                   if e.msg_type == 'stream' and e.content['name'] == name)
