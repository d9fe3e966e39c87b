"""The interp kernel in a real JupyterLab, driven in a real headless Chromium.

JupyterLab's launcher must offer "Python 3 (interp)", and its "Run
All" must run a notebook's independent cells at the same time (their time
stamps overlap) with the results of running them in order.  The status bar
must read "Busy" while any cell runs, and after a failing cell the cells
aborted behind it keep an empty prompt, as with ipykernel.  Screenshots go to
the `artefacts` folder (build/screenshots/).
"""

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request

import nbformat
import pytest
from playwright.sync_api import sync_playwright

from interpkernel.kernel.install import DISPLAY_NAME, KERNEL_NAME

TOKEN = 'interpkernel-test'
CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
                 '--disable-background-networking', '--disable-component-update',
                 '--disable-sync']
CELLS = [
    'import time\ndef work():\n    total = 0\n    for i in range(3_000_000):\n'
    '        total += i % 7\n    return total',
    'left_start = time.perf_counter()\nleft = work()\nleft_end = time.perf_counter()',
    'right_start = time.perf_counter()\nright = work()\nright_end = time.perf_counter()',
    'print("overlap", left_start < right_end and right_start < left_end)\n'
    'print("sum", left + right)',
]
KERNEL_STATUS = '.jp-StatusBar-TextItem[title^="Change kernel"]'   # "Python 3 (interp) | Idle"
NUMBERED = re.compile(r'\[\d+\]:')
RUNNING, EMPTY = '[*]:', '[ ]:'
COMPACT = {'width': 1000, 'height': 330}   # the notebook and the status bar, for the README

# Records every state the page goes through, with the time it began (in s):
# the kernel status the status bar shows and each cell's prompt, in
# `window.seen`, so that a test can check states too short-lived to poll for.
_RECORD = """() => {
    window.seen = [];
    let last = null;
    const record = () => {
        const state = JSON.stringify({
            status: document.querySelector('%s')?.textContent ?? '',
            prompts: [...document.querySelectorAll('.jp-Notebook .jp-Cell .jp-InputPrompt')]
                .map(prompt => prompt.textContent.trim())});
        if (state !== last) window.seen.push([performance.now() / 1000, state]);
        last = state;
    };
    new MutationObserver(record).observe(document.body,
        {subtree: true, childList: true, characterData: true});
    record();
}""" % KERNEL_STATUS


def _free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


@pytest.fixture(scope='module')
def lab(kernelspec, tmp_path_factory):
    root = tmp_path_factory.mktemp('lab')
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, '-m', 'jupyterlab', '--no-browser', f'--port={port}',
         '--ServerApp.ip=127.0.0.1', f'--IdentityProvider.token={TOKEN}',
         f'--ServerApp.root_dir={root}', '--ServerApp.allow_root=True',
         f'--LabApp.workspaces_dir={root / ".workspaces"}'],
        env=dict(os.environ), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f'http://127.0.0.1:{port}'
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(f'{url}/api/status?token={TOKEN}', timeout=2)
            break
        except OSError:
            assert time.monotonic() < deadline, 'JupyterLab did not start within 60 s'
            time.sleep(0.3)
    try:
        yield url, root
    finally:
        server.terminate()
        server.wait(30)


@pytest.fixture(scope='module')
def browser(lab):
    chromium = shutil.which('chromium')
    assert chromium, 'Chromium is missing: `make test` installs it (apt-get install chromium)'
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={'width': 1400, 'height': 900})
    yield context.new_page()
    context.close()


def open_notebook(lab, page, name, cells):
    """Open a new notebook of `cells` on the interp kernel; return once its kernel is idle."""
    url, root = lab
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    notebook.metadata['kernelspec'] = {'name': KERNEL_NAME, 'display_name': DISPLAY_NAME,
                                       'language': 'python'}
    nbformat.write(notebook, root / name)
    page.goto(f'{url}/lab/tree/{name}?reset&token={TOKEN}')   # reset: only this notebook open
    # The toolbar's indicator reads idle before the kernel is connected; the status
    # bar names the kernel only once it is.
    page.locator(KERNEL_STATUS, has_text=f'{DISPLAY_NAME} | Idle').wait_for(timeout=60_000)


def hide_sidebar(page):
    """Close the file browser, leaving the notebook the whole width."""
    sidebar = page.locator('#jp-left-stack')
    if sidebar.is_visible():
        page.keyboard.press('Control+b')
        sidebar.wait_for(state='hidden')


def run_all(page):
    """Run > Run All from the menu bar."""
    page.locator('.jp-Cell .jp-InputPrompt').first.click()   # focus the notebook
    page.keyboard.press('Escape')
    page.get_by_role('menuitem', name='Run', exact=True).click()
    run_all = page.locator('li[data-command="runmenu:run-all"]')
    run_all.hover()
    run_all.click()


def record_states(page):
    """Start recording the kernel status and the prompts at each change (see `seen`)."""
    page.evaluate(_RECORD)


def seen(page):
    """Every state recorded since `record_states`: dicts of status, prompts and
    `at`, the time it began in seconds."""
    return [{**json.loads(state), 'at': at} for at, state in page.evaluate('window.seen')]


