"""flake8 (config in setup.cfg: max-line-length 100) reports nothing on the sources and tests."""
import subprocess
import sys

from conftest import ROOT

PATHS = ['mm_ssl', 'tests', 'benchmarks', 'data_prep', 'tools']


def test_flake8_is_clean():
    run = subprocess.run([sys.executable, '-m', 'flake8', *PATHS], capture_output=True,
                         text=True, cwd=ROOT)
    assert run.returncode == 0, f'flake8 {" ".join(PATHS)}:\n{run.stdout}{run.stderr}'
