"""Security, each on a real interp kernel started through jupyter_client: messages are
signed and checked as ipykernel does (forged ones run nothing, what the kernel sends
carries a valid HMAC), a replayed request runs once, the kernel runs over IPC, and over
CurveZMQ when the launcher provisions keys.

Forged, replayed and unauthorised messages go out on raw zmq sockets, as anyone who can
reach the kernel's ports could send them. Each refusal is also seen where it happens (the
kernel's log for a bad signature, the socket's handshake events for Curve), so no test
passes only because a message was lost or not processed yet."""

import contextlib
import hashlib
import hmac
import json
import os
import stat
import time
import uuid

import pytest
import zmq
from jupyter_client.manager import KernelManager
from jupyter_client.session import Session
from zmq.utils.monitor import recv_monitor_message

from interpkernel.kernel.install import KERNEL_NAME

pytestmark = pytest.mark.usefixtures('kernelspec')

REPLY_TIMEOUT = 20      # seconds for a reply that should come
SILENCE = 0.5           # seconds of waiting for a reply that should never come
UNENCRYPTED = 'Kernel is running over TCP without encryption'


class Kernel:
    """A started interp kernel: its manager, a ready client, the connection info and the
    path of its stderr (where ipykernel logs each message it rejects)."""

    def __init__(self, manager, client, stderr):
        self.manager, self.client, self.stderr = manager, client, stderr
        with open(manager.connection_file) as file:
            self.info = json.load(file)
        self.key = self.info['key'].encode()

    def session(self, key=None):
        """A Session signing as the connection file says (or with `key`)."""
        return Session(key=self.key if key is None else key,
                       signature_scheme=self.info['signature_scheme'], username='test')

    def url(self, channel):
        """The zmq address of `channel`, as the connection file gives it."""
        info = self.info
        separator = ':' if info['transport'] == 'tcp' else '-'
        return f"{info['transport']}://{info['ip']}{separator}{info[f'{channel}_port']}"

    def log(self):
        return self.stderr.read_text()


@contextlib.contextmanager
def _started(tmp_path, **options):
    """A Kernel, shut down on exit; `curve` = (public, secret) provisions those keys."""
    curve = options.pop('curve', None)
    stderr = tmp_path / 'kernel.err'
    manager = KernelManager(kernel_name=KERNEL_NAME,
                            connection_file=str(tmp_path / 'kernel.json'), **options)
    if curve is not None:
        # What jupyter_client's LocalProvisioner does when it provisions keys
        # (provisioning/local_provisioner.py, pre_launch): set them on the manager,
        # which writes them into the connection file the kernel reads.
        manager.curve_publickey, manager.curve_secretkey = curve
    client = None
    with open(stderr, 'w') as err:
        try:
            manager.start_kernel(stderr=err)
            client = manager.client()
            client.start_channels()
            client.wait_for_ready(timeout=60)
            yield Kernel(manager, client, stderr)
        finally:
            if client is not None:
                client.stop_channels()
            if manager.has_kernel:
                manager.shutdown_kernel(now=True)


@pytest.fixture(scope='module')
def kernel(tmp_path_factory):
    """One interp kernel over plain TCP, shared by the signing and replay tests."""
    with _started(tmp_path_factory.mktemp('kernel')) as started:
        yield started


class RawSockets:
    """Raw zmq sockets to a kernel, as an attacker (or a careful test) would open them;
    all closed at once on exit, with no linger."""

    def __enter__(self):
        self.context = zmq.Context()
        self.monitors = {}      # socket: the PAIR socket its connection events come to
        return self

    def __exit__(self, *exc):
        for sock, monitor in self.monitors.items():
            # libzmq's I/O thread blocks, holding the lock disable_monitor needs, on
            # sending an event into a full monitor pipe (a refused socket retries
            # its connection every 0.1 s): empty it first (a test under load hung here).
            while monitor.poll(0):
                monitor.recv_multipart()
            sock.disable_monitor()      # first: term() would wait for a live monitor
            monitor.close(linger=0)
            sock.close(linger=0)
        self.context.term()

    def __call__(self, kind, url, serverkey=None):
        """A socket of `kind` connected to `url`; with `serverkey`, a Curve client with a
        keypair of its own."""
        sock = self.context.socket(kind)
        sock.linger = 0
        self.monitors[sock] = sock.get_monitor_socket()
        if serverkey is not None:
            sock.curve_publickey, sock.curve_secretkey = zmq.curve_keypair()
            sock.curve_serverkey = serverkey
        if kind == zmq.SUB:
            sock.setsockopt(zmq.SUBSCRIBE, b'')
        sock.connect(url)
        return sock

    def handshake(self, sock, timeout=REPLY_TIMEOUT):
        """How `sock`'s first ZMTP handshake with the kernel ended: a zmq.Event name."""
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            if not self.monitors[sock].poll(left * 1000):
                break
            event = zmq.Event(recv_monitor_message(self.monitors[sock])['event'])
            if event.name.startswith('HANDSHAKE'):
                return event.name
        return 'no handshake'


