"""Temporal tasks: order labels against brute-force enumeration, losses against loops, samplers,
retrieval against a brute-force loop, encoders' shapes, and every task overfitting one batch."""
import itertools
import json
import math
import re
from pathlib import Path

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

from conftest import ROOT, load_script
from mm_ssl.algorithms.order_verification import (permutation_classes, sample_orders,
                                                  sample_shuffle_learn)
from mm_ssl.datasets import VideoDataset, VideoTaskDataset
from mm_ssl.datasets.video_tasks import (ClipOrderSampler, MotionTupleSampler,
                                         TimeContrastiveSampler, frame_motion)
from mm_ssl.evaluation.video import (extract_clip_features, feature_change, finetune,
                                     frame_sequence_features, retrieval_recall, video_level)
from mm_ssl.evaluation.video_benchmark import METHODS, compare_video_methods
from mm_ssl.losses.temporal import taco_loss, time_contrastive_nce, time_contrastive_triplet
from mm_ssl.models.encoders import FrameEncoder, Small3DCNN, VideoResNet
from mm_ssl.registry import MODELS
from mm_ssl.synthetic.video import (CLASSES, VideoSpec, object_trajectory, render_video,
                                    write_video_set)

video_tasks = load_script('benchmarks/video_tasks.py')
demo = load_script('tools/demo.py')


def test_opn_classes_merge_each_order_with_its_reverse():
    classes = [tuple(c) for c in permutation_classes(4, merge_reverse=True).tolist()]
    assert len(classes) == len(set(classes)) == 12
    for perm in itertools.permutations(range(4)):   # every order: exactly one of it / reverse
        assert (perm in classes) != (perm[::-1] in classes)
    gen = torch.Generator().manual_seed(0)
    orders, labels = sample_orders(torch.tensor(classes), 500, merge_reverse=True, generator=gen)
    for order, label in zip(orders.tolist(), labels.tolist()):
        assert tuple(order) in (classes[label], classes[label][::-1])
    assert len({tuple(o) for o in orders.tolist()}) == 24      # both directions get drawn


def test_vcop_classes_are_all_orders_of_three():
    classes = permutation_classes(3).tolist()
    assert [tuple(c) for c in classes] == list(itertools.permutations(range(3)))
    orders, labels = sample_orders(torch.tensor(classes), 200,
                                   generator=torch.Generator().manual_seed(1))
    assert all(classes[lab] == o for o, lab in zip(orders.tolist(), labels.tolist()))


def test_shuffle_and_learn_labels_match_temporal_monotonicity():
    gen = torch.Generator().manual_seed(0)
    positions, labels = sample_shuffle_learn(4000, negative_share=0.75, generator=gen)
    for pos, label in zip(positions.tolist(), labels.tolist()):
        # brute force: a triplet of a..e is "in order" iff it is monotone in time
        monotone = pos == sorted(pos) or pos == sorted(pos, reverse=True)
        assert label == int(monotone)
        assert {pos[0], pos[2]} == {1, 3}                  # b and d are always the ends
    assert {tuple(p) for p in positions.tolist()} == {(1, 2, 3), (3, 2, 1), (1, 0, 3), (1, 4, 3)}
    assert abs((labels == 0).float().mean().item() - 0.75) < 0.03


def test_time_contrastive_losses_match_loops():
    torch.manual_seed(0)
    a, p, n = torch.randn(4, 8), torch.randn(4, 8), torch.randn(4, 3, 8)
    ua, up, un = (x.double() / x.double().norm(dim=-1, keepdim=True) for x in (a, p, n))
    total_nce = total_tri = 0.0
    for i in range(4):
        cands = [up[j] for j in range(4)] + [un[j, m] for j in range(4) for m in range(3)]
        logits = [float(ua[i] @ c) / 0.1 for c in cands]
        total_nce += -logits[i] + math.log(sum(math.exp(x) for x in logits))
        for m in range(3):
            d_pos = float(((ua[i] - up[i]) ** 2).sum())
            d_neg = float(((ua[i] - un[i, m]) ** 2).sum())
            total_tri += max(0.0, d_pos - d_neg + 0.2)
    assert time_contrastive_nce(a, p, n, 0.1).item() == pytest.approx(total_nce / 4, rel=1e-5)
    assert time_contrastive_triplet(a, p, n, 0.2).item() == pytest.approx(total_tri / 12, rel=1e-5)


