"""The four service Dockerfiles follow the image policy (multi-stage, pinned slim base, numeric non-root user, no
build tools and ffmpeg only where needed, the right package and entry point, the offline model inside the
transcription image) and pass hadolint; the build context holds the workspace and nothing else; `make images`
tags what it builds with each service's version. No Docker engine runs here: the files are parsed, not built.
Each check is a function returning its problems, and is shown to find the mistake it looks for."""

import io
import os
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

import pytest
from dockerfile_parse import DockerfileParser  # type: ignore[import-untyped]
from reelscope_cli.stack.settings import repo_root

REPO = repo_root()
SERVICES = ("ingest", "transcode", "transcription", "notification")
BASE_IMAGE = "python:3.11-slim-bookworm"
FFMPEG_SERVICES = {"transcode", "ingest"}  # transcode runs ffmpeg; ingest checks uploads with ffprobe
UV_IMAGE = "ghcr.io/astral-sh/uv:0.13.9"
VENV = "/opt/reelscope"  # UV_PROJECT_ENVIRONMENT in the build stage, copied whole into the final one
BUILD_TOOLS = re.compile(r"(?<![\w-])(gcc|g\+\+|clang|make|build-essential|python3?-dev|pip install|uv)(?![\w-])")


@dataclass(frozen=True)
class Stage:
    base: str
    name: str | None
    instructions: tuple[tuple[str, str], ...]  # (INSTRUCTION, value), comments dropped

    def values(self, instruction: str) -> list[str]:
        return [value for kind, value in self.instructions if kind == instruction]


def _stages(text: str) -> list[Stage]:
    """The Dockerfile's stages, in order, as dockerfile-parse reads its instructions."""
    parser = DockerfileParser(fileobj=io.BytesIO(text.encode()), env_replace=False)
    stages: list[Stage] = []
    current: list[tuple[str, str]] = []
    for item in parser.structure:
        kind, value = item["instruction"], item["value"]
        if kind == "FROM":
            words = [w for w in value.split() if not w.startswith("--")]
            name = words[2] if len(words) == 3 and words[1].lower() == "as" else None
            current = []
            stages.append(Stage(words[0], name, ()))
        elif kind != "COMMENT" and stages:
            current.append((kind, value))
            stages[-1] = Stage(stages[-1].base, stages[-1].name, tuple(current))
    return stages


def _dockerfile(service: str) -> str:
    return (REPO / "services" / service / "Dockerfile").read_text()


def _copy_from(value: str) -> str | None:
    match = re.search(r"--from=(\S+)", value)
    return match.group(1) if match else None


# --- checks -------------------------------------------------------------------------------------------------


def _stage_problems(stages: list[Stage]) -> list[str]:
    """Fewer than two stages, a final base other than the pinned slim image, or an unpinned external base."""
    problems = []
    if len(stages) < 2:
        problems.append(f"{len(stages)} stage(s): the image must be multi-stage")
    if stages and stages[-1].base != BASE_IMAGE:
        problems.append(f"final stage is FROM {stages[-1].base}, not {BASE_IMAGE}")
    names = {s.name for s in stages}
    for stage in stages:
        if stage.base not in names and stage.base not in {BASE_IMAGE, UV_IMAGE}:
            problems.append(f"FROM {stage.base}: external bases are {BASE_IMAGE} and {UV_IMAGE} only")
    return problems


def _user_problems(stages: list[Stage]) -> list[str]:
    """A final stage that runs as root, by name, or not as a numeric uid."""
    users = stages[-1].values("USER")
    if not users:
        return ["the final stage has no USER: it would run as root"]
    uid = users[-1].split(":")[0]
    if not uid.isdigit() or int(uid) == 0:
        return [f"USER {users[-1]}: the final user must be a numeric, non-zero uid"]
    return []