def _execute_request(session, code):
    return session.msg('execute_request', {
        'code': code, 'silent': False, 'store_history': True, 'user_expressions': {},
        'allow_stdin': False, 'stop_on_error': True})


def _receive(sock, timeout):
    """The next multipart message on `sock`, or None if none came within `timeout`."""
    if sock.poll(timeout * 1000, zmq.POLLIN):
        return sock.recv_multipart()
    return None


def _signed_correctly(key, frames):
    """Whether a received message's HMAC-SHA256 signature, computed afresh, matches."""
    delimiter = frames.index(b'<IDS|MSG>')
    signature, *signed = frames[delimiter + 1:delimiter + 6]
    digest = hmac.new(key, digestmod=hashlib.sha256)
    for part in signed:
        digest.update(part)
    return hmac.compare_digest(signature, digest.hexdigest().encode())


def _replies(sock, session, msg_id, timeout, first=False):
    """The checked, decoded replies to `msg_id` that reach `sock` within `timeout`
    (or until the first of them, with `first`)."""
    replies = []
    deadline = time.monotonic() + timeout
    while (left := deadline - time.monotonic()) > 0 and not (first and replies):
        frames = _receive(sock, left)
        if frames is None:
            break
        _, parts = session.feed_identities(frames)
        reply = session.deserialize(parts)      # raises if the signature is wrong
        if reply['parent_header'].get('msg_id') == msg_id:
            replies.append(reply)
    return replies


def _logged(kernel, text, count, timeout=REPLY_TIMEOUT):
    """Whether `text` appears `count` times in the kernel's log within `timeout`."""
    deadline = time.monotonic() + timeout
    while kernel.log().count(text) < count and time.monotonic() < deadline:
        time.sleep(0.05)
    return kernel.log().count(text) >= count


def _run(kernel, code):
    """(reply content, stdout) of `code`, sent by the kernel's own (well-signed) client."""
    out = []

    def collect(message):
        if message['msg_type'] == 'stream':
            out.append(message['content']['text'])

    reply = kernel.client.execute_interactive(code, timeout=REPLY_TIMEOUT, output_hook=collect)
    return reply['content'], ''.join(out)


# -- signing --

def _wrong_key(kernel, code):
    return kernel.session(b'not-' + kernel.key).serialize(_execute_request(kernel.session(), code))


def _no_signature(kernel, code):
    return kernel.session(b'').serialize(_execute_request(kernel.session(), code))


def _altered_after_signing(kernel, code):
    # A genuine request, signed with the right key, whose code is then replaced.
    session = kernel.session()
    frames = session.serialize(_execute_request(session, 'harmless = 1'))
    frames[-1] = session.pack(_execute_request(session, code)['content'])
    return frames


def _borrowed_signature(kernel, code):
    # The signature of one genuine request on the header and content of another.
    session = kernel.session()
    genuine = session.serialize(_execute_request(session, 'harmless = 1'))
    forged = session.serialize(_execute_request(session, code))
    forged[1] = genuine[1]
    return forged