def test_taco_loss_is_the_sum_of_contrastive_and_weighted_task_losses():
    logits = {'rotation': torch.tensor([[2.0, 0, 0, 0]]), 'speed': torch.tensor([[0.0, 1.0]])}
    labels = {'rotation': torch.tensor([0]), 'speed': torch.tensor([0])}
    out = taco_loss({'rotation': torch.tensor(1.0), 'speed': torch.tensor(2.0)}, logits, labels,
                    {'rotation': 0.5, 'speed': 2.0})
    ce_rot = -2.0 + math.log(math.exp(2) + 3)
    ce_speed = -0.0 + math.log(1 + math.e)
    assert out['loss'].item() == pytest.approx(1 + 0.5 * ce_rot + 2 + 2.0 * ce_speed, rel=1e-6)
    assert out['acc_rotation'].item() == 100 and out['acc_speed'].item() == 0
    assert not any('loss' in k for k in out if k != 'loss')    # mmengine sums "loss" keys


def test_samplers_respect_their_constraints():
    rng = np.random.default_rng(0)
    tcn = TimeContrastiveSampler(pos_radius=2, neg_gap=10, num_negatives=3)
    for _ in range(200):
        a, pos, *negs = tcn(50, rng)[:, 0]
        assert 0 < abs(pos - a) <= 2 and all(abs(n - a) > 10 for n in negs)
    motion = np.zeros(49)
    motion[30:38] = 5.0                                             # one high-motion stretch
    tup = MotionTupleSampler(num=5, span=10, min_gap=2)
    for _ in range(200):
        idx = tup(50, rng, motion)[:, 0]
        assert np.all(np.diff(idx) >= 2) and idx[-1] - idx[0] <= 9
        assert motion[idx[0]:idx[-1]].sum() > 0                      # inside the moving part
    clips = ClipOrderSampler(num_clips=3, clip_len=4, gap=2)(20, rng)
    assert clips.shape == (3, 4) and np.all(np.diff(clips[:, 0]) == 6)
    assert np.all(np.diff(clips, axis=1) == 1)
    with pytest.raises(ValueError):
        ClipOrderSampler(num_clips=3, clip_len=8, gap=4)(20, rng)


def test_retrieval_recall_matches_a_brute_force_loop():
    torch.manual_seed(0)
    gallery, g_labels = torch.randn(30, 6), torch.randint(0, 4, (30,))
    queries, q_labels = torch.randn(12, 6), torch.randint(0, 4, (12,))
    got = retrieval_recall(queries, q_labels, gallery, g_labels, ks=(1, 5, 10))
    for k in (1, 5, 10):
        hits = 0
        for q, ql in zip(queries.double(), q_labels.tolist()):
            sims = [float(q @ g / (q.norm() * g.norm())) for g in gallery.double()]
            nearest = sorted(range(30), key=lambda j: -sims[j])[:k]
            hits += any(int(g_labels[j]) == ql for j in nearest)
        assert got[k] == pytest.approx(100 * hits / 12)


def test_video_level_averages_the_clips_of_each_video():
    feats = torch.tensor([[1.0, 0], [3.0, 2], [5.0, 5]])
    mean, labels = video_level(feats, torch.tensor([7, 7, 2]), torch.tensor([4, 4, 1]))
    assert torch.equal(mean, torch.tensor([[5.0, 5], [2.0, 1]]))
    assert labels.tolist() == [2, 7]


