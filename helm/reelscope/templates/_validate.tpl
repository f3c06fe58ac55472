{{/* Refuse a configuration that cannot work, with a message saying what to set (rendered from components.yaml). */}}
{{- define "reelscope.validate" -}}
{{- $v := .Values -}}
{{- if and (not $v.rabbitmq.bundled) (not $v.rabbitmq.existingSecret) }}
{{- fail "rabbitmq.bundled is false: set rabbitmq.existingSecret to a Secret whose key rabbitmq.existingSecretKey (default amqp-url) holds the AMQP URL" }}
{{- end }}
{{- if and (eq $v.database.type "postgresql") (not $v.database.existingSecret) }}
{{- fail "database.type is postgresql: set database.existingSecret to a Secret whose key database.existingSecretKey (default database-url) holds postgresql+asyncpg://user:password@host:5432/db" }}
{{- end }}
{{- if and (eq $v.database.type "sqlite") $v.components.ingest.autoscaling.enabled }}
{{- fail "components.ingest.autoscaling needs database.type=postgresql: SQLite allows a single ingest replica" }}
{{- end }}
{{- if and (not $v.storage.bundled) (not $v.storage.s3.bucket) }}
{{- fail "storage.bundled is false: set storage.s3.bucket (and storage.s3.endpoint unless it is AWS S3)" }}
{{- end }}
{{- range $name := list "transcode" "transcription" }}
{{- $c := index $v.components $name }}
{{- if and $c.autoscaling.enabled (not $v.autoscaling.keda) }}
{{- fail (printf "components.%s.autoscaling needs KEDA: set autoscaling.keda=true once KEDA is installed" $name) }}
{{- end }}
{{- end }}
{{- if and (not $v.telemetry.collector.enabled) (not $v.telemetry.otlpEndpoint) }}
{{- fail "telemetry.collector.enabled is false: set telemetry.otlpEndpoint to your collector's OTLP/HTTP URL" }}
{{- end }}
{{- if $v.telemetry.collector.enabled }}
{{- if and (not $v.observability.tempo.enabled) (not $v.telemetry.collector.tempoEndpoint) }}
{{- fail "observability.tempo.enabled is false: set telemetry.collector.tempoEndpoint to your Tempo's OTLP gRPC host:port" }}
{{- end }}
{{- if and (not $v.observability.loki.enabled) (not $v.telemetry.collector.lokiEndpoint) }}
{{- fail "observability.loki.enabled is false: set telemetry.collector.lokiEndpoint to your Loki's OTLP URL (http://loki:3100/otlp)" }}
{{- end }}
{{- end }}
{{- if $v.observability.prometheus.enabled }}
{{- if not $v.rabbitmq.bundled }}
{{- fail "the bundled Prometheus scrapes the bundled RabbitMQ (prometheus/prometheus.yml): with rabbitmq.bundled=false turn observability.prometheus off and use kube-prometheus-stack (monitoring.*, deploy/k8s/)" }}
{{- end }}
{{- if not $v.telemetry.collector.enabled }}
{{- fail "the bundled Prometheus scrapes the in-chart collector: with telemetry.collector.enabled=false turn observability.prometheus off" }}
{{- end }}
{{- end }}
{{- /* Installing for real (not `helm template`): the Secrets named for external mode must exist. */}}
{{- /* A namespaced lookup (the release's default ServiceAccount), so users whose rights end at the namespace can
install: a cluster-scoped one would be Forbidden and abort the render. */}}
{{- if (lookup "v1" "ServiceAccount" .Release.Namespace "default") }}
{{- range $secret := list $v.apiKeys.existingSecret $v.webhooks.existingSecret $v.rabbitmq.existingSecret $v.database.existingSecret $v.storage.existingSecret $v.observability.alertmanager.existingSecret $v.observability.grafana.existingSecret }}
{{- if and $secret (not (lookup "v1" "Secret" $.Release.Namespace $secret)) }}
{{- fail (printf "Secret %q (named in the values) does not exist in namespace %s: create it before installing" $secret $.Release.Namespace) }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}

{{/* Grafana's URL for links in job views: the configured one, else the bundled Grafana's ingress host. */}}
{{- define "reelscope.grafanaUrl" -}}
{{- if .Values.config.grafanaUrl }}
{{- .Values.config.grafanaUrl }}
{{- else if and .Values.ingress.enabled .Values.ingress.grafanaHost .Values.observability.grafana.enabled }}
{{- printf "%s://%s" (ternary "https" "http" (not (empty .Values.ingress.tlsSecretName))) .Values.ingress.grafanaHost }}
{{- end }}
{{- end }}
