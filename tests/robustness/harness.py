"""Running the tools on bad input: as real subprocesses (exit status, stderr, time limit, no
network) or in-process through their ``main()`` (same code path, no interpreter start-up)."""
import contextlib
import ctypes
import io
import os
import os.path as osp
import runpy
import subprocess
import sys
import time

from mm_ssl.engine.cli import exit_on_error

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
NO_NETWORK = osp.join(osp.dirname(osp.abspath(__file__)), 'no_network')
MAX_STDERR_LINES = 5   # a failure is one line; a few warnings may stand beside it
PR_CAPBSET_DROP, CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH = 24, 1, 2   # linux/{prctl,capability}.h


class ToolRun:
    """What a finished tool run left: returncode, stdout, stderr, seconds, network attempts."""

    def __init__(self, returncode, stdout, stderr, seconds, network='', how='subprocess'):
        self.returncode, self.stdout, self.stderr = returncode, stdout, stderr
        self.seconds, self.network, self.how = seconds, network, how


def respect_permissions():
    """Drop root's power to write past permission bits (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH)
    from the process about to start, so a read-only folder is read-only to it as to any user."""
    libc = ctypes.CDLL(None, use_errno=True)
    for capability in (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH):
        if libc.prctl(PR_CAPBSET_DROP, capability, 0, 0, 0):
            raise OSError(ctypes.get_errno(), 'prctl(PR_CAPBSET_DROP) failed')


def run_tool(script, *args, timeout=120, read_only_respected=False, log_dir):
    """``python script args`` from the repository root with this checkout's mm_ssl first on the
    path and the network refused (attempts land in ``log_dir``). Fails the test if the tool hangs
    past ``timeout`` seconds. ``read_only_respected``: see :func:`respect_permissions`."""
    network_log = osp.join(log_dir, f'network-{time.monotonic_ns()}.log')
    # a PYTHONPATH already set is kept after ours: it may be where the dependencies are
    path = [ROOT, NO_NETWORK] + [p for p in [os.environ.get('PYTHONPATH')] if p]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(path),
               MM_SSL_NETWORK_LOG=network_log, PYTHONUNBUFFERED='1', OMP_NUM_THREADS='1')
    env.pop('MM_SSL_TRACEBACK', None)
    as_root = read_only_respected and os.geteuid() == 0
    start = time.monotonic()
    try:
        out = subprocess.run([sys.executable, script, *map(str, args)], cwd=ROOT, env=env,
                             capture_output=True, text=True, timeout=timeout,
                             preexec_fn=respect_permissions if as_root else None)
    except subprocess.TimeoutExpired:
        raise AssertionError(f'{script} {args}: hung, still running after {timeout} s') from None
    network = open(network_log).read() if osp.exists(network_log) else ''
    return ToolRun(out.returncode, out.stdout, out.stderr, time.monotonic() - start, network)


def run_main(script, *args):
    """The tool's ``main(argv)`` in this process under the same :func:`exit_on_error` that its
    ``__main__`` block uses; returns a :class:`ToolRun` (returncode 0 when main returns)."""
    main = runpy.run_path(osp.join(ROOT, script), run_name='tool_under_test')['main']
    stdout, stderr, code = io.StringIO(), io.StringIO(), 0
    start = time.monotonic()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        try:
            with exit_on_error():
                main([str(a) for a in args])
        except SystemExit as exc:
            code = exc.code
    return ToolRun(code, stdout.getvalue(), stderr.getvalue(), time.monotonic() - start,
                   how='in-process')


def one_line_error(run, *fragments):
    """Assert the documented failure: exit status 2, one ``error:`` line holding every fragment
    (the file and the problem), no traceback, a short stderr, no network. Returns the outcome."""
    errors = [line for line in run.stderr.splitlines() if line.startswith('error: ')]
    assert run.returncode == 2, (run.returncode, run.stderr[-3000:])
    assert len(errors) == 1 and 'Traceback' not in run.stderr, run.stderr[-3000:]
    assert len(run.stderr.strip().splitlines()) <= MAX_STDERR_LINES, run.stderr[-3000:]
    for fragment in fragments:
        assert str(fragment) in errors[0], (fragment, errors[0])
    assert not run.network, run.network
    return f'exit 2, 1 line ({run.how}, {run.seconds:.1f} s)'


def usage_error(run, *fragments):
    """Assert argparse's usage error: exit status 2, the usage and one ``PROG: error: ...`` line
    holding every fragment, no traceback."""
    assert run.returncode == 2, (run.returncode, run.stderr[-3000:])
    errors = [line for line in run.stderr.splitlines() if ': error: ' in line]
    assert len(errors) == 1 and 'Traceback' not in run.stderr, run.stderr[-3000:]
    assert run.stderr.startswith('usage: '), run.stderr[-3000:]
    for fragment in fragments:
        assert str(fragment) in errors[0], (fragment, errors[0])
    return f'exit 2, usage + 1 line ({run.how}, {run.seconds:.1f} s)'
