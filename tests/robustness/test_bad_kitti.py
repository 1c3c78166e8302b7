"""Every kind of bad KITTI file, through each component that reads it: the readers, the dataset
(raise, and a counted skip under ``on_bad_sample='skip'``), the info writer
(data_prep/create_kitti_infos.py, raise and ``--skip-bad``) and tools/visualize_kitti.py."""
import re
import shutil

import numpy as np
import pytest

from mm_ssl.datasets.kitti import KittiPointImageDataset
from mm_ssl.datasets.kitti_io import read_calib, read_image, read_label, read_points
from mm_ssl.errors import DataError

from .harness import one_line_error, run_main, run_tool

INFOS, VIS = 'data_prep/create_kitti_infos.py', 'tools/visualize_kitti.py'
READERS = dict(velodyne=read_points, velodyne_reduced=read_points, calib=read_calib,
               image_2=read_image, label_2=read_label)
SUFFIX = dict(velodyne='.bin', velodyne_reduced='.bin', calib='.txt', image_2='.png',
              label_2='.txt')


def points(rows):
    return lambda path: np.asarray(rows, np.float32).tofile(path)


def edit_text(pattern, replacement):
    return lambda path: path.write_text(re.sub(pattern, replacement, path.read_text(), 1,
                                               flags=re.M))


def latin1_text(path):
    """The file as an editor set to Latin-1 / cp1252 saves it: its first space becomes a no-break
    space, byte 0xa0, which is not valid UTF-8."""
    path.write_bytes(path.read_bytes().replace(b' ', b'\xa0', 1))


def truncate(keep):
    return lambda path: path.write_bytes(path.read_bytes()[:keep(path.stat().st_size)])