@pytest.mark.parametrize('forge, rejection', [
    (_wrong_key, 'Invalid Signature'),
    (_no_signature, 'Unsigned Message'),
    (_altered_after_signing, 'Invalid Signature'),
    (_borrowed_signature, 'Invalid Signature'),
], ids=['wrong-key', 'empty-signature', 'altered-after-signing', 'borrowed-signature'])
def test_a_forged_execute_request_runs_nothing_and_the_kernel_goes_on(
        kernel, tmp_path, forge, rejection):
    marker = tmp_path / 'forged'
    name = f'forged_{uuid.uuid4().hex[:8]}'
    code = f'{name} = "ran"\nopen({str(marker)!r}, "w").close()'
    rejected = kernel.log().count(rejection)
    with RawSockets() as socket:
        shell = socket(zmq.DEALER, kernel.url('shell'))
        shell.send_multipart(forge(kernel, code))
        # The kernel read it and refused it (not merely has not got to it yet) ...
        refused = _logged(kernel, rejection, rejected + 1)
        assert _receive(shell, SILENCE) is None       # ... and answered nothing.
    # A genuine cell reading the name would wait for the forged one, had it run.
    reply, out = _run(kernel, f'try:\n    {name}\nexcept NameError:\n    print("undefined")')
    assert reply['status'] == 'ok' and out == 'undefined\n'
    assert not marker.exists()
    assert refused, kernel.log()
    reply, out = _run(kernel, 'x = sum(range(10))\nprint(x)')
    assert reply['status'] == 'ok' and out == '45\n'


def test_a_forged_shutdown_request_on_the_control_channel_is_ignored(kernel):
    # Control requests bypass the shell queue, and this one would end the kernel.
    rejected = kernel.log().count('Invalid Signature')
    with RawSockets() as socket:
        control = socket(zmq.DEALER, kernel.url('control'))
        forger = kernel.session(b'not-' + kernel.key)
        forger.send(control, 'shutdown_request', {'restart': False})
        refused = _logged(kernel, 'Invalid Signature', rejected + 1)
        assert _receive(control, SILENCE) is None
    assert kernel.manager.is_alive()
    assert refused, kernel.log()
    reply, out = _run(kernel, 'print(6 * 7)')
    assert reply['status'] == 'ok' and out == '42\n'


def test_the_kernel_signs_its_shell_and_iopub_messages_with_the_connection_key(kernel):
    assert kernel.info['signature_scheme'] == 'hmac-sha256' and kernel.key
    session = kernel.session()
    with RawSockets() as socket:
        shell = socket(zmq.DEALER, kernel.url('shell'))
        iopub = socket(zmq.SUB, kernel.url('iopub'))
        # The subscription takes a moment to reach the kernel: ask for kernel_info
        # until its status messages come through.
        deadline = time.monotonic() + REPLY_TIMEOUT
        while _receive(iopub, 0.2) is None:
            assert time.monotonic() < deadline, 'no IOPub message came'
            session.send(shell, 'kernel_info_request', {})
        request = _execute_request(session, 'x = sum(range(10))\nprint(x)')
        session.send(shell, request)
        msg_id = request['header']['msg_id']
        reply = _receive(shell, REPLY_TIMEOUT)
        while reply is not None and b'execute_reply' not in reply[2]:
            reply = _receive(shell, REPLY_TIMEOUT)     # kernel_info replies first
        assert reply is not None
        assert _signed_correctly(kernel.key, reply)
        assert not _signed_correctly(b'not-' + kernel.key, reply)
        _, parts = session.feed_identities(reply)
        assert session.deserialize(parts)['content']['status'] == 'ok'
        published = []
        while not any(m['msg_type'] == 'status' and
                      m['content']['execution_state'] == 'idle' and
                      m['parent_header'].get('msg_id') == msg_id for m in published):
            frames = _receive(iopub, REPLY_TIMEOUT)
            assert frames is not None, 'the cell never went idle on IOPub'
            assert _signed_correctly(kernel.key, frames), frames
            published.append(session.deserialize(session.feed_identities(frames)[1]))
    texts = [m['content']['text'] for m in published
             if m['msg_type'] == 'stream' and m['parent_header'].get('msg_id') == msg_id]
    assert texts == ['45\n']


# -- replay --

