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
{{- /* Installing for real (not `helm template`): the Secrets named for external mode must exist. */}}
{{- if (lookup "v1" "Namespace" "" .Release.Namespace) }}
{{- range $secret := list $v.rabbitmq.existingSecret $v.database.existingSecret $v.storage.existingSecret $v.observability.alertmanager.existingSecret $v.observability.grafana.existingSecret }}
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
