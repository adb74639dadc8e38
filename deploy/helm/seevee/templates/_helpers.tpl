{{/* Names and labels shared by every template. */}}
{{- define "seevee.fullname" -}}
{{- printf "%s-%s" .root.Release.Name .name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "seevee.labels" -}}
app.kubernetes.io/name: {{ .name }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/part-of: seevee
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version }}
{{- end -}}

{{- define "seevee.selector" -}}
app.kubernetes.io/name: {{ .name }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
{{- end -}}

{{- define "seevee.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag }}
{{- end -}}

{{/* Environment every service container gets: secrets by reference, shared settings from the ConfigMap. */}}
{{- define "seevee.secretEnv" -}}
- name: SEEVEE_JWT_SECRET
  valueFrom:
    secretKeyRef: {name: {{ .Values.secrets.name }}, key: {{ .Values.secrets.jwtSecretKey }}}
{{- if hasPrefix "SASL" .Values.config.KAFKA_SECURITY_PROTOCOL }}
- name: KAFKA_SASL_USERNAME
  valueFrom:
    secretKeyRef: {name: {{ .Values.secrets.name }}, key: {{ .Values.secrets.kafkaSaslUsernameKey }}}
- name: KAFKA_SASL_PASSWORD
  valueFrom:
    secretKeyRef: {name: {{ .Values.secrets.name }}, key: {{ .Values.secrets.kafkaSaslPasswordKey }}}
{{- end }}
{{- end -}}
