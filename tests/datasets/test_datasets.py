"""Datasets against independent references: sklearn's arrays resized with PIL, CIFAR pickles
written here in the official format, PNGs written with PIL; the data_prep scripts' command
lines."""
import importlib
import pickle
import re
import shutil
from collections import Counter

import numpy as np
import pytest
import torch
from PIL import Image
from sklearn.datasets import load_digits

from mm_ssl.datasets import CIFAR10Dataset, CIFAR100Dataset, DigitsDataset, ImageFolderDataset
from mm_ssl.errors import DataError
from mm_ssl.registry import DATASETS


class FlipViews:
    """A two-view pipeline: the image and its horizontal flip."""

    def __call__(self, img):
        return [img, img.flip(-1)]


def test_digits_split():
    train, test = DigitsDataset('train'), DigitsDataset('test')
    tr, te = set(train.source_index.tolist()), set(test.source_index.tolist())
    assert len(train) + len(test) == 1797 and not tr & te and tr | te == set(range(1797))
    assert len(test) == 360  # ceil(0.2 * 1797), sklearn's rounding
    target = load_digits().target
    assert torch.equal(train.labels, torch.from_numpy(target[train.source_index.numpy()]))
    # stratified: each class's share of the test split is test_fraction, up to rounding
    counts, test_counts = Counter(target.tolist()), Counter(test.labels.tolist())
    assert all(abs(test_counts[c] - 0.2 * n) <= 1 for c, n in counts.items())
    again = DigitsDataset('train')
    assert torch.equal(again.source_index, train.source_index)
    assert torch.equal(again.images, train.images)
    other = DigitsDataset('train', split_seed=1)
    assert not torch.equal(other.source_index, train.source_index)


def test_digits_pixels_match_pil_resize():
    ds = DigitsDataset('train', size=32, channels=3)
    assert ds.images.shape == (len(ds), 3, 32, 32) and ds.images.dtype == torch.uint8
    assert ds.num_classes == 10 and ds.metainfo['classes'] == [str(i) for i in range(10)]
    sample = ds[0]
    assert sample['label'] == ds.labels[0] and sample['idx'] == 0
    src = load_digits().images[int(ds.source_index[0])]
    small = Image.fromarray(np.round(src * 255 / 16).astype(np.uint8))
    ref = torch.from_numpy(np.array(small.resize((32, 32), Image.BILINEAR))).int()
    img = sample['img'].int()
    assert (img - ref).abs().max() <= 1  # PIL and torch round 8-bit bilinear output differently
    assert torch.equal(img[0], img[1]) and torch.equal(img[0], img[2])
    assert DigitsDataset('test', size=16, channels=1).images.shape[1:] == (1, 16, 16)


def test_pipeline_callable_and_config():
    for pipeline in (FlipViews(), dict(type=FlipViews)):
        ds = DigitsDataset('test', pipeline=pipeline)
        views = ds[5]['img']
        assert torch.equal(views[0], ds.images[5]) and torch.equal(views[1], ds.images[5].flip(-1))
    assert isinstance(DATASETS.build(dict(type='DigitsDataset', split='test')), DigitsDataset)


def write_pickle(path, obj):
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, 'wb') as f:
        pickle.dump(obj, f)


def fake_cifar10(root, n=4):
    """Official layout with n images per batch; returns (train data, train labels, test data)."""
    rng = np.random.default_rng(0)
    folder = root / 'cifar-10-batches-py'
    data = rng.integers(0, 256, (6, n, 3072), dtype=np.uint8)
    labels = rng.integers(0, 10, (6, n))
    for i in range(6):
        name = f'data_batch_{i + 1}' if i < 5 else 'test_batch'
        write_pickle(folder / name, {b'batch_label': name.encode(), b'data': data[i],
                                     b'labels': labels[i].tolist(), b'filenames': [b'x.png'] * n})
    write_pickle(folder / 'batches.meta', {b'label_names': [f'c{i}'.encode() for i in range(10)],
                                           b'num_cases_per_batch': n, b'num_vis': 3072})
    return data[:5].reshape(-1, 3072), labels[:5].reshape(-1), data[5]


