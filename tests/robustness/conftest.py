"""The bad-input suite's outcome table: every case records (component, case, outcome) and the
table is printed at the end of the run, also when the suite runs in pytest-xdist workers."""
import pytest

OUTCOMES = []   # (component, case, outcome), in the order the cases ran


@pytest.fixture
def record():
    """``record(component, case, outcome)``: one row of the summary table."""
    def add(component, case, outcome):
        OUTCOMES.append((component, case, outcome))
    return add


def pytest_sessionfinish(session):
    if hasattr(session.config, 'workeroutput'):   # an xdist worker: send the rows home
        session.config.workeroutput['robustness_outcomes'] = list(OUTCOMES)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error):
    OUTCOMES.extend(tuple(row) for row in getattr(node, 'workeroutput', {}).get(
        'robustness_outcomes', ()))


def pytest_terminal_summary(terminalreporter):
    if not OUTCOMES:
        return
    rows = sorted(set(OUTCOMES))
    widths = [max(len(row[i]) for row in rows + [('component', 'case', 'outcome')])
              for i in range(3)]
    terminalreporter.section(f'bad-input suite: {len(rows)} cases')
    for row in [('component', 'case', 'outcome'), tuple('-' * w for w in widths), *rows]:
        terminalreporter.write_line('  '.join(cell.ljust(w) for cell, w in zip(row, widths))
                                    .rstrip())


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
