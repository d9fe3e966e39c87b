"""The README's example runs and prints what its comments say."""

import subprocess
import sys
from pathlib import Path


def test_readme_example_runs():
    readme = (Path(__file__).parent.parent / 'README.md').read_text()
    start = readme.index('```python\nfrom interpkernel import Pool, Channel') + len('```python\n')
    example = readme[start:readme.index('```', start)]
    done = subprocess.run([sys.executable, '-c', example], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ['[333333283333335000000, 333333283333335000000]',
                                        '[0, 1, 4, 9, 16]']
