"""Video data path: frame-exact decoding (checked by frame numbers stamped into the pixels and
against a plain decode from the start), annotation formats, clip samplers, the video index,
the frame cache and every kind of bad input."""
import hashlib
import json
import os.path as osp
import shutil
import subprocess
import sys

import av
import numpy as np
import pytest
import torch
from mmengine.config import Config
from torch.utils.data import DataLoader

from conftest import write_audio_only
from data_prep import build_video_index as index_script
from data_prep import make_synthetic_videos as make_videos_script
from mm_ssl.synthetic.video import write_video_set
from mm_ssl.datasets import VideoDataset, VideoReader, build_video_index, sample_clip_indices
from mm_ssl.synthetic.video import (CLASSES, VideoSpec, object_trajectory,
                                    read_frame_number, render_video)
from mm_ssl.datasets.video import read_annotations
from mm_ssl.errors import DataError
from mm_ssl.registry import DATASETS

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))

FRAMES, GOP = 50, 12  # 2 s at 25 fps: keyframes 0, 12, 24, 36, 48


@pytest.fixture(scope='module')
def video_set(tmp_path_factory):
    root = tmp_path_factory.mktemp('synthetic_videos')
    write_video_set(root, videos=20, seed=1, size=64, seconds=FRAMES / 25, gop=GOP,
                    stamp=True, verbose=False)
    return root


@pytest.fixture
def copy_set(video_set, tmp_path):
    """A private copy to damage."""
    return shutil.copytree(video_set, tmp_path / 'set')


def first_video(root):
    return root / open(root / 'trainlist01.txt').readline().split()[0]


def decode_all(path):
    """Reference: every frame decoded from the start, no seeking."""
    with av.open(str(path)) as container:
        container.streams.video[0].codec_context.thread_count = 1  # safe to free after a fork
        return np.stack([f.to_ndarray(format='rgb24') for f in container.decode(video=0)])


def test_reader_returns_the_requested_frames(video_set):
    path = first_video(video_set)
    reference = decode_all(path)
    assert [read_frame_number(f) for f in reference] == list(range(FRAMES))
    rng = np.random.default_rng(0)
    requests = [rng.integers(0, FRAMES, rng.integers(1, 25)) for _ in range(15)]  # unsorted
    requests += [[49], [49, 48, 49, 0, 0], [47, 12, 11, 36, 35], list(range(FRAMES))[::-1], []]
    with VideoReader(path) as video:
        assert (video.num_frames, video.fps, video.keyframes) == (FRAMES, 25.0, [0, 12, 24, 36, 48])
        for indices in requests:
            frames = video.read_frames(indices)
            assert frames.shape == (len(indices), 64, 64, 3) and frames.dtype == np.uint8
            assert [read_frame_number(f) for f in frames] == list(indices)
            np.testing.assert_array_equal(frames, reference[np.asarray(indices, dtype=int)])


def test_reader_with_a_frame_table_skips_the_demux(video_set):
    path = first_video(video_set)
    with VideoReader(path) as video:
        table = json.loads(json.dumps(video.frame_table()))  # as stored in an index
        expected = video.read_frames(range(FRAMES))
    with VideoReader(path, frame_table=table) as video:
        np.testing.assert_array_equal(video.read_frames([49, 3, 30, 3]), expected[[49, 3, 30, 3]])


def test_reader_seeks_only_when_it_saves_decoding(video_set):
    with VideoReader(first_video(video_set)) as video:
        def cost(indices):
            seeks, decoded = video.seeks, video.decoded
            video.read_frames(indices)
            return video.seeks - seeks, video.decoded - decoded
        assert cost(range(13, 29)) == (1, 17)     # one seek to keyframe 12, frames 12..28
        assert cost([2, 11, 5]) == (1, 12)        # same GOP: decode on
        assert cost([2, 20]) == (2, 3 + 9)        # keyframe 12 lies past frame 3: seek
        assert cost([49, 3]) == (2, 4 + 2)        # sorted first; the end needs no extra care
        assert cost([12, 11]) == (1, 13)          # keyframe 12 is the next frame: decode on


