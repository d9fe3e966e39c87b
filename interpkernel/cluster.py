"""`ClusterEngine`: homes on an ipyparallel cluster, one per engine process.

A value made on engine 3 stays in that engine's process (its home, kept by
`_core.cluster_home`), and the cells that read it go there, as with
subinterpreter workers.  Engines are processes: cells that use numpy (which
refuses subinterpreters) run in parallel there, on more cores than one
machine has if the cluster spans several.

How a task flows:

- `run`, `export` and `drop` queue it in its home, here in the host: a home
  has one request at a time on its engine, so a task queued behind another
  can still be cancelled, and an interrupt reaches only the task it is for.
- It goes out as one ``apply`` request calling `cluster_home.handle`, sent
  with ``Client.send_apply_request`` so that this engine listens to the
  request's iopub messages before the request leaves (``AsyncResult`` is
  only at hand after, when the first output may have come and gone).
- On iopub, ``busy`` marks the cell started; ``stream``, ``display_data``,
  ``update_display_data`` and ``clear_output`` become the cell's events as
  they arrive (the engine's ipykernel sends printed text within 0.2 s).  The
  future resolves when both the reply and ``idle`` (sent after the last
  output) are in, or `OUTPUT_WAIT` after the reply should ``idle`` be lost.
  Its timings are this process's clock: when ``busy`` and the reply arrived.
- `interrupt` asks the engine's nanny (ipyparallel's) to send SIGINT to the
  engine process, once the cell has started there.
- An engine whose process ends fails what it was running with `EngineLost`
  (ipyparallel hears of it at once from the nanny; without one, after missed
  heartbeats), and so does every later task for that home; the other homes
  keep working.
- `close` cancels queued tasks, interrupts running cells and waits a moment
  for them, then stops the cluster if this engine started it.

`ClusterEngine.start` starts a local cluster on the loopback interface, in
about 2 s instead of ipyparallel's 7 (`START_OPTIONS`);
`ClusterEngine.connect` attaches to a running cluster.  ipyparallel is an
optional dependency: ``pip install interpkernel[cluster]``.
"""

import asyncio
import collections
import concurrent.futures
import itertools
import logging
import os
import signal
import threading
import time

from . import reaper
from ._core import cluster_home, protocol, versioned
from .engine import Engine, HomeStatus
from .errors import ClusterError, EngineLost, PoolClosed
from .futures import CellFuture
from .log import log

__all__ = ['ClusterEngine', 'START_OPTIONS', 'check_installed']

INSTALL = 'pip install interpkernel[cluster]'

HEARTBEAT = 200     # ms between the controller's heartbeats on clusters `start` starts

START_OPTIONS = {
    # ipyparallel waits 1 s between starting the controller and the engines;
    # the engines wait for the controller's connection info anyway.
    'delay': 0,
    # A local cluster: nothing listens beyond this machine.
    'controller_ip': '127.0.0.1',
    # An engine counts as registered at the first heartbeat after it connects:
    # by default every 3 s, which was most of the start-up time.
    'controller_args': [f'--ping={HEARTBEAT}'],
}

STOP_WAIT = 3       # s `close` waits for interrupted cells, then for the controller
                    # to hear that the engines stopped

OUTPUT_WAIT = 5     # s a reply may wait for the end of its output on iopub

_RELAYED = frozenset({'stream', 'display_data', 'update_display_data', 'clear_output'})


def check_installed():
    """Raise `ClusterError`, saying what to install, unless ipyparallel is installed."""
    _ipyparallel()


def _ipyparallel():
    try:
        import ipyparallel
    except ImportError as exc:
        raise ClusterError(f'the cluster engine needs ipyparallel, which is not installed: '
                           f'{INSTALL}') from exc
    return ipyparallel


