{{/* Object name: namePrefix + name, as config/default's namePrefix. */}}
{{- define "lotou.name" -}}
{{ .root.Values.namePrefix }}{{ .name }}
{{- end }}

{{/* Labels on every object: config/default's common label plus Helm's. */}}
{{- define "lotou.labels" -}}
app.kubernetes.io/part-of: lotou
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/instance: {{ .Release.Name }}
helm.sh/chart: {{ .Chart.Name }}-{{ .Chart.Version | replace "+" "_" }}
{{- end }}

{{/* Labels selecting the manager's pods (immutable Deployment selector). */}}
{{- define "lotou.selectorLabels" -}}
app.kubernetes.io/name: lotou-operator
control-plane: controller-manager
{{- end }}

{{/* The manager's service account as an RBAC subject. */}}
{{- define "lotou.subject" -}}
- kind: ServiceAccount
  name: {{ include "lotou.name" (dict "root" . "name" "controller-manager") }}
  namespace: {{ .Release.Namespace }}
{{- end }}
