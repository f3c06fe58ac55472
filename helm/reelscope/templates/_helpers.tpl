{{/* Names, labels and the pieces every Reelscope pod shares. */}}

{{- define "reelscope.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 40 | trimSuffix "-" }}
{{- end }}

{{/* Object-name prefix: <release>-reelscope, or the release name alone when it already says reelscope. */}}
{{- define "reelscope.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 40 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 40 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 40 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "reelscope.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Selector labels: name, instance and component only. They never change between releases, because a
Deployment's selector is immutable (UPGRADING.md). Call with (dict "ctx" $ "component" "ingest"). */}}
{{- define "reelscope.selectorLabels" -}}
app.kubernetes.io/name: {{ include "reelscope.name" .ctx }}
app.kubernetes.io/instance: {{ .ctx.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{/* Every object's labels: the selector labels plus version, chart and manager. */}}
{{- define "reelscope.labels" -}}
{{ include "reelscope.selectorLabels" . }}
app.kubernetes.io/version: {{ .ctx.Chart.AppVersion | quote }}
app.kubernetes.io/part-of: reelscope
app.kubernetes.io/managed-by: {{ .ctx.Release.Service }}
helm.sh/chart: {{ include "reelscope.chart" .ctx }}
{{- with .ctx.Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* Pod template labels: the selector labels and part-of, without version and chart, so a chart or app version bump
alone never restarts pods (the checksum annotations roll them when their configuration really changes). Call with
the same dict as reelscope.labels; a "c" entry's podLabels are added. */}}
{{- define "reelscope.podLabels" -}}
{{ include "reelscope.selectorLabels" . }}
app.kubernetes.io/part-of: reelscope
{{- with .ctx.Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- with (and .c .c.podLabels) }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* A Reelscope image: <registry>/<repository>/<component>:<tag or appVersion>. */}}
{{- define "reelscope.image" -}}
{{- $image := .ctx.Values.image -}}
{{- printf "%s/%s/%s:%s" $image.registry $image.repository .component (default .ctx.Chart.AppVersion $image.tag) }}
{{- end }}

{{/* Restricted pod security (Pod Security Standards "restricted"): the pod level. */}}
{{- define "reelscope.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: {{ .uid | default 10001 }}
runAsGroup: {{ .uid | default 10001 }}
fsGroup: {{ .uid | default 10001 }}
fsGroupChangePolicy: OnRootMismatch
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{/* Restricted pod security: the container level (read-only root, no capabilities, no escalation). */}}
{{- define "reelscope.containerSecurityContext" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
runAsNonRoot: true
capabilities:
  drop: [ALL]
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{/* Spread a component's pods over nodes and zones when the cluster has them (never blocks scheduling). */}}
{{- define "reelscope.topologySpread" -}}
- maxSkew: 1
  topologyKey: kubernetes.io/hostname
  whenUnsatisfiable: ScheduleAnyway
  labelSelector:
    matchLabels:
      {{- include "reelscope.selectorLabels" . | nindent 6 }}
- maxSkew: 1
  topologyKey: topology.kubernetes.io/zone
  whenUnsatisfiable: ScheduleAnyway
  labelSelector:
    matchLabels:
      {{- include "reelscope.selectorLabels" . | nindent 6 }}
{{- end }}

{{/* The OTLP endpoint the services export to: an external collector, else the in-chart one. */}}
{{- define "reelscope.otlpEndpoint" -}}
{{- if .Values.telemetry.otlpEndpoint }}
{{- .Values.telemetry.otlpEndpoint }}
{{- else }}
{{- printf "http://%s-otel-collector:4318" (include "reelscope.fullname" .) }}
{{- end }}
{{- end }}

{{/* Name of the Secret holding the AMQP URL (bundled: the chart's; external: the user's). */}}
{{- define "reelscope.rabbitmqSecret" -}}
{{- if .Values.rabbitmq.bundled }}{{ include "reelscope.fullname" . }}-rabbitmq{{ else }}{{ .Values.rabbitmq.existingSecret }}{{ end }}
{{- end }}

{{- define "reelscope.storageSecret" -}}
{{- if .Values.storage.bundled }}{{ include "reelscope.fullname" . }}-minio{{ else }}{{ .Values.storage.existingSecret }}{{ end }}
{{- end }}

{{/* termination grace = drain time + telemetry flush + preStop + margin, so the kubelet never kills a drain. */}}
{{- define "reelscope.terminationGrace" -}}
{{- add .Values.config.shutdownGraceSeconds 20 }}
{{- end }}