def test_reader_resizes_on_decode(video_set):
    path = first_video(video_set)
    with VideoReader(path, short_side=32) as video:
        frames = video.read_frames([0, 30])
    assert (video.width, video.height, frames.shape) == (32, 32, (2, 32, 32, 3))
    full = decode_all(path)[[0, 30]].astype(np.float64)
    box = full.reshape(2, 32, 2, 32, 2, 3).mean((2, 4))  # 2x2 box filter, same footprint
    assert np.abs(frames - box)[:, 8:].mean() < 4  # below the sharp-edged frame-number strip


def test_synthetic_videos_are_deterministic(tmp_path):
    """The same seed renders the same frames, and two runs of the writer (separate processes, as
    two runs of data_prep/make_synthetic_videos.py) write the same bytes. Within one process
    libx264's output can depend on what the process encoded before (seen after the file-kind
    tests), so each file is written by a fresh interpreter."""
    spec = VideoSpec(label=5, width=32, height=32, seconds=0.4)
    frames = render_video(spec, np.random.default_rng([3, 1]))
    np.testing.assert_array_equal(frames, render_video(spec, np.random.default_rng([3, 1])))
    np.save(tmp_path / 'frames.npy', frames)
    for name in 'ab':
        subprocess.run([sys.executable, '-c', 'import sys, numpy as np; from '
                        'mm_ssl.synthetic.video import write_video; '
                        'write_video(sys.argv[2], np.load(sys.argv[1]))',
                        str(tmp_path / 'frames.npy'), str(tmp_path / f'{name}.mp4')], check=True)
    digest = [hashlib.md5((tmp_path / f'{n}.mp4').read_bytes()).hexdigest() for n in 'ab']
    assert digest[0] == digest[1]


def test_synthetic_classes_share_single_frame_statistics():
    """Object position, orientation and size at a random frame follow one distribution for all
    classes (two-sample KS tests against MoveRight); the motion between frames differs."""
    from scipy.stats import ks_2samp
    spec = VideoSpec(label=0, width=64, height=48, seconds=1.0)
    rng = np.random.default_rng(0)

    def draws(label, n=600):
        rows = []
        for _ in range(n):
            x, y, angle, radius = object_trajectory(VideoSpec(label, 64, 48, 25, 1.0), rng)
            k = rng.integers(spec.num_frames - 1)
            dx, dy = (x[k + 1] - x[k] + 32) % 64 - 32, (y[k + 1] - y[k] + 24) % 48 - 24
            rows.append((x[k] / 64, y[k] / 48, angle[k] % (2 * np.pi), np.log(radius[k]),
                         dx, dy, angle[k + 1] - angle[k], radius[k + 1] / radius[k]))
        return np.array(rows)
    reference = draws(0)
    for label in range(1, len(CLASSES)):
        other = draws(label)
        for column in range(4):
            assert ks_2samp(reference[:, column], other[:, column]).pvalue > 1e-3, (label, column)
        motion = [ks_2samp(reference[:, c], other[:, c]).pvalue for c in range(4, 8)]
        assert min(motion) < 1e-6, label  # while one step of motion tells them apart


def test_samplers():
    rng = np.random.default_rng(0)
    uniform = sample_clip_indices(50, 8, 3, num_clips=4, mode='uniform')
    assert uniform[0, 0] == 0 and uniform[-1, -1] == 49  # covers the video
    assert (np.diff(uniform, axis=1) == 3).all() and (np.diff(uniform[:, 0]) > 0).all()
    starts = np.concatenate([sample_clip_indices(50, 8, 3, 5, 'random', rng)
                             for _ in range(200)])
    assert (np.diff(starts, axis=1) == 3).all()
    assert starts.min() == 0 and starts.max() == 49  # every start in 0..28 is possible
    dense = sample_clip_indices(50, 4, 2, 3, 'dense', rng)
    assert (np.diff(dense, axis=1) == 2).all() and (np.diff(dense[:, 0]) == 7).all()
    assert 0 <= dense.min() and dense.max() < 50
    gapped = sample_clip_indices(50, 4, 1, 3, 'dense', rng, dense_gap=10)
    assert (np.diff(gapped[:, 0]) == 10).all()
    with pytest.raises(ValueError, match='shorter'):
        sample_clip_indices(21, 8, 3)  # spans 22 frames


