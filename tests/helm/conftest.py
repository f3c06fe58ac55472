"""The chart rendered once per session: Helm (built by `make setup`, cached outside the repo) runs
`helm template` for each helm/reelscope/ci/*-values.yaml and each Kubernetes version we support, and the tests read
the parsed objects. Helm missing is a failure naming `make setup`, never a skip: an unrendered chart proves nothing."""

import os
import re
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
CHART = REPO / "helm" / "reelscope"
CI_DIR = CHART / "ci"
CI_FILES = sorted(p.name for p in CI_DIR.glob("*-values.yaml"))
RELEASE = "rs"
FULLNAME = f"{RELEASE}-reelscope"
# Helm warns about every file under files/ because those are symlinks to the repo's configs (on purpose).
SYMLINK_WARNING = re.compile(r"^walk\.go:\d+: found symbolic link in path: .*$\n?", re.MULTILINE)


def tested_kube_versions() -> list[str]:
    """The Kubernetes versions Chart.yaml says `make test` validates against ("1.29, 1.37"), as x.y.0."""
    chart = yaml.safe_load((CHART / "Chart.yaml").read_text())
    listed = chart["annotations"]["reelscope.io/tested-kubernetes-versions"]
    return [f"{v.strip()}.0" for v in listed.split(",")]


KUBE_VERSIONS = tested_kube_versions()
OLDEST, NEWEST = KUBE_VERSIONS[0], KUBE_VERSIONS[-1]

Objects = list[dict[str, Any]]
Helm = Callable[..., subprocess.CompletedProcess[str]]
Render = Callable[..., Objects]


def helm_binary() -> Path:
    """Where scripts/build-go-tools.sh leaves Helm (the same cache variable as the script)."""
    cache = Path(os.environ.get("REELSCOPE_CACHE") or Path.home() / ".cache" / "reelscope")
    return cache / "helm"


@pytest.fixture(scope="session")
def helm() -> Helm:
    """Runs Helm with the given arguments from the repo root; stderr without the expected symlink warnings."""
    binary = helm_binary()
    if not os.access(binary, os.X_OK):
        pytest.fail(f"Helm is not built ({binary} is missing or not executable): run `make setup`")

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [str(binary), *args], cwd=REPO, capture_output=True, text=True, timeout=120, check=False
        )
        result.stderr = SYMLINK_WARNING.sub("", result.stderr)
        return result

    return run


@dataclass
class Renderer:
    """`helm template` of the chart with a ci values file, parsed, cached per (file, Kubernetes version)."""

    helm: Helm
    cache: dict[tuple[str, str], Objects] = field(default_factory=dict)

    def __call__(self, ci_file: str, kube_version: str = NEWEST) -> Objects:
        key = (ci_file, kube_version)
        if key not in self.cache:
            result = self.helm(
                "template", RELEASE, str(CHART), "-f", str(CI_DIR / ci_file), "--kube-version", kube_version
            )
            assert result.returncode == 0, f"helm template -f ci/{ci_file} failed:\n{result.stderr}"
            self.cache[key] = [doc for doc in yaml.safe_load_all(result.stdout) if doc is not None]
        return self.cache[key]


@pytest.fixture(scope="session")
def render(helm: Helm) -> Renderer:
    """The session's renderer: each ci file is rendered at most once per Kubernetes version."""
    return Renderer(helm)


@pytest.fixture(params=CI_FILES)
def ci_file(request: pytest.FixtureRequest) -> str:
    """Each helm/reelscope/ci/*-values.yaml in turn."""
    name: str = request.param
    return name


@pytest.fixture(params=KUBE_VERSIONS)
def kube_version(request: pytest.FixtureRequest) -> str:
    """The oldest and the newest Kubernetes version the chart is tested against."""
    version: str = request.param
    return version


@pytest.fixture
def objects(render: Renderer, ci_file: str) -> Objects:
    """Every object the chart renders with one ci file (newest Kubernetes version), hooks and tests included."""
    return render(ci_file)