def wait_until_all_ran(page):
    """Until the status bar reads Idle and no prompt reads [*]."""
    page.wait_for_function(
        """([selector, idle]) => document.querySelector(selector)?.textContent === idle
            && ![...document.querySelectorAll('.jp-Notebook .jp-InputPrompt')]
                .some(prompt => prompt.textContent.trim() === '[*]:')""",
        arg=[KERNEL_STATUS, f'{DISPLAY_NAME} | Idle'], timeout=60_000)


def test_launcher_offers_the_kernel(lab, page):
    url, _ = lab
    page.goto(f'{url}/lab?reset&token={TOKEN}')
    card = page.locator('.jp-LauncherCard', has_text=DISPLAY_NAME).first
    card.wait_for(timeout=60_000)
    assert card.is_visible()


def test_run_all_runs_independent_cells_at_once(lab, page, artefacts):
    open_notebook(lab, page, 'parallel.ipynb', CELLS)
    run_all(page)
    output = page.locator('.jp-OutputArea-output', has_text='sum ')
    output.wait_for(timeout=120_000)
    page.screenshot(path=artefacts / 'run-all.png')
    text = output.inner_text()
    assert 'overlap True' in text and 'sum 17999988' in text


def test_the_status_bar_reads_busy_while_any_cell_runs(lab, page, artefacts):
    """The slow cell is still at [*] when the quick one after it is done.

    JupyterLab shows the status of the last status message.  The kernel ends
    each request with that request's own idle (clients wait for it), then, as
    other cells still run, sends busy for the kernel as a whole: between the two
    the status bar may read Idle for a few milliseconds, never longer.
    """
    page.set_viewport_size(COMPACT)
    open_notebook(lab, page, 'status.ipynb',
                  ['import time\ntime.sleep(5)\nprint("slow done")', 'print("quick done")'])
    hide_sidebar(page)
    record_states(page)
    run_all(page)
    slow, quick = page.locator('.jp-Notebook .jp-Cell .jp-InputPrompt').all()
    page.locator('.jp-OutputArea-output', has_text='quick done').wait_for(timeout=60_000)
    page.wait_for_function(r'prompt => /^\[\d+\]:$/.test(prompt.textContent.trim())',
                           arg=quick.element_handle(), timeout=30_000)
    busy = f'{DISPLAY_NAME} | Busy'
    page.wait_for_function(   # past the flicker (below), or too late for the screenshot
        """([selector, busy, slow]) => document.querySelector(selector)?.textContent === busy
            || slow.textContent.trim() !== '[*]:'""",
        arg=[KERNEL_STATUS, busy, slow.element_handle()], timeout=30_000)
    page.screenshot(path=artefacts / 'status-bar-during-a-run.png')
    shot_while_running = slow.inner_text().strip() == RUNNING
    page.locator('.jp-OutputArea-output', has_text='slow done').wait_for(timeout=60_000)
    wait_until_all_ran(page)

    states = seen(page)
    during = [i for i, s in enumerate(states)
              if s['prompts'][0] == RUNNING and NUMBERED.fullmatch(s['prompts'][1])]
    assert during, f'the quick cell never ended while the slow one ran: {states}'
    idle = sum(states[i + 1]['at'] - states[i]['at'] for i in during
               if states[i]['status'] != busy)
    assert idle < 1, f'the status bar read Idle for {idle:.1f} s while a cell ran: {states}'
    # (The last of these may read Idle: the slow cell's own idle can come
    # before JupyterLab shows its reply's count.)
    assert any(states[i]['status'] == busy for i in during), states
    assert states[-1]['status'] == f'{DISPLAY_NAME} | Idle'
    assert all(NUMBERED.fullmatch(prompt) for prompt in states[-1]['prompts']), states
    assert shot_while_running, 'the slow cell ended before the screenshot'


def test_run_all_with_an_error_leaves_the_aborted_cells_unnumbered(lab, page, artefacts):
    """When a cell fails, JupyterLab empties the prompt of every cell not finished
    yet, then shows the count each later reply carries: an aborted reply must
    carry none (ipykernel's carries none)."""
    page.set_viewport_size({**COMPACT, 'height': 420})
    open_notebook(lab, page, 'error.ipynb', [
        "numbers = ['4', '8', 'fifteen', '16']",
        'values = [int(n) for n in numbers]',
        'total = sum(values)',
        "print('mean', total / len(values))"])
    hide_sidebar(page)
    record_states(page)
    run_all(page)
    cells = page.locator('.jp-Notebook .jp-Cell')
    error = cells.nth(1).locator('.jp-OutputArea-output')
    error.wait_for(timeout=60_000)
    wait_until_all_ran(page)
    page.screenshot(path=artefacts / 'run-all-with-an-error.png')

    traceback = error.inner_text()
    assert "ValueError: invalid literal for int() with base 10: 'fifteen'" in traceback
    assert 'values = [int(n) for n in numbers]' in traceback   # the source line, as IPython shows it
    prompts = [prompt.strip() for prompt in cells.locator('.jp-InputPrompt').all_inner_texts()]
    assert [bool(NUMBERED.fullmatch(prompt)) for prompt in prompts[:2]] == [True, True], prompts
    assert prompts[2:] == [EMPTY, EMPTY]     # aborted: no count, as ipykernel leaves them
    states = seen(page)
    for aborted in (2, 3):
        assert cells.nth(aborted).locator('.jp-OutputArea-output').count() == 0
        # ... and sent to the kernel (queued at [*]), not skipped by JupyterLab.
        assert any(s['prompts'][aborted] == RUNNING for s in states), states
