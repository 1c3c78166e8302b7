"""The MoCo key queue and the momentum target against hand-written expectations."""
import math

import pytest
import torch
import torch.nn as nn

from mm_ssl.models.memory import KeyQueue
from mm_ssl.models.momentum import MomentumTarget, cosine_momentum


def test_queue_is_fifo_across_wrap_around():
    queue = KeyQueue(size=5, dim=1)
    pushed = []
    for start, n in [(0, 2), (2, 2), (4, 3), (7, 1), (8, 4)]:
        keys = torch.arange(start, start + n, dtype=torch.float32).view(-1, 1)
        queue.push(keys)
        pushed += keys.view(-1).tolist()
        stored = sorted(queue.negatives().view(-1).tolist())
        assert stored == sorted(pushed[-5:]), f'after pushing {pushed}'
    # slot of the oldest entry is the next to be overwritten
    assert int(queue.ptr) == len(pushed) % 5
    assert queue.keys[int(queue.ptr)].item() == pushed[-5]


def test_queue_serves_only_filled_slots_and_keeps_newest_of_a_big_push():
    queue = KeyQueue(size=4, dim=2)
    assert queue.negatives().shape == (0, 2)
    queue.push(torch.ones(3, 2))
    assert queue.negatives().shape == (3, 2)
    queue.push(torch.arange(12, dtype=torch.float32).view(6, 2))
    assert sorted(queue.negatives()[:, 0].tolist()) == [4.0, 6.0, 8.0, 10.0]


def test_queue_state_survives_state_dict_round_trip():
    a, b = KeyQueue(6, 3), KeyQueue(6, 3)
    a.push(torch.randn(4, 3))
    b.load_state_dict(a.state_dict())
    assert torch.equal(a.negatives(), b.negatives()) and int(b.ptr) == 4


def test_momentum_target_follows_ema_formula():
    torch.manual_seed(0)
    online = nn.Linear(3, 2)
    target = MomentumTarget(online)
    with torch.no_grad():
        online.weight.add_(1.0)
    target.update(online, momentum=0.9)      # first update syncs: a plain copy
    assert torch.equal(target.module[0].weight, online.weight)
    before = target.module[0].weight.clone()
    with torch.no_grad():
        online.weight.mul_(-2.0)
    target.update(online, momentum=0.9)
    expected = 0.9 * before + 0.1 * online.weight
    assert torch.allclose(target.module[0].weight, expected, atol=1e-7)
    assert not any(p.requires_grad for p in target.parameters())
    assert not target(torch.randn(4, 3)).requires_grad


def test_cosine_momentum_schedule():
    assert cosine_momentum(0.99, 0.0) == pytest.approx(0.99)
    assert cosine_momentum(0.99, 1.0) == pytest.approx(1.0)
    assert cosine_momentum(0.99, 0.5) == pytest.approx(1 - 0.01 * (math.cos(math.pi / 2) + 1) / 2)
