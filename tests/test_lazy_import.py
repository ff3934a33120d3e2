"""`import chainrule` loads only the core; the rest loads on first use and behaves as if imported eagerly."""
import json
import os
import subprocess
import sys

LAZY = ["chainrule.nn", "chainrule.optim", "chainrule.optim.lr_scheduler", "chainrule.utils",
        "chainrule.utils.data", "chainrule.datasets", "chainrule.train", "chainrule.serialization",
        "chainrule.onnx", "chainrule.insight", "chainrule.distributed", "chainrule.amp.grad_scaler",
        "ml_dtypes", "numpy.random", "json", "hashlib", "gzip"]


def run_fresh(code):
    out = subprocess.run([sys.executable, "-c", code], env=dict(os.environ), capture_output=True, text=True,
                         check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_import_chainrule_loads_no_lazy_module():
    loaded = run_fresh("import sys, json, chainrule\n"
                       f"print(json.dumps([m for m in {LAZY!r} if m in sys.modules and m != 'json']))")
    assert loaded == []


def test_json_is_not_loaded_by_import():
    # json itself is what run_fresh speaks, so this check prints without it
    out = subprocess.run([sys.executable, "-c", "import sys, chainrule; print('json' in sys.modules)"],
                         env=dict(os.environ), capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_lazy_names_work_as_pytorch_code_uses_them():
    got = run_fresh("""
import json
import chainrule as torch
from chainrule.nn import functional as F
from chainrule.optim import lr_scheduler
from chainrule import nn, save
names = dir(torch)
checks = {
    "Linear": torch.nn.Linear.__name__, "Adam": torch.optim.Adam.__name__,
    "DataLoader": torch.utils.data.DataLoader.__name__,
    "StepLR": torch.optim.lr_scheduler.StepLR.__name__,
    "save": torch.save.__module__, "load": torch.load.__module__, "relu": F.relu.__name__,
    "GradScaler": torch.amp.GradScaler.__name__, "autocast": torch.autocast.__name__,
    "in_dir": all(n in names for n in ["nn", "optim", "utils", "datasets", "save", "load", "bfloat16"]),
    "missing": not hasattr(torch, "no_such_thing"),
    "from_imports": lr_scheduler is torch.optim.lr_scheduler and nn is torch.nn and save is torch.save,
}
print(json.dumps(checks))
""")
    assert got == {"Linear": "Linear", "Adam": "Adam", "DataLoader": "DataLoader", "StepLR": "StepLR",
                   "save": "chainrule.serialization", "load": "chainrule.serialization", "relu": "relu",
                   "GradScaler": "GradScaler", "autocast": "autocast", "in_dir": True, "missing": True,
                   "from_imports": True}


def test_lazy_attribute_error_names_the_module():
    import chainrule
    try:
        chainrule.no_such_thing
    except AttributeError as e:
        assert "chainrule" in str(e) and "no_such_thing" in str(e)
    else:
        raise AssertionError("expected AttributeError")


def test_autograd_functional_is_lazy_and_gradcheck_stays_the_function():
    got = run_fresh("import sys, json, chainrule as cr\n"
                    "lazy = 'chainrule.autograd.functional' in sys.modules\n"
                    "import chainrule.autograd.gradcheck\n"
                    "print(json.dumps([lazy, callable(cr.autograd.gradcheck), cr.autograd.functional.jacobian.__name__]))")
    assert got == [False, True, "jacobian"]
