"""Fixtures of the bad-input suite; its outcome table (``record``) lives in tests/conftest.py,
where the pytest-xdist controller, which collects nothing, also loads it."""
import pytest


@pytest.fixture(scope='session')
def trained(tmp_path_factory):
    """A tiny SimCLR run on digits (2 iterations, in-process): (its config file, work dir with
    iter_2.pth). Tests that change the work dir copy it first."""
    from conftest import tiny_config   # tests/conftest.py
    from mm_ssl.engine import SSLRunner
    work = tmp_path_factory.mktemp('trained') / 'work'
    cfg = tiny_config('SimCLR', str(work), max_iters=2, batch_size=8)
    cfg.default_hooks.logger.interval = 10   # quiet
    SSLRunner.from_cfg(cfg).train()
    cfg.train_cfg.max_iters = 4   # the config file continues the run to iteration 4
    config = work.parent / 'simclr_tiny.py'
    cfg.dump(str(config))
    return config, work
