"""The ``python -m interpkernel`` command line."""

import argparse

import sys

from . import demo

__all__ = ['main']


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog='python -m interpkernel',
        description='Run Python cells in parallel subinterpreters, one per core.')
    commands = parser.add_subparsers(dest='command', required=True, metavar='COMMAND')
    run = commands.add_parser(
        'run', help='run a notebook as Run All does, on the interp kernel, and report each cell',
        description='Send every code cell at once, as JupyterLab\'s Run All does; then print '
                    'per cell how long it ran, where and what it waited for, and the '
                    'speed-up. Exit status 1 if a cell failed (one not tagged '
                    'raises-exception), the run timed out or --compare found different '
                    'outputs; 2 if the notebook or kernel cannot be used.')
    run.add_argument('notebook', metavar='NOTEBOOK.ipynb')
    written = run.add_mutually_exclusive_group()
    written.add_argument('-o', '--output', metavar='OUT',
                         help='write the executed notebook to OUT (default: write nothing)')
    written.add_argument('--inplace', action='store_true',
                         help='write the executed notebook over NOTEBOOK')
    run.add_argument('--timeline', metavar='FILE.svg',
                     help="write the run's Gantt chart (what %%interp timeline draws) to FILE.svg")
    run.add_argument('--kernel', metavar='NAME',
                     help='the kernel to run on (default: interp; e.g. python3)')
    run.add_argument('--compare', action='store_true',
                     help='run on interp and on python3 (or --kernel NAME) and compare '
                          'their outputs and times')
    run.add_argument('--timeout', metavar='S', type=float, default=600,
                     help='interrupt the run after S seconds (default: %(default)g)')
    run_demo = commands.add_parser(
        'demo', help='run k CPU-bound cells on k cores and print the measured speed-up')
    run_demo.add_argument('-k', '--cells', type=int, default=None,
                          help='number of cells (default: the CPU cores this process may use)')
    run_demo.add_argument('--work', type=int, default=3_000_000,
                          help='loop iterations per cell (default: %(default)s)')
    install = commands.add_parser(
        'install', help="register the kernel 'Python 3 (subinterpreters)' with Jupyter")
    where = install.add_mutually_exclusive_group()
    where.add_argument('--user', action='store_true', help="in the user's Jupyter directory")
    where.add_argument('--sys-prefix', action='store_true',
                       help="in this Python environment's prefix (the default)")
    where.add_argument('--prefix', metavar='PREFIX', help='in PREFIX/share/jupyter/kernels')
    args = parser.parse_args(argv)
    if args.command == 'run':
        return _run(run, args)
    if args.command == 'install':
        from .kernel.install import install as install_kernel
        prefix = args.prefix if args.prefix else (None if args.user else sys.prefix)
        path = install_kernel(user=args.user, prefix=prefix)
        print(f"installed kernelspec 'interp' in {path}")
        return 0
    if args.command == 'demo':
        if args.cells is not None and args.cells < 1:
            parser.error(f'--cells must be at least 1, got {args.cells}')
        if args.work < 1:
            parser.error(f'--work must be at least 1, got {args.work}')
        return demo.main(args.cells, args.work)
    return 2


def _run(parser, args):
    from . import runner
    from .errors import InterpkernelError
    if not args.timeout > 0:
        parser.error(f'--timeout must be a positive number of seconds, got {args.timeout:g}')
    try:
        return runner.main(args.notebook, output=args.output, inplace=args.inplace,
                           timeline=args.timeline, kernel=args.kernel, compare=args.compare,
                           timeout=args.timeout)
    except InterpkernelError as exc:
        parser.exit(2, f'error: {exc}\n')
    except KeyboardInterrupt:
        parser.exit(130, 'interrupted: the kernel was shut down\n')
