"""SwAV and DINO: losses against float64 loop references, the distributed statistics, the
multi-crop views against torchvision, and each method training on digits."""
import math
import os

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from mmengine.config import Config
from mmengine.logging import MessageHub
from torchvision.transforms import InterpolationMode
from torchvision.transforms.v2 import functional as TF

from conftest import ROOT, tiny_config
from mm_ssl.algorithms.multicrop import encode_crops
from mm_ssl.datasets import DigitsDataset
from mm_ssl.engine import SSLRunner
from mm_ssl.losses import (DINOLoss, dino_loss, sinkhorn_knopp, swapped_prediction,
                           teacher_temperature, updated_center)
from mm_ssl.models.heads import DINOHead, NormalizedLinear
from mm_ssl.registry import MODELS
from mm_ssl.transforms import MultiViewAugment

CONFIGS = {'SwAV': 'configs/swav/swav_resnet18_1xb256-100e_digits.py',
           'DINO': 'configs/dino/dino_resnet18_1xb256-100e_digits.py'}


def randn(*shape, seed=0):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


def sinkhorn_loop(scores, eps, iters):
    """Sinkhorn-Knopp on a list-of-lists matrix, written out (SwAV, algorithm in §A.1)."""
    B, K = len(scores), len(scores[0])
    q = [[math.exp(scores[b][k] / eps) for b in range(B)] for k in range(K)]   # K x B
    total = sum(map(sum, q))
    q = [[v / total for v in row] for row in q]
    for _ in range(iters):
        q = [[v / sum(row) / K for v in row] for row in q]
        col = [sum(q[k][b] for k in range(K)) for b in range(B)]
        q = [[q[k][b] / col[b] / B for b in range(B)] for k in range(K)]
    return torch.tensor([[q[k][b] * B for k in range(K)] for b in range(B)], dtype=torch.float64)


def test_sinkhorn_equals_loop_and_reaches_the_marginals():
    scores = torch.nn.functional.normalize(randn(12, 5), dim=1) @ \
        torch.nn.functional.normalize(randn(5, 5, seed=1), dim=1).t()      # cosine scores
    codes = sinkhorn_knopp(scores, epsilon=0.05, iterations=3)
    torch.testing.assert_close(codes.double(), sinkhorn_loop(scores.tolist(), 0.05, 3),
                               rtol=1e-5, atol=1e-6)
    # every sample's codes sum to 1 exactly (the last step); the prototypes' to B/K once converged
    converged = sinkhorn_knopp(scores, epsilon=0.05, iterations=500)
    torch.testing.assert_close(converged.sum(1), torch.ones(12, dtype=scores.dtype))
    torch.testing.assert_close(converged.sum(0), torch.full((5,), 12 / 5, dtype=scores.dtype),
                               atol=1e-3, rtol=0)
    # exp(1 / 0.005) overflows float32; the shift and float64 keep small epsilons finite
    assert torch.isfinite(sinkhorn_knopp(scores.float(), epsilon=0.005)).all()
    assert codes.requires_grad is False


def test_swapped_prediction_equals_loop():
    scores = [randn(4, 6, seed=s) for s in range(4)]
    codes = [sinkhorn_knopp(s).double() for s in scores[:2]]
    tau, ref = 0.1, 0.0
    for s in range(2):
        terms = []
        for t in range(4):
            if t == s:
                continue
            for b in range(4):
                logz = math.log(sum(math.exp(v / tau) for v in scores[t][b].tolist()))
                terms.append(-sum(codes[s][b, k].item() * (scores[t][b, k].item() / tau - logz)
                                  for k in range(6)) / 4)
        ref += sum(terms) / 3
    assert math.isclose(swapped_prediction(scores, codes, tau).item(), ref / 2, rel_tol=1e-9)


