{{/* The objects every Reelscope service is made of. Each define takes (dict "ctx" $ "component" NAME "c" VALUES),
called by components.yaml in a loop over .Values.components. */}}

{{/* Whether a component is an HTTP API (ingest) or a queue worker with a health port. */}}
{{- define "reelscope.port" -}}
{{- if eq .component "ingest" }}{{ .c.port }}{{ else }}{{ .c.healthPort }}{{ end }}
{{- end }}

{{/* Replicas: ingest on SQLite is a single writer; an enabled autoscaler owns the count (none is rendered then). */}}
{{- define "reelscope.replicas" -}}
{{- if and (eq .component "ingest") (eq .ctx.Values.database.type "sqlite") }}1{{ else }}{{ .c.replicas }}{{ end }}
{{- end }}

{{- define "reelscope.serviceAccount" -}}
apiVersion: v1
kind: ServiceAccount
metadata:
  name: {{ include "reelscope.fullname" .ctx }}-{{ .component }}
  labels:
    {{- include "reelscope.labels" . | nindent 4 }}
  {{- with .c.serviceAccountAnnotations }}
  # Workload identity for S3 (IRSA's eks.amazonaws.com/role-arn, GKE's iam.gke.io/gcp-service-account, ...).
  annotations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
# The services never call the Kubernetes API (cloud credentials come through projected tokens, not this one).
automountServiceAccountToken: false
{{- end }}

{{- define "reelscope.service" -}}
apiVersion: v1
kind: Service
metadata:
  name: {{ include "reelscope.fullname" .ctx }}-{{ .component }}
  labels:
    {{- include "reelscope.labels" . | nindent 4 }}
spec:
  type: ClusterIP
  selector:
    {{- include "reelscope.selectorLabels" . | nindent 4 }}
  ports:
    - name: http
      port: {{ include "reelscope.port" . }}
      targetPort: http
      protocol: TCP
{{- end }}

{{- define "reelscope.podDisruptionBudget" -}}
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: {{ include "reelscope.fullname" .ctx }}-{{ .component }}
  labels:
    {{- include "reelscope.labels" . | nindent 4 }}
spec:
  maxUnavailable: {{ .c.maxUnavailable }}
  selector:
    matchLabels:
      {{- include "reelscope.selectorLabels" . | nindent 6 }}
{{- end }}

{{/* Environment of a Reelscope container: the shared ConfigMap, the secrets, the standard OTEL_* variables with
the pod's Kubernetes identity from the downward API, then the user's extra variables. */}}
{{- define "reelscope.env" -}}
{{- $v := .ctx.Values -}}
- name: K8S_NAMESPACE_NAME
  valueFrom: {fieldRef: {fieldPath: metadata.namespace}}
- name: K8S_POD_NAME
  valueFrom: {fieldRef: {fieldPath: metadata.name}}
- name: K8S_POD_UID
  valueFrom: {fieldRef: {fieldPath: metadata.uid}}
- name: K8S_NODE_NAME
  valueFrom: {fieldRef: {fieldPath: spec.nodeName}}
- name: OTEL_SERVICE_NAME
  value: {{ .component | quote }}
- name: OTEL_RESOURCE_ATTRIBUTES
  value: {{ printf "deployment.environment.name=%s,reelscope.chart.version=%s,k8s.namespace.name=$(K8S_NAMESPACE_NAME),k8s.pod.name=$(K8S_POD_NAME),k8s.pod.uid=$(K8S_POD_UID),k8s.node.name=$(K8S_NODE_NAME),k8s.deployment.name=%s-%s,k8s.container.name=%s" $v.config.environment .ctx.Chart.Version (include "reelscope.fullname" .ctx) .component .component | quote }}
- name: REELSCOPE_AMQP_URL
  valueFrom:
    secretKeyRef:
      name: {{ include "reelscope.rabbitmqSecret" .ctx }}
      key: {{ ternary "amqp-url" $v.rabbitmq.existingSecretKey $v.rabbitmq.bundled }}
{{- if or $v.storage.bundled $v.storage.existingSecret }}
- name: AWS_ACCESS_KEY_ID
  valueFrom:
    secretKeyRef: {name: {{ include "reelscope.storageSecret" .ctx }}, key: AWS_ACCESS_KEY_ID}
