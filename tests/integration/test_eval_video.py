"""tools/eval.py on a video config: the video protocols (retrieval, linear probes, fine-tuning)
through the command line, checked against the library's retrieval on the same features."""
import json
import os
import subprocess
import sys

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.runner import Runner

from conftest import ROOT
from mm_ssl.synthetic.video import write_video_set
from mm_ssl.evaluation.video import extract_clip_features, retrieval_recall, video_level
from mm_ssl.models.checkpoint import read_checkpoint
from mm_ssl.registry import MODELS

VCOP = os.path.join(ROOT, 'configs/video/vcop_small3dcnn_synthetic-videos.py')


@pytest.fixture(scope='module')
def videos(tmp_path_factory):
    root = tmp_path_factory.mktemp('eval_videos')
    write_video_set(root, videos=20, size=32, seconds=1.6, verbose=False)
    return root


def test_eval_runs_the_video_protocols(videos, tmp_path):
    init_default_scope('mm_ssl')
    torch.manual_seed(1)   # not the config's seed: differs from eval.py's random init
    ckpt = tmp_path / 'vcop.pth'
    torch.save({'state_dict': MODELS.build(Config.fromfile(VCOP).model).state_dict()}, ckpt)
    options = [f'data_root={videos}', 'test_dataset.clip_len=8', 'test_dataset.num_clips=2',
               'plain_train_dataset.clip_len=8', 'plain_train_dataset.num_clips=2']
    env = dict(os.environ, PYTHONUNBUFFERED='1')
    run = subprocess.run([sys.executable, 'tools/eval.py', VCOP, str(ckpt), '--epochs', '5',
                          '--finetune-epochs', '1', '--cfg-options', *options],
                         capture_output=True, text=True, cwd=ROOT, env=env, timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    assert 'recall@1' in run.stdout and 'linear_video' in run.stdout
    result = json.loads((tmp_path / 'vcop.pth.video-e5-ft1.json').read_text())
    listed = [len((videos / f'{split}list01.txt').read_text().splitlines())
              for split in ('train', 'test')]
    assert result['protocol'] == 'video' and [result['num_train'], result['num_test']] == listed
    for key in ('recall@1', 'recall@5', 'linear_clip', 'linear_video', 'finetune_clip',
                'finetune_video'):
        assert 0 <= result[key] <= 100, key
    # the same retrieval from the checkpoint's encoder, computed here from the library's parts
    cfg = Config.fromfile(VCOP)
    cfg.merge_from_dict({'test_dataset.clip_len': 8, 'test_dataset.num_clips': 2,
                         'plain_train_dataset.clip_len': 8, 'plain_train_dataset.num_clips': 2,
                         'test_dataset.data_root': str(videos),
                         'plain_train_dataset.data_root': str(videos)})
    model = MODELS.build(cfg.model)
    model.encoder.load_state_dict({k[len('encoder.'):]: v for k, v in
                                   read_checkpoint(str(ckpt)).items() if k.startswith('encoder.')})
    train, test = (extract_clip_features(model, Runner.build_dataloader(dict(
        batch_size=4, num_workers=0, sampler=dict(type='DefaultSampler', shuffle=False),
        collate_fn=dict(type='default_collate'), dataset=dataset)))
        for dataset in (cfg.plain_train_dataset, cfg.test_dataset))
    recall = retrieval_recall(*video_level(*test), *video_level(*train), (1, 5))
    assert result['recall@1'] == pytest.approx(recall[1])
    assert result['recall@5'] == pytest.approx(recall[5])