def assert_cifar_pixels(images, data):
    assert images.shape == (len(data), 3, 32, 32) and images.dtype == torch.uint8
    rng = np.random.default_rng(1)
    for row, c, y, x in zip(*(rng.integers(0, m, 50) for m in (len(data), 3, 32, 32))):
        assert images[row, c, y, x] == data[row, c * 1024 + y * 32 + x]
    assert np.array_equal(images.numpy().reshape(len(data), -1), data)


def test_cifar10_official_format(tmp_path):
    data, labels, test_data = fake_cifar10(tmp_path)
    for root in (tmp_path, tmp_path / 'cifar-10-batches-py'):
        train = CIFAR10Dataset(root, 'train', pipeline=FlipViews())
        assert len(train) == 20 and train.num_classes == 10
        assert train.metainfo['classes'] == [f'c{i}' for i in range(10)]
        assert_cifar_pixels(train.images, data)
        assert train.labels.tolist() == labels.tolist()
        sample = train[7]
        assert sample['label'] == labels[7] and sample['idx'] == 7
        assert torch.equal(sample['img'][1], train.images[7].flip(-1))
        assert_cifar_pixels(CIFAR10Dataset(root, 'test').images, test_data)


@pytest.mark.parametrize('label', ['fine', 'coarse'])
def test_cifar100_official_format(tmp_path, label):
    rng = np.random.default_rng(0)
    folder = tmp_path / 'cifar-100-python'
    batches = {}
    for split, n in (('train', 6), ('test', 3)):
        batches[split] = {b'data': rng.integers(0, 256, (n, 3072), dtype=np.uint8),
                          b'fine_labels': rng.integers(0, 100, n).tolist(),
                          b'coarse_labels': rng.integers(0, 20, n).tolist()}
        write_pickle(folder / split, batches[split])
    write_pickle(folder / 'meta', {b'fine_label_names': [f'f{i}'.encode() for i in range(100)],
                                   b'coarse_label_names': [f'k{i}'.encode() for i in range(20)]})
    for root in (tmp_path, folder):
        for split in ('train', 'test'):
            ds = CIFAR100Dataset(root, split, label=label)
            assert_cifar_pixels(ds.images, batches[split][b'data'])
            assert ds.labels.tolist() == batches[split][f'{label}_labels'.encode()]
            assert ds.num_classes == (100 if label == 'fine' else 20)
            assert ds.metainfo['classes'][1] == ('f1' if label == 'fine' else 'k1')
            assert torch.equal(ds[2]['img'], ds.images[2])


def test_cifar_missing_data(tmp_path):
    with pytest.raises(DataError, match=re.escape(str(tmp_path / 'nowhere'))):
        CIFAR10Dataset(tmp_path / 'nowhere')
    with pytest.raises(DataError, match='cifar-100-python'):
        CIFAR100Dataset(tmp_path)
    fake_cifar10(tmp_path)
    missing = tmp_path / 'cifar-10-batches-py' / 'data_batch_3'
    missing.unlink()
    with pytest.raises(DataError, match=re.escape(str(missing))):
        CIFAR10Dataset(tmp_path, 'train')
    corrupt = tmp_path / 'cifar-10-batches-py' / 'test_batch'
    corrupt.write_bytes(b'not a pickle')
    with pytest.raises(DataError, match=re.escape(str(corrupt))):
        CIFAR10Dataset(tmp_path, 'test')
    write_pickle(corrupt, {b'data': np.zeros((1, 3072), np.uint8)})  # no b'labels'
    with pytest.raises(DataError, match=re.escape(str(corrupt)) + ".*b'labels'"):
        CIFAR10Dataset(tmp_path, 'test')


def write_png(path, rng, h, w):
    path.parent.mkdir(parents=True, exist_ok=True)
    arr = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    Image.fromarray(arr).save(path)
    return arr