def _final_stage_problems(service: str, stages: list[Stage]) -> list[str]:
    """Build tools in the final stage (or the base image's pip, setuptools and wheel left in it); ffmpeg anywhere
    but the final stage of transcode and ingest, or missing there."""
    problems = []
    final = stages[-1]
    for kind, value in final.instructions:
        if kind in {"RUN", "COPY", "ADD"} and (tool := BUILD_TOOLS.search(value)):
            problems.append(f"final stage {kind} {value[:60]!r} brings in {tool.group(1)}")
        if kind in {"COPY", "ADD"} and _copy_from(value) not in {None, *[s.name for s in stages[:-1]]}:
            problems.append(f"final stage copies from {_copy_from(value)}")
    if not any(re.search(r"pip uninstall .*\bpip setuptools wheel\b", v) for v in final.values("RUN")):
        problems.append("the base image's pip, setuptools and wheel are left in the final stage")
    installs_ffmpeg = [bool(re.search(r"apt-get install[^&]*\bffmpeg\b", v)) for v in final.values("RUN")]
    if service in FFMPEG_SERVICES and not any(installs_ffmpeg):
        problems.append(f"{service}'s final stage does not install ffmpeg")
    mentions = [s for s in stages for k, v in s.instructions if k in {"RUN", "COPY", "ADD"} and "ffmpeg" in v]
    if service not in FFMPEG_SERVICES and mentions:
        problems.append(f"{service} brings in ffmpeg, which only transcode and ingest need")
    if service in FFMPEG_SERVICES and any(s is not final for s in mentions):
        problems.append("ffmpeg is installed in a stage that is not the final one")
    return problems


def _reference_problems(stages: list[Stage]) -> list[str]:
    """`COPY --from` naming anything but a stage defined before it."""
    problems = []
    for index, stage in enumerate(stages):
        defined = {s.name for s in stages[:index] if s.name}
        for value in stage.values("COPY"):
            source = _copy_from(value)
            if source is not None and source not in defined:
                problems.append(f"COPY --from={source}: no stage of that name before it")
    return problems


def _package_problems(service: str, stages: list[Stage]) -> list[str]:
    """uv sync that is not frozen, non-dev, non-editable and for this directory's package; foreign sources."""
    syncs = [v for s in stages for v in s.values("RUN") if "uv sync" in v]
    problems = [] if syncs else ["no uv sync"]
    for command in syncs:
        words = shlex.split(command)
        package = words[words.index("--package") + 1] if "--package" in words else None
        if package != f"reelscope-{service}":
            problems.append(f"uv sync --package {package} in services/{service}")
        problems += [
            f"uv sync without {flag}" for flag in ("--frozen", "--no-dev", "--no-editable") if flag not in words
        ]
    for stage in stages:
        for value in stage.values("COPY"):
            for source in shlex.split(value)[:-1]:
                if source.startswith("services/") and source.rstrip("/") != f"services/{service}":
                    problems.append(f"copies {source} into services/{service}'s image")
    return problems


def _runtime_problems(service: str, stages: list[Stage]) -> list[str]:
    """Wrong entry point, missing OCI labels, or a runtime that would write outside /tmp and /var/lib/reelscope."""
    final, problems = stages[-1], []
    if final.values("CMD") != [f'["python", "-m", "reelscope_{service}"]']:
        problems.append(f"CMD {final.values('CMD')} is not python -m reelscope_{service}")
    if final.values("ENTRYPOINT"):
        problems.append("ENTRYPOINT set: a pod's args could not replace the command whole")
    labels = " ".join(final.values("LABEL"))
    for key in ("title", "version", "source"):
        if f"org.opencontainers.image.{key}=" not in labels:
            problems.append(f"no org.opencontainers.image.{key} label")
    if f'org.opencontainers.image.title="reelscope-{service}"' not in labels:
        problems.append(f"the title label is not reelscope-{service}")
    env = " ".join(final.values("ENV"))
    for setting in ("PYTHONDONTWRITEBYTECODE=1", "HOME=/var/lib/reelscope", f"PATH={VENV}/bin:"):
        if setting not in env:
            problems.append(f"final stage ENV lacks {setting}")
    if not any("UV_COMPILE_BYTECODE=1" in v for s in stages[:-1] for v in s.values("ENV")):
        problems.append("bytecode is not compiled at build time (UV_COMPILE_BYTECODE=1)")
    return problems


