"""Run every notebook of this folder twice on ipykernel and report unstable cells.

A notebook belongs in the differential corpus only if running it top to bottom
gives the same outputs every time.  This script runs each notebook twice with
nbclient on the `python3` kernel (ipykernel), with the notebook's folder as the
working directory, and prints every code cell whose normalised outputs differ
between the two runs, plus the wall time of each run.  Each run gets its own
PYTHONHASHSEED (1, 2, ...), so output that depends on the iteration order of
sets or dicts of strings is caught rather than passing by luck.

Normalisation (the same as tests/test_kernel.py): consecutive stream outputs of
the same name are merged; errors are compared by ename and evalue only; other
outputs by their data dict.

    python tests/notebooks/real/check_determinism.py            # every notebook here
    python tests/notebooks/real/check_determinism.py a.ipynb    # only these
    python tests/notebooks/real/check_determinism.py --runs 3

Exit status is 1 if any notebook is unstable or fails to run, else 0.
"""

import argparse
import os
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from interpkernel.notebook import comparable

HERE = Path(__file__).resolve().parent


def run_once(path, kernel_name='python3', timeout=120, hash_seed=None):
    """Run the notebook at `path` top to bottom; (normalised outputs per code cell, sources, seconds).

    With `hash_seed`, the kernel is started with that PYTHONHASHSEED.
    """
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(notebook, kernel_name=kernel_name, timeout=timeout,
                            allow_errors=True,
                            resources={'metadata': {'path': str(Path(path).parent)}})
    saved = os.environ.get('PYTHONHASHSEED')
    if hash_seed is not None:
        os.environ['PYTHONHASHSEED'] = str(hash_seed)
    try:
        started = time.perf_counter()
        client.execute()
        seconds = time.perf_counter() - started
    finally:
        if saved is None:
            os.environ.pop('PYTHONHASHSEED', None)
        else:
            os.environ['PYTHONHASHSEED'] = saved
    cells = [c for c in notebook.cells if c.cell_type == 'code']
    return [comparable(c.outputs) for c in cells], [c.source for c in cells], seconds


def check(path, runs=2, timeout=120):
    """Run `path` `runs` times; return (list of (cell number, source, first, other)), times)."""
    first, sources, seconds = run_once(path, timeout=timeout, hash_seed=1)
    times, differences = [seconds], []
    for run in range(2, runs + 1):
        other, _, seconds = run_once(path, timeout=timeout, hash_seed=run)
        times.append(seconds)
        for number, (a, b) in enumerate(zip(first, other), start=1):
            if a != b:
                differences.append((number, sources[number - 1], a, b))
    return differences, times


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('notebooks', nargs='*', type=Path)
    parser.add_argument('--runs', type=int, default=2)
    parser.add_argument('--timeout', type=int, default=120, help='seconds per cell')
    args = parser.parse_args(argv)
    paths = args.notebooks or sorted(HERE.glob('*.ipynb'))
    failed = 0
    for path in paths:
        try:
            differences, times = check(path, args.runs, args.timeout)
        except Exception as error:  # a timeout or a dead kernel
            failed += 1
            print(f'FAIL  {path.name}: {type(error).__name__}: {error}', flush=True)
            continue
        status = 'ok   ' if not differences else 'DIFF '
        failed += bool(differences)
        print(f'{status} {path.name}  ' + ' '.join(f'{t:.1f}s' for t in times), flush=True)
        for number, source, a, b in differences:
            print(f'      cell {number}: {source[:70]!r}')
            print(f'        run 1: {str(a)[:300]}')
            print(f'        run 2: {str(b)[:300]}')
    print(f'{len(paths) - failed} of {len(paths)} notebooks are deterministic')
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