def test_a_replayed_execute_request_runs_once(kernel, tmp_path):
    ledger = tmp_path / 'ledger'
    session = kernel.session()
    request = _execute_request(
        session, f'with open({str(ledger)!r}, "a") as ledger:\n    ledger.write("ran\\n")\n'
                 'del ledger')     # a file object left behind would hold up later host cells
    frames = session.serialize(request)
    msg_id = request['header']['msg_id']
    duplicates = kernel.log().count('Duplicate Signature')
    with RawSockets() as socket:
        shell = socket(zmq.DEALER, kernel.url('shell'))
        shell.send_multipart(frames)
        shell.send_multipart(frames)                # at once, on the same connection
        replies = _replies(shell, session, msg_id, REPLY_TIMEOUT, first=True)
        first_refused = _logged(kernel, 'Duplicate Signature', duplicates + 1)
        other = socket(zmq.DEALER, kernel.url('shell'))
        other.send_multipart(frames)                # later, from another connection
        second_refused = _logged(kernel, 'Duplicate Signature', duplicates + 2)
        replies += _replies(shell, session, msg_id, SILENCE)
        replies += _replies(other, session, msg_id, 0.1)
    assert ledger.read_text() == 'ran\n'
    assert len(replies) == 1
    assert first_refused and second_refused, kernel.log()
    # Refused the way ipykernel refuses a bad message: logged and dropped, never
    # an exception escaping the kernel's own shell handler.
    assert 'Uncaught exception' not in kernel.log()
    reply, out = _run(kernel, f'print(open({str(ledger)!r}).read(), end="")')
    assert reply['status'] == 'ok' and out == 'ran\n'


# -- transports --

def _tcp_listening_ports(pid):
    """{(address, port)} of the TCP sockets process `pid` listens on, from Linux's /proc
    (the address as /proc/net/tcp writes it: 0100007F is 127.0.0.1)."""
    inodes = set()
    for fd in os.listdir(f'/proc/{pid}/fd'):
        with contextlib.suppress(OSError):
            target = os.readlink(f'/proc/{pid}/fd/{fd}')
            if target.startswith('socket:['):
                inodes.add(target[len('socket:['):-1])
    listening = set()
    for table in ('/proc/net/tcp', '/proc/net/tcp6'):
        with contextlib.suppress(FileNotFoundError), open(table) as rows:
            next(rows)
            for row in rows:
                local, state, inode = row.split()[1], row.split()[3], row.split()[9]
                if state == '0A' and inode in inodes:      # LISTEN
                    address, port = local.split(':')
                    listening.add((address, int(port, 16)))
    return listening


def _iopub_pipe_port(kernel):
    # ipykernel's IOPub thread always listens on a loopback TCP port of its own, for
    # the output of forked child processes (ipykernel/iostream.py, _setup_pipe_in);
    # messages on it count only if they begin with a random 16-byte token.
    reply, out = _run(kernel, 'print(get_ipython().kernel.iopub_thread._pipe_port)')
    assert reply['status'] == 'ok', reply
    return int(out)


def test_the_kernel_runs_worker_cells_over_the_ipc_transport(tmp_path, kernel):
    # The TCP kernel's channels show up in the count below: it can see them.
    channels = ('shell', 'iopub', 'stdin', 'control', 'hb')
    assert {port for _, port in _tcp_listening_ports(kernel.manager.provisioner.process.pid)} \
        == {kernel.info[f'{channel}_port'] for channel in channels} | {_iopub_pipe_port(kernel)}
    with _started(tmp_path, transport='ipc') as over_ipc:
        assert over_ipc.info['transport'] == 'ipc'
        # Each channel is a Unix socket file, and none is on TCP.
        for channel in channels:
            path = f"{over_ipc.info['ip']}-{over_ipc.info[channel + '_port']}"
            assert stat.S_ISSOCK(os.stat(path).st_mode), path
        assert _tcp_listening_ports(over_ipc.manager.provisioner.process.pid) == \
            {('0100007F', _iopub_pipe_port(over_ipc))}
        client = over_ipc.client
        assert _run(over_ipc, 'x = sum(range(10))')[0]['status'] == 'ok'
        msg_id = client.execute('print(x)')
        reply = client.get_shell_msg(timeout=REPLY_TIMEOUT)
        assert reply['parent_header']['msg_id'] == msg_id
        assert reply['metadata']['interp']['ran_on'] not in (None, 'host')   # a worker
        out = []
        while not out:
            message = client.get_iopub_msg(timeout=REPLY_TIMEOUT)
            if message['msg_type'] == 'stream' and \
                    message['parent_header'].get('msg_id') == msg_id:
                out.append(message['content']['text'])
        assert out == ['45\n']
        assert UNENCRYPTED not in over_ipc.log()


