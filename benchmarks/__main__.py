"""Run the benchmark suite and print one markdown table.

Usage: ``python -m benchmarks [--quick] [--only NAME]...``

Progress goes to stderr; the table and the total wall time go to stdout.  The
ipyparallel cluster is started once, on first need, and stopped at the end
even if a group fails.  A group that fails prints its error in its row.
"""

import argparse
import os
import sys
import time
import traceback

from . import (channel, channel_stress, cluster, cpu, interrupts, kernel, latency, memory,
               soak, startup, transfer)
from ._context import Context
from ._ipp import SharedCluster
from ._table import Row, render

GROUPS = {module.NAME: module for module in (cpu, latency, startup, channel, channel_stress,
                                              transfer, memory, interrupts, kernel, soak,
                                              cluster)}


def _parse(argv):
    parser = argparse.ArgumentParser(prog='python -m benchmarks', description=__doc__)
    parser.add_argument('--quick', action='store_true', help='fewer repetitions')
    parser.add_argument('--only', action='append', choices=GROUPS, metavar='NAME',
                        help=f'run only this group (repeatable): {", ".join(GROUPS)}')
    return parser.parse_args(argv)


def _run_group(name, ctx):
    print(f'running {name} ...', file=sys.stderr, flush=True)
    try:
        return GROUPS[name].rows(ctx)
    except Exception as exc:
        traceback.print_exc()
        return [Row(f'{name}: failed', f'{type(exc).__name__}: {exc}', '', '', '', None)]


def main(argv=None):
    args = _parse(argv)
    start = time.perf_counter()
    ctx = Context(quick=args.quick, cluster=SharedCluster(n=os.process_cpu_count() or 1))
    rows = []
    try:
        for name in [name for name in GROUPS if not args.only or name in args.only]:
            rows.extend(_run_group(name, ctx))
    finally:
        ctx.cluster.stop()
    print(render(rows))
    print(f'\ntotal wall time {time.perf_counter() - start:.1f} s '
          f'({os.process_cpu_count()} cores{", --quick" if args.quick else ""})')


if __name__ == '__main__':
    main()