def test_ucf101_lists(video_set, tmp_path):
    entries, classes, bad = read_annotations('ucf101', video_set / 'trainlist01.txt')
    assert classes[:2] == ['MoveRight', 'MoveLeft'] and len(classes) == 10 and not bad
    assert entries[0] == ('MoveRight/v_MoveRight_g02_c01.mp4', 0)
    test, _, _ = read_annotations('ucf101', video_set / 'testlist01.txt')
    assert test[1] == ('MoveLeft/v_MoveLeft_g01_c01.mp4', 1)  # label from the folder name
    (tmp_path / 'classInd.txt').write_text('2 Run\n1 Jump\n')
    (tmp_path / 'trainlist01.txt').write_text('Jump/v_a.avi 1\nRun/v_b.avi 2\nRun/v_c.avi 7\n'
                                              'Run/v_d.avi two\n')
    entries, classes, bad = read_annotations('ucf101', tmp_path / 'trainlist01.txt')
    assert classes == ['Jump', 'Run'] and entries == [('Jump/v_a.avi', 0), ('Run/v_b.avi', 1)]
    assert [e.path for e in bad] == [f'{tmp_path / "trainlist01.txt"}:{n}' for n in (3, 4)]


def test_hmdb51_split_files(tmp_path):
    (tmp_path / 'run_test_split1.txt').write_text('r1.avi 1 \nr2.avi 2 \nr3.avi 0 \n')
    (tmp_path / 'clap_test_split1.txt').write_text('c1.avi 2 \nc2.avi 1 \nc3.avi x\n')
    (tmp_path / 'clap_test_split2.txt').write_text('c1.avi 1 \n')
    train, classes, bad = read_annotations('hmdb51', tmp_path, 'train', fold=1)
    assert classes == ['clap', 'run'] and train == [('clap/c2.avi', 0), ('run/r1.avi', 1)]
    assert [e.path for e in bad] == [f'{tmp_path / "clap_test_split1.txt"}:3']
    assert read_annotations('hmdb51', tmp_path, 'test')[0] == [('clap/c1.avi', 0),
                                                               ('run/r2.avi', 1)]
    assert read_annotations('hmdb51', tmp_path, 'train', fold=2)[0] == [('clap/c1.avi', 0)]


def test_kinetics_csv(tmp_path):
    csv = tmp_path / 'k.csv'
    csv.write_text('label,youtube_id,time_start,time_end,split\n'
                   'riding a bike,abc,10,20,train\n"abseiling",x-y,0,10,train\n'
                   'abseiling,zzz,5,15,val\nbroken,row\nriding a bike,q,start,9,train\n')
    entries, classes, bad = read_annotations('kinetics', csv, 'train')
    assert classes == ['abseiling', 'riding a bike']
    assert entries == [('riding a bike/abc_000010_000020.mp4', 1),
                       ('abseiling/x-y_000000_000010.mp4', 0)]
    assert [e.path for e in bad] == [f'{csv}:5', f'{csv}:6']
    entries, _, _ = read_annotations('kinetics', csv, 'val', classes=['riding a bike', 'abseiling'],
                                     name_template='{split}/{youtube_id}.mp4')
    assert entries == [('val/zzz.mp4', 1)]


def test_dataset_samples_and_multi_clip(video_set):
    ds = VideoDataset(video_set, 'trainlist01.txt', clip_len=8, frame_interval=2)
    sample = ds[3]
    assert sample['clip'].shape == (8, 64, 64, 3) and sample['clip'].dtype == torch.uint8
    assert [read_frame_number(f) for f in sample['clip'].numpy()] == \
        sample['frame_indices'].tolist()
    assert sample['label'] == int(ds.labels[3]) == 3 and sample['video_idx'] == 3
    assert sample['path'].endswith(ds.videos[3]) and sample['skipped'] == ''
    ds = VideoDataset(video_set, 'testlist01.txt', clip_len=8, num_clips=3, sampler='uniform')
    sample = ds[0]
    assert sample['clip'].shape == (3, 8, 64, 64, 3)
    assert sample['frame_indices'].tolist() == [list(range(s, s + 8)) for s in (0, 21, 42)]
    numbers = [[read_frame_number(f) for f in clip] for clip in sample['clip'].numpy()]
    assert numbers == sample['frame_indices'].tolist()
    np.testing.assert_array_equal(ds.read_frames(0, [5, 1, 5]), ds.reader(0).read_frames([5, 1, 5]))


