"""The interp kernel in a real JupyterLab, driven in a real headless Chromium.

JupyterLab's launcher must offer "Python 3 (interp)", and its "Run
All" must run a notebook's independent cells at the same time (their time
stamps overlap) with the results of running them in order.
"""

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request

import nbformat
import pytest
from playwright.sync_api import sync_playwright

from interpkernel.kernel.install import DISPLAY_NAME

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


def _free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


@pytest.fixture(scope='module')
def lab(kernelspec, tmp_path_factory):
    root = tmp_path_factory.mktemp('lab')
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in CELLS])
    notebook.metadata['kernelspec'] = {'name': 'interp', 'display_name': DISPLAY_NAME,
                                       'language': 'python'}
    nbformat.write(notebook, root / 'parallel.ipynb')
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


def test_launcher_offers_the_kernel(lab, page):
    url, _ = lab
    page.goto(f'{url}/lab?reset&token={TOKEN}')
    card = page.locator('.jp-LauncherCard', has_text=DISPLAY_NAME).first
    card.wait_for(timeout=60_000)
    assert card.is_visible()


def test_run_all_runs_independent_cells_at_once(lab, page, tmp_path):
    url, _ = lab
    page.goto(f'{url}/lab/tree/parallel.ipynb?token={TOKEN}')
    page.locator('.jp-Notebook-ExecutionIndicator[data-status="idle"]').first.wait_for(
        timeout=60_000)
    page.locator('.jp-Cell .jp-InputPrompt').first.click()   # focus the notebook
    page.keyboard.press('Escape')
    page.get_by_role('menuitem', name='Run', exact=True).click()
    run_all = page.locator('li[data-command="runmenu:run-all"]')
    run_all.hover()
    run_all.click()
    output = page.locator('.jp-OutputArea-output', has_text='sum ')
    output.wait_for(timeout=120_000)
    page.screenshot(path=tmp_path / 'run-all.png')
    text = output.inner_text()
    assert 'overlap True' in text and 'sum 17999988' in text
