"""The engine (``ml_platform``) imports without Dagster and without the layers above it.

Each engine module is imported in a fresh interpreter whose import system refuses ``dagster`` (and its
``dagster_*`` integrations), ``assets``, ``resources``, ``sensors`` and ``orchestration``: an engine
module that reaches up, even through a dependency, fails here with the module that asked.
"""

import json
import pkgutil
import subprocess
import sys

import ml_platform
from ml_platform.settings import PROJECT_ROOT

BLOCKED = ("dagster", "assets", "resources", "sensors", "orchestration")

IMPORT_EACH = """if True:
    import importlib, importlib.abc, json, sys, traceback

    BLOCKED = {blocked!r}

    class Refuse(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            top = name.partition(".")[0]
            if top in BLOCKED or top.startswith("dagster_"):
                raise ImportError(f"the engine may not import {{name!r}}")
            return None

    sys.meta_path.insert(0, Refuse())
    failures = {{}}
    for module in {modules!r}:
        try:
            importlib.import_module(module)
        except Exception:
            failures[module] = traceback.format_exc(limit=-3)
    leaked = sorted(m for m in sys.modules if m.partition(".")[0] in BLOCKED or m.startswith("dagster_"))
    print(json.dumps({{"failures": failures, "leaked": leaked}}))
"""


def engine_modules() -> list[str]:
    return sorted(m.name for m in pkgutil.walk_packages(ml_platform.__path__, prefix="ml_platform."))


def test_every_engine_module_imports_with_dagster_and_the_layers_above_blocked():
    modules = engine_modules()
    assert {"ml_platform.registry", "ml_platform.settings", "ml_platform.dbt_runner", "ml_platform.serving.app"} \
        <= set(modules)
    code = IMPORT_EACH.format(blocked=BLOCKED, modules=modules)
    done = subprocess.run([sys.executable, "-c", code], cwd=PROJECT_ROOT, capture_output=True, text=True,
                          timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result == {"failures": {}, "leaked": []}, "\n".join(result["failures"].values())


def test_the_blocker_blocks():
    """The finder above does refuse: a module that imports dagster fails under it."""
    code = IMPORT_EACH.format(blocked=BLOCKED, modules=["orchestration.definitions"])
    done = subprocess.run([sys.executable, "-c", code], cwd=PROJECT_ROOT, capture_output=True, text=True,
                          timeout=120, check=True)
    failures = json.loads(done.stdout.strip().splitlines()[-1])["failures"]
    assert "the engine may not import" in failures["orchestration.definitions"]
