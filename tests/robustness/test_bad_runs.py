"""Bad configs, checkpoints of another model, and a work dir on a full or read-only disk, through
tools/train.py, tools/eval.py and tools/export_backbone.py: one error line naming the file and
the problem, exit status 2, nothing already written lost."""
import errno
import hashlib
import os
import shutil

import pytest
import torch
from mmengine.config import Config

from mm_ssl.engine.cli import RUNNER_KEYS, check_config, exit_on_error
from mm_ssl.registry import MODELS

from .harness import ROOT, one_line_error, run_main, run_tool, usage_error

TRAIN, EVAL, EXPORT = 'tools/train.py', 'tools/eval.py', 'tools/export_backbone.py'
SIMCLR = f'{ROOT}/configs/simclr/simclr_resnet18_1xb256-100e_digits.py'
BAD_CONFIGS = {  # case: (line added to the digits SimCLR config, what the message says)
    'typo of a top-level key': ('trian_cfg = dict(max_epochs=1)',
                                "unknown top-level key 'trian_cfg' (did you mean 'train_cfg'?)"),
    'misspelled model argument': ("model = dict(neck=dict(hidden_dims=512))", 'hidden_dims'),
    'unknown type': ("model = dict(neck=dict(type='NoSuchNeck'))", 'NoSuchNeck'),
    "max_epochs='10'": ("train_cfg = dict(max_epochs='10')",
                        "train_cfg.max_epochs must be a positive int, got '10'"),
    'batch_size=-1': ('train_dataloader = dict(batch_size=-1)',
                      'train_dataloader.batch_size must be a positive int, got -1'),
    "lr='0.1'": ("optim_wrapper = dict(optimizer=dict(lr='0.1'))",
                 "optim_wrapper.optimizer.lr must be a positive number, got '0.1'"),
    'syntax error': ('model = dict(', 'cannot parse config'),
}


def digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def copy_run(work, to):
    """A copy of the work dir whose last_checkpoint marker names the copy's checkpoint."""
    copy = shutil.copytree(work, to)
    (copy / 'last_checkpoint').write_text(str(copy / 'iter_2.pth'))
    return copy


def bad_config(tmp_path, case):
    path = tmp_path / f'bad_{list(BAD_CONFIGS).index(case)}.py'
    path.write_text(f"_base_ = '{SIMCLR}'\n{BAD_CONFIGS[case][0]}\n")
    return path


@pytest.mark.parametrize('case', BAD_CONFIGS)
def test_bad_config(tmp_path, case, record):
    config, work = bad_config(tmp_path, case), tmp_path / 'work'
    run = run_main(TRAIN, config, '--work-dir', work)
    fragments = (BAD_CONFIGS[case][1],) if case in ('misspelled model argument', 'unknown type') \
        else (config, BAD_CONFIGS[case][1])
    record('train.py', f'config: {case}', one_line_error(run, *fragments))
    assert not work.exists()


def test_bad_config_subprocess(tmp_path, record):
    config = bad_config(tmp_path, 'typo of a top-level key')
    run = run_tool(TRAIN, config, '--work-dir', tmp_path / 'work', log_dir=tmp_path)
    record('train.py', 'config: typo of a top-level key (subprocess)',
           one_line_error(run, config, BAD_CONFIGS['typo of a top-level key'][1]))
    assert not (tmp_path / 'work').exists()


def test_shipped_configs_pass_the_checks():
    """The typo check leaves the helper variables of every shipped config alone."""
    configs = [os.path.join(d, f) for d, _, files in os.walk(f'{ROOT}/configs')
               for f in files if f.endswith('.py') and '_base_' not in d]
    assert len(configs) > 50
    for path in configs:
        check_config(Config.fromfile(path), path)
    assert {'train_cfg', 'optim_wrapper', 'skip_nonfinite'} <= RUNNER_KEYS


@pytest.fixture(scope='module')
def other_model(tmp_path_factory):
    """A checkpoint of the video SimCLR (3D CNN encoder) to load into the image SimCLR."""
    cfg = Config.fromfile(f'{ROOT}/configs/video/simclr_small3dcnn_synthetic-videos.py')
    path = tmp_path_factory.mktemp('other') / 'video_simclr.pth'
    torch.save({'state_dict': MODELS.build(cfg.model).state_dict()}, path)
    return path