- name: AWS_SECRET_ACCESS_KEY
  valueFrom:
    secretKeyRef: {name: {{ include "reelscope.storageSecret" .ctx }}, key: AWS_SECRET_ACCESS_KEY}
{{- end }}
{{- if eq .component "ingest" }}
- name: REELSCOPE_HOST
  value: 0.0.0.0
- name: REELSCOPE_PORT
  value: {{ .c.port | quote }}
- name: REELSCOPE_API_KEY_PEPPER
  valueFrom:
    secretKeyRef: {name: {{ include "reelscope.apiKeysSecret" .ctx }}, key: pepper}
- name: REELSCOPE_API_KEYS_FILE
  value: /etc/reelscope/api-keys/declared-keys
{{ include "reelscope.databaseEnv" .ctx }}
{{- else }}
{{- if eq .component "notification" }}
- name: REELSCOPE_WEBHOOK_SIGNING_SECRETS
  valueFrom:
    secretKeyRef:
      name: {{ $v.webhooks.existingSecret | default (printf "%s-webhook-signing" (include "reelscope.fullname" .ctx)) }}
      key: signing-secrets
{{- end }}
- name: REELSCOPE_HEALTH_HOST
  value: 0.0.0.0
- name: REELSCOPE_HEALTH_PORT
  value: {{ .c.healthPort | quote }}
{{- end }}
{{- with $v.config.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- with .c.env }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* Where ingest (and the migration) find the database. The chart runs migrations itself (an init container on
SQLite, a hook Job on PostgreSQL), so the service only checks the schema is current. */}}
{{- define "reelscope.databaseEnv" -}}
- name: REELSCOPE_DATABASE_MIGRATE_ON_START
  value: "false"
{{- if eq .Values.database.type "sqlite" }}
- name: REELSCOPE_DATABASE_URL
  value: sqlite+aiosqlite:////var/lib/reelscope/db/reelscope.db
{{- else }}
- name: REELSCOPE_DATABASE_URL
  valueFrom:
    secretKeyRef: {name: {{ .Values.database.existingSecret }}, key: {{ .Values.database.existingSecretKey }}}
{{- end }}
{{- end }}

{{/* Probes on the real health endpoints: /healthz says the process lives, /readyz that it is connected, consuming
(or serving) and not stopping. The startup probe gives a slow start (model load, broker) a minute. */}}
{{- define "reelscope.probes" -}}
startupProbe:
  httpGet: {path: /healthz, port: http}
  periodSeconds: 2
  failureThreshold: 30
livenessProbe:
  httpGet: {path: /healthz, port: http}
  periodSeconds: 10
  timeoutSeconds: 3
  failureThreshold: 3
readinessProbe:
  httpGet: {path: /readyz, port: http}
  periodSeconds: 5
  timeoutSeconds: 3
  failureThreshold: 2
{{- end }}

{{- define "reelscope.deployment" -}}
{{- $v := .ctx.Values -}}
{{- $sqliteIngest := and (eq .component "ingest") (eq $v.database.type "sqlite") -}}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ include "reelscope.fullname" .ctx }}-{{ .component }}
  labels:
    {{- include "reelscope.labels" . | nindent 4 }}
