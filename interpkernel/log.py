"""The package's logger: ``logging.getLogger('interpkernel')``."""

import logging

__all__ = ['log']

log = logging.getLogger('interpkernel')