class _Job:
    """One task on its way through a home."""

    def __init__(self, future, data, cell):
        self.future, self.data, self.cell = future, data, cell
        self.reply = None          # the pickled report, or the error ipyparallel gave instead
        self.replied = self.output_done = self.settled = False
        self.started = self.finished = None    # perf_counter: iopub busy, the reply
        self.interrupt_wanted = False          # asked before the engine began it


class _Home:
    """One engine, as this process sees it: at most one request out at a time."""

    def __init__(self, name, engine_id):
        self.name, self.engine_id = name, engine_id
        self.queue = collections.deque()   # _Job not sent yet
        self.current = None                # the _Job sent and not settled
        self.lost = None                   # EngineLost, once its process is gone
        self.cells_run = 0


class ClusterEngine(Engine):
    """Homes ``'e0'``, ``'e1'`` ... on the engines of an ipyparallel cluster.

    See the module docstring for how tasks, output, interrupts and failures flow.

    Args:
        client: a connected ``ipyparallel.Client``; the engines registered now
            are the homes.  The engine owns it: `close` closes it.
        cluster: the ``ipyparallel.Cluster`` that `close` stops (one this
            process started), or None to leave the cluster running.
        timeout: seconds each engine has to answer a first request.
        reaper: the `reaper.watch` process that stops `cluster` should this
            process die first; `close` ends it.

    Raises:
        ClusterError: the cluster has no engines, or one cannot run this
            version of interpkernel.
    """

    def __init__(self, client, *, cluster=None, timeout=30, reaper=None):
        self._client, self._cluster, self._reaper = client, cluster, reaper
        # What asking for an engine that unregistered raises.
        self._gone = (IndexError, _ipyparallel().error.NoEnginesRegistered)
        self._seq = itertools.count(1)
        self._lock = threading.Lock()
        self._sending = threading.local()    # .now: this thread sends a request, lock held
        self._closed = False
        ids = sorted(client.ids)
        if not ids:
            raise ClusterError('the cluster has no engines; start some (ipcluster engines -n N) '
                               'and connect again')
        self._homes = {f'e{eid}': _Home(f'e{eid}', eid) for eid in ids}
        self._processes = self._greet(timeout)

    @classmethod
    def start(cls, n=None, *, timeout=60, on_progress=None, **options):
        """Start a local cluster of `n` engines (default: one per core); `close` stops it,
        and so does this process ending, however it ends (`reaper`).

        Args:
            timeout: seconds the engines have to register.
            on_progress: called as ``on_progress(registered, n)`` once the
                engines are launched (``registered`` 0 or more) and again each
                time more of them have registered.
            options: ``ipyparallel.Cluster`` settings, over `START_OPTIONS`
                (``profile_dir``, ``engines='mpi'``, ``delay`` ...).

        Raises:
            ClusterError: ipyparallel is missing, or the engines did not
                register in time (the message ends with the engines' log).
        """
        ipp = _ipyparallel()
        if n is None:
            n = os.process_cpu_count() or 1
        if type(n) is not int or n < 1:
            raise ValueError(f'the number of engines must be a positive int, got {n!r}')
        # ipyparallel logs to the stdout it finds when the cluster is made, in an
        # IPython session: the cell that started it, and then whichever cell runs
        # when an engine stops ("Output for 0: ..."). The package's log instead.
        cluster = ipp.Cluster(**{**START_OPTIONS, 'log_level': logging.WARNING,
                                 'log': _IPYPARALLEL_LOG, **options, 'n': n})
        client = watcher = None
        try:
            cluster.start_cluster_sync()
            watcher = reaper.watch(_launched_groups(cluster))
            client = cluster.connect_client_sync()
            deadline = time.monotonic() + timeout
            registered = len(client.ids)
            if on_progress is not None:
                on_progress(registered, n)
            while registered < n:
                try:
                    client.wait_for_engines(registered + 1, interactive=False,
                                            timeout=max(0.0, deadline - time.monotonic()))
                except (TimeoutError, ipp.error.EngineError):   # too slow, or they stopped
                    raise ClusterError(f'{len(client.ids)} of {n} engines registered within '
                                       f'{timeout} s{_log_tail(cluster)}') from None
                registered = min(len(client.ids), n)
                if on_progress is not None:
                    on_progress(registered, n)
            return cls(client, cluster=cluster, timeout=timeout, reaper=watcher)
        except BaseException:
            _stop(cluster, client, watcher)
            raise

    @classmethod
    def connect(cls, url_file=None, *, profile=None, cluster_id=None, engines=1, timeout=10):
        """Attach to a running cluster; `close` leaves it running.

        Args:
            url_file: its client connection file (``ipcontroller-client.json``);
                else found by `profile` and `cluster_id`, as ipyparallel does.
            engines: how many engines must have registered.
            timeout: seconds to wait for the controller, then for the engines.

        Raises:
            ClusterError: ipyparallel is missing, or no cluster (or not enough
                engines) answered within about `timeout` seconds.
        """
        ipp = _ipyparallel()
        where = url_file or f'profile {profile or "default"!r}' + \
            (f' cluster {cluster_id!r}' if cluster_id else '')
        try:
            client = ipp.Client(url_file, profile=profile, cluster_id=cluster_id,
                                timeout=timeout)
        except TimeoutError:
            raise ClusterError(f'no cluster answered at {where} within {timeout} s: is its '
                               f'controller running?') from None
        except OSError:
            raise ClusterError(f'no cluster to connect to at {where}: its connection file is '
                               f'missing; start one (ipcluster start, or ClusterEngine.start)'
                               ) from None
        try:
            try:
                client.wait_for_engines(engines, timeout=timeout, interactive=False)
            except TimeoutError:
                raise ClusterError(f'the cluster at {where} has {len(client.ids)} engines after '
                                   f'{timeout} s, fewer than the {engines} asked for') from None
            return cls(client, timeout=timeout)
        except BaseException:
            client.close()
            raise

    def _greet(self, timeout):
        """Check that every engine runs this interpkernel: ``{home: (host, pid)}``."""
        from . import __version__
        from ipyparallel.error import RemoteError
        deadline = time.monotonic() + timeout
        asked = {name: self._client[home.engine_id].apply_async(cluster_home.hello)
                 for name, home in self._homes.items()}
        processes = {}
        for name, answer in asked.items():
            try:
                host, pid, version = answer.get(max(0.0, deadline - time.monotonic()))
            except TimeoutError:
                raise ClusterError(f'cluster engine {name!r} did not answer within '
                                   f'{timeout} s') from None
            except RemoteError as exc:
                raise ClusterError(f'cluster engine {name!r} cannot run interpkernel '
                                   f'({exc.ename}: {exc.evalue}); install interpkernel '
                                   f'{__version__} where the engines run') from None
            if version != __version__:
                raise ClusterError(f'cluster engine {name!r} runs interpkernel {version}, this '
                                   f'process {__version__}; install the same version on both')
            processes[name] = (host, pid)
        return processes

    # -- the Engine interface --

    @property
    def homes(self):
        """The homes whose engine still runs (one whose process ended is left out)."""
        with self._lock:
            return tuple(name for name, home in self._homes.items() if home.lost is None)

    @property
    def cluster(self):
        """The ``ipyparallel.Cluster`` this engine started and `close` stops, or None."""
        return self._cluster

    @property
    def processes(self):
        """``{home: (host name, pid)}`` of the engine processes."""
        return dict(self._processes)

    def status(self, home):
        found = self._homes.get(home)
        if found is None:
            return HomeStatus(False, None)
        with self._lock:
            job, queued, cells_run = found.current, bool(found.queue), found.cells_run
        if job is None and not queued:
            return HomeStatus(False, None, None, cells_run)
        started = job.started if job is not None else None
        return HomeStatus(True, started if started is not None else time.perf_counter(),
                          job.future.label if job is not None and job.cell else None, cells_run)

    def run(self, home, make_task, *, label, on_event=None):
        seq = next(self._seq)
        task = make_task(seq)
        future = CellFuture(seq, label, self._interrupt_future, task, on_event=on_event)
        self._queue(home, future, task, cell=True)
        return future

    def export(self, home, keys, together=False):
        seq = next(self._seq)
        future = CellFuture(seq, f'export from {home}', self._interrupt_future)
        self._queue(home, future, protocol.ExportTask(seq, tuple(keys), together), cell=False)
        return future

    def drop(self, home, keys):
        seq = next(self._seq)
        future = CellFuture(seq, f'drop in {home}', self._interrupt_future)
        self._queue(home, future, protocol.DropTask(seq, tuple(keys)), cell=False)

    def interrupt(self, home=None):
        targets = list(self._homes.values()) if home is None else \
            [self._homes[home]] if home in self._homes else []
        for target in targets:
            job = target.current
            if job is not None:
                self._interrupt(target, job)

    def close(self):
        with self._lock:
            if self._closed:
                return
            self._closed = True
            queued = [job for home in self._homes.values() for job in home.queue]
            for home in self._homes.values():
                home.queue.clear()
            running = [(home, home.current) for home in self._homes.values()
                       if home.current is not None]
        for job in queued:
            job.future.cancel()
        # Running cells are interrupted and given a moment to end: an engine
        # busy with a cell cannot stop (it would be killed 5 s after asked).
        for home, job in running:
            self._interrupt(home, job)
        concurrent.futures.wait([job.future for _, job in running], timeout=STOP_WAIT)
        with self._lock:
            stuck = [job for _, job in running if not job.settled]
            for job in stuck:
                job.settled = True
        for job in stuck:
            _fail(job, PoolClosed(f'the cluster engine was closed while {job.future.label} ran'))
        if self._cluster is not None:
            _stop(self._cluster, self._client, self._reaper)
        else:
            self._client.close()

    # -- queueing and sending --

    def _queue(self, name, future, task, cell):
        home = self._homes.get(name)
        if home is None:
            raise KeyError(name)
        job = _Job(future, cluster_home.dumps(task), cell)
        with self._lock:
            if self._closed:
                raise PoolClosed('the cluster engine is closed')
            if home.lost is not None:
                failed = [(job, home.lost)]
            else:
                home.queue.append(job)
                failed = self._send_next(home) if home.current is None else []
        for job, error in failed:
            _fail(job, error)

    def _send_next(self, home):
        """Send `home`'s next task, if any (lock held); the ``(job, error)`` pairs to fail."""
        while home.queue:
            job = home.queue.popleft()
            if job.future.cancelled():
                continue     # cancelled while queued here: never sent
            job.future.start(home.name)
            if not job.future.set_running_or_notify_cancel():
                continue
            home.current = job
            self._sending.now = True
            try:
                _send_apply(self._client, home.engine_id, job.data, self._listener(home, job))
            except self._gone:
                return self._lose(home, f'its process ended before {job.future.label} was sent')
            finally:
                self._sending.now = False
            return []
        return []

    def _lose(self, home, detail):
        """Mark `home` lost (lock held); the ``(job, error)`` pairs to fail."""
        home.lost = EngineLost(home.name, detail)
        jobs = ([home.current] if home.current is not None else []) + list(home.queue)
        home.current = None
        home.queue.clear()
        return [(job, home.lost) for job in jobs]

    def _listener(self, home, job):
        """The hook that makes `job`'s request report to this engine before it is sent."""
        def hook(message):
            message.iopub_callbacks.append(lambda msg: self._on_iopub(home, job, msg))
            message.add_done_callback(self._once_sent(lambda done: self._on_reply(home, job, done)))
            message.output.add_done_callback(
                self._once_sent(lambda done: self._settle(home, job, output=True)))
        return hook

    def _once_sent(self, callback):
        """`callback` for a request's future: called as it is done, but not inside
        the send that holds the lock (ipyparallel answers a request to an engine
        it knows is dead as it sends it, calling back at once: the lock, taken
        again, would never be let go), then in a thread of its own."""
        def called(done):
            if getattr(self._sending, 'now', False):
                threading.Thread(target=callback, args=(done,), daemon=True,
                                 name='interpkernel-cluster-reply').start()
            else:
                callback(done)
        return called

    # -- what comes back (on the ipyparallel client's thread) --

    def _on_iopub(self, home, job, msg):
        msg_type = msg['header']['msg_type']
        if msg_type in _RELAYED:
            if not job.settled:
                job.future.deliver(msg_type, msg['content'])
        elif msg_type == 'status' and msg['content']['execution_state'] == 'busy':
            with self._lock:
                job.started = time.perf_counter()
                wanted = job.interrupt_wanted and not job.settled
            if wanted:
                self._signal(home)

    def _on_reply(self, home, job, message):
        job.reply = message.result()    # ipyparallel gives a failure as the result
        job.finished = time.perf_counter()
        self._settle(home, job, replied=True)
        if not job.settled:
            # iopub's idle comes right after the reply, unless it was lost (a
            # publisher drops messages past its high-water mark): do not wait
            # for it forever.  This runs on the client's thread, an asyncio loop,
            # or on a thread of its own for a reply given as the request was sent.
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:
                overdue = threading.Timer(OUTPUT_WAIT, self._output_overdue, (home, job))
                overdue.daemon = True
                overdue.start()
            else:
                loop.call_later(OUTPUT_WAIT, self._output_overdue, home, job)

    def _output_overdue(self, home, job):
        if not job.settled:
            log.warning('the end of the output of %s from cluster engine %r did not come within '
                        '%s s of its reply; output arriving later is dropped',
                        job.future.label, home.name, OUTPUT_WAIT)
            self._settle(home, job, output=True)

    def _settle(self, home, job, *, replied=False, output=False):
        """Resolve `job`'s future once its reply and all its output are in; send the next."""
        with self._lock:
            job.replied |= replied
            job.output_done |= output
            if job.settled or not (job.replied and job.output_done):
                return
            job.settled = True
        result, error = self._outcome(home, job)
        with self._lock:
            if home.current is job:
                home.current = None
            home.cells_run += job.cell
            if isinstance(error, EngineLost):
                failed = self._lose(home, error.detail)
            else:
                failed = self._send_next(home) if home.lost is None and not self._closed else []
        job.future.release_task()
        job.future.set_times(job.started, job.finished)
        if error is not None:
            _fail(job, error)
        elif job.cell:
            job.future.set_report(result)
        else:
            job.future.set_result(result)
        for other, reason in failed:
            _fail(other, reason)

    def _outcome(self, home, job):
        """``(report, None)`` or ``(None, exception)`` for a settled job."""
        reply, label = job.reply, job.future.label
        if not isinstance(reply, BaseException):
            try:
                report = cluster_home.loads(reply)
            except Exception as exc:   # the future must end, and say why
                return None, ClusterError(f'the report of {label} from cluster engine '
                                          f'{home.name!r} cannot be read here: '
                                          f'{type(exc).__name__}: {exc}')
            if job.cell:
                if job.started is None:     # iopub's busy came after the reply
                    job.started = job.finished - (report.finished - report.started)
                report = report._replace(started=job.started, finished=job.finished)
            elif job.started is None:
                job.started = job.finished
            return report, None
        if job.started is None:
            job.started = job.finished
        ename = getattr(reply, 'ename', type(reply).__name__)
        if ename == 'EngineError':
            return None, EngineLost(home.name, f'its process ended while running {label}')
        if ename == 'KeyboardInterrupt' and job.cell:
            # SIGINT reached the engine before `handle` did: nothing of the cell ran.
            error, exception = versioned.describe(KeyboardInterrupt())
            return protocol.VersionedReport(None, error, exception, job.started, job.finished,
                                            (), (), (), (), ()), None
        failure = ClusterError(f'cluster engine {home.name!r} could not run {label}: {ename}: '
                               f'{getattr(reply, "evalue", reply)}')
        failure.__cause__ = reply
        return None, failure

    # -- interrupts --

    def _interrupt_future(self, future):
        for home in self._homes.values():
            job = home.current
            if job is not None and job.future is future:
                self._interrupt(home, job)

    def _interrupt(self, home, job):
        if not job.cell:
            return      # exports and drops run to the end
        with self._lock:
            if home.current is not job or job.settled:
                return
            if job.started is None:
                job.interrupt_wanted = True     # signalled when the engine begins it
                return
        self._signal(home)

    def _signal(self, home):
        try:
            sent = self._client.send_signal(signal.SIGINT, targets=[home.engine_id], block=False)
        except self._gone:      # its cell fails as EngineLost
            return
        sent.add_done_callback(lambda done: _log_refused_signal(home, done))


