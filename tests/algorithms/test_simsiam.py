"""SimSiam's negative cosine against a float64 loop, and what its stop-gradient blocks."""
import math

import pytest
import torch
from mmengine.config import Config

from conftest import DIGITS_CONFIGS, ROOT
from mm_ssl.losses import negative_cosine
from mm_ssl.registry import MODELS


def test_negative_cosine_against_loop():
    torch.manual_seed(0)
    p, z = torch.randn(6, 7, dtype=torch.float64), torch.randn(6, 7, dtype=torch.float64)
    ref = 0.0
    for a, b in zip(p.tolist(), z.tolist()):
        dot = sum(x * y for x, y in zip(a, b))
        ref -= dot / math.sqrt(sum(x * x for x in a) * sum(y * y for y in b))
    assert negative_cosine(p, z).item() == pytest.approx(ref / 6, rel=1e-12)
    assert negative_cosine(p, 3 * p).item() == pytest.approx(-1)


@pytest.mark.parametrize('stop_gradient', [True, False])
def test_stop_gradient_blocks_only_the_target(stop_gradient):
    p, z = torch.randn(4, 3, requires_grad=True), torch.randn(4, 3, requires_grad=True)
    negative_cosine(p, z, stop_gradient).backward()
    assert p.grad is not None and p.grad.abs().sum() > 0
    assert (z.grad is None) == stop_gradient


def test_simsiam_loss_is_the_symmetrised_negative_cosine():
    torch.manual_seed(0)
    cfg = Config.fromfile(f'{ROOT}/{DIGITS_CONFIGS["SimSiam"]}')
    cfg.model.neck.update(hidden_dim=64, out_dim=32)
    cfg.model.head.update(hidden_dim=8, out_dim=32)
    model = MODELS.build(cfg.model).train()
    views = [torch.randn(4, 3, 16, 16), torch.randn(4, 3, 16, 16)]
    torch.manual_seed(1)
    loss = model.compute_loss(views)[0]['loss']
    z = model.projector(model.encoder(torch.cat(views)))   # BN statistics of the same 2B batch
    p1, p2 = model.predictor(z).chunk(2)
    z1, z2 = z.chunk(2)
    cos = torch.nn.functional.cosine_similarity
    ref = -(cos(p1, z2).mean() + cos(p2, z1).mean()) / 2
    assert loss.item() == pytest.approx(ref.item(), abs=1e-5)
