"""Live output from cells: streams, threads, progress bars, rich display."""

import threading

from conftest import streamed


def _first_event_while_running(pool, source, worker=None):
    """Submit `source`, return (first event, whether the cell was still running then)."""
    seen = threading.Event()
    state = {}

    def listener(event):
        if not seen.is_set():
            state['event'], state['running'] = event, not future.done()
            seen.set()

    future = pool.submit(source, worker=worker, on_event=listener)
    assert seen.wait(30), 'no event arrived'
    future.interrupt()
    return future, state['event'], state['running']


def test_print_arrives_while_the_cell_still_runs(pool):
    future, event, running = _first_event_while_running(
        pool, 'import time\nprint("early", flush=False)\nwhile True: time.sleep(0.01)')
    assert event.content == {'name': 'stdout', 'text': 'early\n'}
    assert running


def test_output_of_threads_started_by_the_cell_is_the_cells(pool):
    source = ('import threading\n'
              'def talk():\n'
              '    for i in range(3): print("thread", i)\n'
              't = threading.Thread(target=talk)\nt.start()\nt.join()')
    future = pool.submit(source)
    future.result()
    assert streamed(future) == 'thread 0\nthread 1\nthread 2\n'


def test_stderr_and_stdout_keep_their_order(pool):
    future = pool.submit('import sys\nprint("a")\nprint("b", file=sys.stderr)\nprint("c")')
    future.result()
    streams = [(e.content['name'], e.content['text']) for e in future.events]
    assert streams == [('stdout', 'a\n'), ('stderr', 'b\n'), ('stdout', 'c\n')]


def test_carriage_return_progress_is_passed_through(pool):
    future = pool.submit('import sys\nfor i in range(3):\n    sys.stdout.write(f"\\r{i}/3")\n'
                         '    sys.stdout.flush()')
    future.result()
    assert streamed(future) == '\r0/3\r1/3\r2/3'
    assert len([e for e in future.events if e.msg_type == 'stream']) == 3


def test_tqdm_progress_bar_streams_to_stderr(pool):
    future = pool.submit('from tqdm import tqdm\nfor _ in tqdm(range(5), mininterval=0): pass')
    future.result()
    text = streamed(future, 'stderr')
    assert '\r' in text and '5/5' in text


def test_display_sends_a_mimebundle(pool):
    source = ('from IPython.display import display, HTML\n'
              'print("before")\n'
              'display(HTML("<i>hi</i>"))\n'
              'print("after")')
    future = pool.submit(source)
    future.result()
    kinds = [e.msg_type for e in future.events]
    assert kinds == ['stream', 'display_data', 'stream']
    assert future.events[1].content['data']['text/html'] == '<i>hi</i>'


def test_display_is_a_builtin_in_workers_as_in_ipython(pool):
    future = pool.submit('display({"a": 1})')
    future.result()
    assert future.events[0].content['data'] == {'text/plain': "{'a': 1}"}


def test_display_ids_can_be_updated(pool):
    source = ('from IPython.display import display, update_display\n'
              'h = display("one", display_id="bar")\n'
              'h.update("two")\n'
              'update_display("three", display_id="bar")')
    future = pool.submit(source)
    future.result()
    kinds = [(e.msg_type, e.content['data']['text/plain'], e.content['transient'])
             for e in future.events]
    assert kinds == [('display_data', "'one'", {'display_id': 'bar'}),
                     ('update_display_data', "'two'", {'display_id': 'bar'}),
                     ('update_display_data', "'three'", {'display_id': 'bar'})]


def test_clear_output_is_an_event(pool):
    future = pool.submit('from IPython.display import clear_output\nprint(1)\nclear_output(wait=True)')
    future.result()
    assert [e.msg_type for e in future.events] == ['stream', 'clear_output']
    assert future.events[1].content == {'wait': True}


def test_replacing_sys_stdout_in_a_cell_does_not_break_the_next(pool):
    pool.run('import sys, io\nsys.stdout = io.StringIO()', worker='redirect')
    future = pool.submit('print("visible")', worker='redirect')
    future.result()
    assert streamed(future) == 'visible\n'


def test_large_output_arrives_whole(pool):
    future = pool.submit('for i in range(20000):\n    print(i)')
    future.result()
    assert streamed(future) == ''.join(f'{i}\n' for i in range(20000))
