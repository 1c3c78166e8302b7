"""SimIPU end to end on a generated synthetic KITTI tree: the real data path (KITTI files ->
infos -> dataset -> views -> voxels) and both losses falling when fitting one batch."""
import subprocess
import sys

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.runner import Runner

from conftest import ROOT
from mm_ssl.registry import MODELS

CONFIG = f'{ROOT}/configs/simipu/simipu_voxelnet-r18_1xb2-20e_synthetic-kitti.py'


@pytest.fixture(scope='module')
def synthetic_kitti(tmp_path_factory):
    root = tmp_path_factory.mktemp('kitti')
    for cmd in (['data_prep/make_synthetic_kitti.py', '--out', str(root), '--frames', '4',
                 '--seed', '1', '--width', '640', '--height', '192', '--azimuth-steps', '1024'],
                ['data_prep/create_kitti_infos.py', '--root', str(root)]):
        out = subprocess.run([sys.executable, *cmd], capture_output=True, text=True, cwd=ROOT)
        assert out.returncode == 0, out.stderr[-2000:]
    return root


def test_simipu_fits_one_batch_of_synthetic_frames(synthetic_kitti):
    init_default_scope('mm_ssl')
    cfg = Config.fromfile(CONFIG)
    cfg.train_dataloader.update(num_workers=0, persistent_workers=False)
    cfg.train_dataloader.dataset.update(data_root=str(synthetic_kitti), num_points=2048)
    cfg.train_dataloader.dataset.pipeline[1].scale_range = (320, 96)   # a quick CPU test
    torch.manual_seed(0)
    batch = next(iter(Runner.build_dataloader(cfg.train_dataloader)))
    model = MODELS.build(cfg.model).train()
    inputs = model.data_preprocessor(batch, True)['inputs']
    assert inputs['images'].shape == (2, 3, 96, 320)
    assert inputs['voxels_a'][1].shape[1] == 4            # (b, z, y, x)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    history = []
    for _ in range(6):
        losses = model(inputs, mode='loss')
        opt.zero_grad()
        sum(losses.values()).backward()
        opt.step()
        history.append({k: v.item() for k, v in losses.items()})
    for key in ('loss_intra', 'loss_cross'):
        assert history[-1][key] < 0.9 * history[0][key], history
    # the point encoder learns from both losses, the image encoder from the cross loss
    assert model.point_encoder.conv_input[0].weight.grad.abs().sum() > 0
    assert model.image_encoder.conv1.weight.grad.abs().sum() > 0