def _all_problems(service: str, text: str) -> list[str]:
    stages = _stages(text)
    return [
        *_stage_problems(stages),
        *_user_problems(stages),
        *_final_stage_problems(service, stages),
        *_reference_problems(stages),
        *_package_problems(service, stages),
        *_runtime_problems(service, stages),
    ]


# --- tests ---------------------------------------------------------------------------------------------------


@pytest.mark.unit
@pytest.mark.parametrize("service", SERVICES)
def test_each_dockerfile_follows_the_image_policy(service: str) -> None:
    """services/<name>/Dockerfile is multi-stage on the pinned slim base, ends as uid 10001 with no build tools,
    has ffmpeg only in transcode and ingest, copies only from its own stages, installs its own package and runs it."""
    assert _all_problems(service, _dockerfile(service)) == []
    assert (REPO / "services" / service / "src" / f"reelscope_{service}" / "__main__.py").is_file()
    assert _stages(_dockerfile(service))[-1].values("USER") == ["10001"]


@pytest.mark.unit
def test_each_check_finds_its_mistake() -> None:
    """Break a Dockerfile one way at a time: the policy reports each mistake."""
    transcode, ingest, transcription = _dockerfile("transcode"), _dockerfile("ingest"), _dockerfile("transcription")
    final_from = f"FROM {BASE_IMAGE}\n"
    mutations = {
        "single stage": ("ingest", ingest[ingest.rindex(final_from) :]),
        "other base": ("ingest", ingest.replace(final_from, "FROM python:3.11\n")),
        "root user": ("ingest", ingest.replace("USER 10001", "USER 0")),
        "named user": ("ingest", ingest.replace("USER 10001", "USER reelscope")),
        "no user": ("ingest", ingest.replace("USER 10001\n", "")),
        "gcc": ("ingest", ingest.replace("RUN groupadd", "RUN apt-get install -y gcc && groupadd")),
        "uv in final": ("ingest", ingest + "COPY --from=uv /uv /usr/local/bin/uv\n"),
        "ffmpeg elsewhere": (
            "transcription",
            transcription.replace("RUN groupadd", "RUN apt-get install -y ffmpeg && groupadd"),
        ),
        "pip kept": ("ingest", ingest.replace("RUN python -m pip uninstall", "RUN python -m pip list")),
        "pip install": ("ingest", ingest.replace("RUN groupadd", "RUN pip install gunicorn && groupadd")),
        "no ffmpeg": ("transcode", transcode.replace("--no-install-recommends ffmpeg", "--no-install-recommends")),
        "no ffprobe": ("ingest", ingest.replace("--no-install-recommends ffmpeg", "--no-install-recommends")),
        "undefined stage": ("ingest", ingest.replace("COPY --from=build", "COPY --from=builder")),
        "wrong package": ("ingest", ingest.replace("--package reelscope-ingest", "--package reelscope-transcode")),
        "editable": ("ingest", ingest.replace(" --no-editable", "")),
        "foreign source": ("ingest", ingest.replace("COPY libs libs", "COPY services/transcode services/transcode")),
        "wrong module": ("ingest", ingest.replace('"reelscope_ingest"]', '"reelscope_transcode"]')),
        "no label": ("ingest", ingest.replace("org.opencontainers.image.source", "org.example.source")),
        "writes bytecode": ("ingest", ingest.replace("PYTHONDONTWRITEBYTECODE=1", "PYTHONDONTWRITEBYTECODE=")),
    }
    for mistake, (service, text) in mutations.items():
        assert _all_problems(service, text), mistake


