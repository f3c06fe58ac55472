"""The GitHub Actions workflows pass actionlint (built from the Go module proxy by scripts/build-go-tools.sh,
which `make setup` runs) and follow the release policy: tags only, least privilege, actions pinned by major tag,
the four images built from their own Dockerfiles, the chart pushed as an OCI artifact; CI runs the README's
commands. Each policy check is a function returning its problems, and is shown to find the mistake it looks for."""

import copy
import os
import re
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from reelscope_cli.stack.settings import repo_root

REPO = repo_root()
WORKFLOWS = REPO / ".github" / "workflows"
SERVICES = {"ingest", "transcode", "transcription", "notification"}
IMAGE_ACTIONS = {
    "docker/setup-buildx-action",
    "docker/login-action",
    "docker/metadata-action",
    "docker/build-push-action",
}


def _actionlint() -> Path:
    cache = Path(os.environ.get("REELSCOPE_CACHE") or Path.home() / ".cache" / "reelscope")
    binary = cache / "actionlint"
    assert binary.exists(), f"{binary} is missing: `make setup` builds it (scripts/build-go-tools.sh)"
    return binary


def _run_actionlint(*files: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(_actionlint()), "-no-color", "-oneline", *map(str, files)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _workflow(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((WORKFLOWS / name).read_text())
    return loaded


def _on(workflow: dict[Any, Any]) -> Any:
    return workflow.get("on", workflow.get(True))  # YAML 1.1 reads a bare `on` key as true


def _steps(workflow: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [(name, step) for name, job in workflow["jobs"].items() for step in job.get("steps", [])]


# --- checks -------------------------------------------------------------------------------------------------


def _pinning_problems(workflow: dict[str, Any]) -> list[str]:
    """Actions referenced by branch, by minor version or not at all: each `uses` names a major tag (vN)."""
    problems = []
    for job, step in _steps(workflow):
        uses = step.get("uses")
        if uses is not None and not re.fullmatch(r"[\w.-]+/[\w.-]+@v\d+", uses):
            problems.append(f"{job}: {uses} is not pinned to a major tag")
    return problems


def _release_problems(workflow: dict[str, Any]) -> list[str]:
    """A release that runs on anything but v* tags, grants more than contents: read at the top or packages: write
    beyond the publishing jobs, misses an image action, builds other than the four services from their own
    Dockerfiles, or does not package and push helm/reelscope to an OCI registry."""
    problems = []
    if _on(workflow) != {"push": {"tags": ["v*"]}}:
        problems.append(f"release runs on {_on(workflow)}, not only on v* tags")
    if workflow.get("permissions") != {"contents": "read"}:
        problems.append(f"top-level permissions {workflow.get('permissions')}, not contents: read")
    for name, job in workflow["jobs"].items():
        granted = job.get("permissions", {})
        publishes = any("push" in str(step) for step in job.get("steps", []))
        if set(granted.values()) - {"read"} and (not publishes or granted != {"contents": "read", "packages": "write"}):
            problems.append(f"job {name} is granted {granted}")
    steps = [step for _, step in _steps(workflow)]
    used = {str(step.get("uses", "")).split("@")[0] for step in steps}
    problems += [f"no {action}" for action in sorted(IMAGE_ACTIONS - used)]
    builds = [s for s in steps if str(s.get("uses", "")).startswith("docker/build-push-action@")]
    matrix = [job.get("strategy", {}).get("matrix", {}).get("service") for job in workflow["jobs"].values()]
    if not builds or set(next((m for m in matrix if m), [])) != SERVICES:
        problems.append(f"the image matrix is {matrix}, not the four services")
    for build in builds:
        inputs = build.get("with", {})
        if inputs.get("file") != "services/${{ matrix.service }}/Dockerfile" or inputs.get("context") != ".":
            problems.append(f"builds {inputs.get('file')} in {inputs.get('context')}")
        if inputs.get("push") is not True:
            problems.append("the images are not pushed")
    scripts = "\n".join(str(step.get("run", "")) for step in steps)
    if "helm package helm/reelscope" not in scripts or not re.search(r"helm push \S+ \"?oci://ghcr\.io/", scripts):
        problems.append("the chart is not packaged from helm/reelscope and pushed to oci://ghcr.io/")
    return problems


def _ci_problems(workflow: dict[str, Any]) -> list[str]:
    """CI that does not run `make lint` and `make test` on Ubuntu for pushes and pull requests."""
    problems = []
    if not {"push", "pull_request"} <= set(_on(workflow) or {}):
        problems.append(f"ci runs on {_on(workflow)}")
    runs = [str(step.get("run", "")).strip() for _, step in _steps(workflow)]
    problems += [f"ci does not run {command}" for command in ("make lint", "make test") if command not in runs]
    if any(not str(job.get("runs-on", "")).startswith("ubuntu-") for job in workflow["jobs"].values()):
        problems.append("ci runs off Ubuntu")
    return problems


# --- tests ---------------------------------------------------------------------------------------------------


@pytest.mark.unit
def test_actionlint_finds_nothing_in_the_workflows() -> None:
    """actionlint reports no finding in .github/workflows (the release and CI workflows are both there)."""
    files = sorted(WORKFLOWS.glob("*.yml"))
    assert {f.name for f in files} >= {"release.yml", "ci.yml"}
    result = _run_actionlint(*files)
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")


@pytest.mark.unit
def test_actionlint_reports_a_broken_workflow(tmp_path: Path) -> None:
    """actionlint flags an unknown input of a docker action, an undefined context property, a job needing a job
    that does not exist and (through shellcheck) an unquoted variable in a run: script: the lint can fail."""
    broken = tmp_path / "broken.yml"
    broken.write_text(
        "on: push\n"
        "jobs:\n"
        "  build:\n"
        "    runs-on: ubuntu-latest\n"
        "    needs: nowhere\n"
        "    steps:\n"
        "      - uses: docker/build-push-action@v7\n"
        "        with: {dockerfile: Dockerfile}\n"
        "      - run: echo ${{ github.nope }}\n"
        "      - run: cd $HOME/build\n"
    )
    result = _run_actionlint(broken)
    assert result.returncode == 1
    assert 'input "dockerfile" is not defined' in result.stdout
    assert 'property "nope" is not defined' in result.stdout
    assert 'needs job "nowhere" which does not exist' in result.stdout
    assert "SC2086" in result.stdout, "shellcheck (installed by make setup) checks run: scripts"


@pytest.mark.unit
def test_the_release_workflow_builds_the_images_and_pushes_the_chart() -> None:
    """On v* tags only, with contents: read and packages: write only where it pushes, the release builds the four
    services from their Dockerfiles with the docker actions (pinned by major tag) and pushes the chart to ghcr.io."""
    release = _workflow("release.yml")
    assert _release_problems(release) == []
    assert _pinning_problems(release) == []


@pytest.mark.unit
def test_ci_runs_lint_and_the_suite() -> None:
    """CI runs `make lint` and `make test` on Ubuntu for pushes and pull requests, with actions pinned by major tag."""
    ci = _workflow("ci.yml")
    assert _ci_problems(ci) == []
    assert _pinning_problems(ci) == []


@pytest.mark.unit
def test_each_check_finds_its_mistake() -> None:
    """Break the workflows one way at a time: the matching check reports it."""
    release, ci = _workflow("release.yml"), _workflow("ci.yml")
    jobs = release["jobs"]
    build = next(i for i, s in enumerate(jobs["images"]["steps"]) if "build-push" in s.get("uses", ""))
    mutations: list[Callable[[dict[str, Any]], object]] = [
        lambda w: w.update({"on": {"push": {"branches": ["main"]}}}),
        lambda w: w.update(permissions={"contents": "write"}),
        lambda w: w["jobs"]["version"].update(permissions={"packages": "write"}),
        lambda w: w["jobs"]["images"]["strategy"]["matrix"].update(service=["ingest"]),
        lambda w: w["jobs"]["images"]["steps"][build]["with"].update(file="deploy/compose/Dockerfile"),
        lambda w: w["jobs"]["images"]["steps"][build]["with"].update(push=False),
        lambda w: w["jobs"]["images"]["steps"].pop(build),
        lambda w: w["jobs"].pop("chart"),
    ]
    for mutate in mutations:
        broken = copy.deepcopy(release)
        mutate(broken)
        assert _release_problems(broken), mutate
    broken = copy.deepcopy(release)
    broken["jobs"]["images"]["steps"][0]["uses"] = "actions/checkout@main"
    assert _pinning_problems(broken)
    broken["jobs"]["images"]["steps"][0]["uses"] = "actions/checkout@v6.0.1"
    assert _pinning_problems(broken)
    broken = copy.deepcopy(ci)
    broken["jobs"]["test"]["steps"] = [s for s in broken["jobs"]["test"]["steps"] if s.get("run") != "make lint"]
    assert _ci_problems(broken)
    broken = copy.deepcopy(ci)
    broken["jobs"]["test"]["runs-on"] = "macos-latest"
    assert _ci_problems(broken)
