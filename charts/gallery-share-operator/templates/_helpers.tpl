{{/*
The chart's names, as `helm create` makes them, with one difference kept from 0.1.0: without
fullnameOverride the objects are named after the release alone (not release-chart), so that an
upgrade from 0.1.0 keeps the Deployment, its selector and the leader-election Lease it elects on
(a renamed Lease would let old and new pods both lead during the rollout).
*/}}
{{- define "gallery-share-operator.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end }}

{{- define "gallery-share-operator.fullname" -}}
{{- default .Release.Name .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- end }}

{{- define "gallery-share-operator.namespace" -}}
{{- default .Release.Namespace .Values.namespaceOverride | trunc 63 | trimSuffix "-" -}}
{{- end }}

{{- define "gallery-share-operator.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end }}

{{- /* commonLabels never replace the chart's own labels (nor repeat a key, which YAML forbids). */}}
{{- define "gallery-share-operator.labels" -}}
{{- $own := include "gallery-share-operator.selectorLabels" . | fromYaml -}}
{{- $_ := set $own "app.kubernetes.io/version" .Chart.AppVersion -}}
{{- $_ := set $own "app.kubernetes.io/managed-by" .Release.Service -}}
{{- $_ := set $own "helm.sh/chart" (include "gallery-share-operator.chart" .) -}}
{{- merge $own .Values.commonLabels | toYaml -}}
{{- end }}

{{- define "gallery-share-operator.selectorLabels" -}}
app.kubernetes.io/name: {{ include "gallery-share-operator.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "gallery-share-operator.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "gallery-share-operator.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- required "serviceAccount.name: with serviceAccount.create=false, name the ServiceAccount the operator runs as" .Values.serviceAccount.name -}}
{{- end -}}
{{- end }}

{{- define "gallery-share-operator.image" -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) -}}
{{- end -}}
{{- end }}

{{/*
A duration as the operator parses it (src/config.ts parseDuration: a number of seconds, or parts
such as 1h30m, 90s, 500ms), in whole seconds rounded up. The schema has already checked its form.
*/}}
{{- define "gallery-share-operator.durationSeconds" -}}
{{- $text := toString . | trim -}}
{{- $seconds := 0.0 -}}
{{- if regexMatch "^[0-9]+(\\.[0-9]+)?$" $text -}}
{{- $seconds = float64 $text -}}
{{- else -}}
{{- range regexFindAll "[0-9]+(\\.[0-9]+)?(ms|s|m|h)" $text -1 -}}
{{- $number := regexFind "^[0-9]+(\\.[0-9]+)?" . -}}
{{- $unit := trimPrefix $number . -}}
{{- $perUnit := get (dict "ms" 0.001 "s" 1.0 "m" 60.0 "h" 3600.0) $unit -}}
{{- $seconds = addf $seconds (mulf (float64 $number) $perUnit) -}}
{{- end -}}
{{- end -}}
{{- ceil $seconds | int -}}
{{- end }}

{{/*
Checks of values that the schema cannot express; each fails the render with what to change.
*/}}
{{- define "gallery-share-operator.validate" -}}
{{- if hasKey .Values "replicaCount" -}}
{{- fail "replicaCount is not a value of this chart: set replicas instead (for example --set replicas=3)" -}}
{{- end -}}
{{- if and (not .Values.operator.leaderElection) (gt (int .Values.replicas) 1) -}}
{{- fail (printf "operator.leaderElection=false with replicas=%d would run %d operators that all reconcile the same objects: keep leader election on, or set replicas=1" (int .Values.replicas) (int .Values.replicas)) -}}
{{- end -}}
{{- end }}
