{{/* Pieces the bundled backends (bundled-*.yaml: RabbitMQ, MinIO, Tempo, Loki, Prometheus, Alertmanager, Grafana)
share. Each backend is one StatefulSet of one pod with its data on a volume from volumeClaimTemplates, a Service and
a PodDisruptionBudget. */}}

{{/* PodDisruptionBudget of a single-pod backend: a node drain may move it (maxUnavailable 1), nothing evicts it
twice at once. Call with (dict "ctx" $ "component" NAME). */}}
{{- define "reelscope.bundled.podDisruptionBudget" -}}
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: {{ include "reelscope.fullname" .ctx }}-{{ .component }}
  labels:
    {{- include "reelscope.labels" . | nindent 4 }}
spec:
  maxUnavailable: 1
  selector:
    matchLabels:
      {{- include "reelscope.selectorLabels" . | nindent 6 }}
{{- end }}

{{/* The StatefulSet's data volume (a PersistentVolumeClaim per pod, named data-<statefulset>-0). Its labels are the
selector labels only: volumeClaimTemplates cannot change after install, so nothing version-dependent goes in, and
size/storageClass are fixed at install (resize the claim itself). Call with
(dict "ctx" $ "component" NAME "persistence" VALUES). */}}
{{- define "reelscope.bundled.volumeClaimTemplates" -}}
- metadata:
    name: data
    labels:
      {{- include "reelscope.selectorLabels" . | nindent 6 }}
  spec:
    accessModes: [ReadWriteOnce]
    {{- with .persistence.storageClass }}
    storageClassName: {{ . }}
    {{- end }}
    resources:
      requests:
        storage: {{ .persistence.size }}
{{- end }}

{{/* Startup, liveness and readiness probes over HTTP on a named port. Call with (dict "port" NAME "live" PATH
"ready" PATH "startupSeconds" N): the startup probe (on the readiness path) allows N seconds for a first start
(WAL replay, database migrations), then liveness takes over. */}}
{{- define "reelscope.bundled.httpProbes" -}}
startupProbe:
  httpGet: {path: {{ .ready }}, port: {{ .port }}}
  periodSeconds: 5
  timeoutSeconds: 3
  failureThreshold: {{ div .startupSeconds 5 }}
livenessProbe:
  httpGet: {path: {{ .live }}, port: {{ .port }}}
  periodSeconds: 15
  timeoutSeconds: 5
  failureThreshold: 4
readinessProbe:
  httpGet: {path: {{ .ready }}, port: {{ .port }}}
  periodSeconds: 10
  timeoutSeconds: 5
  failureThreshold: 3
{{- end }}

{{/* A Secret value generated once and read back from the cluster afterwards, so an upgrade keeps it (`helm template`,
which cannot read the cluster, renders a fresh one). Call with (dict "ctx" $ "name" SECRET "key" KEY "length" N). */}}
{{- define "reelscope.bundled.keptRandom" -}}
{{- $existing := lookup "v1" "Secret" .ctx.Release.Namespace .name -}}
{{- if and $existing (hasKey ($existing.data | default dict) .key) -}}
{{- index $existing.data .key | b64dec -}}
{{- else -}}
{{- randAlphaNum .length -}}
{{- end -}}
{{- end }}

{{/* A memory quantity (512Mi, 1Gi, 1.5G, 1073741824) in bytes, for configs that want a plain number. */}}
{{- define "reelscope.bundled.bytes" -}}
{{- $q := .quantity -}}
{{- if kindIs "float64" $q }}{{ $q = int64 $q }}{{ end }}{{/* a plain number in a values file */}}
{{- $q = toString $q -}}
{{- $number := regexFind "^[0-9]+(\\.[0-9]+)?" $q -}}
{{- $unit := trimPrefix $number $q -}}
{{- $factors := dict "" 1.0 "k" 1e3 "M" 1e6 "G" 1e9 "T" 1e12 "Ki" 1024.0 "Mi" 1048576.0 "Gi" 1073741824.0 "Ti" 1099511627776.0 -}}
{{- if or (not $number) (not (hasKey $factors $unit)) }}
{{- fail (printf "%s must be a memory quantity such as 1Gi (got %q)" .what $q) }}
{{- end }}
{{- int64 (floor (mulf (float64 $number) (index $factors $unit))) }}
{{- end }}