def test_feature_change_is_the_mean_step_of_each_videos_sequence():
    # clip features: video 4 has clips at rows 0, 2, 3 (interleaved with video 1's), in order
    feats = torch.tensor([[1.0, 0], [9.0, 9], [2.0, 4], [7.0, 2], [3.0, 1]])
    change, labels = feature_change(feats, torch.tensor([7, 2, 7, 7, 2]),
                                    torch.tensor([4, 1, 4, 4, 1]))
    assert torch.equal(change, torch.tensor([[-6.0, -8], [3.0, 1]]))   # (z_n - z_1) / (n - 1)
    assert labels.tolist() == [2, 7]
    # frame-level features: each clip holds 3 frames of 2 features, its own time steps
    frames = torch.tensor([[0.0, 0, 1, 1, 2, 4], [0.0, 0, 0, 0, 4, 0], [1.0, 1, 1, 1, 1, 1]])
    change, labels = feature_change(frames, torch.tensor([3, 3, 5]), torch.tensor([0, 0, 2]),
                                    frames=3)
    assert torch.equal(change, torch.tensor([[1.5, 1], [0.0, 0]]))   # mean of (1, 2) and (2, 0)
    assert labels.tolist() == [3, 5]
    with pytest.raises(ValueError, match='at least 2 clips'):
        feature_change(feats, torch.zeros(5), torch.arange(5))


@pytest.mark.parametrize('encoder, dim, frames_out', [
    (lambda: VideoResNet('r3d_18'), 512, 1), (lambda: VideoResNet('mc3_18'), 512, 8),
    (lambda: VideoResNet('r2plus1d_18'), 512, 1), (lambda: Small3DCNN(), 128, 2),
    (lambda: FrameEncoder(dict(type='ResNet', depth=18, cifar_stem=True)), 512, 8)])
def test_video_encoders_return_clip_and_frame_features(encoder, dim, frames_out):
    model = encoder().eval()
    with torch.no_grad():
        clip, frames = model(torch.randn(2, 3, 8, 32, 32), return_frames=True)
        single = model(torch.randn(2, 3, 1, 32, 32))
    assert clip.shape == (2, dim) and frames.shape == (2, frames_out, dim)
    assert torch.allclose(clip, frames.mean(1), atol=1e-5)
    assert single.shape == (2, dim) and model.feat_dim == dim


ENCODER = dict(type='Small3DCNN', widths=(8, 16, 32, 64))
NECK = dict(type='MLP', hidden_dim=64, out_dim=32)
TASKS = {
    'TimeContrastive': (dict(neck=NECK), (8, 4, 1, 24, 24, 3)),
    'TimeContrastive-triplet': (dict(neck=NECK, form='triplet'), (8, 4, 1, 24, 24, 3)),
    'ShuffleAndLearn': (dict(), (8, 5, 1, 24, 24, 3)),
    'OPN': (dict(), (8, 4, 1, 24, 24, 3)),
    'VCOP': (dict(), (8, 3, 4, 24, 24, 3)),
    'TaCo': (dict(neck=NECK, clip_len=4), (8, 16, 24, 24, 3)),
    'TaCo-moco': (dict(neck=NECK, clip_len=4, objective='moco', queue_size=64,
                       loss=dict(type='InfoNCELoss', temperature=0.2)), (8, 16, 24, 24, 3)),
    'TaCo-byol': (dict(neck=NECK, clip_len=4, objective='byol', head=NECK,
                       loss=dict(type='NormalizedMSELoss')), (8, 16, 24, 24, 3)),
}