@pytest.mark.unit
def test_the_transcription_image_carries_the_model_it_checks() -> None:
    """The model directory the transcription Dockerfile checks is where the locked pocketsphinx wheel puts its
    US English model in the uv environment (here the workspace's), and holds the files the build tests for."""
    stages = _stages(_dockerfile("transcription"))
    final = stages[-1]
    (model_arg,) = [v for v in final.values("ARG") if v.startswith("POCKETSPHINX_MODEL=")]
    model = model_arg.split("=", 1)[1]
    python = f"python{sys.version_info.major}.{sys.version_info.minor}"
    assert BASE_IMAGE.startswith(f"python:{sys.version_info.major}.{sys.version_info.minor}-")
    assert model.startswith(f"{VENV}/lib/{python}/site-packages/pocketsphinx/")
    local = Path(sys.prefix) / Path(model).relative_to(VENV)
    import pocketsphinx

    assert Path(pocketsphinx.get_model_path("en-us")) == local
    checked = re.findall(r'test -s "\$\{POCKETSPHINX_MODEL\}/([^"]+)"', " ".join(final.values("RUN")))
    assert {"en-us/mdef", "en-us.lm.bin", "cmudict-en-us.dict"} <= set(checked)
    assert all((local / name).stat().st_size > 0 for name in checked)
    assert any("Decoder(" in v for v in final.values("RUN")), "the build loads the model once"


