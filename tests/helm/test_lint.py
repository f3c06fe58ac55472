"""`helm lint --strict` passes for every ci values file on the oldest and newest Kubernetes we support, and the ci
directory holds the variants issue 6 asks for, each saying what it proves."""

import kubernetes_validate.utils
import pytest
import yaml

from .conftest import CHART, CI_DIR, CI_FILES, KUBE_VERSIONS, Helm

pytestmark = pytest.mark.unit

REQUIRED_VARIANTS = {"default-values.yaml", "bundled-values.yaml", "external-values.yaml", "minimal-values.yaml"}


def test_ci_directory_holds_the_required_variants() -> None:
    """ci/ has the defaults, bundled-everything, external-production and minimal variants."""
    assert set(CI_FILES) >= REQUIRED_VARIANTS


def test_each_ci_file_starts_by_saying_what_it_proves(ci_file: str) -> None:
    """Every ci values file opens with a comment explaining the configuration it proves installable."""
    first_line = (CI_DIR / ci_file).read_text().splitlines()[0]
    assert first_line.startswith("# Proves "), f"ci/{ci_file} starts with {first_line!r}"


def test_helm_lint_strict_passes(helm: Helm, ci_file: str, kube_version: str) -> None:
    """`helm lint --strict` finds nothing to complain about with this values file on this Kubernetes version."""
    result = helm("lint", "--strict", str(CHART), "-f", str(CI_DIR / ci_file), "--kube-version", kube_version)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 chart(s) linted, 0 chart(s) failed" in result.stdout


def test_lint_fails_on_a_broken_values_file(helm: Helm) -> None:
    """The lint check can fail: a values file with an unknown key is refused by `helm lint --strict`."""
    result = helm("lint", "--strict", str(CHART), "--set", "componets.ingest.replicas=2", "--kube-version", "1.29.0")
    assert result.returncode != 0
    assert "componets" in result.stdout + result.stderr


def test_tested_versions_are_the_oldest_supported_and_the_newest_schemas_available() -> None:
    """Chart.yaml's tested versions are its kubeVersion floor and the newest Kubernetes kubernetes-validate knows."""
    chart = yaml.safe_load((CHART / "Chart.yaml").read_text())
    floor = chart["kubeVersion"].removeprefix(">=").removesuffix("-0")
    assert KUBE_VERSIONS[0] == floor, f"kubeVersion {chart['kubeVersion']} vs tested {KUBE_VERSIONS}"
    newest = kubernetes_validate.utils.major_minor(kubernetes_validate.utils.latest_version())
    tested = kubernetes_validate.utils.major_minor(KUBE_VERSIONS[-1])
    assert tested == newest, f"kubernetes-validate bundles Kubernetes {newest}, Chart.yaml tests up to {tested}"
