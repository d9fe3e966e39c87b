"""Starts the interp kernel: ``python -m interpkernel.kernel -f CONNECTION_FILE``."""

from ipykernel.kernelapp import IPKernelApp

from .kernel import InterpKernel

__all__ = ['main']


def main():
    IPKernelApp.launch_instance(kernel_class=InterpKernel,
                                outstream_class='interpkernel.kernel._ipykernel.OutStream')