def _send_apply(client, engine_id, data, hook):
    """Send ``cluster_home.handle(data)`` to one engine, `hook` seeing its message
    future before it leaves.

    This is how ``client[engine_id].apply_async`` sends it (the mux stream, the
    engine's identity: private names of ipyparallel 9), but that gives no way
    to listen before the request is out.
    """
    idents, _ = client._build_targets(engine_id)
    client.send_apply_request(client._mux_stream, cluster_home.handle, [data], ident=idents[0],
                              message_future_hook=hook)


def _launched_groups(cluster):
    """The process groups of the local processes `cluster` launched (ipyparallel starts
    each in a session of its own); launchers of remote ones have no local process."""
    launchers = [cluster.controller, *(launcher for engine_set in cluster.engines.values()
                                       for launcher in getattr(engine_set, 'launchers', {}).values())]
    return [launcher.process.pid for launcher in launchers
            if getattr(launcher, 'process', None) is not None]


_IPYPARALLEL_LOG = log.getChild('ipyparallel')
_IPYPARALLEL_LOG.setLevel(logging.WARNING)


def _stop(cluster, client, watcher=None):
    """Stop `cluster`, close `client` (None: there is none yet) and end `watcher`, the
    reaper of `cluster`."""
    # The engines first, and the controller once it has heard from each
    # engine's nanny that the engine is gone: a nanny that cannot reach the
    # controller tries for 3 s more, outliving the cluster.
    cluster.stop_engines_sync()
    if client is not None:
        deadline = time.monotonic() + STOP_WAIT
        while client.ids and time.monotonic() < deadline:
            time.sleep(0.02)
        client.close()
    cluster.stop_controller_sync()
    if watcher is not None:
        watcher.terminate()
        watcher.wait()


def _fail(job, error):
    try:
        job.future.set_exception(error)
    except concurrent.futures.InvalidStateError:   # cancelled meanwhile: nobody waits
        pass


def _log_refused_signal(home, done):
    replies = done.result() if done.exception() is None else [done.exception()]
    for reply in replies:
        if isinstance(reply, BaseException) or reply['content']['status'] != 'ok':
            log.warning('cluster engine %r could not be interrupted (%s); is its nanny '
                        'disabled?', home.name, reply)


def _log_tail(cluster, lines=10):
    """``'; the engines' log ends: ...'`` for an error message, or ``''``."""
    text = []
    for engine_set in cluster.engines.values():
        for launcher in getattr(engine_set, 'launchers', {}).values():
            path = getattr(launcher, 'output_file', '')
            if path and os.path.exists(path):
                with open(path, errors='replace') as f:
                    text += f.read().splitlines()
    return "; the engines' log ends:\n" + '\n'.join(text[-lines:]) if text else ''
