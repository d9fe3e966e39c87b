"""Row 14: the cluster engine against plain ipyparallel, on a local loopback cluster.

- 14a: start-up of 2 engines until each answered: `ClusterEngine.start`
  against ``ipyparallel.Cluster`` with the same options (its delay and
  heartbeat cut, `cluster.START_OPTIONS`) and against ipyparallel's defaults.
- 14b: a trivial cell's round trip (``x = 1``): `ClusterEngine.run` against
  ``DirectView.execute(block=True)`` on one engine, the path of ``%%px``, in
  interleaved trials on the same cluster.
- 14c: two CPU-bound cells at once, one per engine: `ClusterEngine.run` on
  both homes against ``%%px``'s ``execute`` on both engines, and against the
  two run one after another in the host.

- 14d: tests/notebooks/numpy_independent.ipynb (four independent cells that
  build and reduce their numpy arrays, and a join), Run All on a warm interp
  kernel with a 2-engine cluster attached (``c.InterpKernel.cluster``)
  against running it in order on a warm ipykernel, in interleaved trials.

Each cluster is started in a throw-away profile directory and stopped after.
"""

import logging
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import nbformat
from jupyter_client.manager import start_new_kernel

from interpkernel._core.protocol import VersionedTask
from interpkernel.cluster import START_OPTIONS, ClusterEngine
from interpkernel.kernel.install import KERNEL_NAME

from ._stats import median
from ._table import Row, fmt_latency, fmt_ratio, fmt_time
from .kernel import _run_all, interp_kernelspec

NAME = 'cluster'
ENGINES = 2
WORK = 'total = 0\nfor n in range(3_000_000):\n    total += n % 7'
LAYER_GOAL = 1.10      # our layer adds at most 10% to raw ipyparallel

NUMPY_NOTEBOOK = Path(__file__).resolve().parent.parent / 'tests' / 'notebooks' / \
    'numpy_independent.ipynb'
NUMPY_GOAL = 1.6       # Run All speed-up over ipykernel with 2 engines on 2 cores (the issue)

_version = iter(range(1, 10**9))


def _task(source):
    version = next(_version)
    return lambda seq: VersionedTask(seq, version, f'In[{version}]', source, (), (), (), (),
                                     '', False)


def _raw_start(**options):
    """Seconds until a plain ipyparallel cluster with `options` has every engine."""
    import ipyparallel
    with tempfile.TemporaryDirectory(prefix='benchmarks-ipp-') as profile:
        start = time.perf_counter()
        cluster = ipyparallel.Cluster(n=ENGINES, profile_dir=profile, log_level=logging.WARNING,
                                      **options)
        client = cluster.start_and_connect_sync()
        try:
            client.wait_for_engines(ENGINES, timeout=60, interactive=False)
            client[:].apply_sync(lambda: None)
            return time.perf_counter() - start
        finally:
            client.close()
            cluster.stop_cluster_sync()


def _ours_start():
    with tempfile.TemporaryDirectory(prefix='benchmarks-ipp-') as profile:
        start = time.perf_counter()
        engine = ClusterEngine.start(ENGINES, profile_dir=profile)
        took = time.perf_counter() - start
        engine.close()
        return took


def _round_trips(engine, view, runs):
    ours, raw = [], []
    home = engine.homes[0]
    for _ in range(runs):
        start = time.perf_counter()
        engine.run(home, _task('x = 1'), label='x').result(30)
        ours.append(time.perf_counter() - start)
        start = time.perf_counter()
        view.execute('x = 1', block=True)
        raw.append(time.perf_counter() - start)
    return ours[runs // 10:], raw[runs // 10:]


def _parallel(engine, views, rounds):
    ours, raw = [], []
    for _ in range(rounds):
        start = time.perf_counter()
        futures = [engine.run(home, _task(WORK), label=home) for home in engine.homes]
        for future in futures:
            future.result(120)
        ours.append(time.perf_counter() - start)
        start = time.perf_counter()
        views.execute(WORK, block=True)
        raw.append(time.perf_counter() - start)
    return median(ours), median(raw)


def _serial_in_host(rounds):
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(ENGINES):
            exec(WORK, {})
        times.append(time.perf_counter() - start)
    return median(times)


@contextmanager
def _warm_kernel(name, profile):
    """A started kernel (the interp one with a cluster of `ENGINES` attached), warmed by
    one Run All of the numpy notebook."""
    arguments = [f"--InterpKernel.cluster={{'n': {ENGINES}, 'profile_dir': {profile!r}}}"] \
        if name == KERNEL_NAME else []
    manager, client = start_new_kernel(kernel_name=name, extra_arguments=arguments)
    try:
        _run_all(client, _numpy_cells())
        yield client
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)


def _numpy_cells():
    return [cell.source for cell in nbformat.read(NUMPY_NOTEBOOK, as_version=4).cells
            if cell.cell_type == 'code']


