"""The lock files: ``make lock`` writes them from pyproject.toml, ``make lock-check`` checks they agree.

    requirements/dev.txt          pyproject's dependencies + the dev extra, torch's +cpu wheel included:
                                  what ``make install`` installs (here and on CI)
    requirements/runtime.txt      pyproject's dependencies without torch: the image (deploy/Dockerfile)
    requirements/torch-cpu.txt    torch's +cpu wheel and its dependencies: the image's cpu variant
    requirements/torch-cuda.txt   torch's version for the image's cuda variant (no hash: docs/dependencies.md)
    requirements/pip.txt          pip itself, so the installer is pinned too
    ml_platform/serving/requirements.txt
                                  what the service imports (and what that needs), torch's +cpu wheel
                                  included: the bento's ``python.requirements_txt`` (bentofile.yaml)

Everything is resolved once, by ``uv pip compile`` into dev.txt; the other files are compiled against
dev.txt as a constraint, so a package has the same version and hashes in every file. A line
``# inputs-sha256: ...`` under uv's header records what the lock was made from (pyproject's dependency
tables and the resolution settings below); ``check`` recomputes it, checks every pin against pyproject's
requirements, the bento's file against what the service imports today, and the running environment
against dev.txt. ``write`` needs PyPI; ``check`` needs no network.

    python requirements/lock.py write [--find-links DIR_OR_URL] [uv pip compile options, e.g. --upgrade]
    python requirements/lock.py check
"""

from __future__ import annotations

import argparse
import ast
import hashlib
import json
import re
import shutil
import subprocess
import sys
import tempfile
import tomllib
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parent.parent
REQ = ROOT / "requirements"
DEV, RUNTIME, PIP = REQ / "dev.txt", REQ / "runtime.txt", REQ / "pip.txt"
TORCH_CPU, TORCH_CUDA = REQ / "torch-cpu.txt", REQ / "torch-cuda.txt"
BENTO = ROOT / "ml_platform" / "serving" / "requirements.txt"

# One target: CPython 3.11 on x86-64 Linux (this machine, CI, both image variants, the bento's image)
PYTHON_VERSION = "3.11"
PLATFORM = "x86_64-manylinux_2_28"
# Where a containerized bento gets torch's +cpu wheel (the bento's requirements carry it: BentoML
# installs them with `uv pip install -r` and nothing else)
BENTO_TORCH_FIND_LINKS = "https://download.pytorch.org/whl/cpu/torch/"
# Modules the bento image runs besides the service: the pods' init container (serving/k8s.py)
EXTRA_SERVING_ENTRIES = ["ml_platform.serving.fetch_model"]
FIRST_PARTY = {"ml_platform", "assets", "resources", "sensors"}

INPUTS_LINE = "# inputs-sha256: "
SERVING_LINE = "# serving imports: "


def pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def inputs_digest() -> str:
    """pyproject's dependency tables (parsed and sorted: comments and order don't count) + our settings."""
    project = pyproject()
    norm = lambda reqs: sorted(str(Requirement(r)) for r in reqs)  # noqa: E731
    inputs = {
        "requires-python": project.get("requires-python", ""),
        "dependencies": norm(project.get("dependencies", [])),
        "optional-dependencies": {k: norm(v) for k, v in project.get("optional-dependencies", {}).items()},
        "settings": [PYTHON_VERSION, PLATFORM, BENTO_TORCH_FIND_LINKS],
    }
    return hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()


# --- reading lock files -------------------------------------------------------------------------

def parse(path: Path) -> dict[str, tuple[str, frozenset[str]]]:
    """``{canonical name: (version, hashes)}`` of a ``name==version --hash=...`` requirements file."""
    pins: dict[str, tuple[str, frozenset[str]]] = {}
    for line in re.sub(r"\\\n", " ", path.read_text()).splitlines():
        line = line.split(" #", 1)[0].strip()
        if not line or line.startswith(("#", "-")):
            continue
        spec, *options = line.split()
        name, _, version = spec.partition("==")
        if not version:
            raise SystemExit(f"{path.relative_to(ROOT)}: {spec!r} is not pinned with ==")
        hashes = frozenset(o.split("=", 1)[1] for o in options if o.startswith("--hash="))
        pins[canonicalize_name(name.split("[")[0])] = (version, hashes)
    return pins


def header_value(path: Path, prefix: str) -> str | None:
    for line in path.read_text().splitlines():
        if line.startswith(prefix):
            return line[len(prefix):].strip()
        if not line.startswith("#"):
            return None
    return None


# --- what the service imports -------------------------------------------------------------------

def _module_file(name: str) -> Path | None:
    base = ROOT / name.replace(".", "/")
    for path in (base / "__init__.py", base.with_suffix(".py")):
        if path.is_file():
            return path
    return None


