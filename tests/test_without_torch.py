"""The test suite on a machine without PyTorch, as a newcomer runs it (`pip install -e ".[test]"`): every
module still collects, and the oracle tests skip with one reason that says how to get the oracle.

PyTorch is hidden from the child pytest by a stand-in package that raises ImportError, first on its path;
.ci/run also runs the whole suite in a fresh virtual environment without torch."""
import os
import subprocess
import sys

import pytest

TESTS = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(TESTS)


@pytest.fixture
def env_without_torch(tmp_path):
    stub = tmp_path / "hide" / "torch"
    stub.mkdir(parents=True)
    (stub / "__init__.py").write_text('raise ImportError("No module named \'torch\' (hidden by the test)")\n')
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(stub.parent)] + [p for p in [env.get("PYTHONPATH")] if p])
    return env


def _pytest(env, *args):
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=600)


def test_every_test_module_collects_without_torch(env_without_torch):
    r = _pytest(env_without_torch, "--collect-only", "-q", TESTS)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    assert "error" not in r.stdout.splitlines()[-1], r.stdout[-3000:]


def test_oracle_skips_say_how_to_get_the_oracle(env_without_torch):
    r = _pytest(env_without_torch, "-q", os.path.join(TESTS, "test_dtypes.py"))
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    skip_lines = [ln for ln in r.stdout.splitlines() if ln.startswith("SKIPPED")]
    assert skip_lines, r.stdout[-3000:]
    # one grouped line per reason (not one line per test), and that reason names the extra to install
    assert len(skip_lines) == 1, skip_lines
    assert 'pip install -e ".[test,oracle]"' in skip_lines[0], skip_lines
