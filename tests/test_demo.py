"""The main job: `python -m interpkernel demo`."""

import subprocess
import sys

from interpkernel import demo


def test_demo_reports_every_cell_and_the_speedup():
    lines = []
    assert demo.main(k=2, work=20_000, out=lines.append) == 0
    report = '\n'.join(lines)
    assert 'one after another in one interpreter' in report
    assert report.count('on worker #') == 2
    assert 'speed-up:' in report and 'on 2 cores' in report


def test_command_line_runs_the_demo_and_rejects_bad_options():
    done = subprocess.run([sys.executable, '-m', 'interpkernel', 'demo', '-k', '1', '--work', '1000'],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert 'speed-up' in done.stdout
    bad = subprocess.run([sys.executable, '-m', 'interpkernel', 'demo', '-k', '0'],
                         capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and '--cells must be at least 1' in bad.stderr
