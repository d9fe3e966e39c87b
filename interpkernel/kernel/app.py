"""Starts the interp kernel: ``python -m interpkernel.kernel -f CONNECTION_FILE``."""

import functools

from ipykernel.kernelapp import IPKernelApp

from .kernel import InterpKernel

__all__ = ['launch_instance']

launch_instance = functools.partial(
    IPKernelApp.launch_instance, kernel_class=InterpKernel,
    outstream_class='interpkernel.kernel._ipykernel.OutStream')
