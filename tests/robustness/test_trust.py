"""Trust: checkpoints are read with ``weights_only=True`` and data pickles with the same rule, so
a file that carries a pickled object is refused, never run; and no tool opens a network
connection."""
import io
import pickle
import subprocess
import sys

import pytest
import torch

from mm_ssl.datasets import CIFAR10Dataset, KittiPointImageDataset
from mm_ssl.datasets.safe_pickle import load_data_pickle
from mm_ssl.models.checkpoint import read_checkpoint
from mm_ssl.errors import CheckpointError, DataError

from .harness import NO_NETWORK, ROOT, one_line_error, run_main, run_tool

SIMCLR = f'{ROOT}/configs/simclr/simclr_resnet18_1xb256-100e_digits.py'

IO_OPEN = r'_?io\.open'   # Python 3.12 pickles io.open as _io.open


class CreatesAFile:
    """Unpickling this calls ``open(path, 'w')``: a harmless stand-in for ``os.system``."""

    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        return open, (self.path, 'w')


@pytest.fixture
def booby_trapped(trained, tmp_path):
    """A real checkpoint with a pickled object beside the weights, and the file it would create."""
    _, work = trained
    marker = tmp_path / 'code_ran'
    ckpt = torch.load(work / 'iter_2.pth', map_location='cpu', weights_only=True)
    ckpt['meta']['note'] = CreatesAFile(marker)
    torch.save(ckpt, tmp_path / 'trapped.pth')
    return tmp_path / 'trapped.pth', marker


def test_pickled_object_is_refused_not_run(trained, booby_trapped, tmp_path, record):
    config, _ = trained
    path, marker = booby_trapped
    with pytest.raises(CheckpointError, match=f'refused: the checkpoint holds a pickled {IO_OPEN}'):
        read_checkpoint(path)
    record('read_checkpoint', 'checkpoint holding a pickled object', 'CheckpointError, not run')
    for tool, args in (('tools/train.py', (config, '--work-dir', tmp_path / 'w', '--resume',
                                           path)),
                       ('tools/eval.py', (SIMCLR, path, '--out', tmp_path / 'knn.json')),
                       ('tools/export_backbone.py', (path, '--format', 'torchvision', '--out',
                                                     tmp_path / 'r.pth'))):
        run = run_main(tool, *args)
        record(tool.split('/')[1], 'checkpoint holding a pickled object',
               one_line_error(run, path, 'refused') + ', not run')
    assert not marker.exists()
    torch.load(path, weights_only=False)   # the trap is live: the unsafe loader springs it
    assert marker.exists()


def test_tool_runs_without_network(trained, tmp_path, record):
    """Sockets are refused in the tool's process (see no_network/sitecustomize.py): the export
    works and tried nothing. Every run_tool of this suite is checked the same way."""
    _, work = trained
    run = run_tool('tools/export_backbone.py', work / 'iter_2.pth', '--format', 'torchvision',
                   '--out', tmp_path / 'resnet.pth', log_dir=tmp_path)
    assert run.returncode == 0, run.stderr[-3000:]
    assert run.network == ''
    assert 'conv1.weight' in torch.load(tmp_path / 'resnet.pth', weights_only=True)
    record('export_backbone.py', 'network refused', f'exit 0, no connection tried '
           f'(subprocess, {run.seconds:.1f} s)')


def test_network_guard_catches_a_connection(tmp_path):
    """The guard the tools run under does see (and refuse) a connection."""
    log = tmp_path / 'network.log'
    out = subprocess.run([sys.executable, '-c', "import socket; socket.create_connection("
                          "('192.0.2.1', 9), timeout=1)"], capture_output=True, text=True,
                         env=dict(PYTHONPATH=NO_NETWORK, MM_SSL_NETWORK_LOG=str(log)), timeout=60)
    assert out.returncode == 1 and 'network access is disabled' in out.stderr
    assert log.read_text().startswith("create_connection(('192.0.2.1', 9)")


def test_data_pickle_holding_an_object_is_refused(synthetic_kitti, tmp_path, record):
    """Info files and CIFAR batches are pickles too: read with the same rule as checkpoints."""
    marker = tmp_path / 'code_ran'
    infos = tmp_path / 'kitti_infos_trapped.pkl'
    with open(synthetic_kitti / 'kitti_infos_train.pkl', 'rb') as f:
        content = pickle.load(f)   # our own file, written by the session fixture
    content['metainfo']['note'] = CreatesAFile(marker)
    infos.write_bytes(pickle.dumps(content))
    with pytest.raises(DataError, match=f'{infos}: .*refused: the file holds a pickled {IO_OPEN}'):
        KittiPointImageDataset(synthetic_kitti, ann_file=infos)
    record('KittiPointImageDataset', 'info file holding a pickled object', 'DataError, not run')
    batches = tmp_path / 'cifar-10-batches-py'
    batches.mkdir()
    (batches / 'data_batch_1').write_bytes(pickle.dumps({b'data': CreatesAFile(marker)}))
    with pytest.raises(DataError, match=f'refused: the file holds a pickled {IO_OPEN}'):
        CIFAR10Dataset(tmp_path)
    record('CIFAR10Dataset', 'batch holding a pickled object', 'DataError, not run')
    assert not marker.exists()
    assert load_data_pickle(io.BytesIO(pickle.dumps(content['data_list']))) == \
        content['data_list']   # plain data still loads
