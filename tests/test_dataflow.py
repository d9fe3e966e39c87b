"""Binding reads to versions, and forgetting versions nobody can read."""

import asyncio

from interpkernel.dataflow.analysis import analyse
from interpkernel.dataflow.cells import MISSING, Dataflow


def _run(coroutine):
    return asyncio.run(coroutine)


def test_reads_bind_to_the_latest_earlier_writer_and_its_own_version():
    async def scenario():
        flow = Dataflow({})
        first = flow.add(1, analyse('x = 1'))
        reader = flow.add(2, analyse('y = x'))
        second = flow.add(3, analyse('x = 2'))
        assert flow.dependencies(reader, ['x']) == [first]
        second.outputs = {'x': 2}
        second.finish('done')      # the later writer finishes first
        first.outputs = {'x': 1}
        first.finish('done')
        assert flow.value(reader, 'x') == 1
        assert flow.latest_value('x') == 2
    _run(scenario())


def test_a_name_only_a_later_cell_defines_is_missing_for_earlier_ones():
    async def scenario():
        namespace = {}
        flow = Dataflow(namespace)
        reader = flow.add(1, analyse('print(late)'))
        writer = flow.add(2, analyse('late = 2'))
        writer.outputs = {'late': 2}
        writer.finish('done')
        namespace['late'] = 2     # the kernel applies the latest value
        assert flow.value(reader, 'late') is MISSING
    _run(scenario())


def test_replaced_versions_are_forgotten_once_no_cell_can_read_them():
    async def scenario():
        flow = Dataflow({})
        cells = [flow.add(n, analyse('data = bytes(10)')) for n in range(1, 4)]
        for cell in cells:
            cell.outputs = {'data': b'x'}
            cell.finish('done')
            flow.forget_older_versions(cell)
        assert [bool(c.outputs) for c in cells] == [False, False, True]
    _run(scenario())


def test_a_version_an_unfinished_cell_may_read_is_kept():
    async def scenario():
        flow = Dataflow({})
        first = flow.add(1, analyse('data = 1'))
        flow.add(2, analyse('print(data)'))      # still waiting
        last = flow.add(3, analyse('data = 2'))
        first.outputs = {'data': 1}
        first.finish('done')
        last.outputs = {'data': 2}
        last.finish('done')
        flow.forget_older_versions(last)
        assert first.outputs == {'data': 1}
    _run(scenario())
