{{/* The git repository and revision every project-local source follows. */}}
{{- define "apps.repoURL" -}}
{{- required "repoURL is required: the root Application passes it in helm.valuesObject" .Values.repoURL -}}
{{- end -}}
{{- define "apps.revision" -}}
{{- required "revision is required: the root Application passes it in helm.valuesObject" .Values.revision -}}
{{- end -}}

{{/*
The `$values` source: this repository, so upstream charts can read gitops/values/*.yaml.
*/}}
{{- define "apps.valuesSource" -}}
- repoURL: {{ include "apps.repoURL" . }}
  targetRevision: {{ include "apps.revision" . }}
  ref: values
{{- end -}}

{{/*
Sync policy shared by every child: automated with prune and self-heal, the namespace created on
first sync, retries with exponential backoff (CRDs and Services of other children may not exist
yet on a fresh cluster). Call with (dict "serverSideApply" true) where objects are too large for
client-side apply.
*/}}
{{- define "apps.syncPolicy" -}}
syncPolicy:
  automated:
    prune: true
    selfHeal: true
  syncOptions:
    - CreateNamespace=true
    {{- if .serverSideApply }}
    - ServerSideApply=true
    {{- end }}
  retry:
    limit: 10
    backoff:
      duration: 10s
      factor: 2
      maxDuration: 3m
{{- end -}}
