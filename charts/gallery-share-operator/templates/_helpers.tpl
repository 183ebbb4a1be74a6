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
{{- ceil (divf (include "gallery-share-operator.durationMillis" .) 1000.0) | int -}}
{{- end }}

{{- /* The same duration in milliseconds (a float, as text). */}}
{{- define "gallery-share-operator.durationMillis" -}}
{{- $text := toString . | trim -}}
{{- $ms := 0.0 -}}
{{- if regexMatch "^[0-9]+(\\.[0-9]+)?$" $text -}}
{{- $ms = mulf (float64 $text) 1000.0 -}}
{{- else -}}
{{- range regexFindAll "[0-9]+(\\.[0-9]+)?(ms|s|m|h)" $text -1 -}}
{{- $number := regexFind "^[0-9]+(\\.[0-9]+)?" . -}}
{{- $unit := trimPrefix $number . -}}
{{- $perUnit := get (dict "ms" 1.0 "s" 1000.0 "m" 60000.0 "h" 3600000.0) $unit -}}
{{- $ms = addf $ms (mulf (float64 $number) $perUnit) -}}
{{- end -}}
{{- end -}}
{{- $ms -}}
{{- end }}

{{- /* Fails unless a duration value is within the operator's range (src/config.ts), in ms. */}}
{{- define "gallery-share-operator.durationInRange" -}}
{{- $ms := include "gallery-share-operator.durationMillis" .value | float64 -}}
{{- if or (lt $ms (float64 .min)) (gt $ms (float64 .max)) -}}
{{- fail (printf "%s=%v: the operator accepts %s to %s only (it would stop at start-up)" .name .value .minText .maxText) -}}
{{- end -}}
{{- end }}

{{/*
Checks of values that the schema cannot express; each fails the render with what to change.
*/}}
{{- define "gallery-share-operator.validate" -}}
{{- /* Flags the chart derives other objects from: given in extraArgs they would win over the
value, and leave the grace period, the replicas check or the Lease's RBAC wrong. */ -}}
{{- $derived := dict "--shutdown-timeout" "operator.shutdownTimeout" "--leader-elect" "operator.leaderElection" "--leader-election-id" "fullnameOverride" "--leader-election-namespace" "namespaceOverride" "--shard-count" "operator.shardCount" -}}
{{- range .Values.extraArgs -}}
{{- $flag := regexReplaceAll "=.*$" (toString .) "" -}}
{{- if hasKey $derived $flag -}}
{{- fail (printf "extraArgs: %s is set by the chart from %s (other objects follow it); set that value instead" $flag (get $derived $flag)) -}}
{{- end -}}
{{- end -}}
{{- if hasKey .Values "replicaCount" -}}
{{- fail "replicaCount is not a value of this chart: set replicas instead (for example --set replicas=3)" -}}
{{- end -}}
{{- $o := .Values.operator -}}
{{- range $check := list
  (list "operator.shutdownTimeout" $o.shutdownTimeout 0 600000 "0s" "10m")
  (list "operator.resyncInterval" $o.resyncInterval 1000 86400000 "1s" "24h")
  (list "operator.reconcileTimeout" $o.reconcileTimeout 1000 3600000 "1s" "1h")
  (list "operator.leaderElectionLeaseDuration" $o.leaderElectionLeaseDuration 1000 600000 "1s" "10m")
  (list "operator.leaderElectionRenewDeadline" $o.leaderElectionRenewDeadline 100 600000 "100ms" "10m")
  (list "operator.leaderElectionRetryPeriod" $o.leaderElectionRetryPeriod 100 600000 "100ms" "10m")
  (list "tenantGrants.consentRecheckInitial" $.Values.tenantGrants.consentRecheckInitial 1000 3600000 "1s" "1h")
  (list "tenantGrants.consentRecheckMax" $.Values.tenantGrants.consentRecheckMax 1000 86400000 "1s" "24h") -}}
{{- include "gallery-share-operator.durationInRange" (dict "name" (index $check 0) "value" (index $check 1) "min" (index $check 2) "max" (index $check 3) "minText" (index $check 4) "maxText" (index $check 5)) -}}
{{- end -}}
{{- $lease := include "gallery-share-operator.durationMillis" $o.leaderElectionLeaseDuration | float64 -}}
{{- $renew := include "gallery-share-operator.durationMillis" $o.leaderElectionRenewDeadline | float64 -}}
{{- $retry := include "gallery-share-operator.durationMillis" $o.leaderElectionRetryPeriod | float64 -}}
{{- if le $lease $renew -}}
{{- fail (printf "operator.leaderElectionLeaseDuration (%v) must be longer than operator.leaderElectionRenewDeadline (%v)" $o.leaderElectionLeaseDuration $o.leaderElectionRenewDeadline) -}}
{{- end -}}
{{- if le $renew (mulf 1.2 $retry) -}}
{{- fail (printf "operator.leaderElectionRenewDeadline (%v) must be longer than 1.2 × operator.leaderElectionRetryPeriod (%v)" $o.leaderElectionRenewDeadline $o.leaderElectionRetryPeriod) -}}
{{- end -}}
{{- if lt (include "gallery-share-operator.durationMillis" .Values.tenantGrants.consentRecheckMax | float64) (include "gallery-share-operator.durationMillis" .Values.tenantGrants.consentRecheckInitial | float64) -}}
{{- fail "tenantGrants.consentRecheckMax must be at least tenantGrants.consentRecheckInitial" -}}
{{- end -}}
{{- if and (not .Values.operator.leaderElection) (gt (int .Values.replicas) 1) -}}
{{- fail (printf "operator.leaderElection=false with replicas=%d would run %d operators that all reconcile the same objects: keep leader election on, or set replicas=1" (int .Values.replicas) (int .Values.replicas)) -}}
{{- end -}}
{{- $shards := int .Values.operator.shardCount -}}
{{- if and (gt $shards 0) (not .Values.operator.leaderElection) -}}
{{- fail (printf "operator.shardCount=%d needs operator.leaderElection=true: each hash range is held through a Lease" $shards) -}}
{{- end -}}
{{- if and (gt $shards 0) (lt (int .Values.replicas) $shards) -}}
{{- fail (printf "operator.shardCount=%d with replicas=%d would leave %d hash ranges without a replica: set replicas to at least %d (more for standbys)" $shards (int .Values.replicas) (sub $shards (int .Values.replicas)) $shards) -}}
{{- end -}}
{{- end }}
