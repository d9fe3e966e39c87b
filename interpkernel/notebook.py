"""Running a whole notebook the way JupyterLab's "Run All" does.

"Run All" sends every code cell's execute_request at once and lets the kernel
order them; `run_all` does the same over the Jupyter protocol, with a real
kernel started by jupyter_client, and collects each cell's outputs (in
nbformat's shape) and timings.  On ipykernel the cells run one after another;
on the interp kernel independent cells run at the same time.
"""

import queue
import time
from dataclasses import dataclass, field

import nbformat
from jupyter_client.manager import start_new_kernel

__all__ = ['CellRun', 'run_all']


@dataclass
class CellRun:
    """One code cell of a run: its outputs, reply and when it was busy."""
    source: str
    outputs: list = field(default_factory=list)
    reply: dict | None = None
    busy: float | None = None
    idle: float | None = None


def run_all(notebook, kernel_name, *, timeout=120, stop_on_error=True):
    """Submit every code cell of `notebook` at once; return a CellRun per code cell.

    Raises TimeoutError if the cells have not all replied within `timeout` s.
    """
    cells = [cell for cell in notebook.cells if cell.cell_type == 'code']
    manager, client = start_new_kernel(kernel_name=kernel_name)
    try:
        runs = {}
        for cell in cells:
            msg_id = client.execute(cell.source, stop_on_error=stop_on_error)
            runs[msg_id] = CellRun(cell.source)
        _collect(client, runs, time.monotonic() + timeout)
        return list(runs.values())
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)


def _collect(client, runs, deadline):
    pending_replies, pending_idle = set(runs), set(runs)
    while pending_replies or pending_idle:
        if time.monotonic() > deadline:
            raise TimeoutError(f'{len(pending_replies)} cells did not finish in time')
        try:
            reply = client.get_shell_msg(timeout=0.01)
        except queue.Empty:
            pass
        else:
            msg_id = reply['parent_header'].get('msg_id')
            if msg_id in runs:
                runs[msg_id].reply = reply['content']
                pending_replies.discard(msg_id)
        while True:
            try:
                message = client.get_iopub_msg(timeout=0.01)
            except queue.Empty:
                break
            msg_id = message['parent_header'].get('msg_id')
            if msg_id in runs and _record(runs, runs[msg_id], message):
                pending_idle.discard(msg_id)


def _record(runs, run, message):
    """Apply one iopub message to its cell; True when the cell went idle."""
    msg_type, content = message['msg_type'], message['content']
    if msg_type == 'status':
        now = time.perf_counter()
        if content['execution_state'] == 'busy':
            run.busy = now
        elif content['execution_state'] == 'idle':
            run.idle = now
            return True
    elif msg_type == 'clear_output':
        run.outputs.clear()
    elif msg_type == 'update_display_data':
        display_id = content.get('transient', {}).get('display_id')
        for other in runs.values():
            for output in other.outputs:
                if output.get('metadata', {}).get('_display_id') == display_id:
                    output['data'], output['metadata'] = content['data'], dict(
                        content['metadata'], _display_id=display_id)
    elif msg_type in ('stream', 'display_data', 'execute_result', 'error'):
        output = nbformat.v4.output_from_msg(message)
        display_id = content.get('transient', {}).get('display_id')
        if display_id:
            output['metadata']['_display_id'] = display_id
        run.outputs.append(output)
    return False
