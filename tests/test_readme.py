"""The README's "A taste" snippet runs as shown and prints what the README says it prints."""
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NUMBER = re.compile(r"-?\d+\.\d+")


def _taste():
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as f:
        text = f.read()
    section = text[text.index("## A taste"):]
    blocks = re.findall(r"```(\w*)\n(.*?)```", section, re.S)
    (lang, code), (_, printed) = blocks[0], blocks[1]
    assert lang == "python"
    return code, printed


def test_readme_taste_prints_what_the_readme_shows(tmp_path):
    code, printed = _taste()
    env = dict(os.environ)             # absolute, since the snippet runs in tmp_path (it writes a file)
    env["PYTHONPATH"] = os.pathsep.join(os.path.abspath(p) for p in env.get("PYTHONPATH", "").split(os.pathsep) if p)
    r = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0, r.stderr
    got, want = r.stdout.strip().splitlines(), printed.strip().splitlines()
    assert len(got) == len(want) >= 7, r.stdout
    for g, w in zip(got, want):
        # the words exactly; the numbers to the last printed digit (give or take one, for BLAS rounding)
        assert NUMBER.sub("#", g) == NUMBER.sub("#", w), (g, w)
        for a, b in zip(NUMBER.findall(g), NUMBER.findall(w)):
            assert abs(float(a) - float(b)) <= 1.5 * 10 ** -len(b.split(".")[1]), (g, w)
    assert (tmp_path / "model.safetensors").is_file()
