"""What every benchmark group gets: the repetition level and the shared ipyparallel cluster."""

from dataclasses import dataclass

from ._ipp import SharedCluster

__all__ = ['Context']


@dataclass
class Context:
    quick: bool
    cluster: SharedCluster

    def reps(self, full, quick):
        """How many repetitions to run: `quick` ones with --quick, else `full`."""
        return quick if self.quick else full