def test_checkpoint_of_another_model(trained, other_model, tmp_path, record):
    config, _ = trained
    work = tmp_path / 'work'
    for option in (['--cfg-options', f'load_from={other_model}'], ['--resume', other_model]):
        run = run_main(TRAIN, config, '--work-dir', work, *option)
        record('train.py', f'checkpoint of another model ({option[0]})',
               one_line_error(run, other_model, 'does not match the model', 'missing key'))
        assert not work.exists()
    run = run_main(EVAL, SIMCLR, other_model, '--out', tmp_path / 'knn.json')
    record('eval.py', 'checkpoint of another model',
           one_line_error(run, other_model, 'does not match the model'))
    run = run_main(EXPORT, other_model, '--format', 'torchvision', '--out', tmp_path / 'r.pth')
    record('export_backbone.py', 'checkpoint of another model (--format torchvision)',
           one_line_error(run, other_model, 'not a torchvision ResNet'))
    image_ckpt = trained[1] / 'iter_2.pth'
    run = run_main(EXPORT, image_ckpt, '--format', 'openpcdet', '--out', tmp_path / 'p.pth')
    record('export_backbone.py', 'image checkpoint as a point encoder (--format openpcdet)',
           one_line_error(run, image_ckpt, 'no VoxelBackBone8x point encoder'))
    assert not any(tmp_path.glob('*.json')) and not any(tmp_path.glob('*.pth'))


def test_full_disk_keeps_the_previous_checkpoint(trained, tmp_path, record):
    """Resumed to iteration 4, the save of iter_4.pth meets a full disk: its temporary file is
    made a link to /dev/full, where every write fails with ENOSPC as on a full disk."""
    config, trained_work = trained
    work = copy_run(trained_work, tmp_path / 'work')
    before = digest(work / 'iter_2.pth')
    (work / 'iter_4.pth.tmp').symlink_to('/dev/full')
    run = run_tool(TRAIN, config, '--work-dir', work, '--resume', log_dir=tmp_path)
    outcome = one_line_error(run, work / 'iter_4.pth', 'No space left on device')
    assert 'Saving checkpoint at 4 iterations' in run.stdout   # iterations 3, 4 were done
    assert digest(work / 'iter_2.pth') == before
    assert (work / 'last_checkpoint').read_text() == str(work / 'iter_2.pth')
    assert not os.path.lexists(work / 'iter_4.pth') and not os.path.lexists(
        work / 'iter_4.pth.tmp')
    record('train.py', 'work dir on a full disk (ENOSPC at a save)',
           outcome + '; previous checkpoint kept')


def test_disk_error_anywhere_is_one_line(capsys, record):
    """A write refused outside the checkpoint saver (a log, a JSON) is one line naming the file;
    other OS errors keep their traceback (they are bugs, not input)."""
    with pytest.raises(SystemExit) as stop, exit_on_error():
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), '/work/run/x.log')
    assert stop.value.code == 2
    assert capsys.readouterr().err == 'error: /work/run/x.log: No space left on device\n'
    with pytest.raises(ConnectionResetError), exit_on_error():
        raise ConnectionResetError(errno.ECONNRESET, 'reset')
    record('exit_on_error', 'OSError ENOSPC outside a checkpoint save', 'exit 2, 1 line')


def test_read_only_work_dir_fails_before_training(trained, tmp_path, record):
    """A work dir the tool may read but not write (run as root, it is started without the
    capability that writes past permission bits). It must stop before any training."""
    config, trained_work = trained
    work = copy_run(trained_work, tmp_path / 'work')
    before = {p.name: digest(p) for p in work.rglob('*') if p.is_file()}
    for path in [work, *work.rglob('*')]:
        path.chmod(0o555 if path.is_dir() else 0o444)
    try:
        run = run_tool(TRAIN, config, '--work-dir', work, '--resume', read_only_respected=True,
                       log_dir=tmp_path)
    finally:
        for path in [work, *work.rglob('*')]:
            path.chmod(0o755 if path.is_dir() else 0o644)
    outcome = one_line_error(run, work, 'work dir not writable')
    assert 'Iter(train)' not in run.stdout
    assert {p.name: digest(p) for p in work.rglob('*') if p.is_file()} == before
    record('train.py', 'read-only work dir', outcome + '; before any training')


@pytest.mark.parametrize('content', [b'', b'hello, not a checkpoint\n'], ids=['empty', 'text'])
def test_checkpoint_file_that_is_not_one(trained, tmp_path, content, record):
    config, trained_work = trained
    case = 'empty' if not content else 'text file'
    bad = tmp_path / 'epoch_9.pth'
    bad.write_bytes(content)
    what = 'the checkpoint file is empty (0 bytes)' if not content else 'not a checkpoint'
    run = run_main(EVAL, SIMCLR, bad, '--out', tmp_path / 'knn.json')
    record('eval.py', f'checkpoint: {case}', one_line_error(run, bad, what))
    work = copy_run(trained_work, tmp_path / 'work')
    run = run_main(TRAIN, config, '--work-dir', work, '--resume', bad)
    record('train.py', f'--resume CHECKPOINT: {case}', one_line_error(run, bad, what))
    (work / 'last_checkpoint').write_text(str(bad))
    run = run_main(TRAIN, config, '--work-dir', work, '--resume')
    record('train.py', f'--resume, last checkpoint {case}', one_line_error(run, bad, what))
    assert not (tmp_path / 'knn.json').exists() and not (work / 'iter_4.pth').exists()