def serving_entries() -> list[str]:
    """The bento's service module, the other modules run from its image, and every model spec module
    (imported by name at run time, so invisible to an import scan)."""
    import yaml

    service = yaml.safe_load((ROOT / "bentofile.yaml").read_text())["service"].split(":")[0]
    specs_init = ast.parse((ROOT / "ml_platform" / "specs" / "__init__.py").read_text())
    specs = next(ast.literal_eval(node.value) for node in specs_init.body
                 if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "SPEC_MODULES")
    return [service, *EXTRA_SERVING_ENTRIES, *specs.values()]


def serving_modules() -> set[str]:
    """Top-level third-party modules imported anywhere (also inside functions) in the first-party modules
    the serving entries reach."""
    seen: set[str] = set()
    third: set[str] = set()
    todo = serving_entries()
    while todo:
        module = todo.pop()
        path = _module_file(module)
        if module in seen or path is None:
            continue
        seen.add(module)
        parts = module.split(".")
        todo += [".".join(parts[:i]) for i in range(1, len(parts))]  # importing a.b.c runs a and a.b
        package = parts if path.name == "__init__.py" else parts[:-1]
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    base = ".".join(package[: len(package) - node.level + 1] + ([base] if base else []))
                names = [base] + [f"{base}.{alias.name}" for alias in node.names]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top in FIRST_PARTY:
                    todo.append(name)
                elif top and top not in sys.stdlib_module_names and top != "__future__":
                    third.add(top)
    return third


def serving_requirements() -> list[str]:
    """The declared dependencies that provide the modules the service imports."""
    declared = {canonicalize_name(Requirement(r).name) for r in pyproject()["dependencies"]}
    providers = metadata.packages_distributions()
    roots: set[str] = set()
    for module in sorted(serving_modules()):
        found = {canonicalize_name(d) for d in providers.get(module, [])} & declared
        if not found:
            raise SystemExit(f"the service imports {module!r}, which no dependency in pyproject.toml provides "
                             "(or it is not installed yet: `make install`, then `make lock` again)")
        roots |= found
    return sorted(roots)


# --- write ----------------------------------------------------------------------------------------

def compile_(out: Path, inputs: list[str], options: list[str], stdin: str | None = None,
             header: list[str] = ()) -> None:
    """``uv pip compile`` into ``out`` (its pins are uv's preferences); the file is replaced only if it
    changes, so a relock that changes nothing does not make ``make install`` run again."""
    uv = Path(sys.executable).with_name("uv")
    with tempfile.TemporaryDirectory() as tmp:
        new = Path(tmp) / out.name
        if out.exists():
            shutil.copyfile(out, new)
        cmd = [str(uv), "pip", "compile", *inputs, "--generate-hashes", "--quiet",
               "--python-version", PYTHON_VERSION, "--python-platform", PLATFORM,
               "--custom-compile-command", "make lock", "-o", str(new), *options]
        subprocess.run(cmd, cwd=ROOT, input=stdin, text=True, check=True)
        lines = new.read_text().splitlines(keepends=True)
        at = next(i for i, line in enumerate(lines) if not line.startswith("#"))
        text = "".join(lines[:at] + [h + "\n" for h in header] + lines[at:])
    if not out.exists() or out.read_text() != text:
        out.write_text(text)
        print(f"wrote {out.relative_to(ROOT)}")


def write(find_links: str, uv_options: list[str]) -> None:
    digest = [INPUTS_LINE + inputs_digest()]
    source = ["--find-links", find_links]  # where torch's +cpu wheel is (no index has it but PyTorch's)
    dev = ["-c", str(DEV.relative_to(ROOT)), "--annotation-style", "line"]
    compile_(DEV, ["pyproject.toml"], ["--extra", "dev", *source, *uv_options], header=digest)
    compile_(RUNTIME, ["pyproject.toml"], [*dev, *source, "--no-emit-package", "torch"], header=digest)
    # torch with its dependencies (uv writes no hashes with --no-deps); they are runtime.txt's too
    compile_(TORCH_CPU, ["-"], [*dev, *source], stdin="torch\n", header=digest)
    torch = Version(parse(TORCH_CPU)["torch"][0])
    cuda = (
        "# torch for deploy/Dockerfile's cuda variant, from its CUDA index: written by `make lock` with the\n"
        "# version requirements/torch-cpu.txt pins. No hash: that index cannot be reached where the lock is\n"
        "# made (docs/dependencies.md); its dependencies come from requirements/runtime.txt.\n"
        f"{digest[0]}\n"
        f"torch=={torch.public}\n")
    if not TORCH_CUDA.exists() or TORCH_CUDA.read_text() != cuda:
        TORCH_CUDA.write_text(cuda)
        print(f"wrote {TORCH_CUDA.relative_to(ROOT)}")
    compile_(PIP, ["-"], [*uv_options], stdin="pip\n")
    roots = serving_requirements()
    compile_(BENTO, ["-"], [*dev, *source], stdin="\n".join(roots) + "\n", header=[
        *digest, SERVING_LINE + " ".join(roots),
        "# The bento's environment (bentofile.yaml): what the service and its init container import;",
        "# the same versions and hashes as requirements/dev.txt. torch is the +cpu wheel, from PyTorch:",
        f"--find-links {BENTO_TORCH_FIND_LINKS}"])


