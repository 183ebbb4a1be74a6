{{- define "gallery-share-operator.name" -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- end }}

{{- define "gallery-share-operator.labels" -}}
app.kubernetes.io/name: gallery-share-operator
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end }}

{{- define "gallery-share-operator.selectorLabels" -}}
app.kubernetes.io/name: gallery-share-operator
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}