def test_batch_larger_than_the_dataset(tmp_path, record):
    run = run_main(TRAIN, SIMCLR, '--work-dir', tmp_path / 'work', '--cfg-options',
                   'train_dataloader.batch_size=2048')
    record('train.py', 'batch_size larger than the dataset (digits)', one_line_error(
        run, 'DigitsDataset has 1437 samples, fewer than batch_size=2048',
        'Lower train_dataloader.batch_size to at most 1437'))
    assert not (tmp_path / 'work').exists()


def test_batch_larger_than_a_video_set(tmp_path, record):
    """The default VCOP config (batch 16) on a set of 20 videos, 14 of them for training."""
    from mm_ssl.synthetic.video import write_video_set
    root = tmp_path / 'videos'
    write_video_set(root, videos=20, size=16, seconds=0.48, gop=4, verbose=False)
    train = len((root / 'trainlist01.txt').read_text().splitlines())
    run = run_main(TRAIN, f'{ROOT}/configs/video/vcop_small3dcnn_synthetic-videos.py',
                   '--work-dir', tmp_path / 'work', '--cfg-options',
                   f'train_dataloader.dataset.data_root={root}')
    record('train.py', 'batch_size larger than the dataset (VCOP, 14 training videos)',
           one_line_error(run, f'VideoTaskDataset at {root}', 'fewer than batch_size=16'))
    assert train < 16 and not (tmp_path / 'work').exists()


@pytest.mark.parametrize('option,message', [
    ('model.neck.hidden_dim=[1,2', 'unbalanced brackets in the value'),
    ('train_cfg.max_epochs', 'expected KEY=VALUE'),
    ('train_cfg=dict(type=EpochBasedTrainLoop,max_epochs=1)', 'not a call')])
def test_malformed_cfg_option(tmp_path, option, message, record):
    run = run_main(TRAIN, SIMCLR, '--work-dir', tmp_path / 'work', '--cfg-options', option)
    record('train.py', f'--cfg-options {option!r}', usage_error(run, option, message))
    assert not (tmp_path / 'work').exists()


@pytest.mark.parametrize('option,message', [
    ('data_rot=/data', "no top-level key 'data_rot' in the config"),
    ('max_epochs=3', "'max_epochs' is a variable of the config file")])
def test_top_level_cfg_option_that_would_be_ignored(tmp_path, option, message, record):
    run = run_main(TRAIN, SIMCLR, '--work-dir', tmp_path / 'work', '--cfg-options', option)
    record('train.py', f'--cfg-options {option} (unknown / config variable)',
           one_line_error(run, SIMCLR, message))
    assert not (tmp_path / 'work').exists()


@pytest.mark.parametrize('launcher,starter,command', [
    ('pytorch', 'torchrun', 'tools/dist_train.sh'), ('slurm', 'srun', 'tools/slurm_train.sh')])
def test_launcher_without_its_environment(tmp_path, launcher, starter, command, record,
                                          monkeypatch):
    for name in ('RANK', 'WORLD_SIZE', 'LOCAL_RANK', 'SLURM_PROCID'):
        monkeypatch.delenv(name, raising=False)
    run = run_main(TRAIN, SIMCLR, '--work-dir', tmp_path / 'work', '--launcher', launcher)
    record('train.py', f'--launcher {launcher} without {starter}',
           one_line_error(run, f'--launcher {launcher}', 'not set', command))
    assert not (tmp_path / 'work').exists()


def test_new_run_into_a_work_dir_with_checkpoints(trained, tmp_path, record):
    """Without --resume, a run into a folder holding checkpoints would overwrite them."""
    config, trained_work = trained
    work = copy_run(trained_work, tmp_path / 'work')
    before = {p.name: digest(p) for p in work.rglob('*') if p.is_file()}
    run = run_main(TRAIN, config, '--work-dir', work)
    record('train.py', 'new run into a work dir with checkpoints (no --resume)',
           one_line_error(run, work, 'holds checkpoints of an earlier run (iter_2.pth)',
                          '--resume'))
    assert {p.name: digest(p) for p in work.rglob('*') if p.is_file()} == before


def test_amp_on_a_cpu(tmp_path, record):
    if torch.cuda.is_available():
        pytest.skip('a GPU runs --amp')
    run = run_main(TRAIN, SIMCLR, '--work-dir', tmp_path / 'work', '--amp')
    record('train.py', '--amp without a GPU', one_line_error(run, '--amp', 'needs a GPU'))
