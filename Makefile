# The targets people type. Each is a few lines calling scripts or Python entry points.
.PHONY: setup up down status demo test test-faults bench bench-media lint compose-up compose-down images

setup:  ## install system packages, the Python workspace and the collector (idempotent)
	@bash scripts/setup.sh

up: setup  ## start the local stack (RabbitMQ, collector, Prometheus, the four services)
	@uv run reelscope-stack up

down:  ## stop exactly the processes `make up` started
	@uv run --frozen reelscope-stack down

status:
	@uv run --frozen reelscope-stack status

demo: setup  ## start the stack, run one job end to end, show its result, trace, logs and metrics
	@uv run reelscope-demo

load: setup  ## steady load on the local stack: RATE jobs/s (default 1) for DURATION s (default 60), then a summary
	@uv run reelscope load --rate $(or $(RATE),1) --duration $(or $(DURATION),60)

test: setup  ## the whole suite: unit, integration (real RabbitMQ, collector, Prometheus) and end-to-end
	@uv run pytest

test-faults: setup  ## the fault-injection suite at 1000 jobs (make test runs it at 200); prints its figures
	@REELSCOPE_FAULT_JOBS=$${REELSCOPE_FAULT_JOBS:-1000} uv run pytest tests/faults -q

bench-media: setup  ## media figures: stage vs hand-written ffmpeg, single-pass vs per-rendition, ASR WER and RTF
	@uv run reelscope-bench media

bench: setup  ## every benchmark in one go on the local stack (about 10 minutes on 2 cores): bench/results/latest.{json,md}
	@uv run reelscope-bench all

lint:
	@uv run ruff check . && uv run ruff format --check . && uv run mypy libs/*/src services/*/src tools/*/src

compose-up:  ## the full stack in Docker (docker-compose.yml): services, collector, Prometheus, Alertmanager, Tempo, Loki, Grafana
	@bash deploy/compose/compose.sh up

compose-down:  ## stop the Docker stack (its volumes are kept)
	@bash deploy/compose/compose.sh down

images:  ## the four service images from services/<name>/Dockerfile, tagged reelscope/<name>:<version> (REGISTRY=host/org prefixes them)
	@bash scripts/build-images.sh
