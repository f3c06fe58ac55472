"""The resource every signal carries: who emitted it, which version, which instance, which environment."""

from importlib.metadata import PackageNotFoundError, version

from opentelemetry.sdk.resources import OTELResourceDetector, ProcessResourceDetector, Resource

DEFAULT_ENVIRONMENT = "local"


def _distribution_version(distribution: str) -> str:
    try:
        return version(distribution)
    except PackageNotFoundError:
        return "0.0.0+unknown"


def build_resource(service_name: str, distribution: str) -> Resource:
    """Merge our defaults under what `OTEL_RESOURCE_ATTRIBUTES` and `OTEL_SERVICE_NAME` say (env wins).

    The SDK adds a random `service.instance.id` per process, which Prometheus shows as `instance`.
    """
    ours = Resource(
        {
            "service.name": service_name,
            "service.namespace": "reelscope",
            "service.version": _distribution_version(distribution),
            "deployment.environment.name": DEFAULT_ENVIRONMENT,
        }
    )
    # SDK defaults (telemetry.sdk.*, a random service.instance.id) < process info < ours < env.
    base = Resource.create().merge(ProcessResourceDetector().detect())
    return base.merge(ours).merge(OTELResourceDetector().detect())
