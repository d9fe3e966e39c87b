"""The ``python -m interpkernel`` command line."""

import argparse

from . import demo

__all__ = ['main']


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog='python -m interpkernel',
        description='Run Python cells in parallel subinterpreters, one per core.')
    commands = parser.add_subparsers(dest='command', required=True, metavar='COMMAND')
    run_demo = commands.add_parser(
        'demo', help='run k CPU-bound cells on k cores and print the measured speed-up')
    run_demo.add_argument('-k', '--cells', type=int, default=None,
                          help='number of cells (default: the CPU cores this process may use)')
    run_demo.add_argument('--work', type=int, default=3_000_000,
                          help='loop iterations per cell (default: %(default)s)')
    args = parser.parse_args(argv)
    if args.command == 'demo':
        if args.cells is not None and args.cells < 1:
            parser.error(f'--cells must be at least 1, got {args.cells}')
        if args.work < 1:
            parser.error(f'--work must be at least 1, got {args.work}')
        return demo.main(args.cells, args.work)
    return 2
