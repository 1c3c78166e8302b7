"""Stop after N iterations, resume for M more: the weights equal an uninterrupted N+M run."""
import torch

from conftest import tiny_config
from mm_ssl.engine import SSLRunner


def final_state(cfg):
    runner = SSLRunner.from_cfg(cfg)
    runner.train()
    return {k: v.clone() for k, v in runner.model.state_dict().items()}


def test_resume_equals_uninterrupted_run(tmp_path):
    # MoCo: augmentation RNG, momentum encoder, queue and optimiser state all must survive
    whole = final_state(tiny_config('MoCo', str(tmp_path / 'whole'), max_iters=4))
    final_state(tiny_config('MoCo', str(tmp_path / 'split'), max_iters=2))
    cfg = tiny_config('MoCo', str(tmp_path / 'split'), max_iters=4)
    cfg.resume = True
    resumed = final_state(cfg)
    assert resumed.keys() == whole.keys()
    for key in whole:
        assert torch.allclose(resumed[key].float(), whole[key].float(), atol=1e-6), key
    assert int(resumed['queue.filled']) > 0 and int(resumed['data_preprocessor.aug_step']) == 4
