"""CPC and CMC: losses against float64 loop references, the causal context network, the exact
RGB -> Lab conversion, the RegNet encoder, and each method training on digits."""
import math

import pytest
import torch
import torch.nn as nn
import torchvision.models as tvm
from mmengine.config import Config

from conftest import ROOT, tiny_config
from mm_ssl.datasets import DigitsDataset
from mm_ssl.engine import SSLRunner
from mm_ssl.errors import ConfigError
from mm_ssl.losses import cmc_loss, cpc_info_nce
from mm_ssl.models.encoders import RegNet
from mm_ssl.models.necks import RowCausalConv
from mm_ssl.transforms.color import rgb_to_lab
from mm_ssl.registry import MODELS

CONFIGS = {'CPC': 'configs/cpc/cpc_resnet18_1xb256-100e_digits.py',
           'CMC': 'configs/cmc/cmc_resnet18_1xb256-100e_digits.py'}


def randn(*shape, seed=0):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


@pytest.mark.parametrize('temperature', [None, 0.3])
def test_cpc_info_nce_equals_loop(temperature):
    B, D, H, W, steps = 2, 3, 4, 3, [1, 3]
    codes, preds = randn(B, D, H, W), [randn(B, D, H, W, seed=s + 1) for s in steps]
    cells = [(b, i, j) for b in range(B) for i in range(H) for j in range(W)]

    def score(p, z):
        return (p @ z).item() if temperature is None else \
            (p @ z).item() / (p.norm() * z.norm()).item() / temperature
    ref = 0.0
    for k, pred in zip(steps, preds):
        terms = []
        for b, i, j in cells:
            if i + k >= H:
                continue
            logits = [score(pred[b, :, i, j], codes[bb, :, ii, jj]) for bb, ii, jj in cells]
            log_z = math.log(sum(math.exp(x) for x in logits))
            terms.append(log_z - score(pred[b, :, i, j], codes[b, :, i + k, j]))
        ref += sum(terms) / len(terms)
    loss = cpc_info_nce(preds, codes, steps, temperature)
    assert math.isclose(loss.item(), ref / len(steps), rel_tol=1e-9)
    with pytest.raises(ValueError, match='step 4'):
        cpc_info_nce([preds[0]], codes, [4])


def test_row_causal_context_sees_only_rows_above():
    torch.manual_seed(0)
    net = RowCausalConv(in_dim=4, hidden_dim=6, out_dim=5, num_layers=2).double()
    x = randn(2, 4, 6, 5)
    y = net(x)
    assert y.shape == (2, 5, 6, 5)
    for row in range(6):
        changed = x.clone()
        changed[:, :, row:] += randn(2, 4, 6 - row, 5, seed=row + 1)
        z = net(changed)
        torch.testing.assert_close(z[:, :, :row], y[:, :, :row])   # rows above: unaffected
        assert not torch.allclose(z[:, :, row], y[:, :, row])       # its own row: affected


def test_cpc_patch_grid_equals_cutting_patches_by_hand():
    torch.manual_seed(0)
    cfg = Config.fromfile(f'{ROOT}/{CONFIGS["CPC"]}')
    model = MODELS.build(dict(cfg.model, patch_size=12, patch_stride=10)).eval()
    img = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        codes = model.patch_codes(img)                       # 3x3 grid: 0, 10, 20
        assert codes.shape == (2, 512, 3, 3)
        for i, j in [(0, 0), (1, 2), (2, 1)]:
            patch = img[:, :, 10 * i:10 * i + 12, 10 * j:10 * j + 12]
            torch.testing.assert_close(codes[:, :, i, j], model.encoder(patch))
        torch.testing.assert_close(model(img, mode='tensor'), codes.mean((2, 3)))


# (sRGB 0-255, CIE Lab D65) from the standard colour tables (e.g. Bruce Lindbloom's calculator)
KNOWN_LAB = [((255, 255, 255), (100.0, 0.0, 0.0)), ((0, 0, 0), (0.0, 0.0, 0.0)),
             ((255, 0, 0), (53.2408, 80.0925, 67.2032)),
             ((0, 255, 0), (87.7347, -86.1827, 83.1793)),
             ((0, 0, 255), (32.2970, 79.1875, -107.8602)), ((128, 128, 128), (53.5850, 0.0, 0.0))]


def lab_reference(r, g, b):
    """sRGB -> Lab for one pixel in float64, written from the CIE definitions."""
    def decode(c):
        c /= 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4
    r, g, b = decode(r), decode(g), decode(b)
    x = (0.4124564 * r + 0.3575761 * g + 0.1804375 * b) / 0.95047
    y = 0.2126729 * r + 0.7151522 * g + 0.0721750 * b
    z = (0.0193339 * r + 0.1191920 * g + 0.9503041 * b) / 1.08883

    def f(t):
        return t ** (1 / 3) if t > 216 / 24389 else (24389 / 27 * t + 16) / 116
    return 116 * f(y) - 16, 500 * (f(x) - f(y)), 200 * (f(y) - f(z))


def test_rgb_to_lab_matches_known_colours_and_the_reference_formula():
    rgb = torch.tensor([c for c, _ in KNOWN_LAB], dtype=torch.float64).t()[:, :, None] / 255
    lab = rgb_to_lab(rgb).squeeze(-1).t()
    torch.testing.assert_close(lab, torch.tensor([v for _, v in KNOWN_LAB], dtype=torch.float64),
                               atol=2e-3, rtol=0)
    pixels = torch.randint(0, 256, (3, 7, 5), generator=torch.Generator().manual_seed(0))
    lab = rgb_to_lab(pixels[None].double() / 255)[0]
    ref = torch.tensor([[lab_reference(*pixels[:, i, j].tolist()) for j in range(5)]
                        for i in range(7)], dtype=torch.float64).permute(2, 0, 1)
    torch.testing.assert_close(lab, ref, atol=1e-9, rtol=0)
    with pytest.raises(ValueError, match='3 channels'):
        rgb_to_lab(torch.rand(1, 4, 2, 2))


