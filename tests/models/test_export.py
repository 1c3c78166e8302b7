"""Exports load into independent modules built from the documented layer lists and names
(OpenPCDet's VoxelBackBone8x, mmdet3d's SparseEncoder, torchvision's ResNet): every key and
every tensor is checked, so nothing can be skipped silently."""
import subprocess
import sys

import spconv.pytorch as spconv
import torch
import torch.nn as nn
import torchvision

from conftest import ROOT
from mm_ssl.models.encoders import ResNet, VoxelBackBone8x

# OpenPCDet VoxelBackBone8x / mmdet3d SparseEncoder layer list: (stage, [(c_in, c_out, kind)])
STAGES = [('conv1', [(16, 16, 'subm')]),
          ('conv2', [(16, 32, 'down'), (32, 32, 'subm'), (32, 32, 'subm')]),
          ('conv3', [(32, 64, 'down'), (64, 64, 'subm'), (64, 64, 'subm')]),
          ('conv4', [(64, 64, 'down'), (64, 64, 'subm'), (64, 64, 'subm')])]


def block(c_in, c_out, kind):
    conv = spconv.SubMConv3d(c_in, c_out, 3, padding=1, bias=False) if kind == 'subm' else \
        spconv.SparseConv3d(c_in, c_out, 3, 2, padding=1, bias=False)
    return spconv.SparseSequential(conv, nn.BatchNorm1d(c_out), nn.ReLU())


def reference_backbone(stage_names):
    """Built from spconv's own modules, named by ``stage_names[stage]``."""
    root = nn.Module()
    root.conv_input = spconv.SparseSequential(spconv.SubMConv3d(4, 16, 3, bias=False),
                                              nn.BatchNorm1d(16), nn.ReLU())
    for stage, blocks in STAGES:
        seq = spconv.SparseSequential(*[block(*b) for b in blocks])
        parent, _, name = stage_names[stage].rpartition('.')
        owner = root
        for part in filter(None, parent.split('.')):
            if not hasattr(owner, part):
                owner.add_module(part, nn.Module())
            owner = getattr(owner, part)
        owner.add_module(name, seq)
    root.conv_out = spconv.SparseSequential(
        spconv.SparseConv3d(64, 128, (3, 1, 1), (2, 1, 1), bias=False), nn.BatchNorm1d(128),
        nn.ReLU())
    return root


def trained_backbone():
    torch.manual_seed(0)
    ours = VoxelBackBone8x(4, (0.5, 0.5, 0.1), (0, -40, -3, 70, 40, 1))   # grid [41, 160, 140]
    with torch.no_grad():
        for t in ours.state_dict().values():
            t.copy_(torch.randn_like(t.float()).to(t.dtype) if t.is_floating_point() else t + 3)
    return ours


def export(tmp_path, fmt, state):
    ckpt, out = tmp_path / 'ckpt.pth', tmp_path / f'{fmt}.pth'
    torch.save({'state_dict': state, 'meta': {}}, ckpt)
    run = subprocess.run([sys.executable, 'tools/export_backbone.py', str(ckpt), '--format', fmt,
                          '--out', str(out)], capture_output=True, text=True, cwd=ROOT)
    assert run.returncode == 0, run.stderr[-2000:]
    return torch.load(out, weights_only=True)


def assert_loads_exactly(module, state, expected):
    result = module.load_state_dict(state, strict=True)
    assert not result.missing_keys and not result.unexpected_keys
    got = module.state_dict()
    assert got.keys() == expected.keys()
    for key, tensor in expected.items():
        assert torch.equal(got[key], tensor), key


def test_openpcdet_export(tmp_path):
    ours = trained_backbone()
    state = {f'encoder.{k}': v for k, v in ours.state_dict().items()}
    state['image_encoder.conv1.weight'] = torch.zeros(1)
    exported = export(tmp_path, 'openpcdet', state)['model_state']
    assert all(k.startswith('backbone_3d.') for k in exported)
    reference = reference_backbone({s: s for s, _ in STAGES})
    assert_loads_exactly(reference, {k[len('backbone_3d.'):]: v for k, v in exported.items()},
                         ours.state_dict())


def test_simipu_checkpoints_of_before_the_common_contract_still_export(tmp_path):
    """SimIPU checkpoints written before 2026-12 hold the point encoder as ``point_encoder.``."""
    ours = trained_backbone()
    state = {f'point_encoder.{k}': v for k, v in ours.state_dict().items()}
    exported = export(tmp_path, 'openpcdet', state)['model_state']
    assert {k[len('backbone_3d.'):] for k in exported} == set(ours.state_dict())


def test_mmdet3d_export_in_spconv1_layout(tmp_path):
    ours = trained_backbone()
    state = {f'encoder.{k}': v for k, v in ours.state_dict().items()}
    exported = export(tmp_path, 'mmdet3d', state)['state_dict']
    names = {s: f'encoder_layers.encoder_layer{s[-1]}' for s, _ in STAGES}
    reference = reference_backbone(names)
    # mmdet3d's loader: a checkpoint without version-2 metadata holds spconv-1 weights
    # (k, k, k, C_in, C_out) and is permuted to spconv 2's (C_out, k, k, k, C_in)
    loaded = {k[len('middle_encoder.'):]: v.permute(4, 0, 1, 2, 3) if v.dim() == 5 else v
              for k, v in exported.items()}
    renamed = {}
    for key, tensor in ours.state_dict().items():
        stage = key.split('.')[0]
        renamed[key.replace(stage, names[stage], 1) if stage in names else key] = tensor
    assert_loads_exactly(reference, loaded, renamed)


def test_torchvision_export(tmp_path):
    torch.manual_seed(0)
    encoder = ResNet(depth=18)
    state = {f'encoder.{k}': v for k, v in encoder.state_dict().items()}
    exported = export(tmp_path, 'torchvision', state)
    reference = torchvision.models.resnet18()
    result = reference.load_state_dict(exported, strict=False)
    assert sorted(result.missing_keys) == ['fc.bias', 'fc.weight'] and not result.unexpected_keys
    reference.fc = nn.Identity()
    x = torch.randn(2, 3, 64, 64)
    assert torch.allclose(reference.eval()(x), encoder.eval()(x), atol=1e-5)


def test_export_names_the_missing_prefix(tmp_path):
    ckpt = tmp_path / 'img.pth'
    torch.save({'state_dict': {'encoder.conv1.weight': torch.zeros(1)}}, ckpt)
    run = subprocess.run([sys.executable, 'tools/export_backbone.py', str(ckpt), '--format',
                          'openpcdet', '--out', str(tmp_path / 'x.pth')],
                         capture_output=True, text=True, cwd=ROOT)
    assert run.returncode == 2 and 'no VoxelBackBone8x point encoder' in run.stderr
    assert str(ckpt) in run.stderr
    assert not (tmp_path / 'x.pth').exists()
