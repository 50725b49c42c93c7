{{/* Names, labels and the pod template both Deployments share. */}}

{{- define "vigil.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "vigil.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "vigil.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "vigil.labels" -}}
helm.sh/chart: {{ include "vigil.chart" . }}
{{ include "vigil.selectorLabels" . }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: vigil
{{- end -}}

{{- define "vigil.selectorLabels" -}}
app.kubernetes.io/name: {{ include "vigil.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/* Selector labels of one component: (dict "root" $ "component" "api"). */}}
{{- define "vigil.componentSelectorLabels" -}}
{{ include "vigil.selectorLabels" .root }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "vigil.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "vigil.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "vigil.image" -}}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) -}}
{{- end -}}

{{/* Where the pods find the mounted files. */}}
{{- define "vigil.signingKeyPath" -}}/etc/vigil/secrets/audit-signing-key{{- end -}}

{{/* The ConfigMap of runbooks the pods copy, or nothing for the image's own. */}}
{{- define "vigil.runbooksConfigMap" -}}
{{- if .Values.runbooks.existingConfigMap -}}
{{- .Values.runbooks.existingConfigMap -}}
{{- else if .Values.runbooks.files -}}
{{- printf "%s-runbooks" (include "vigil.fullname" .) -}}
{{- end -}}
{{- end -}}

{{/* vigil.yaml: what the chart sets, with .Values.config merged over it. */}}
{{- define "vigil.config" -}}
{{- $set := dict
  "data_dir" "/var/lib/vigil"
  "http" (dict "addr" "0.0.0.0:8080")
  "temporal" (dict
    "address" (required "temporal.address is required: the Temporal frontend's host:port" .Values.temporal.address)
    "namespace" .Values.temporal.namespace)
  "runbooks" (dict "dir" "/etc/vigil/runbooks")
  "audit" (dict "signing_key" (printf "file:%s" (include "vigil.signingKeyPath" .)))
-}}
{{- toYaml (mustMergeOverwrite $set (deepCopy .Values.config)) -}}
{{- end -}}

{{/* The DSN's environment variable, from the user's Secret. */}}
{{- define "vigil.storeEnv" -}}
- name: VIGIL_STORE
  valueFrom:
    secretKeyRef:
      name: {{ required "store.existingSecret is required: a Secret holding the PostgreSQL DSN" .Values.store.existingSecret }}
      key: {{ .Values.store.key }}
{{- end -}}

{{/*
A Deployment's pod template: (dict "root" $ "component" "api" "c" .Values.api).
*/}}
{{- define "vigil.podTemplate" -}}
{{- $root := .root -}}
{{- $c := .c -}}
{{- $sel := dict "root" $root "component" .component -}}
{{- $runbooks := include "vigil.runbooksConfigMap" $root -}}
metadata:
  labels:
    {{- include "vigil.labels" $root | nindent 4 }}
    app.kubernetes.io/component: {{ .component }}
    {{- with $c.podLabels }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  annotations:
    # Roll the pods when vigil.yaml or the chart's runbooks change.
    checksum/config: {{ include (print $root.Template.BasePath "/configmap.yaml") $root | sha256sum }}
    {{- if $root.Values.metrics.scrapeAnnotations }}
    prometheus.io/scrape: "true"
    prometheus.io/port: "8080"
    prometheus.io/path: /metrics
    {{- end }}
    {{- with $c.podAnnotations }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
spec:
  serviceAccountName: {{ include "vigil.serviceAccountName" $root }}
  automountServiceAccountToken: {{ $root.Values.serviceAccount.automountToken }}
  {{- with $root.Values.imagePullSecrets }}
  imagePullSecrets:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  terminationGracePeriodSeconds: {{ $c.terminationGracePeriodSeconds }}
  securityContext:
    {{- toYaml $root.Values.podSecurityContext | nindent 4 }}
  {{- if $runbooks }}
  initContainers:
    # Copy the runbooks out of the ConfigMap's volume: its ..data and timestamped
    # directories would make the runbooks directory list each file twice.
    - name: runbooks
      image: {{ include "vigil.image" $root }}
      imagePullPolicy: {{ $root.Values.image.pullPolicy }}
      command: ["find", "-L", "/etc/vigil/runbooks-src", "-maxdepth", "1", "-type", "f",
                "(", "-name", "*.yaml", "-o", "-name", "*.yml", ")",
                "-exec", "cp", "{}", "/etc/vigil/runbooks/", ";"]
      securityContext:
        {{- toYaml $root.Values.securityContext | nindent 8 }}
      resources:
        requests: {cpu: 10m, memory: 16Mi}
        limits: {memory: 64Mi}
      volumeMounts:
        - {name: runbooks-src, mountPath: /etc/vigil/runbooks-src, readOnly: true}
        - {name: runbooks, mountPath: /etc/vigil/runbooks}
  {{- end }}
  containers:
    - name: vigil
      image: {{ include "vigil.image" $root }}
      imagePullPolicy: {{ $root.Values.image.pullPolicy }}
      args:
        - serve
        - --config=/etc/vigil/vigil.yaml
        # serve reads the DSN from the environment, so it is not on the command line.
        - --store=env:VIGIL_STORE
        - --roles={{ join "," $c.roles }}
        - --temporal-address={{ $root.Values.temporal.address }}
        - --namespace={{ $root.Values.temporal.namespace }}
        - --http-addr=0.0.0.0:8080
      env:
        {{- include "vigil.storeEnv" $root | nindent 8 }}
        {{- with $root.Values.extraEnv }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
      {{- with $root.Values.extraEnvFrom }}
      envFrom:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      ports:
        - name: http
          containerPort: 8080
          protocol: TCP
      startupProbe:
        httpGet: {path: /healthz, port: http}
        {{- toYaml $root.Values.probes.startup | nindent 8 }}
      livenessProbe:
        httpGet: {path: /healthz, port: http}
        {{- toYaml $root.Values.probes.liveness | nindent 8 }}
      readinessProbe:
        httpGet: {path: /readyz, port: http}
        {{- toYaml $root.Values.probes.readiness | nindent 8 }}
      {{- if gt (int $c.preStopSleepSeconds) 0 }}
      lifecycle:
        preStop:
          exec:
            command: ["sleep", "{{ int $c.preStopSleepSeconds }}"]
      {{- end }}
      resources:
        {{- toYaml $c.resources | nindent 8 }}
      securityContext:
        {{- toYaml $root.Values.securityContext | nindent 8 }}
      volumeMounts:
        - name: config
          mountPath: /etc/vigil/vigil.yaml
          subPath: vigil.yaml
          readOnly: true
        - name: signing-key
          mountPath: /etc/vigil/secrets
          readOnly: true
        {{- if $runbooks }}
        - name: runbooks
          mountPath: /etc/vigil/runbooks
          readOnly: true
        {{- end }}
        - name: data
          mountPath: /var/lib/vigil
        - name: tmp
          mountPath: /tmp
        {{- with $root.Values.extraVolumeMounts }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
  volumes:
    - name: config
      configMap:
        name: {{ include "vigil.fullname" $root }}
    - name: signing-key
      secret:
        secretName: {{ required "signingKey.existingSecret is required: a Secret holding the ed25519 audit signing key" $root.Values.signingKey.existingSecret }}
        defaultMode: 0440
        items:
          - key: {{ $root.Values.signingKey.key }}
            path: audit-signing-key
    {{- if $runbooks }}
    - name: runbooks-src
      configMap:
        name: {{ $runbooks }}
    - name: runbooks
      emptyDir: {}
    {{- end }}
    # On PostgreSQL nothing that matters is kept here; it is scratch space only.
    - name: data
      emptyDir: {}
    - name: tmp
      emptyDir: {}
    {{- with $root.Values.extraVolumes }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  {{- if $c.topologySpreadConstraints }}
  topologySpreadConstraints:
    {{- toYaml $c.topologySpreadConstraints | nindent 4 }}
  {{- else }}
  topologySpreadConstraints:
    - maxSkew: 1
      topologyKey: kubernetes.io/hostname
      whenUnsatisfiable: ScheduleAnyway
      labelSelector:
        matchLabels:
          {{- include "vigil.componentSelectorLabels" $sel | nindent 10 }}
    - maxSkew: 1
      topologyKey: topology.kubernetes.io/zone
      whenUnsatisfiable: ScheduleAnyway
      labelSelector:
        matchLabels:
          {{- include "vigil.componentSelectorLabels" $sel | nindent 10 }}
  {{- end }}
  {{- with $c.affinity }}
  affinity:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with $c.nodeSelector }}
  nodeSelector:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with $c.tolerations }}
  tolerations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
{{- end -}}