@pytest.mark.parametrize('task', sorted(TASKS))
def test_task_overfits_one_fixed_batch(task):
    init_default_scope('mm_ssl')
    torch.manual_seed(0)
    kwargs, shape = TASKS[task]
    augment = dict(type='ClipAugment', num_views=2 if task.startswith('TaCo') else 1, size=24,
                   scale=(0.5, 1.0))
    model = MODELS.build(dict(type=task.split('-')[0], encoder=ENCODER, **kwargs,
                              data_preprocessor=dict(type='VideoDataPreprocessor',
                                                     augment=augment))).train()
    clips = torch.randint(0, 256, shape, dtype=torch.uint8)
    data = model.data_preprocessor(dict(clip=clips, label=torch.zeros(8, dtype=torch.long)),
                                   training=True)
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    losses = []
    for _ in range(14):
        torch.manual_seed(1)          # the same orders / transformations every step: a fixed batch
        out = model(data['inputs'], data['data_samples'], mode='loss')
        opt.zero_grad()
        out['loss'].backward()
        opt.step()
        losses.append(out['loss'].item())
    # MoCo's first steps have a nearly empty queue; compare once negatives exist
    first = losses[2] if task == 'TaCo-moco' else losses[0]
    assert min(losses[-3:]) < 0.8 * first, losses
    model.eval()
    plain = model.data_preprocessor(dict(clip=torch.randint(0, 256, (2, 4, 24, 24, 3),
                                                            dtype=torch.uint8)))
    assert model(plain['inputs']).shape == (2, 64)


@pytest.fixture(scope='module')
def synthetic_videos(tmp_path_factory):
    out = tmp_path_factory.mktemp('videos')
    write_video_set(out, videos=20, size=32, seconds=1.6, verbose=False)
    return out


@pytest.mark.parametrize('task, shape', [('tcn', (4, 1)), ('shuffle_learn', (5, 1)),
                                         ('opn', (4, 1)), ('vcop', (3, 4))])
def test_task_dataset_reads_the_sampled_frames_of_real_videos(synthetic_videos, task, shape):
    cfg = dict(tcn=dict(neg_gap=8), shuffle_learn=dict(span=20), opn=dict(span=20),
               vcop=dict(clip_len=4, gap=2))[task]
    ds = VideoTaskDataset(synthetic_videos, 'trainlist01.txt', task=task, task_cfg=cfg)
    plain = VideoDataset(synthetic_videos, 'trainlist01.txt')
    torch.manual_seed(0)
    sample = ds[3]
    assert sample['clip'].shape == (*shape, 32, 32, 3)
    assert sample['frame_indices'].shape == shape
    frames = plain.read_frames(3, sample['frame_indices'].flatten().numpy())
    assert torch.equal(sample['clip'].flatten(0, 1), torch.from_numpy(frames))
    if task in ('shuffle_learn', 'opn'):
        assert torch.all(sample['frame_indices'][1:] > sample['frame_indices'][:-1])


