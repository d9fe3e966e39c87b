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