def dino_loop(student, teacher, center, ts, tt):
    """DINO's loss, written out per pair of crops and per sample."""
    def softmax(row, temp):
        e = [math.exp(v / temp) for v in row]
        return [v / sum(e) for v in e]
    total, pairs = 0.0, 0
    for g, t in enumerate(teacher):
        for v, s in enumerate(student):
            if v == g:
                continue
            for b in range(len(t)):
                p = softmax([x - c for x, c in zip(t[b].tolist(), center.tolist())], tt)
                q = softmax(s[b].tolist(), ts)
                total -= sum(pi * math.log(qi) for pi, qi in zip(p, q)) / len(t)
            pairs += 1
    return total / pairs


def test_dino_loss_with_centering_and_centre_update_equal_loops():
    student, teacher, center = [randn(3, 5, seed=s) for s in range(4)], \
        [randn(3, 5, seed=10 + s) for s in range(2)], randn(5, seed=20)
    loss = dino_loss(student, teacher, center, student_temp=0.1, teacher_temp=0.04)
    assert math.isclose(loss.item(), dino_loop(student, teacher, center, 0.1, 0.04), rel_tol=1e-9)
    # centering matters: the loss without it differs
    assert not math.isclose(loss.item(), dino_loop(student, teacher, 0 * center, 0.1, 0.04))
    new = updated_center(center[None], teacher, momentum=0.9)
    mean = [sum(t[b, k].item() for t in teacher for b in range(3)) / 6 for k in range(5)]
    ref = torch.tensor([0.9 * c + 0.1 * m for c, m in zip(center.tolist(), mean)])
    torch.testing.assert_close(new[0], ref.double())


def test_teacher_temperature_warmup_values():
    values = [teacher_temperature(i, 30, 0.04, 0.07) for i in (0, 10, 15, 29, 30, 1000)]
    expected = [0.04, 0.05, 0.055, 0.04 + 0.03 * 29 / 30, 0.07, 0.07]
    assert all(math.isclose(v, e) for v, e in zip(values, expected)), values
    assert teacher_temperature(5, 0, 0.04, 0.07) == 0.07       # no warm-up


def test_dino_loss_module_uses_the_old_centre_then_moves_it():
    criterion = DINOLoss(out_dim=5, teacher_temp=0.07, warmup_teacher_temp=0.04,
                         warmup_teacher_temp_iters=30).double()
    criterion.center.copy_(randn(1, 5, seed=7))
    old = criterion.center.clone()
    student, teacher = [randn(3, 5, seed=s) for s in range(3)], [randn(3, 5, seed=s + 9)
                                                                 for s in range(2)]
    loss = criterion(student, teacher, iteration=15)
    assert math.isclose(loss.item(), dino_loop(student, teacher, old[0], 0.1, 0.055),
                        rel_tol=1e-9)
    torch.testing.assert_close(criterion.center, updated_center(old, teacher, 0.9))


def distributed_worker(rank, world, init_file, out_dir):
    dist.init_process_group('gloo', init_method=f'file://{init_file}', rank=rank,
                            world_size=world)
    scores, teacher = randn(8, 3, seed=1) * 5, [randn(8, 3, seed=2), randn(8, 3, seed=3)]
    part = slice(rank * 4, rank * 4 + 4)
    codes = sinkhorn_knopp(scores[part], epsilon=0.05, iterations=3)
    center = updated_center(torch.zeros(1, 3, dtype=torch.float64), [t[part] for t in teacher])
    torch.save((codes, center), os.path.join(out_dir, f'rank{rank}.pt'))
    dist.destroy_process_group()


def test_sinkhorn_and_centre_over_two_ranks_equal_the_global_batch(tmp_path):
    mp.spawn(distributed_worker, args=(2, str(tmp_path / 'init'), str(tmp_path)), nprocs=2,
             join=True)
    (codes0, center0), (codes1, center1) = (torch.load(tmp_path / f'rank{r}.pt')
                                            for r in range(2))
    scores, teacher = randn(8, 3, seed=1) * 5, [randn(8, 3, seed=2), randn(8, 3, seed=3)]
    torch.testing.assert_close(torch.cat([codes0, codes1]), sinkhorn_knopp(scores, 0.05, 3))
    whole = updated_center(torch.zeros(1, 3, dtype=torch.float64), teacher)
    torch.testing.assert_close(center0, whole)
    torch.testing.assert_close(center1, whole)


