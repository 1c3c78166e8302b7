"""The demo's claim, at a shorter budget: SimCLR pretraining on digits beats the randomly
initialised encoder on kNN accuracy."""
import sys

from conftest import ROOT

sys.path.insert(0, f'{ROOT}/tools')
import demo  # noqa: E402


def test_pretrained_beats_random_init_on_digits_knn(tmp_path, capsys):
    rows = demo.main(['--work-dir', str(tmp_path), '--epochs', '8'])
    assert rows['SimCLR']['knn_top1'] > rows['random init']['knn_top1'] + 3, rows
    out = capsys.readouterr().out
    assert '| SimCLR' in out and (tmp_path / 'simclr_digits_curves.png').is_file()