# case: (folders whose file of the frame is broken, how, what the message says, components
# that read the file). Point cases break velodyne (read by the info writer and the viewer) and
# velodyne_reduced (read by the dataset) alike.
BINS = ('velodyne', 'velodyne_reduced')
ALL = ('reader', 'dataset', 'infos', 'visualize')
CASES = {
    'truncated .bin': (BINS, truncate(lambda n: n - 7), 'is not a multiple of 16', ALL),
    'zero-byte .bin': (BINS, truncate(lambda n: 0), 'empty file (0 bytes', ALL),
    'wrong-size .bin (6-channel rows)': (BINS, points(np.ones((3, 6))),
                                         '72 bytes is not a multiple of 16', ALL),
    'NaN points': (BINS, points([[1, 2, 0, 0], [np.nan, 0, 0, 0]]),
                   '1 of 2 points hold NaN or inf', ALL),
    'inf points': (BINS, points([[1, 2, 0, 0], [5, -np.inf, 0, 0]]),
                   '1 of 2 points hold NaN or inf', ALL),
    'empty after range filter': (('velodyne_reduced',), points([[-5, 0, 0, 1]] * 3),
                                 'no points inside point_range', ('dataset',)),
    'calib without P2': (('calib',), edit_text(r'^P2:.*\n', ''), 'no P2 line', ALL),
    'calib without Tr_velo_to_cam': (('calib',), edit_text(r'^Tr_velo_to_cam:.*\n', ''),
                                     'no Tr_velo_to_cam line', ALL),
    'calib non-numeric value': (('calib',), edit_text(r'^(R0_rect: \S+) \S+', r'\1 1.O'),
                                'R0_rect holds a non-numeric', ALL),
    'calib wrong number count': (('calib',), edit_text(r'^R0_rect: ', 'R0_rect: 1 '),
                                 'R0_rect has 10 numbers', ALL),
    'image garbage bytes': (('image_2',), lambda p: p.write_bytes(b'not an image' * 9),
                            'image', ALL),
    # the info writer reads the header only (the size), which a truncated PNG still holds
    'image truncated PNG': (('image_2',), truncate(lambda n: n // 2), 'cannot decode image',
                            ('reader', 'dataset', 'visualize')),
    'label wrong field count': (('label_2',), edit_text(r'^(\S+) \S+ ', r'\1 '),
                                'fields, expected 15', ('reader', 'infos', 'visualize')),
    'label not UTF-8 (Latin-1)': (('label_2',), latin1_text, ':1: not valid UTF-8 text',
                                  ('reader', 'infos', 'visualize')),
    'calib not UTF-8 (Latin-1)': (('calib',), latin1_text, ':1: not valid UTF-8 text', ALL),
}
GOOD = '000000'


def frame_id(case):
    return f'{100 + list(CASES).index(case):06d}'


def bad_file(root, case):
    folder = CASES[case][0][-1]   # the dataset's file where both .bin are broken
    return root / 'training' / folder / (frame_id(case) + SUFFIX[folder])


def first_read(root, case, component):
    """The file a component fails on: the info writer and the viewer read velodyne/."""
    folders = CASES[case][0]
    folder = folders[0] if component in ('infos', 'visualize') else folders[-1]
    return root / 'training' / folder / (frame_id(case) + SUFFIX[folder])


@pytest.fixture(scope='module')
def tree(synthetic_kitti, tmp_path_factory):
    """The session's synthetic KITTI tree with frame 000000 cloned once per case, infos written
    while all are good, then each clone broken its own way."""
    root = tmp_path_factory.mktemp('bad_kitti') / 'kitti'
    shutil.copytree(synthetic_kitti, root)
    for split in ('val', 'trainval', 'test'):
        (root / 'ImageSets' / f'{split}.txt').unlink(missing_ok=True)
    for case in CASES:
        for folder, suffix in SUFFIX.items():
            shutil.copy(root / 'training' / folder / (GOOD + suffix),
                        root / 'training' / folder / (frame_id(case) + suffix))
    (root / 'ImageSets' / 'train.txt').write_text('\n'.join([GOOD, *map(frame_id, CASES)]))
    assert run_main(INFOS, '--root', root).returncode == 0
    for case, (folders, damage, _, _) in CASES.items():
        for folder in folders:
            damage(root / 'training' / folder / (frame_id(case) + SUFFIX[folder]))
    return root


@pytest.mark.parametrize('case', [c for c in CASES if 'reader' in CASES[c][3]])
def test_reader_names_file_and_problem(tree, case, record):
    path = bad_file(tree, case)
    folder = CASES[case][0][-1]
    with pytest.raises(DataError, match=re.escape(str(path)) + '.*' + re.escape(CASES[case][2])):
        READERS[folder](path)
    record(f'kitti_io.{READERS[folder].__name__}', case, 'DataError naming file + problem')


@pytest.fixture(scope='module')
def skipping_dataset(tree):
    ds = KittiPointImageDataset(tree, num_points=64, on_bad_sample='skip')
    samples = [ds[i] for i in range(len(ds))]
    return ds, samples


@pytest.mark.parametrize('case', [c for c in CASES if 'dataset' in CASES[c][3]])
def test_dataset_raises_or_counts_the_skip(tree, skipping_dataset, case, record):
    ds = KittiPointImageDataset(tree, num_points=64)
    index = [d['sample_idx'] for d in ds.data_list].index(int(frame_id(case)))
    path, message = bad_file(tree, case), CASES[case][2]
    with pytest.raises(DataError, match=re.escape(str(path)) + '.*' + re.escape(message)):
        ds[index]
    skipping, samples = skipping_dataset
    lidar = str(tree / 'training' / 'velodyne_reduced' / f'{frame_id(case)}.bin')
    assert skipping.skipped[lidar].startswith(str(path)) and message in skipping.skipped[lidar]
    assert samples[index]['sample_idx'] != int(frame_id(case))   # the next good frame instead
    record('KittiPointImageDataset', case, "DataError; skip counted in dataset.skipped")


def test_dataset_skips_exactly_the_bad_frames(tree, skipping_dataset, record):
    skipping, samples = skipping_dataset
    bad = {str(tree / 'training' / 'velodyne_reduced' / f'{frame_id(c)}.bin')
           for c in CASES if 'dataset' in CASES[c][3]}
    assert set(skipping.skipped) == bad
    assert {s['sample_idx'] for s in samples} <= {0} | {int(frame_id(c)) for c in CASES
                                                        if 'dataset' not in CASES[c][3]}
    record('KittiPointImageDataset', 'all bad frames in one pass', f'{len(bad)} skips counted')


@pytest.mark.parametrize('case', [c for c in CASES if 'infos' in CASES[c][3]])
def test_info_writer_stops_with_one_line(tree, tmp_path, case, record):
    """One frame listed, so the writer stops at this case's file (velodyne/ read first)."""
    root = tmp_path / 'kitti'
    (root / 'ImageSets').mkdir(parents=True)
    (root / 'ImageSets' / 'train.txt').write_text(frame_id(case))
    (root / 'training').symlink_to(tree / 'training')
    run = run_main(INFOS, '--root', root)
    record('create_kitti_infos.py', case,
           one_line_error(run, first_read(root, case, 'infos'), CASES[case][2]))


def test_info_writer_skip_bad_counts_every_bad_frame(tree, tmp_path, record):
    root = shutil.copytree(tree, tmp_path / 'kitti', symlinks=True)
    run = run_tool(INFOS, '--root', root, '--skip-bad', log_dir=tmp_path)
    assert run.returncode == 0 and not run.network, run.stderr[-3000:]
    bad = [c for c in CASES if 'infos' in CASES[c][3]]
    assert f'{len(bad)} bad frames skipped' in run.stdout, run.stdout[-3000:]
    skipped = [line for line in run.stdout.splitlines() if line.startswith('  skipped ')]
    assert len(skipped) == len(bad)
    for case in bad:
        line, = [s for s in skipped if f'training/{frame_id(case)}:' in s]
        assert str(first_read(root, case, 'infos')) in line and CASES[case][2] in line
    record('create_kitti_infos.py --skip-bad', 'all bad frames in one run',
           f'exit 0, {len(bad)} skips counted (subprocess, {run.seconds:.1f} s)')


@pytest.mark.parametrize('case', [c for c in CASES if 'visualize' in CASES[c][3]])
def test_viewer_stops_with_one_line(tree, tmp_path, case, record):
    run = run_main(VIS, '--root', tree, '--frame', frame_id(case), '--out-dir', tmp_path)
    record('visualize_kitti.py', case,
           one_line_error(run, first_read(tree, case, 'visualize'), CASES[case][2]))
    assert not list(tmp_path.iterdir())


def test_missing_split_files(tree, tmp_path, record):
    (tmp_path / 'kitti' / 'ImageSets').mkdir(parents=True)
    run = run_main(INFOS, '--root', tmp_path / 'kitti')
    record('create_kitti_infos.py', 'no ImageSets/*.txt',
           one_line_error(run, tmp_path / 'kitti' / 'ImageSets', 'train.txt'))
    with pytest.raises(DataError, match=re.escape(f'{tree / "nope.pkl"}: missing info file')):
        KittiPointImageDataset(tree, 'nope.pkl')
    record('KittiPointImageDataset', 'missing info file', 'DataError naming file + problem')


def test_split_file_not_utf8(tree, tmp_path, record):
    """A split list is no frame: --skip-bad cannot skip it, the writer stops at it."""
    root = tmp_path / 'kitti'
    (root / 'ImageSets').mkdir(parents=True)
    split = root / 'ImageSets' / 'train.txt'
    split.write_bytes(b'000000\n\xff\xfe000001\n')
    (root / 'training').symlink_to(tree / 'training')
    for skip_bad in ([], ['--skip-bad']):
        run = run_main(INFOS, '--root', root, *skip_bad)
        outcome = one_line_error(run, f'{split}:2: not valid UTF-8 text')
    record('create_kitti_infos.py', 'split list not UTF-8', outcome)
