{{/* Names ------------------------------------------------------------------------------------- */}}

{{- define "twostep.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "twostep.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "twostep.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "twostep.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "twostep.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "twostep.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}

{{/* Labels: common labels, and the selector of one component (api, worker, migrations) ---------- */}}

{{- define "twostep.labels" -}}
helm.sh/chart: {{ include "twostep.chart" . }}
app.kubernetes.io/name: {{ include "twostep.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: twostep
{{- end }}

{{/* usage: include "twostep.selectorLabels" (dict "root" . "component" "api") */}}
{{- define "twostep.selectorLabels" -}}
app.kubernetes.io/name: {{ include "twostep.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{/* Settings --------------------------------------------------------------------------------------
Non-secret settings as TWOSTEP_* variables: the ConfigMap's data, and (from the same text) the env of
the migration hook, which runs before the ConfigMap exists on a first install. Numbers are printed as
integers when they are whole (Helm reads YAML numbers as floats: 1048576 would print as 1.048576e+06);
lists and maps are passed as JSON. Settings the chart owns, and secrets, are never taken from .config. */}}

{{- define "twostep.configData" -}}
TWOSTEP_MODE: "production"
TWOSTEP_HOST: "0.0.0.0"
TWOSTEP_PORT: {{ .Values.api.containerPort | int | toString | quote }}
{{- range $key, $value := omit .Values.config "mode" "host" "port" "workers" "run_worker" "data_dir" "database_url" "master_key" "master_key_file" "admin_token" }}
{{ printf "TWOSTEP_%s" (upper $key) }}: {{ include "twostep.settingValue" $value }}
{{- end }}
{{- end }}

{{- define "twostep.settingValue" -}}
{{- if or (kindIs "slice" .) (kindIs "map" .) }}
{{- toJson . | quote }}
{{- else if and (kindIs "float64" .) (eq . (floor .)) }}
{{- int64 . | toString | quote }}
{{- else }}
{{- toString . | quote }}
{{- end }}
{{- end }}

{{- define "twostep.configEnv" -}}
{{- range $name, $value := include "twostep.configData" . | fromYaml }}
- name: {{ $name }}
  value: {{ $value | quote }}
{{- end }}
{{- end }}

{{/* Secrets as environment variables.
usage: include "twostep.secretEnv" (dict "root" . "databaseUrlKey" "database-url" "adminToken" true) */}}
{{- define "twostep.secretEnv" -}}
{{- $s := .root.Values.secrets -}}
- name: TWOSTEP_DATABASE_URL
  valueFrom:
    secretKeyRef:
      name: {{ $s.existingSecret }}
      key: {{ .databaseUrlKey }}
{{- if $s.databasePasswordKey }}
# libpq's own variable: the password never appears in the URL that `serve` prints.
- name: PGPASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ $s.existingSecret }}
      key: {{ $s.databasePasswordKey }}
      optional: true
{{- end }}
{{- if .root.Values.masterKeyFile }}
- name: TWOSTEP_MASTER_KEY_FILE
  value: {{ .root.Values.masterKeyFile | quote }}
{{- else }}
- name: TWOSTEP_MASTER_KEY
  valueFrom:
    secretKeyRef:
      name: {{ $s.existingSecret }}
      key: {{ $s.masterKeyKey }}
{{- end }}
{{- if and .adminToken $s.adminTokenKey }}
- name: TWOSTEP_ADMIN_TOKEN
  valueFrom:
    secretKeyRef:
      name: {{ $s.existingSecret }}
      key: {{ $s.adminTokenKey }}
      optional: true
{{- end }}
{{- end }}

{{/* Pod pieces shared by the API, the worker and the migration job ------------------------------ */}}

{{- define "twostep.volumes" -}}
# The only writable place: temporary files (the root filesystem is read-only).
- name: tmp
  emptyDir:
    sizeLimit: 64Mi
{{- with .Values.extraVolumes }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{- define "twostep.volumeMounts" -}}
- name: tmp
  mountPath: /tmp
{{- with .Values.extraVolumeMounts }}
{{ toYaml . }}
{{- end }}
{{- end }}