@pytest.mark.unit
def test_hadolint_finds_nothing_in_the_dockerfiles_and_flags_a_bad_one(tmp_path: Path) -> None:
    """hadolint (the wheel's binary) passes the four Dockerfiles at its strictest threshold, and does report a
    Dockerfile with an unpinned base and a `cd` in RUN."""
    hadolint = Path(sys.prefix) / "bin" / "hadolint"
    dockerfiles = [str(REPO / "services" / s / "Dockerfile") for s in SERVICES]
    result = subprocess.run(
        [str(hadolint), "--no-color", "--failure-threshold", "style", *dockerfiles],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python:latest\nRUN cd /tmp && touch x\n")
    result = subprocess.run([str(hadolint), "--no-color", str(bad)], capture_output=True, text=True, check=False)
    assert result.returncode == 1
    assert "DL3007" in result.stdout
    assert "DL3003" in result.stdout


# --- the build context (.dockerignore) -----------------------------------------------------------------------


def _pattern(pattern: str) -> re.Pattern[str]:
    """A .dockerignore pattern as Docker matches it (moby/patternmatcher): `**` spans directories, `*` and `?`
    stay within one, and a pattern that matches a directory matches everything under it."""
    body = ""
    for token in re.split(r"(\*\*/|\*\*|\*|\?)", os.path.normpath(pattern).lstrip("/")):
        body += {"**/": "(.*/)?", "**": ".*", "*": "[^/]*", "?": "[^/]"}.get(token, re.escape(token))
    return re.compile(f"^{body}(/.*)?$")


def _in_context(path: str, dockerignore: str) -> bool:
    included = True
    for line in dockerignore.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            negated = line.startswith("!")
            if _pattern(line.removeprefix("!")).match(path):
                included = negated
    return included


def _context_problems(dockerignore: str) -> list[str]:
    """Files the Dockerfiles copy that the context leaves out, and local clutter it lets in."""
    wanted = [
        "pyproject.toml",
        "uv.lock",
        "libs/storage/pyproject.toml",
        "libs/telemetry/src/reelscope_telemetry/__init__.py",
    ]
    wanted += [f"services/{s}/src/reelscope_{s}/__main__.py" for s in SERVICES]
    unwanted = [
        *(".venv/bin/python", ".git/HEAD", ".run/stack.json", "helm/reelscope/Chart.yaml", "README.md"),
        *("libs/storage/tests/test_fs.py", "services/ingest/src/reelscope_ingest/__pycache__/main.cpython-311.pyc"),
        *("services/transcode/Dockerfile", "tools/cli/pyproject.toml"),
    ]
    problems = [f"{p} is left out of the context" for p in wanted if not _in_context(p, dockerignore)]
    return problems + [f"{p} is sent in the context" for p in unwanted if _in_context(p, dockerignore)]


@pytest.mark.unit
def test_the_build_context_is_the_workspace_and_nothing_else() -> None:
    """The root .dockerignore lets in every path the Dockerfiles copy (which exist) and keeps out the virtualenv,
    git, caches, tests, other files of the repo and the Dockerfiles themselves."""
    dockerignore = (REPO / ".dockerignore").read_text()
    assert _context_problems(dockerignore) == []
    assert not list(REPO.glob("services/*/Dockerfile.dockerignore")), "one root .dockerignore, not per Dockerfile"
    for service in SERVICES:
        copies = [v for s in _stages(_dockerfile(service)) for v in s.values("COPY") if _copy_from(v) is None]
        assert copies
        for value in copies:
            for source in shlex.split(value)[:-1]:
                assert (REPO / source).exists(), source
                assert _in_context(source.rstrip("/"), dockerignore), source
    for line, path in [
        ("**", "README.md"),
        ("!libs/", "libs/storage/pyproject.toml"),
        ("**/tests", "libs/storage/tests"),
    ]:
        broken = dockerignore.replace(f"\n{line}\n", "\n", 1)
        assert broken != dockerignore
        assert any(problem.startswith(path) for problem in _context_problems(broken)), line


# --- the build stage, run without Docker ------------------------------------------------------------------------


def _run_build_stage(service: str, root: Path) -> Path:
    """Do what the build stage does, outside Docker: copy its COPY sources as the context holds them, then run
    its `uv sync` commands with its ENV, the environment going to `root` instead of /opt/reelscope."""
    (build,) = [s for s in _stages(_dockerfile(service)) if s.name == "build"]
    dockerignore = (REPO / ".dockerignore").read_text()
    env = {**os.environ, **dict(pair.split("=", 1) for v in build.values("ENV") for pair in shlex.split(v))}
    env["UV_PROJECT_ENVIRONMENT"] = str(root)
    env.pop("VIRTUAL_ENV", None)  # the test run's own environment, which uv would otherwise warn about
    workdir = root.parent / "src"
    workdir.mkdir()
    for kind, value in build.instructions:
        if kind == "COPY" and _copy_from(value) is None:
            *sources, destination = shlex.split(value)
            for source in sources:
                files = [REPO / source] if (REPO / source).is_file() else (REPO / source).rglob("*")
                for file in files:
                    relative = file.relative_to(REPO).as_posix()
                    if file.is_file() and _in_context(relative, dockerignore):
                        target = workdir / destination / relative.removeprefix(source).lstrip("/")
                        if len(sources) > 1 or destination.endswith("/"):
                            target = workdir / destination / Path(relative).name
                        target.parent.mkdir(parents=True, exist_ok=True)
                        shutil.copyfile(file, target)
        elif kind == "RUN":
            assert value.startswith("uv sync "), f"build stage runs {value!r}: teach this test what it does"
            result = subprocess.run(
                shlex.split(value), cwd=workdir, env=env, capture_output=True, text=True, timeout=300
            )
            assert result.returncode == 0, f"{value}: {result.stderr}"
    return root


def _workspace_libs(package: str) -> set[str]:
    """The workspace libs (libs/<name>) a package depends on, directly or through other libs."""
    found: set[str] = set()
    pending = [package]
    while pending:
        project = tomllib.loads((REPO / pending.pop() / "pyproject.toml").read_text())["project"]
        for requirement in project.get("dependencies", []):
            match = re.match(r"reelscope-([a-z]+)", requirement)
            if match and (REPO / "libs" / match[1]).is_dir() and match[1] not in found:
                found.add(match[1])
                pending.append(f"libs/{match[1]}")
    return found


@pytest.mark.integration
@pytest.mark.parametrize("service", SERVICES)
def test_the_build_stage_yields_an_environment_the_final_stage_accepts(service: str, tmp_path: Path) -> None:
    """The build stage's own commands, on the context .dockerignore lets through, produce an environment in which
    the final stage's build-time checks pass (the service imports; transcription's model files exist and load),
    and running them writes nothing into it (bytecode was compiled at build time)."""
    root = _run_build_stage(service, tmp_path / "opt-reelscope")
    before = sorted(root.rglob("*"))
    final = _stages(_dockerfile(service))[-1]
    args = {k: v for k, _, v in (a.partition("=") for a in final.values("ARG"))}
    env = {**os.environ, "PATH": f"{root / 'bin'}:{os.environ['PATH']}", "PYTHONDONTWRITEBYTECODE": "1"}
    env |= {k: v.replace(VENV, str(root)) for k, v in args.items()}
    checks = [v for v in final.values("RUN") if "python -c" in v]
    assert checks
    for check in checks:
        result = subprocess.run(["/bin/sh", "-ec", check], cwd=tmp_path, env=env, capture_output=True, timeout=120)
        assert result.returncode == 0, result.stderr.decode()
    assert sorted(root.rglob("*")) == before
    assert (root / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}" / "site-packages").is_dir()
    installed = {p.name.split("-")[0] for p in root.glob("lib/*/site-packages/reelscope_*.dist-info")}
    libs = _workspace_libs(f"services/{service}")
    assert installed == {f"reelscope_{service}", *(f"reelscope_{lib}" for lib in libs)}


# --- make images ---------------------------------------------------------------------------------------------


def _run_build_script(path: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["/bin/bash", str(REPO / "scripts" / "build-images.sh")],
        env={**os.environ, "PATH": path, **env},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def _stub_docker(bin_dir: Path, calls: Path, info_status: int) -> None:
    bin_dir.mkdir(exist_ok=True)
    (bin_dir / "docker").write_text(f'#!/bin/sh\necho "$*" >> {calls}\n[ "$1" = info ] && exit {info_status}\nexit 0\n')
    (bin_dir / "docker").chmod(0o755)


@pytest.mark.unit
def test_make_images_builds_the_four_images_tagged_with_their_versions(tmp_path: Path) -> None:
    """With an engine answering, `make images` builds each services/<name>/Dockerfile from the repo root as
    reelscope/<name>:<its pyproject version>, under $REGISTRY when set, passing the version as a build arg."""
    calls = tmp_path / "calls"
    _stub_docker(tmp_path / "bin", calls, info_status=0)
    path = f"{tmp_path / 'bin'}:{os.environ['PATH']}"
    assert _run_build_script(path, REGISTRY="ghcr.io/acme/").returncode == 0
    assert _run_build_script(path, REGISTRY="").returncode == 0
    builds = [shlex.split(line) for line in calls.read_text().splitlines() if line.startswith("build ")]
    assert len(builds) == 2 * len(SERVICES)
    for service in SERVICES:
        version = tomllib.loads((REPO / "services" / service / "pyproject.toml").read_text())["project"]["version"]
        for prefix in ("ghcr.io/acme/reelscope", "reelscope"):
            (build,) = [b for b in builds if b[b.index("--tag") + 1] == f"{prefix}/{service}:{version}"]
            assert build[build.index("--file") + 1] == f"services/{service}/Dockerfile"
            assert f"VERSION={version}" in build
            assert build[-1] == "."
    # Run as a top-level make even under `make test` (whose MAKEFLAGS/MAKELEVEL add "Entering directory" lines).
    clean_env = {k: v for k, v in os.environ.items() if k not in {"MAKEFLAGS", "MAKELEVEL", "MFLAGS"}}
    dry_run = subprocess.run(
        ["make", "--no-print-directory", "-n", "images"], cwd=REPO, env=clean_env, capture_output=True, text=True,
        check=True,
    )  # fmt: skip
    assert dry_run.stdout.strip() == "bash scripts/build-images.sh"


@pytest.mark.unit
def test_make_images_fails_in_one_line_without_docker(tmp_path: Path) -> None:
    """Without docker on PATH `make images` exits 1 with one line saying so; with docker but no engine answering,
    it exits 1 saying that, and builds nothing."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "dirname").symlink_to("/usr/bin/dirname")
    result = _run_build_script(str(bin_dir))
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1
    assert "docker is not installed" in result.stderr
    calls = tmp_path / "calls"
    _stub_docker(bin_dir, calls, info_status=1)
    result = _run_build_script(f"{bin_dir}:{os.environ['PATH']}")
    assert result.returncode == 1
    assert "no Docker engine answers" in result.stderr
    assert calls.read_text().split() == ["info"]