spec:
  {{- if not (dig "autoscaling" "enabled" false .c) }}
  replicas: {{ include "reelscope.replicas" . }}
  {{- end }}
  revisionHistoryLimit: 5
  selector:
    matchLabels:
      {{- include "reelscope.selectorLabels" . | nindent 6 }}
  strategy:
    {{- if $sqliteIngest }}
    # SQLite has one writer on a ReadWriteOnce volume: the old pod stops before the new one starts.
    # Use PostgreSQL (database.type) for rolling updates without a gap.
    type: Recreate
    {{- else }}
    # Never below the desired count: a new pod must be ready before an old one stops.
    type: RollingUpdate
    rollingUpdate: {maxSurge: 1, maxUnavailable: 0}
    {{- end }}
  template:
    metadata:
      labels:
        {{- include "reelscope.podLabels" . | nindent 8 }}
      annotations:
        # The shared settings' data only (not the ConfigMap's labels, which carry the version).
        checksum/config: {{ (include (print .ctx.Template.BasePath "/config.yaml") .ctx | fromYaml).data | toJson | sha256sum }}
        {{- with .c.podAnnotations }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
    spec:
      serviceAccountName: {{ include "reelscope.fullname" .ctx }}-{{ .component }}
      automountServiceAccountToken: false
      # No *_SERVICE_HOST/PORT variables for every Service in the namespace: configuration is explicit.
      enableServiceLinks: false
      {{- with $v.imagePullSecrets }}
      imagePullSecrets:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      securityContext:
        {{- include "reelscope.podSecurityContext" dict | nindent 8 }}
      # Drain time (shutdownGraceSeconds) + telemetry flush + preStop + a margin.
      terminationGracePeriodSeconds: {{ include "reelscope.terminationGrace" .ctx }}
      topologySpreadConstraints:
        {{- include "reelscope.topologySpread" . | nindent 8 }}
      {{- with .c.nodeSelector }}
      nodeSelector:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with .c.tolerations }}
      tolerations:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with .c.affinity }}
      affinity:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- if $sqliteIngest }}
      initContainers:
        - name: migrate
          image: {{ include "reelscope.image" . }}
          imagePullPolicy: {{ $v.image.pullPolicy }}
          command: [python, -m, reelscope_ingest.migrate]
          envFrom:
            - configMapRef: {name: {{ include "reelscope.fullname" .ctx }}-config}
          env:
            {{- include "reelscope.env" . | nindent 12 }}
          securityContext:
            {{- include "reelscope.containerSecurityContext" dict | nindent 12 }}
          resources:
            {{- toYaml .c.resources | nindent 12 }}
          volumeMounts:
            - {name: scratch, mountPath: /var/lib/reelscope}
            - {name: tmp, mountPath: /tmp}
            - {name: database, mountPath: /var/lib/reelscope/db}
      {{- end }}
      containers:
        - name: {{ .component }}
          image: {{ include "reelscope.image" . }}
          imagePullPolicy: {{ $v.image.pullPolicy }}
          ports:
            - name: http
              containerPort: {{ include "reelscope.port" . }}
              protocol: TCP
          envFrom:
            - configMapRef: {name: {{ include "reelscope.fullname" .ctx }}-config}
          env:
            {{- include "reelscope.env" . | nindent 12 }}
          {{- include "reelscope.probes" . | nindent 10 }}
          {{- if eq .component "ingest" }}
          lifecycle:
            # Endpoints are removed asynchronously: keep serving a few seconds before the drain starts.
            preStop:
              exec: {command: [sleep, "5"]}
          {{- end }}
          securityContext:
            {{- include "reelscope.containerSecurityContext" dict | nindent 12 }}
          resources:
            {{- toYaml .c.resources | nindent 12 }}
          volumeMounts:
            - {name: scratch, mountPath: /var/lib/reelscope}
            - {name: tmp, mountPath: /tmp}
            {{- if $sqliteIngest }}
            - {name: database, mountPath: /var/lib/reelscope/db}
            {{- end }}
            {{- if eq .component "ingest" }}
            - {name: api-keys, mountPath: /etc/reelscope/api-keys, readOnly: true}
            {{- end }}
      volumes:
        # The root filesystem is read-only: scratch space for uploads and media, and /tmp.
        - name: scratch
          emptyDir: {sizeLimit: {{ .c.scratchSizeLimit | default "1Gi" }}}
        - name: tmp
          emptyDir: {sizeLimit: 256Mi}
        {{- if $sqliteIngest }}
        - name: database
          persistentVolumeClaim: {claimName: {{ include "reelscope.fullname" .ctx }}-database}
        {{- end }}
        {{- if eq .component "ingest" }}
        # Declared API keys (the helm test key among them): a file, so no key is in the pod's environment.
        - name: api-keys
          secret:
            secretName: {{ include "reelscope.apiKeysSecret" .ctx }}
            items: [{key: declared-keys, path: declared-keys}]
        {{- end }}
{{- end }}

{{/* The Secret holding the API key pepper, the declared keys and the smoke-test key. */}}
{{- define "reelscope.apiKeysSecret" -}}
{{- .Values.apiKeys.existingSecret | default (printf "%s-api-keys" (include "reelscope.fullname" .)) }}
{{- end }}