def test_callable_sampler_adds_keys(video_set):
    def tuple_sampler(num_frames, rng):
        order = rng.permutation(3)
        return dict(frame_indices=np.array([[4], [20], [40]])[order], order=order)
    sample = VideoDataset(video_set, 'trainlist01.txt', sampler=tuple_sampler)[0]
    assert sample['clip'].shape == (3, 1, 64, 64, 3)
    assert [read_frame_number(c[0]) for c in sample['clip'].numpy()] == \
        [[4, 20, 40][o] for o in sample['order']]


def test_base_config_builds_and_pipeline_runs(video_set):
    cfg = Config.fromfile(osp.join(ROOT, 'configs/_base_/datasets/synthetic_videos.py'))
    train = DATASETS.build(dict(cfg.train_dataset, data_root=str(video_set),
                                pipeline=[lambda s: dict(s, clip=s['clip'].flip(0))]))
    sample = train[0]
    assert [read_frame_number(f) for f in sample['clip'].numpy()] == \
        sample['frame_indices'].flip(0).tolist()
    test = DATASETS.build(dict(cfg.test_dataset, data_root=str(video_set)))
    assert len(test) == 10 and test[0]['clip'].shape == (5, 8, 64, 64, 3)


def test_frame_cache(video_set, tmp_path):
    cache = dict(memory_frames=8, cache_dir=tmp_path / 'cache')
    ds = VideoDataset(video_set, 'trainlist01.txt', frame_cache=cache)
    first = ds.read_frames(1, [30, 3, 30, 9])
    assert ds.frame_cache.misses == 3 and len(list((tmp_path / 'cache').rglob('*.npy'))) == 3
    again = VideoDataset(video_set, 'trainlist01.txt', frame_cache=cache)  # from disk
    np.testing.assert_array_equal(again.read_frames(1, [30, 3, 30, 9]), first)
    assert (again.frame_cache.hits, again.frame_cache.misses) == (3, 0)
    jpg = VideoDataset(video_set, 'trainlist01.txt',
                       frame_cache=dict(cache_dir=tmp_path / 'jpg', format='jpg'))
    jpg.read_frames(1, [30])
    assert np.abs(jpg.read_frames(1, [30]).astype(int) - first[:1]).mean() < 6
    assert jpg.frame_cache.hits == 1


def test_index_is_built_and_used(copy_set):
    (copy_set / 'MoveUp' / 'v_MoveUp_g02_c01.mp4').write_bytes(b'')
    index = build_video_index(copy_set, verbose=False)
    assert len(index['videos']) == 20
    record = index['videos']['MoveRight/v_MoveRight_g02_c01.mp4']
    assert record == dict(num_frames=FRAMES, fps=25.0, duration=2.0, width=64, height=64,
                          bytes=(copy_set / 'MoveRight/v_MoveRight_g02_c01.mp4').stat().st_size,
                          frame_table=dict(pts=dict(start=0, step=512, count=FRAMES),
                                           keyframes=[0, 12, 24, 36, 48]))
    assert index['videos']['MoveUp/v_MoveUp_g02_c01.mp4']['reason'] == 'unreadable'
    record['num_frames'] = 45  # edits that prove the dataset reads the index
    record['frame_table']['pts']['count'] = 40
    (copy_set / 'video_index.json').write_text(json.dumps(index))
    ds = VideoDataset(copy_set, 'trainlist01.txt', on_bad_sample='skip')
    assert ds.num_frames(0) == 45 and not ds._readers  # no file opened
    assert ds.reader(0).num_frames == 40  # no demux on opening: the frame table is used
    ds.index['MoveRight/v_MoveRight_g02_c01.mp4']['bytes'] += 1  # as if the file changed
    ds._readers.clear()
    assert ds.reader(0).num_frames == FRAMES
    assert len(ds) == 9 and ds.skip_reasons == {'unreadable': 1}  # dropped before any read
    with pytest.raises(DataError, match='v_MoveUp_g02_c01.mp4.*video index'):
        VideoDataset(copy_set, 'trainlist01.txt')