def nce_loop(q, k, tau):
    """InfoNCE with in-batch negatives, one sample at a time."""
    qn = [v / v.norm() for v in q]
    kn = [v / v.norm() for v in k]
    total = 0.0
    for i in range(len(q)):
        logits = [(qn[i] @ kj).item() / tau for kj in kn]
        total += math.log(sum(math.exp(x) for x in logits)) - logits[i]
    return total / len(q)


@pytest.mark.parametrize('full_graph', [True, False])
def test_cmc_loss_equals_loop_over_view_pairs(full_graph):
    views = [randn(5, 4, seed=s) for s in range(3)]
    pairs = [(0, 1), (0, 2), (1, 2)] if full_graph else [(0, 1), (0, 2)]
    ref = sum(nce_loop(views[i], views[j], 0.2) + nce_loop(views[j], views[i], 0.2)
              for i, j in pairs) / (2 * len(pairs))
    assert math.isclose(cmc_loss(views, 0.2, full_graph).item(), ref, rel_tol=1e-9)
    with pytest.raises(ValueError, match='2 views'):
        cmc_loss(views[:1])


def test_cmc_splits_lab_channels_one_encoder_per_view():
    torch.manual_seed(0)
    cfg = Config.fromfile(f'{ROOT}/configs/cmc/cmc_resnet18_1xb256-200e_cifar10.py')
    model = MODELS.build(cfg.model).eval()
    assert [e.conv1.in_channels for e in model.encoders] == [1, 2]
    inputs = []
    for enc in model.encoders:
        enc.register_forward_hook(lambda m, i, o: inputs.append(i[0]))
    img = torch.randint(0, 256, (2, 3, 32, 32), dtype=torch.uint8)
    x = model.data_preprocessor(dict(img=img), training=False)['inputs']
    with torch.no_grad():
        feats = model(x, mode='tensor')
    assert feats.shape == (2, 1024) and model.probe.fc.in_features == 1024
    lab = rgb_to_lab(img.float() / 255)
    torch.testing.assert_close(inputs[0], (lab[:, :1] - 50) / 50, atol=1e-4, rtol=0)
    torch.testing.assert_close(inputs[1], lab[:, 1:] / 110, atol=1e-4, rtol=0)
    with pytest.raises(ConfigError, match='color_space'):
        MODELS.build(dict(cfg.model, color_space='hsv'))


def test_regnet_matches_torchvision_and_exposes_maps():
    torch.manual_seed(0)
    enc = MODELS.build(dict(type='RegNet', arch='regnet_y_400mf',
                            out_maps=('block1', 'block2', 'block3', 'block4'))).eval()
    ref = tvm.regnet_y_400mf()
    missing, unexpected = ref.load_state_dict(enc.state_dict(), strict=False)
    assert sorted(missing) == ['fc.bias', 'fc.weight'] and not unexpected
    ref.fc = nn.Identity()
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        v, maps = enc(x, return_maps=True)
        torch.testing.assert_close(v, ref.eval()(x))
    assert enc.feat_dim == 440 and v.shape == (2, 440)
    assert enc.map_strides == {'block1': 4, 'block2': 8, 'block3': 16, 'block4': 32}
    assert enc.map_channels == {'block1': 48, 'block2': 104, 'block3': 208, 'block4': 440}
    for name, m in maps.items():
        assert m.shape == (2, enc.map_channels[name], 64 // enc.map_strides[name],
                           64 // enc.map_strides[name])
    small = RegNet('regnet_x_400mf', cifar_stem=True, in_channels=1, out_maps=('block2',))
    v, maps = small(torch.randn(2, 1, 32, 32), return_maps=True)
    assert v.shape == (2, 400) and maps['block2'].shape == (2, 64, 8, 8)
    with pytest.raises(ConfigError, match='resnet18'):
        RegNet('resnet18')
    with pytest.raises(ConfigError, match='block5'):
        RegNet(out_maps=('block5',))


def fixed_batch(model, n):
    ds = DigitsDataset(split='train', size=32)
    torch.manual_seed(0)
    return model.data_preprocessor(dict(img=ds.images[:n], label=ds.labels[:n],
                                        idx=torch.arange(n)), training=True)


@pytest.mark.parametrize('method', sorted(CONFIGS))
def test_overfits_one_batch(method):
    torch.manual_seed(0)
    model = MODELS.build(Config.fromfile(f'{ROOT}/{CONFIGS[method]}').model).train()
    data = fixed_batch(model, 8)
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    losses = []
    for _ in range(8):
        out = model(data['inputs'], data['data_samples'], mode='loss')
        opt.zero_grad()
        (out['loss'] + out['loss_probe']).backward()
        opt.step()
        losses.append(out['loss'].item())
    assert min(losses[-3:]) < 0.85 * losses[0], losses


@pytest.mark.parametrize('method', sorted(CONFIGS))
def test_tiny_config_runs_through_the_runner(method, tmp_path):
    cfg = tiny_config(CONFIGS[method], str(tmp_path), max_iters=2, batch_size=8)
    runner = SSLRunner.from_cfg(cfg)
    runner.train()
    assert runner.iter == 2 and (tmp_path / 'iter_2.pth').exists()