def test_synthetic_classes_give_an_unambiguous_order_cue():
    """Measured on the rendered frames (the object's coverage of each pixel) of the benchmark's
    videos (48 px, 2 s at 16 fps: 32 frames), three per class: the object never touches the frame's
    border (no wrap-around); between frames 8 apart (the order tasks' smallest gap) the centroid
    moves >= 2 px one way along the class's axis (Move*, Bounce's horizontal drift, while it also
    moves vertically) or the area grows / shrinks by >= 25% every time (Approach / Recede), and a
    still object's centroid and area stay put. Rotation is checked on :func:`object_trajectory`: >=
    0.6 rad per 8 frames, one way, under a full turn in the video."""
    ys, xs = np.mgrid[0:48, 0:48] + 0.5
    axis = dict(MoveRight=(0, 1), MoveLeft=(0, -1), MoveUp=(1, -1), MoveDown=(1, 1),
                MoveRightFast=(0, 1))
    for label, name in enumerate(CLASSES):
        for video in range(3):
            spec = VideoSpec(label, 48, 48, 16, 2.0)
            frames, masks = render_video(spec, np.random.default_rng([label, video]),
                                         return_masks=True)
            assert frames.shape == (32, 48, 48, 3)
            border = np.concatenate([masks[:, 0], masks[:, -1], masks[:, :, 0], masks[:, :, -1]],
                                    axis=1)
            assert border.max() == 0, (name, video)
            area = masks.sum((1, 2))
            centre = np.stack([(masks * xs).sum((1, 2)), (masks * ys).sum((1, 2))], 1)
            centre /= area[:, None]
            step = centre[8:] - centre[:-8]                                     # (24, 2) px
            growth = area[8:] / area[:-8]
            if name in axis:
                a, sign = axis[name]
                assert (sign * step[:, a]).min() >= 2.0, (name, video)
                assert np.abs(step[:, 1 - a]).max() < 0.1
            elif name == 'Bounce':
                drift = np.sign(step[0, 0])
                assert (drift * step[:, 0]).min() >= 2.0 and np.abs(step[:, 1]).max() >= 2.0
            elif name in ('Approach', 'Recede'):
                assert (growth if name == 'Approach' else 1 / growth).min() >= 1.25, name
            else:
                assert np.abs(step).max() < 0.1 and np.abs(growth - 1).max() < 0.05, name
            if name.startswith('Rotate'):
                angle = object_trajectory(spec, np.random.default_rng(video))[2]
                turn = (angle[8:] - angle[:-8]) * (1 if name == 'RotateClockwise' else -1)
                assert turn.min() >= 0.6 and abs(angle[-1] - angle[0]) < 2 * np.pi


def test_frame_level_features_encode_each_frame_alone():
    init_default_scope('mm_ssl')
    torch.manual_seed(0)
    model = MODELS.build(dict(type='OPN', encoder=ENCODER,
                              data_preprocessor=dict(type='VideoDataPreprocessor'))).eval()
    clips = torch.randn(2, 3, 4, 16, 16)
    with torch.no_grad():
        feats = frame_sequence_features(model, clips)
        loop = torch.cat([model.encoder(clips[:, :, t:t + 1]) for t in range(4)], 1)
    assert feats.shape == (2, 4 * 64) and torch.allclose(feats, loop, atol=1e-5)
    samples = [dict(clip=torch.randint(0, 256, (4, 16, 16, 3), dtype=torch.uint8), label=i,
                    video_idx=i) for i in range(2)]
    loader = torch.utils.data.DataLoader(samples, batch_size=2)
    assert model.frame_level and extract_clip_features(model, loader)[0].shape == (2, 256)
    assert extract_clip_features(model, loader, per_frame=False)[0].shape == (2, 64)


def test_frame_motion_measures_a_known_translation():
    ys, xs = np.mgrid[0:40, 0:40].astype(np.float64)
    frames = []
    for shift in (0, 0, 1, 3):                    # moves by 0, 1 and 2 px between frames
        x = xs - shift
        img = 128 + 60 * np.sin(x / 4 + ys / 6) + 40 * np.cos(ys / 5 - x / 7)
        frames.append(np.repeat(np.clip(img, 0, 255)[..., None], 3, -1).round().astype(np.uint8))
    frames = np.stack(frames)
    flow = frame_motion(frames, 'flow')
    assert flow[0] < 0.05 and abs(flow[1] - 1) < 0.15 and abs(flow[2] - 2) < 0.3
    diff = frame_motion(frames, 'diff')
    assert diff[0] == 0 and diff[2] > diff[1] > 0


def test_finetune_separates_bright_from_dark_clips():
    init_default_scope('mm_ssl')
    torch.manual_seed(0)
    model = MODELS.build(dict(type='SimCLR', encoder=ENCODER, neck=NECK,
                              data_preprocessor=dict(type='VideoDataPreprocessor')))
    labels = torch.arange(16) % 2
    clips = (torch.randint(0, 100, (16, 4, 16, 16, 3)) + 150 * labels.view(-1, 1, 1, 1, 1))
    samples = [dict(clip=c.to(torch.uint8), label=int(y), video_idx=i % 8)   # 2 clips a video
               for i, (c, y) in enumerate(zip(clips, labels))]
    loader = torch.utils.data.DataLoader(samples, batch_size=8, shuffle=True)
    result = finetune(model, loader, loader, num_classes=2, epochs=3, lr=0.05)
    assert result['finetune_clip'] == 100 and result['finetune_video'] == 100


