{{/* Chart name, or nameOverride. */}}
{{- define "flowlens.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* "<release>-<name>", or just the release when it already contains the name. */}}
{{- define "flowlens.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := include "flowlens.name" . -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* Labels that select the exporter pods; never change them across upgrades. */}}
{{- define "flowlens.selectorLabels" -}}
app.kubernetes.io/name: {{ include "flowlens.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "flowlens.labels" -}}
{{ include "flowlens.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{- define "flowlens.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "flowlens.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/*
registry/repository:tag, or registry/repository:tag@digest with image.digest
(the runtime pulls by digest). global.imageRegistry replaces image.registry.
*/}}
{{- define "flowlens.image" -}}
{{- $registry := dig "imageRegistry" "" (.Values.global | default dict) | default .Values.image.registry -}}
{{- $ref := printf "%s/%s:%s" $registry .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- with .Values.image.digest }}{{ $ref = printf "%s@%s" $ref . }}{{ end -}}
{{- $ref -}}
{{- end -}}

{{/* Kubernetes before 1.30 has no appArmorProfile field: the annotation says it instead. */}}
{{- define "flowlens.appArmorField" -}}
{{- if semverCompare ">=1.30.0-0" .Capabilities.KubeVersion.Version }}true{{ end -}}
{{- end -}}

{{/* The pod's security context: podSecurityContext, without empty seLinuxOptions, and without appArmorProfile before 1.30. */}}
{{- define "flowlens.podSecurityContext" -}}
{{- $psc := deepCopy (.Values.podSecurityContext | default dict) -}}
{{- if not (include "flowlens.appArmorField" .) }}{{ $_ := unset $psc "appArmorProfile" }}{{ end -}}
{{- if not $psc.seLinuxOptions }}{{ $_ := unset $psc "seLinuxOptions" }}{{ end -}}
{{- toYaml $psc -}}
{{- end -}}

{{/* The annotation value of podSecurityContext.appArmorProfile, for clusters before 1.30. */}}
{{- define "flowlens.appArmorAnnotation" -}}
{{- with (.Values.podSecurityContext | default dict).appArmorProfile -}}
{{- if eq .type "Unconfined" }}unconfined{{ else if eq .type "RuntimeDefault" }}runtime/default{{ else if eq .type "Localhost" }}{{ printf "localhost/%s" (required "podSecurityContext.appArmorProfile.localhostProfile is required with type Localhost" .localhostProfile) }}{{ end -}}
{{- end -}}
{{- end -}}

{{/* The container's security context: securityContext, plus SYS_RESOURCE with raiseMemlockRlimit. */}}
{{- define "flowlens.securityContext" -}}
{{- $sc := deepCopy (.Values.securityContext | default dict) -}}
{{- if .Values.raiseMemlockRlimit -}}
{{- $caps := $sc.capabilities | default dict -}}
{{- $_ := set $caps "add" (append ($caps.add | default list) "SYS_RESOURCE") -}}
{{- $_ := set $sc "capabilities" $caps -}}
{{- end -}}
{{- toYaml $sc -}}
{{- end -}}

{{/* The Secret holding OTEL_EXPORTER_OTLP_HEADERS, or nothing when none are configured. */}}
{{- define "flowlens.otlpHeadersSecretName" -}}
{{- if .Values.otlp.headers.existingSecret -}}
{{- .Values.otlp.headers.existingSecret -}}
{{- else if .Values.otlp.headers.value -}}
{{- printf "%s-otlp-headers" (include "flowlens.fullname" .) -}}
{{- end -}}
{{- end -}}

{{/* The Secret holding the API token, or nothing when no token is configured. */}}
{{- define "flowlens.tokenSecretName" -}}
{{- if .Values.apiToken.existingSecret -}}
{{- .Values.apiToken.existingSecret -}}
{{- else if .Values.apiToken.value -}}
{{- printf "%s-api-token" (include "flowlens.fullname" .) -}}
{{- end -}}
{{- end -}}

{{/* Where the pod sees its files. */}}
{{- define "flowlens.configDir" -}}/etc/flowlens{{- end -}}
{{- define "flowlens.tokenDir" -}}/etc/flowlens-token{{- end -}}

{{/*
The exporter's configuration file (see the README's configuration reference),
built from the values and merged with extraConfig. Every key here must be one
the exporter knows: it refuses unknown keys (test/chart checks the rendered file
with the exporter's own schema).
*/}}
{{- define "flowlens.config" -}}
{{- $v := .Values -}}
{{- $c := dict
  "listen" (printf "%s:%d" (toString $v.listenAddress) (int $v.port))
  "logLevel" $v.logLevel
  "interfaces" $v.interfaces
  "nodeInterfaces" $v.nodeInterfaces
  "clusterCidrs" $v.clusterCidrs
  "metrics" $v.metrics
  "datapath" $v.datapath
  "drops" $v.drops
  "identityLabels" $v.identityLabels -}}
{{- if $v.otlp.endpoint }}{{ $_ := set $c "otlpEndpoint" $v.otlp.endpoint }}{{ end -}}
{{- if $v.otlp.serviceNameLabels }}{{ $_ := set $c "traces" (dict "serviceNameLabels" $v.otlp.serviceNameLabels) }}{{ end -}}
{{- if $v.otlp.flowLogs }}{{ $_ := set $c "flowLogs" (dict "enabled" true) }}{{ end -}}
{{- if $v.pinMaps.enabled }}{{ $_ := set $c "pinPath" $v.pinMaps.path }}{{ end -}}
{{- if $v.staticIdentities }}{{ $_ := set $c "identities" (printf "%s/identities.yaml" (include "flowlens.configDir" .)) }}{{ end -}}
{{- if $v.redaction.httpPaths }}{{ $_ := set $c "http" (dict "redactPaths" $v.redaction.httpPaths) }}{{ end -}}
{{- $c = mustMergeOverwrite (deepCopy $c) (deepCopy $v.extraConfig) -}}
{{- toYaml $c -}}
{{- end -}}

{{/* .text with every key of .tokens replaced by its value (the PrometheusRule's settings). */}}
{{- define "flowlens.substituteTokens" -}}
{{- $text := .text -}}
{{- range $token, $value := .tokens }}{{ $text = replace $token $value $text }}{{ end -}}
{{- $text -}}
{{- end -}}