def test_image_folder(tmp_path):
    rng = np.random.default_rng(0)
    arrays = {}
    for cls, names in (('cat', ['b.png', 'a.PNG']), ('ant', ['z.png']), ('dog', ['c.png'])):
        for name in names:
            arrays[f'{cls}/{name}'] = write_png(tmp_path / cls / name, rng, 12, 20)
    (tmp_path / 'dog' / 'notes.txt').write_text('not an image')
    Image.fromarray(arrays['dog/c.png'][..., 0]).save(tmp_path / 'dog' / 'gray.png')

    ds = ImageFolderDataset(tmp_path)
    assert ds.metainfo['classes'] == ['ant', 'cat', 'dog'] and ds.num_classes == 3
    rel = [p.relative_to(tmp_path).as_posix() for p, _ in ds.samples]
    assert rel == ['ant/z.png', 'cat/a.PNG', 'cat/b.png', 'dog/c.png', 'dog/gray.png']
    assert ds.labels.tolist() == [0, 1, 1, 2, 2]
    for i, key in enumerate(rel[:4]):
        sample = ds[i]
        assert sample['label'] == ds.labels[i] and sample['idx'] == i
        assert torch.equal(sample['img'], torch.from_numpy(arrays[key]).permute(2, 0, 1))
    gray = ds[4]['img']  # grayscale files are decoded to RGB
    assert gray.shape == (3, 12, 20) and torch.equal(gray[0], gray[2])

    sized = ImageFolderDataset(tmp_path, size=8, pipeline=FlipViews())
    views = sized[0]['img']
    assert views[0].shape == (3, 8, 8) and torch.equal(views[1], views[0].flip(-1))
    # shorter side 12 -> 8 gives 8 x 13; the centre crop keeps columns 2..9
    ref = Image.fromarray(arrays['ant/z.png']).resize((13, 8), Image.BILINEAR)
    ref = torch.from_numpy(np.array(ref)[:, 2:10]).permute(2, 0, 1).int()
    assert (views[0].int() - ref).abs().max() <= 1


def test_image_folder_bad_input(tmp_path):
    with pytest.raises(DataError, match=re.escape(str(tmp_path / 'missing'))):
        ImageFolderDataset(tmp_path / 'missing')
    (tmp_path / 'empty' / 'cls').mkdir(parents=True)
    with pytest.raises(DataError, match=re.escape(str(tmp_path / 'empty'))):
        ImageFolderDataset(tmp_path / 'empty')
    rng = np.random.default_rng(0)
    good = tmp_path / 'tree' / 'a' / 'good.png'
    write_png(good, rng, 16, 16)
    truncated = good.with_name('truncated.png')
    truncated.write_bytes(good.read_bytes()[:len(good.read_bytes()) // 2])
    garbage = good.with_name('garbage.png')
    garbage.write_bytes(b'\x00garbage' * 20)
    ds = ImageFolderDataset(tmp_path / 'tree')
    for i, (path, _) in enumerate(ds.samples):
        if path == good:
            assert ds[i]['img'].shape == (3, 16, 16)
        else:
            with pytest.raises(DataError, match=re.escape(str(path))):
                ds[i]


# ------------------------------------------------------------------- data_prep command lines
# every script: --root for what it reads (where it reads a dataset), --out for what it writes
DATA_PREP_FLAGS = {'build_video_index': {'--root', '--out'},
                   'create_kitti_infos': {'--root', '--out'},
                   'make_synthetic_kitti': {'--out'},
                   'make_synthetic_videos': {'--out'},
                   'waymo_to_kitti': {'--root', '--out'}}
OLD_SPELLINGS = {'--out-dir', '--load-dir', '--log-interval'}


@pytest.mark.parametrize('script', DATA_PREP_FLAGS)
def test_data_prep_scripts_spell_root_and_out_alike(script, capsys):
    with pytest.raises(SystemExit) as exit_:
        importlib.import_module(f'data_prep.{script}').main(['--help'])
    usage = capsys.readouterr().out
    flags = set(re.findall(r'(?<![\w-])--[a-z][\w-]*', usage))
    assert exit_.value.code == 0 and DATA_PREP_FLAGS[script] <= flags, usage
    assert not flags & OLD_SPELLINGS, usage   # still accepted, but no longer shown
    assert usage.splitlines()[0].endswith(']'), usage   # no positional argument left


def test_create_kitti_infos_out_old_spelling_and_progress(synthetic_kitti, tmp_path, capsys):
    root = shutil.copytree(synthetic_kitti, tmp_path / 'kitti')
    create_kitti_infos = importlib.import_module('data_prep.create_kitti_infos')
    for flag in ('--out', '--out-dir'):
        create_kitti_infos.main(['--root', str(root), flag, str(tmp_path / flag)])
        with open(tmp_path / flag / 'kitti_infos_train.pkl', 'rb') as f:
            assert pickle.load(f)['data_list']
    printed = ''.join(capsys.readouterr())
    assert printed.count('writing kitti infos: 100%') == 2 and ' 4/4 ' in printed, printed