# --- check ----------------------------------------------------------------------------------------

def check() -> list[str]:
    errors: list[str] = []
    rel = lambda p: str(p.relative_to(ROOT))  # noqa: E731
    digest = inputs_digest()
    for path in (DEV, RUNTIME, TORCH_CPU, TORCH_CUDA, PIP, BENTO):
        if not path.is_file():
            errors.append(f"{rel(path)} is missing")
    if errors:
        return errors
    for path in (DEV, RUNTIME, TORCH_CPU, TORCH_CUDA, BENTO):
        if header_value(path, INPUTS_LINE) != digest:
            errors.append(f"{rel(path)} was not locked from this pyproject.toml's dependencies")

    locked = parse(DEV)
    env = {"python_version": PYTHON_VERSION, "sys_platform": "linux", "platform_system": "Linux",
           "platform_machine": "x86_64", "os_name": "posix"}
    project = pyproject()
    declared = [(r, "dependencies") for r in project["dependencies"]]
    declared += [(r, f"the {extra} extra") for extra, reqs in project.get("optional-dependencies", {}).items()
                 for r in reqs]
    for line, where in declared:
        req = Requirement(line)
        if req.marker and not req.marker.evaluate(env):
            continue
        pin = locked.get(canonicalize_name(req.name))
        if pin is None:
            errors.append(f"{req.name} ({where} in pyproject.toml) is not in {rel(DEV)}")
        elif not req.specifier.contains(pin[0], prereleases=True):
            errors.append(f"{rel(DEV)} pins {req.name}=={pin[0]}, outside pyproject's {req}")

    for path in (DEV, RUNTIME, TORCH_CPU, PIP, BENTO):
        for name, (version, hashes) in parse(path).items():
            if not hashes:
                errors.append(f"{rel(path)}: {name}=={version} has no hash")
            elif path is not PIP and locked.get(name) != (version, hashes):
                errors.append(f"{rel(path)}: {name}=={version} differs from {rel(DEV)}")
    runtime = set(parse(RUNTIME)) | set(parse(TORCH_CPU))
    for line in project["dependencies"]:
        if canonicalize_name(Requirement(line).name) not in runtime:
            errors.append(f"{Requirement(line).name} (a dependency) is in neither {rel(RUNTIME)} nor {rel(TORCH_CPU)}")
    cuda = parse(TORCH_CUDA).get("torch", ("", ()))[0]
    if cuda != Version(locked["torch"][0]).public:
        errors.append(f"{rel(TORCH_CUDA)} pins torch=={cuda}, the lock torch=={locked['torch'][0]}")

    roots = serving_requirements()
    if header_value(BENTO, SERVING_LINE) != " ".join(roots):
        errors.append(f"the service now imports from {' '.join(roots)}; {rel(BENTO)} was locked for "
                      f"{header_value(BENTO, SERVING_LINE)}")
    missing = set(roots) - set(parse(BENTO))
    if missing:
        errors.append(f"{rel(BENTO)} lacks {' '.join(sorted(missing))}")

    return errors


def check_environment() -> list[str]:
    """The environment the tests run in is the lock: a stale .venv would test something else."""
    errors = []
    for name, (version, _) in parse(DEV).items():
        try:
            installed = metadata.version(name)
        except metadata.PackageNotFoundError:
            installed = None
        if installed is None or Version(installed) != Version(version):
            errors.append(f"{name}=={version} is locked, {installed or 'nothing'} is installed")
    return errors


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="write or check the lock files")
    parser.add_argument("command", choices=["write", "check"])
    parser.add_argument("--find-links", default="/opt/wheels", help="where torch's +cpu wheel is")
    args, uv_options = parser.parse_known_args(argv)
    if args.command == "write":
        write(args.find_links, uv_options)
        return
    errors = check()
    for error in errors:
        print(f"lock-check: {error}", file=sys.stderr)
    if errors:
        print("lock-check: the lock files and pyproject.toml disagree; `make lock` rewrites them "
              "(docs/dependencies.md)", file=sys.stderr)
        raise SystemExit(1)
    stale = check_environment()
    for error in stale:
        print(f"lock-check: {error}", file=sys.stderr)
    if stale:
        print(f"lock-check: {sys.prefix} is not the lock: `make install` installs it", file=sys.stderr)
        raise SystemExit(1)
    print(f"lock-check: {len(parse(DEV))} locked packages agree with pyproject.toml")


if __name__ == "__main__":
    main()
