"""kNN against brute force; the linear probe on raw digits pixels; feature extraction's progress
bar."""
import itertools
import math
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.runner import Runner
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from conftest import DIGITS_CONFIGS, ROOT
from mm_ssl.evaluation import build_model, extract_features, knn_predict, linear_probe


def brute_force_knn(train, train_labels, test, num_classes, k, t):
    preds = []
    for q in test.tolist():
        qn = math.sqrt(sum(x * x for x in q))
        sims = []
        for i, row in enumerate(train.tolist()):
            rn = math.sqrt(sum(x * x for x in row))
            sims.append((sum(a * b for a, b in zip(q, row)) / (qn * rn), i))
        sims.sort(reverse=True)
        votes = [0.0] * num_classes
        for s, i in sims[:k]:
            votes[int(train_labels[i])] += math.exp(s / t)
        preds.append(max(range(num_classes), key=lambda c: votes[c]))
    return preds


@pytest.mark.parametrize('k', [1, 5, 50])
def test_knn_matches_brute_force(k):
    g = torch.Generator().manual_seed(k)
    train, test = torch.randn(60, 8, generator=g), torch.randn(25, 8, generator=g)
    labels = torch.randint(0, 4, (60,), generator=g)
    ours = knn_predict(train, labels, test, 4, k=k, temperature=0.07, chunk_size=7)
    assert ours.tolist() == brute_force_knn(train, labels, test, 4, k, 0.07)


def test_linear_probe_reaches_90_percent_on_raw_digit_pixels():
    x, y = load_digits(return_X_y=True)
    xtr, xte, ytr, yte = train_test_split(x, y, test_size=0.2, stratify=y, random_state=0)
    as_t = lambda a, dt: torch.tensor(a, dtype=dt)  # noqa: E731
    acc = linear_probe(as_t(xtr, torch.float32), as_t(ytr, torch.long),
                       as_t(xte, torch.float32), as_t(yte, torch.long), num_classes=10, epochs=30)
    assert acc >= 90.0


def test_linear_probe_does_not_depend_on_the_features_scale():
    """Features of variance far below BatchNorm's eps (differences of nearly equal features)
    train the probe as well as the same features at unit scale."""
    x, y = load_digits(return_X_y=True)
    x, y = torch.tensor(x[:600], dtype=torch.float32), torch.tensor(y[:600])
    x = (x - x.mean(0)) / 16
    accs = [linear_probe(x[:450] * scale, y[:450], x[450:] * scale, y[450:], num_classes=10,
                         epochs=20) for scale in (1.0, 1e-4)]
    assert accs[0] > 80 and accs[1] == pytest.approx(accs[0], abs=0.7)   # 0.7: one test image


def test_feature_extraction_bar_leads_with_its_label(capsys):
    cfg = Config.fromfile(osp.join(ROOT, DIGITS_CONFIGS['SimCLR']))
    cfg.val_dataloader.batch_size = 16
    model = build_model(cfg, device='cpu')
    batches = list(itertools.islice(Runner.build_dataloader(cfg.val_dataloader), 2))
    feats, labels = extract_features(model, batches, 'test')
    assert len(feats) == len(labels) == 2 * 16
    # mm_ssl.progress draws on stderr on a terminal, as plain lines on stdout elsewhere
    out, err = capsys.readouterr()
    draws = [draw.strip() for draw in (out + err).replace('\r', '\n').splitlines()]
    assert any(draw.startswith('extracting features: test: 100%') and '2/2' in draw
               for draw in draws), out + err
