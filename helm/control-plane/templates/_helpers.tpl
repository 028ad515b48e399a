{{/* Chart name, truncated to the 63 characters a label value allows. */}}
{{- define "control-plane.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Release-qualified name, the prefix of every resource. */}}
{{- define "control-plane.fullname" -}}
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

{{/* chart-version label value. */}}
{{- define "control-plane.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Labels of every resource. */}}
{{- define "control-plane.labels" -}}
helm.sh/chart: {{ include "control-plane.chart" . }}
app.kubernetes.io/name: {{ include "control-plane.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: ai-control-plane
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* Selector labels of one component; call with (dict "root" $ "component" "api"). */}}
{{- define "control-plane.selectorLabels" -}}
app.kubernetes.io/name: {{ include "control-plane.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{/* Labels of one component's resources; call with (dict "root" $ "component" "api"). */}}
{{- define "control-plane.componentLabels" -}}
{{ include "control-plane.labels" .root }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{/* The image reference: repository@digest when a digest is set, else repository:tag. */}}
{{- define "control-plane.image" -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}
{{- end -}}

{{/* ServiceAccount the app pods run as. */}}
{{- define "control-plane.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "control-plane.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* The Secret with DATABASE_URL, REDIS_URL and the other credentials. */}}
{{- define "control-plane.credentialsSecretName" -}}
{{- if .Values.credentials.existingSecret -}}
{{- .Values.credentials.existingSecret -}}
{{- else -}}
{{- printf "%s-credentials" (include "control-plane.fullname" .) -}}
{{- end -}}
{{- end -}}

{{/* The Secret with the key files. */}}
{{- define "control-plane.keyFilesSecretName" -}}
{{- if .Values.keyFiles.existingSecret -}}
{{- .Values.keyFiles.existingSecret -}}
{{- else -}}
{{- printf "%s-key-files" (include "control-plane.fullname" .) -}}
{{- end -}}
{{- end -}}

{{/* "true" when the key-file Secret holds audit-previous-public-keys.pem, else empty. */}}
{{- define "control-plane.hasPreviousPublicKeys" -}}
{{- if .Values.keyFiles.existingSecret -}}
{{- if .Values.keyFiles.auditPreviousPublicKeys -}}true{{- end -}}
{{- else if .Values.keyFiles.inline.auditPreviousPublicKeys -}}true{{- end -}}
{{- end -}}

{{/* The api's public origin: config.PUBLIC_URL, else https://<first api ingress host>. */}}
{{- define "control-plane.publicUrl" -}}
{{- if .Values.config.PUBLIC_URL -}}
{{- .Values.config.PUBLIC_URL -}}
{{- else if and .Values.api.ingress.enabled .Values.api.ingress.hosts -}}
{{- printf "https://%s" (first .Values.api.ingress.hosts).host -}}
{{- end -}}
{{- end -}}

{{/* Refuses to render without the credentials and key files every replica needs. */}}
{{- define "control-plane.validate" -}}
{{- if not .Values.credentials.existingSecret -}}
{{- if not (and .Values.credentials.databaseUrl .Values.credentials.redisUrl) -}}
{{- fail "credentials: set credentials.existingSecret, or credentials.databaseUrl and credentials.redisUrl" -}}
{{- end -}}
{{- end -}}
{{- if not .Values.keyFiles.existingSecret -}}
{{- $k := .Values.keyFiles.inline -}}
{{- if not (and $k.secretsKey $k.auditSigningKey $k.samlSpKey $k.samlSpCert) -}}
{{- fail "keyFiles: set keyFiles.existingSecret, or every one of keyFiles.inline.secretsKey, auditSigningKey, samlSpKey and samlSpCert (every replica must share them)" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* Pod-level checksums, so a changed ConfigMap or Secret rolls the pods. */}}
{{- define "control-plane.checksums" -}}
checksum/config: {{ include (print .Template.BasePath "/configmap.yaml") . | sha256sum }}
checksum/secret: {{ include (print .Template.BasePath "/secret.yaml") . | sha256sum }}
{{- end -}}

{{/* envFrom of every app container: settings, then credentials (the Secret wins on a clash). */}}
{{- define "control-plane.envFrom" -}}
- configMapRef:
    name: {{ include "control-plane.fullname" . }}-config
- secretRef:
    name: {{ include "control-plane.credentialsSecretName" . }}
{{- end -}}

{{/* Volumes of every app pod: DATA_DIR, /tmp, key files and optional CA certificates. */}}
{{- define "control-plane.volumes" -}}
- name: data
{{- if .Values.dataDir.existingClaim }}
  persistentVolumeClaim:
    claimName: {{ .Values.dataDir.existingClaim }}
{{- else if .Values.dataDir.sizeLimit }}
  emptyDir:
    sizeLimit: {{ .Values.dataDir.sizeLimit }}
{{- else }}
  emptyDir: {}
{{- end }}
- name: tmp
{{- if .Values.tmpSizeLimit }}
  emptyDir:
    sizeLimit: {{ .Values.tmpSizeLimit }}
{{- else }}
  emptyDir: {}
{{- end }}
- name: key-files
  secret:
    secretName: {{ include "control-plane.keyFilesSecretName" . }}
    # 0440: readable by the pod's group (fsGroup), nobody else.
    defaultMode: 288
    items:
      - key: secrets.key
        path: secrets.key
      - key: audit-signing-key.pem
        path: audit-signing-key.pem
      - key: saml-sp-key.pem
        path: saml-sp-key.pem
      - key: saml-sp-cert.pem
        path: saml-sp-cert.pem
{{- if include "control-plane.hasPreviousPublicKeys" . }}
      - key: audit-previous-public-keys.pem
        path: audit-previous-public-keys.pem
{{- end }}
{{- include "control-plane.caVolumes" . }}
{{- end -}}

{{/* The CA certificate volumes (PostgreSQL, Redis), also used by the migration Job. */}}
{{- define "control-plane.caVolumes" -}}
{{- if .Values.postgresql.caSecret.name }}
- name: postgresql-ca
  secret:
    secretName: {{ .Values.postgresql.caSecret.name }}
    defaultMode: 292
    items:
      - key: {{ .Values.postgresql.caSecret.key }}
        path: ca.crt
{{- end }}
{{- if .Values.redis.caSecret.name }}
- name: redis-ca
  secret:
    secretName: {{ .Values.redis.caSecret.name }}
    defaultMode: 292
    items:
      - key: {{ .Values.redis.caSecret.key }}
        path: ca.crt
{{- end }}
{{- end -}}

{{/* Mounts matching control-plane.volumes. */}}
{{- define "control-plane.volumeMounts" -}}
- name: data
  mountPath: {{ .Values.dataDir.path }}
- name: tmp
  mountPath: /tmp
- name: key-files
  mountPath: /etc/control-plane/keys
  readOnly: true
{{- include "control-plane.caVolumeMounts" . }}
{{- end -}}

{{/* Mounts matching control-plane.caVolumes. */}}
{{- define "control-plane.caVolumeMounts" -}}
{{- if .Values.postgresql.caSecret.name }}
- name: postgresql-ca
  mountPath: /etc/control-plane/postgresql
  readOnly: true
{{- end }}
{{- if .Values.redis.caSecret.name }}
- name: redis-ca
  mountPath: /etc/control-plane/redis
  readOnly: true
{{- end }}
{{- end -}}

{{/* An HTTP probe on the container's http port; call with (dict "path" "/health/live" "probe" .probes.liveness). */}}
{{- define "control-plane.httpProbe" -}}
httpGet:
  path: {{ .path }}
  port: http
periodSeconds: {{ .probe.periodSeconds }}
timeoutSeconds: {{ .probe.timeoutSeconds }}
failureThreshold: {{ .probe.failureThreshold }}
{{- end -}}