VIDEO_CONFIGS = sorted(p.name for p in (Path(ROOT) / 'configs/video').glob('*.py'))
TUPLE_SHAPES = dict(tcn=(4, 1), shuffle_learn=(5, 1), opn=(4, 1), vcop=(3, 8))


@pytest.mark.parametrize('name', VIDEO_CONFIGS)
def test_video_config_builds_and_takes_a_step(name):
    init_default_scope('mm_ssl')
    torch.manual_seed(0)
    cfg = Config.fromfile(f'{ROOT}/configs/video/{name}')
    dataset = cfg.train_dataloader.dataset
    shape = TUPLE_SHAPES[dataset.task] if dataset.type == 'VideoTaskDataset' \
        else (dataset.clip_len,)
    model = MODELS.build(cfg.model).train()
    if hasattr(model, 'queue'):        # MoCo's empty first queue gives no gradient: fill it
        model.queue.push(torch.randn(16, model.queue.keys.shape[1]))
    clips = torch.randint(0, 256, (4, *shape, 40, 40, 3), dtype=torch.uint8)
    data = model.data_preprocessor(dict(clip=clips, label=torch.zeros(4, dtype=torch.long)),
                                   training=True)
    loss = model(data['inputs'], data['data_samples'], mode='loss')['loss']
    loss.backward()
    assert torch.isfinite(loss)
    assert model.encoder.blocks[0][0].weight.grad.abs().sum() > 0


def test_method_names_are_single_shell_words(synthetic_videos, capsys):
    """benchmarks/video_tasks.py --methods and tools/demo.py --video-method take lower-case,
    hyphenated names; the printed table keeps the readable ones."""
    names = list(METHODS)
    assert all(re.fullmatch(r'[a-z]+(-[a-z]+)*', name) for name in names), names
    for old_name in ('TaCo (SimCLR)', 'VCOP'):
        with pytest.raises(SystemExit) as exit_:
            demo.main(['--task', 'video', '--video-method', old_name])
        assert exit_.value.code == 2
    with pytest.raises(SystemExit):   # a misspelt method stops the run, not silently dropped
        video_tasks.main(['--methods', 'vcop', 'TaCo'])
    with pytest.raises(ValueError, match="unknown video method.*'TaCo'"):
        compare_video_methods(['vcop', 'TaCo'])
    capsys.readouterr()
    rows = video_tasks.main(['--methods', 'taco-simclr', '--budget', '0', '--seeds', '1',
                             '--data-root', str(synthetic_videos)])
    assert list(rows) == ['random init (clips)', 'TaCo (SimCLR)']
    assert '\n| TaCo (SimCLR) | clips | 0 | ' in capsys.readouterr().out


def test_supervised_reference_row(synthetic_videos, capsys, tmp_path):
    """--supervised adds the labels-trained encoder, compared with the clip random init; --out
    keeps every seed's results."""
    rows = video_tasks.main(['--methods', '--supervised', '--budget', '0', '--seeds', '1',
                             '--data-root', str(synthetic_videos), '--out',
                             str(tmp_path / 'rows.json')])
    assert list(rows) == ['random init (clips)', 'supervised (labels)']
    assert '\n| supervised (labels) | clips | 0 | ' in capsys.readouterr().out
    saved = json.loads((tmp_path / 'rows.json').read_text())
    assert saved['supervised (labels)'][0]['change_recall@1'] == \
        rows['supervised (labels)'][0]['change_recall@1']