def test_multicrop_local_views_match_torchvision():
    """Globals and locals of different sizes from one call: each equals torchvision's
    resized_crop of its own sampled box (colour ops off)."""
    off = dict(hflip_p=0.0, jitter_p=0.0, gray_p=0.0, blur_p=0.0)
    mv = MultiViewAugment(views=[dict(off, num=2, size=24, scale=(0.4, 1.0)),
                                 dict(off, num=3, size=12, scale=(0.05, 0.3))])
    img = torch.randint(0, 256, (2, 3, 30, 40), dtype=torch.uint8,
                        generator=torch.Generator().manual_seed(0))
    views = mv(img, torch.Generator().manual_seed(1))
    assert [tuple(v.shape) for v in views] == [(2, 3, 24, 24)] * 2 + [(2, 3, 12, 12)] * 3
    # the same generator state replays the boxes: group 1 draws 2*B, then group 2 draws 3*B
    g = torch.Generator().manual_seed(1)
    boxes = [aug.sample_params(num * 2, 30, 40, g)['box'] for num, aug in mv.groups]
    for v, (group, size, first) in enumerate([(0, 24, 0), (0, 24, 2), (1, 12, 0), (1, 12, 2),
                                              (1, 12, 4)]):
        for b in range(2):
            t, l, h, w = boxes[group][first + b].long().tolist()
            ref = TF.resized_crop(img[b], t, l, h, w, [size, size], InterpolationMode.BILINEAR,
                                  antialias=False)
            assert (views[v][b].int() - ref.int()).abs().max() <= 1
    areas = boxes[1][:, 2] * boxes[1][:, 3] / (30 * 40)
    assert areas.max() <= 0.3 + 0.05 and boxes[0][:, 2].mul(boxes[0][:, 3]).min() >= 0.35 * 1200


def test_encode_crops_batches_each_resolution_once():
    calls = []
    encoder = torch.nn.Sequential(torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten())
    encoder.register_forward_hook(lambda m, i, o: calls.append(tuple(i[0].shape)))
    views = [randn(2, 3, 8, 8, seed=s) for s in range(2)] + \
        [randn(2, 3, 4, 4, seed=s) for s in range(2, 5)]
    out = encode_crops(encoder, views)
    assert calls == [(4, 3, 8, 8), (6, 3, 4, 4)]
    torch.testing.assert_close(out, torch.cat([v.mean((2, 3)) for v in views]))


def test_preprocessor_normalises_views_of_different_sizes():
    cfg = Config.fromfile(f'{ROOT}/{CONFIGS["DINO"]}')
    pre = MODELS.build(cfg.model.data_preprocessor)
    ds = DigitsDataset(split='train', size=32)
    views = pre(dict(img=ds.images[:3], label=ds.labels[:3], idx=torch.arange(3)), True)['inputs']
    assert [tuple(v.shape) for v in views] == [(3, 3, 32, 32)] * 2 + [(3, 3, 16, 16)] * 4
    assert all(v.dtype == torch.float32 and -1 <= v.min() and v.max() <= 1 for v in views)


def test_normalized_linear_and_frozen_last_layer():
    layer = NormalizedLinear(4, 3)
    x = randn(5, 4).float()
    torch.testing.assert_close(layer(x), x @ torch.nn.functional.normalize(layer.weight, dim=1).t())
    x.requires_grad_()
    layer(x, frozen=True).sum().backward()
    assert layer.weight.grad is None and x.grad is not None
    head = DINOHead(in_dim=4, out_dim=7, hidden_dim=8, bottleneck_dim=5, norm_last_layer=False)
    head(x).sum().backward()
    assert head.last_layer.norm.grad is not None and head.last_layer.weight.grad is not None
    assert head(x).shape == (5, 7) and head.out_dim == 7


def fixed_batch(model, n):
    ds = DigitsDataset(split='train', size=32)
    torch.manual_seed(0)
    return model.data_preprocessor(dict(img=ds.images[:n], label=ds.labels[:n],
                                        idx=torch.arange(n)), training=True)


def set_iter(it):
    MessageHub.get_current_instance().update_info('iter', it)


