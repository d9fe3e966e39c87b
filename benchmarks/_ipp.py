"""One local ipyparallel cluster on loopback, started on first use and shared by all rows.

It runs in a throw-away profile directory, so neither the user's ipyparallel
configuration nor files left by an earlier run play a part.

Its start-up time (``Cluster(...)`` until every engine is connected, with
ipyparallel's default 1 s delay between controller and engines) is itself a
figure of the start-up row.  The import of ipyparallel is not timed, as the
import of interpkernel is not.
"""

import logging
import tempfile
import time

__all__ = ['SharedCluster']


class SharedCluster:
    """A lazily started ipyparallel cluster of `n` local engines.

    `client()` starts it on first call and raises RuntimeError with the reason
    if it cannot start (then, and on every later call).  `stop()` is idempotent.
    """

    def __init__(self, n):
        self.n = n
        self.start_seconds = None
        self._cluster = self._client = self._profile = None
        self._error = None

    def client(self):
        """A connected ipyparallel.Client with `n` engines."""
        if self._error is not None:
            raise RuntimeError(self._error)
        if self._client is None:
            self._start()
        return self._client

    def start_time(self):
        """Seconds the cluster took to start (starting it now if it has not started)."""
        self.client()
        return self.start_seconds

    def _start(self):
        try:
            import ipyparallel
            self._profile = tempfile.TemporaryDirectory(prefix='benchmarks-ipp-')
            start = time.perf_counter()
            self._cluster = ipyparallel.Cluster(n=self.n, controller_ip='127.0.0.1',
                                                engines='local', profile_dir=self._profile.name,
                                                log_level=logging.WARNING)
            self._client = self._cluster.start_and_connect_sync()
            self.start_seconds = time.perf_counter() - start
        except Exception as exc:
            self._error = f'ipyparallel did not start: {type(exc).__name__}: {exc}'
            self.stop()
            raise RuntimeError(self._error) from exc

    def stop(self):
        client, cluster, self._client, self._cluster = self._client, self._cluster, None, None
        profile, self._profile = self._profile, None
        try:
            if client is not None:
                client.close()
            if cluster is not None:
                cluster.stop_cluster_sync()
        finally:
            if profile is not None:
                profile.cleanup()