def test_curve_keys_from_the_launcher_admit_only_clients_that_know_the_server_key(tmp_path):
    server_public, server_secret = zmq.curve_keypair()
    marker = tmp_path / 'intruder'
    with _started(tmp_path, curve=(server_public, server_secret)) as kernel:
        assert kernel.info['curve_publickey'].encode() == server_public
        assert kernel.info['curve_secretkey'].encode() == server_secret
        assert UNENCRYPTED not in kernel.log()
        # jupyter_client's own client speaks Curve with the connection file's keys.
        reply, out = _run(kernel, 'x = sum(range(10))\nprint(x)')
        assert reply['status'] == 'ok' and out == '45\n'
        session = kernel.session()
        kinds = {'shell': zmq.DEALER, 'control': zmq.DEALER, 'stdin': zmq.DEALER,
                 'iopub': zmq.SUB, 'hb': zmq.REQ}
        with RawSockets() as socket:
            # Every channel refuses the handshake of a plain client, and of a Curve
            # client that expects another server key; it completes it with any client
            # keypair when the server key is right (the kernel checks no client keys).
            # libzmq names the failure variously: protocol error or no detail.
            for channel, kind in kinds.items():
                plain = socket(kind, kernel.url(channel))
                wrong = socket(kind, kernel.url(channel), serverkey=zmq.curve_keypair()[0])
                right = socket(kind, kernel.url(channel), serverkey=server_public)
                assert socket.handshake(plain).startswith('HANDSHAKE_FAILED_'), channel
                assert socket.handshake(wrong).startswith('HANDSHAKE_FAILED_'), channel
                assert socket.handshake(right) == 'HANDSHAKE_SUCCEEDED', channel
                if channel == 'hb':
                    right.send(b'ping')
                    assert _receive(right, REPLY_TIMEOUT) == [b'ping']
            # Execute requests signed with the right HMAC key: refused at the
            # handshake, they never reach the kernel; the same, with the server key, runs.
            url = kernel.url('shell')
            eavesdropper = socket(zmq.SUB, kernel.url('iopub'))
            intruders = []
            for sock in (socket(zmq.DEALER, url),
                         socket(zmq.DEALER, url, serverkey=zmq.curve_keypair()[0])):
                request = _execute_request(session, f'open({str(marker)!r}, "w").close()')
                # Between a refused handshake and the next try the socket has no
                # connection to queue on, and a send would wait: the request then
                # goes nowhere, which is the point.
                sock.sndtimeo = 1000
                with contextlib.suppress(zmq.Again):
                    session.send(sock, request)
                intruders.append((sock, request['header']['msg_id']))
            right = socket(zmq.DEALER, url, serverkey=server_public)
            request = _execute_request(session, 'print(x)')
            session.send(right, request)
            replies = _replies(right, session, request['header']['msg_id'], REPLY_TIMEOUT,
                               first=True)
            assert [r['content']['status'] for r in replies] == ['ok']
            reply, out = _run(kernel, 'print("secret")')
            assert out == 'secret\n'
            assert _receive(eavesdropper, SILENCE) is None
            for sock, msg_id in intruders:
                assert _replies(sock, session, msg_id, 0.1) == []
        reply, out = _run(kernel, f'import os\nprint(os.path.exists({str(marker)!r}))')
        assert reply['status'] == 'ok' and out == 'False\n'
        assert not marker.exists()


def test_the_kernelspec_declares_curve_so_the_launcher_provisions_keys(tmp_path):
    # transport_encryption='required' fails at start unless the kernelspec says
    # the kernel speaks Curve; 'auto' provisions keys only then.
    with _started(tmp_path, transport_encryption='required') as kernel:
        assert kernel.info['curve_publickey'] and kernel.info['curve_secretkey']
        assert UNENCRYPTED not in kernel.log()
        reply, out = _run(kernel, 'x = sum(range(10))\nprint(x)')
        assert reply['status'] == 'ok' and out == '45\n'