def _numpy_notebook(rounds):
    """kernel name -> [(seconds, outputs)] of Run All, the two kernels taking turns."""
    runs = {'python3': [], KERNEL_NAME: []}
    with interp_kernelspec(), tempfile.TemporaryDirectory(prefix='benchmarks-ipp-') as profile, \
            _warm_kernel('python3', profile) as reference, \
            _warm_kernel(KERNEL_NAME, profile) as interp:
        for _ in range(rounds):
            for name, client in (('python3', reference), (KERNEL_NAME, interp)):
                runs[name].append(_run_all(client, _numpy_cells()))
    return runs


def rows(ctx):
    trials = ctx.reps(3, 1)
    starts = {'ours': [], 'raw': [], 'default': []}
    for _ in range(trials):
        starts['ours'].append(_ours_start())
        starts['raw'].append(_raw_start(**START_OPTIONS))
        starts['default'].append(_raw_start(controller_ip='127.0.0.1'))
    ours_start, raw_start, default_start = (median(starts[k]) for k in ('ours', 'raw', 'default'))

    with tempfile.TemporaryDirectory(prefix='benchmarks-ipp-') as profile:
        engine = ClusterEngine.start(ENGINES, profile_dir=profile)
        try:
            # A second client of the same cluster, for the plain ipyparallel anchors;
            # the engine's homes follow the engine ids in order, so ids[0] is homes[0].
            client = engine.cluster.connect_client_sync()
            try:
                client.wait_for_engines(ENGINES, timeout=60, interactive=False)
                ours, raw = _round_trips(engine, client[client.ids[0]], ctx.reps(200, 40))
                rounds = ctx.reps(5, 2)
                ours_par, raw_par = _parallel(engine, client[:], rounds)
            finally:
                client.close()
        finally:
            engine.close()
    serial = _serial_in_host(ctx.reps(5, 2))
    ours_p50, raw_p50 = median(ours), median(raw)
    numpy_runs = _numpy_notebook(ctx.reps(5, 2))
    in_order, with_cluster = (median([seconds for seconds, _ in numpy_runs[name]])
                              for name in ('python3', KERNEL_NAME))
    same = {tuple(outputs) for _, outputs in numpy_runs['python3']} == \
        {tuple(outputs) for _, outputs in numpy_runs[KERNEL_NAME]}
    return [
        Row(figure=f'14a. cluster of {ENGINES} engines ready (started until each answered), '
                   f'{trials} interleaved trials',
            value=f'ClusterEngine.start {fmt_time(ours_start)}',
            anchors=f'ipyparallel with the same options {fmt_time(raw_start)}; with its '
                    f'defaults {fmt_time(default_start)}',
            ratios=f'ours/same options {ours_start / raw_start:.2f}, defaults/ours '
                   f'{fmt_ratio(default_start / ours_start)}',
            goal=f'<= {LAYER_GOAL:.2f}x ipyparallel with the same options',
            met=ours_start <= LAYER_GOAL * raw_start),
        Row(figure='14b. trivial cell round trip on one cluster engine (`x = 1`), interleaved',
            value=f'ClusterEngine.run {fmt_latency(ours)}',
            anchors=f'DirectView.execute (the path of %%px) {fmt_latency(raw)}',
            ratios=f'ours/raw {ours_p50 / raw_p50:.2f}',
            goal=f'<= {LAYER_GOAL:.2f}x raw ipyparallel',
            met=ours_p50 <= LAYER_GOAL * raw_p50),
        Row(figure=f'14c. {ENGINES} CPU-bound cells at once, one per cluster engine, '
                   f'{rounds} interleaved trials',
            value=f'{fmt_time(ours_par)} ({fmt_ratio(serial / ours_par)} over serial in host)',
            anchors=f'%%px execute on both {fmt_time(raw_par)}; one after another in the '
                    f'host {fmt_time(serial)}',
            ratios=f'ours/%%px {ours_par / raw_par:.2f}',
            goal=f'<= {LAYER_GOAL:.2f}x %%px',
            met=ours_par <= LAYER_GOAL * raw_par),
        Row(figure=f'14d. numpy notebook (4 independent cells + a join), Run All on the interp '
                   f'kernel with {ENGINES} cluster engines, {len(numpy_runs["python3"])} '
                   f'interleaved trials on warm kernels',
            value=f'{fmt_time(with_cluster)} ({fmt_ratio(in_order / with_cluster)} faster; '
                  f'outputs {"identical" if same else "DIFFERENT"})',
            anchors=f'ipykernel (one after another) {fmt_time(in_order)}',
            ratios=f'speed-up {fmt_ratio(in_order / with_cluster)}',
            goal=f'>= {NUMPY_GOAL:.1f}x, identical outputs',
            met=same and in_order / with_cluster >= NUMPY_GOAL),
    ]
