"""Every kind of bad video file through the reader, VideoDataset (raise, and a counted skip under
``on_bad_sample='skip'``), data_prep/build_video_index.py, and a real training run
(tools/train.py) whose skips end up in ``skipped_samples.json``."""
import json
import re

import numpy as np
import pytest

from conftest import write_audio_only
from mm_ssl.synthetic.video import write_video_set
from mm_ssl.datasets import VideoDataset, VideoReader
from mm_ssl.synthetic.video import write_video
from mm_ssl.errors import DataError

from .harness import ROOT, one_line_error, run_main, run_tool

CLIP = dict(clip_len=4, frame_interval=2)   # spans 7 of the 12 frames of a good video


CASES = {  # case: (damage, reason the dataset counts it under, what the message says)
    'corrupt (garbage bytes)': (lambda p: p.write_bytes(b'not a video' * 50), 'unreadable',
                                'cannot open as a video'),
    'truncated': (lambda p: p.write_bytes(p.read_bytes()[:p.stat().st_size // 2]),
                  'unreadable', ''),
    'zero-byte': (lambda p: p.write_bytes(b''), 'unreadable', 'cannot open as a video'),
    'stream-less (audio only)': (write_audio_only, 'no_video_stream', 'holds no video stream'),
    'too short for the clip': (lambda p: write_video(p, np.zeros((3, 16, 16, 3), np.uint8)),
                               'too_short', '3 frames, shorter than the 7'),
}


@pytest.fixture(scope='module')
def videos(tmp_path_factory):
    """20 tiny videos (16 px, 12 frames); train entries 1, 3, .., 9 broken, one per case, each
    followed by a good one. Returns
    (root, case -> (index in trainlist01.txt, path))."""
    root = tmp_path_factory.mktemp('bad_videos')
    write_video_set(root, videos=20, size=16, seconds=0.48, gop=4, verbose=False)
    entries = (root / 'trainlist01.txt').read_text().split('\n')
    broken = {}
    for k, (case, (damage, _, _)) in enumerate(CASES.items()):
        index = 2 * k + 1
        path = root / entries[index].split()[0]
        damage(path)
        broken[case] = index, path
    return root, broken


@pytest.mark.parametrize('case', CASES)
def test_reader_dataset_and_skip(videos, case, record):
    root, broken = videos
    index, path = broken[case]
    _, reason, message = CASES[case]
    if reason != 'too_short':   # a short file reads fine: only a clip can be too long for it
        with pytest.raises(DataError, match=re.escape(f'{path}: {message}')) as error:
            with VideoReader(path) as video:
                video.read_frames([0, video.num_frames - 1])
        assert error.value.reason == reason
        record('VideoReader', case, f'DataError naming file ({reason})')
    with pytest.raises(DataError, match=re.escape(f'{path}: {message}')) as error:
        VideoDataset(root, **CLIP)[index]
    assert error.value.reason == reason
    ds = VideoDataset(root, **CLIP, on_bad_sample='skip')
    sample = ds[index]
    assert sample['skipped'].startswith(str(path)) and sample['path'] != str(path)
    assert list(ds.skipped) == [str(path)] and ds.skip_reasons == {reason: 1}
    record('VideoDataset', case, f'DataError; skip counted in skip_reasons[{reason!r}]')


def test_index_marks_every_unreadable_video(videos, tmp_path, record):
    root, broken = videos
    out = tmp_path / 'index.json'
    run = run_main('data_prep/build_video_index.py', '--root', root, '--out', out)
    assert run.returncode == 0, run.stderr
    index = json.loads(out.read_text())['videos']
    for case, (_, path) in broken.items():
        entry = index[path.relative_to(root).as_posix()]
        if CASES[case][1] == 'too_short':
            assert entry['num_frames'] == 3
            continue
        assert entry['reason'] == CASES[case][1] and CASES[case][2] in entry['error']
        assert f'BAD: {path.relative_to(root).as_posix()}' in run.stdout
        record('build_video_index.py', case, f'exit 0, marked {entry["reason"]!r} in the index')
    assert sum('error' in e for e in index.values()) == len(CASES) - 1


def test_training_run_counts_the_skips(videos, tmp_path, record):
    """tools/train.py on the broken set (the video configs skip bad samples): it trains on the
    good videos and lists every bad one in skipped_samples.json."""
    root, broken = videos
    config = tmp_path / 'video_skip.py'
    config.write_text(f"""
_base_ = '{ROOT}/configs/video/simclr_small3dcnn_synthetic-videos.py'
train_dataloader = dict(batch_size=2, num_workers=0, persistent_workers=False, drop_last=False,
                        dataset=dict(data_root='{root}', clip_len=4, frame_interval=2,
                                     frame_cache=None))
train_cfg = dict(max_epochs=1)
param_scheduler = []
visualizer = dict(vis_backends=[dict(type='LocalVisBackend')])
""")
    work = tmp_path / 'work'
    run = run_tool('tools/train.py', config, '--work-dir', work, log_dir=tmp_path)
    assert run.returncode == 0 and not run.network, run.stderr[-3000:]
    listed = json.loads((work / 'skipped_samples.json').read_text())
    assert len(listed) == len(CASES)
    for case, (_, path) in broken.items():
        assert sum(line.startswith(f'{path}: ') for line in listed) == 1, (case, listed)
    assert f'{len(CASES)} bad samples skipped' in run.stdout + run.stderr
    assert (work / 'epoch_1.pth').is_file()
    record('train.py (video, skip mode)', f'{len(CASES)} bad videos in one run',
           f'exit 0, {len(CASES)} skips in skipped_samples.json (subprocess, '
           f'{run.seconds:.1f} s)')


def test_missing_annotation_list(videos, record):
    root, _ = videos
    missing = root / 'testlist09.txt'
    with pytest.raises(DataError, match=re.escape(f'{missing}: missing annotation')):
        VideoDataset(root, 'testlist09.txt')
    record('VideoDataset', 'missing annotation list', 'DataError naming file + problem')
    run = run_main('data_prep/build_video_index.py', '--root', root / 'no_such_folder')
    record('build_video_index.py', 'missing video folder',
           one_line_error(run, root / 'no_such_folder', 'no such directory'))


def test_annotation_list_that_is_not_utf8(videos, tmp_path, record):
    """A split list saved in Latin-1 (an accented class name): a DataError naming file and line."""
    root, _ = videos
    latin1 = root / 'trainlist03.txt'
    latin1.write_bytes((root / 'trainlist01.txt').read_bytes() + 'caf\xe9/v_1.mp4 1\n'.encode(
        'latin-1'))
    lines = len((root / 'trainlist01.txt').read_text().splitlines())
    with pytest.raises(DataError, match=re.escape(f'{latin1}:{lines + 1}: not valid UTF-8 text')):
        VideoDataset(root, 'trainlist03.txt')
    record('VideoDataset', 'annotation list not UTF-8 (Latin-1)', 'DataError naming file + line')
