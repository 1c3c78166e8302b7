"""benchmarks/methods_digits.py's core on a tiny budget: SimCLR, then SEED distilling from it."""
import json

import pytest
from conftest import load_script

methods_digits = load_script('benchmarks/methods_digits.py')


def test_budget_stops_each_method_and_table_has_baselines(tmp_path):
    # a budget smaller than one step: each method stops after its first step
    rows = methods_digits.run(['seed'], budget=0.01, work_dir=str(tmp_path), max_iters=5,
                              batch_size=16, linear_epochs=2, log=lambda *_: None)
    names = [r['method'] for r in rows]
    # SEED pulled in SimCLR as its teacher and trained after it; one random-init row for the
    # ResNet-18 both share
    assert names == ['raw pixels', 'random init (simclr encoder)', 'simclr', 'seed'], rows
    assert (tmp_path / 'simclr' / 'final.pth').is_file()
    raw, random_init, *trained = rows
    assert raw['feature_dim'] == 3 * 32 * 32 and random_init['feature_dim'] == 512
    for r in rows:
        assert 'error' not in r, r
        assert 0 <= r['knn_top1'] <= 100 and 0 <= r['linear_top1'] <= 100
        assert 1 <= r['rank'] <= r['feature_dim']
    for r in trained:
        assert r['steps'] == len(r['losses']) == 1 and r['cpu_s'] >= 0.01
        assert r['random_init'] == 'random init (simclr encoder)'
    table = methods_digits.table(rows).splitlines()
    assert table[0].startswith('| method | kNN top-1 | linear top-1 | RankMe')
    assert [line.split('|')[1].strip() for line in table[2:]] == names
    assert all(line.count('|') == table[0].count('|') for line in table)
    json.dumps(rows)   # results.json can hold the rows


def test_unknown_method_is_named():
    with pytest.raises(ValueError, match='simclrr'):
        methods_digits.run(['simclrr'], budget=1, work_dir='unused')
