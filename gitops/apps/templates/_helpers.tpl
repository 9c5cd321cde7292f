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
The AppProject of every child. Bootstrap applies it, outside git, so no commit can widen it
(stackProject in bootstrap/lib/manifests.ts).
*/}}
{{- define "apps.project" -}}
observability
{{- end -}}

{{/*
The namespaces the stack deploys into, each with the strictest Pod Security Standard level its
pods pass (checked on the rendered charts: gitops/security.test.ts). The AppProject allows only
these (STACK_NAMESPACES in bootstrap/lib/manifests.ts). node-exporter needs the host's network, PIDs and filesystem: only privileged admits it,
so it has a namespace of its own (gitops/manifests/node-exporter/). The bundled SeaweedFS
(cluster profile) runs as root, which baseline admits and restricted does not.
*/}}
{{- define "apps.podSecurity" -}}
apps: restricted
monitoring: {{ if and (include "apps.cluster" .) .Values.objectStorage.bundled }}baseline{{ else }}restricted{{ end }}
node-exporter: privileged
{{- end -}}

{{/*
Sync policy shared by every child: automated with prune and self-heal, the namespace created on
first sync with its Pod Security Admission labels, retries with exponential backoff (CRDs and
Services of other children may not exist yet on a fresh cluster). Call with
(dict "root" . "namespace" <destination namespace>), adding "serverSideApply" true where objects
are too large for client-side apply.
*/}}
{{- define "apps.syncPolicy" -}}
{{- $level := get (include "apps.podSecurity" .root | fromYaml) .namespace -}}
{{- if not $level -}}
{{- fail (printf "namespace %q has no Pod Security level in apps.podSecurity" .namespace) -}}
{{- end -}}
syncPolicy:
  automated:
    prune: true
    selfHeal: true
  # Every child in a namespace sets the same labels (Argo CD applies them server-side).
  managedNamespaceMetadata:
    labels:
      pod-security.kubernetes.io/enforce: {{ $level }}
      pod-security.kubernetes.io/warn: {{ $level }}
      pod-security.kubernetes.io/audit: {{ $level }}
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

{{/* "laptop" (default) or "cluster"; anything else fails the render. */}}
{{- define "apps.profile" -}}
{{- $profile := .Values.profile | default "laptop" -}}
{{- if not (has $profile (list "laptop" "cluster")) -}}
{{- fail (printf "profile must be laptop or cluster, not %q" $profile) -}}
{{- end -}}
{{- $profile -}}
{{- end -}}

{{- define "apps.cluster" -}}
{{- if eq (include "apps.profile" .) "cluster" }}true{{ end -}}
{{- end -}}

{{/* The cluster profile's image prefix, without a trailing slash. */}}
{{- define "apps.imageRegistry" -}}
{{- required "imageRegistry is required with profile cluster: bootstrap passes --registry" .Values.imageRegistry | trimSuffix "/" -}}
{{- end -}}

{{/* The S3 endpoint Loki and Tempo use: the bundled SeaweedFS Service or the user's. */}}
{{- define "apps.s3Endpoint" -}}
{{- if .Values.objectStorage.bundled -}}
seaweedfs-all-in-one.monitoring.svc:8333
{{- else -}}
{{- required "objectStorage.endpoint is required when objectStorage.bundled is false" .Values.objectStorage.endpoint -}}
{{- end -}}
{{- end -}}

{{- define "apps.s3Insecure" -}}
{{- if .Values.objectStorage.bundled }}true{{ else }}{{ .Values.objectStorage.insecure }}{{ end -}}
{{- end -}}

{{/* envFrom for the object-storage credentials Secret (none when the pods use their own identity). */}}
{{- define "apps.s3EnvFrom" -}}
{{- if .Values.objectStorage.secretName -}}
- secretRef:
    name: {{ .Values.objectStorage.secretName }}
{{- else -}}
[]
{{- end -}}
{{- end -}}