BAD_FILES = {  # damage applied to a video file -> skip category
    'truncated': (lambda p: p.write_bytes(p.read_bytes()[:p.stat().st_size // 2]), 'unreadable'),
    'zero_byte': (lambda p: p.write_bytes(b''), 'unreadable'),
    'garbage': (lambda p: p.write_bytes(b'not a video' * 100), 'unreadable'),
    'no_video_stream': (write_audio_only, 'no_video_stream'),
    'missing': (lambda p: p.unlink(), 'missing'),
}


@pytest.mark.parametrize('damage', BAD_FILES)
def test_bad_file_raises_or_is_skipped(copy_set, damage):
    make_bad, reason = BAD_FILES[damage]
    bad = copy_set / 'MoveLeft' / 'v_MoveLeft_g02_c01.mp4'  # item 1 of trainlist01.txt
    make_bad(bad)
    with pytest.raises(DataError, match=str(bad)) as err:
        VideoDataset(copy_set, 'trainlist01.txt')[1]
    assert err.value.reason == reason
    ds = VideoDataset(copy_set, 'trainlist01.txt', on_bad_sample='skip')
    sample = ds[1]
    assert sample['video_idx'] == 2 and sample['skipped'].startswith(str(bad))
    assert list(ds.skipped) == [str(bad)] and ds.skip_reasons == {reason: 1}
    assert ds[1]['skipped'] == ''  # known bad: passed over without another try


def test_video_shorter_than_clip(video_set):
    ds = VideoDataset(video_set, 'trainlist01.txt', clip_len=26, frame_interval=2)  # spans 51
    with pytest.raises(DataError, match=f'{ds.path(0)}: 50 frames, shorter') as err:
        ds[0]
    assert err.value.reason == 'too_short'
    ds.on_bad_sample = 'skip'
    with pytest.raises(DataError, match='no readable video left'):
        ds[0]
    assert ds.skip_reasons == {'too_short': len(ds)}


def test_bad_split_entry(video_set, tmp_path):
    lines = (video_set / 'trainlist01.txt').read_text().splitlines()
    root = shutil.copytree(video_set, tmp_path / 'set', ignore=lambda d, names: [
        n for n in names if n.endswith('.mp4')])  # lists only: entries are parsed, not read
    (root / 'trainlist01.txt').write_text('\n'.join([lines[0], 'MoveLeft/v.mp4 eleven',
                                                     lines[2]]) + '\n')
    with pytest.raises(DataError, match=f'{root / "trainlist01.txt"}:2: expected'):
        VideoDataset(root, 'trainlist01.txt')
    ds = VideoDataset(root, 'trainlist01.txt', on_bad_sample='skip')
    assert len(ds) == 2 and ds.skip_reasons == {'bad_entry': 1}


def test_dataloader_workers_skip_a_corrupt_file(copy_set):
    bad = copy_set / 'MoveDown' / 'v_MoveDown_g02_c01.mp4'
    bad.write_bytes(bad.read_bytes()[:500])
    ds = VideoDataset(copy_set, 'trainlist01.txt', clip_len=4, on_bad_sample='skip')
    ds[0], ds[5]  # readers open in the parent: forked workers inherit (and drop) them
    loader = DataLoader(ds, batch_size=4, num_workers=2, timeout=60)
    batches = list(loader)
    assert sum(len(b['label']) for b in batches) == len(ds)
    reports = [s for b in batches for s in b['skipped'] if s]
    assert reports and all(r.startswith(f'{bad}: cannot open') for r in reports)
    assert str(bad) not in {p for b in batches for p in b['path']}
    ds.on_bad_sample = 'raise'
    with pytest.raises(DataError, match=f'{bad}: cannot open'):
        list(DataLoader(ds, batch_size=4, num_workers=2, timeout=60))


def test_video_data_prep_command_lines(tmp_path, capsys):
    """make_synthetic_videos.py --out and build_video_index.py --root (or the old positional
    folder) as a user runs them, each with one progress bar, its label first."""
    root = tmp_path / 'videos'
    make_videos_script.main(['--out', str(root), '--videos', '20', '--size', '16',
                             '--seconds', '0.48', '--gop', '4'])
    index_script.main(['--root', str(root)])
    index_script.main([str(root), '--out', str(tmp_path / 'old_spelling.json')])
    printed = ''.join(capsys.readouterr())
    assert 'writing synthetic videos: 100%' in printed and ' 20/20 ' in printed, printed
    assert printed.count('indexing videos: 100%') == 2, printed
    index = json.loads((root / 'video_index.json').read_text())
    assert len(index['videos']) == 20
    assert json.loads((tmp_path / 'old_spelling.json').read_text()) == index
    with pytest.raises(SystemExit):   # the folder twice, two ways: ambiguous
        index_script.main(['--root', str(root), str(root)])