def train_on_one_batch(model, data, steps=8):
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    losses = []
    try:
        for it in range(steps):
            set_iter(it + 1000)    # past the frozen-prototype / warm-up iterations
            out = model(data['inputs'], data['data_samples'], mode='loss')
            opt.zero_grad()
            (out['loss'] + out['loss_probe']).backward()
            opt.step()
            losses.append(out['loss'].item())
    finally:
        set_iter(0)
    return losses


def test_swav_overfits_one_batch():
    torch.manual_seed(0)
    model = MODELS.build(Config.fromfile(f'{ROOT}/{CONFIGS["SwAV"]}').model).train()
    losses = train_on_one_batch(model, fixed_batch(model, 8))
    # 8 samples spread over 100 prototypes: the codes stay soft, the loss has a high floor
    assert min(losses[-3:]) < 0.95 * losses[0], losses


def test_dino_student_approaches_the_teacher_on_one_batch():
    """DINO's loss is the teacher's entropy plus the student's KL to it; centering first pushes
    the teacher towards uniform (its entropy up), so the part the student controls is the KL."""
    torch.manual_seed(0)
    model = MODELS.build(Config.fromfile(f'{ROOT}/{CONFIGS["DINO"]}').model).train()
    entropies = []

    def teacher_entropy(module, args):
        _, teacher, it = args
        temp = teacher_temperature(it, module.warmup_iters, *module.temps)
        p = [torch.softmax((t - module.center) / temp, dim=1) for t in teacher]
        entropies.append(sum(-(q * q.log()).sum(1).mean() for q in p).item() / len(p))

    model.criterion.register_forward_pre_hook(teacher_entropy)
    losses = train_on_one_batch(model, fixed_batch(model, 8))
    kl = [loss - h for loss, h in zip(losses, entropies)]
    assert min(kl[-3:]) < 0.7 * kl[0], kl


def test_swav_freezes_prototypes_then_trains_them_and_uses_a_full_queue():
    torch.manual_seed(0)
    cfg = Config.fromfile(f'{ROOT}/{CONFIGS["SwAV"]}')
    model = MODELS.build(dict(cfg.model, queue_size=8, num_prototypes=10)).train()
    data = fixed_batch(model, 4)
    seen = []
    model.criterion.register_forward_hook(lambda m, i, o: seen.append([len(s) for s in i[1]]))
    try:
        for it in (0, 4, 5, 6):
            set_iter(it)
            model.zero_grad()
            model(data['inputs'], data['data_samples'], mode='loss')['loss'].backward()
            frozen = model.prototypes.weight.grad is None
            assert frozen == (it < 5), it
            assert model.encoder.conv1.weight.grad is not None
    finally:
        set_iter(0)
    # 4 samples per step into queues of 8: full after 2 steps, then 8 queued rows join Sinkhorn
    assert seen == [[4, 4], [4, 4], [12, 12], [12, 12]]


def test_dino_teacher_sees_global_crops_and_gets_no_gradient():
    torch.manual_seed(0)
    cfg = Config.fromfile(f'{ROOT}/{CONFIGS["DINO"]}')
    model = MODELS.build(cfg.model).train()
    data = fixed_batch(model, 4)
    shapes = []
    model.teacher.register_forward_hook(lambda m, i, o: shapes.append(tuple(i[0].shape)))
    model(data['inputs'], data['data_samples'], mode='loss')['loss'].backward()
    assert shapes == [(8, 3, 32, 32)]
    assert all(p.grad is None for p in model.teacher.parameters())
    assert model.head.last_layer.weight.grad is None    # frozen at iteration 0
    assert model.criterion.center.abs().sum() > 0        # the centre moved


@pytest.mark.parametrize('method', sorted(CONFIGS))
def test_tiny_config_runs_through_the_runner(method, tmp_path):
    cfg = tiny_config(CONFIGS[method], str(tmp_path), max_iters=2, batch_size=8)
    runner = SSLRunner.from_cfg(cfg)
    runner.train()
    assert runner.iter == 2 and (tmp_path / 'iter_2.pth').exists()
