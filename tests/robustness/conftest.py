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
