{{/* Name of the chart, or nameOverride. */}}
{{- define "serin.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Full name of the controller's objects: the release name when it already contains the name. */}}
{{- define "serin.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := include "serin.name" . -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* Labels that select the controller's pods. */}}
{{- define "serin.selectorLabels" -}}
app.kubernetes.io/name: {{ include "serin.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: controller
{{- end -}}

{{/* Labels of every object of the chart. */}}
{{- define "serin.labels" -}}
{{ include "serin.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end -}}

{{/* The controller's ServiceAccount. */}}
{{- define "serin.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "serin.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* "true" when leader election is on: asked for, or needed because of several replicas. */}}
{{- define "serin.leaderElection" -}}
{{- if or .Values.leaderElection.enabled (gt (int .Values.replicaCount) 1) -}}
true
{{- else -}}
false
{{- end -}}
{{- end -}}

{{/* Verbs on Secrets, from rbac.secretsAccess and controller.enableConfigTracking. */}}
{{- define "serin.secretVerbs" -}}
{{- $access := .Values.rbac.secretsAccess -}}
{{- if eq $access "auto" -}}
{{- $access = ternary "full" "get" .Values.controller.enableConfigTracking -}}
{{- end -}}
{{- if eq $access "full" -}}
["get", "list", "watch", "create", "patch", "update", "delete"]
{{- else if eq $access "get" -}}
{{- if .Values.controller.enableConfigTracking -}}
{{- fail "rbac.secretsAccess=get needs controller.enableConfigTracking=false: config tracking writes -primary copies of Secrets" -}}
{{- end -}}
["get"]
{{- else -}}
{{- fail (printf "rbac.secretsAccess must be auto, full or get, not %q" $access) -}}
{{- end -}}
{{- end -}}

{{/* The controller's rules, shared by the ClusterRole and the namespaced Role. */}}
{{- define "serin.rules" -}}
# The API serin serves.
- apiGroups: ["flagger.app"]
  resources: ["canaries"]
  verbs: ["get", "list", "watch", "patch", "update"]
- apiGroups: ["flagger.app"]
  resources: ["canaries/status"]
  verbs: ["get", "patch", "update"]
- apiGroups: ["flagger.app"]
  resources: ["canaries/finalizers"]
  verbs: ["update"]
- apiGroups: ["flagger.app"]
  resources: ["metrictemplates", "alertproviders"]
  verbs: ["get", "list", "watch"]
# Targets and the primaries serin creates from them.
- apiGroups: ["apps"]
  resources: ["deployments", "daemonsets"]
  verbs: ["get", "list", "watch", "create", "patch", "update", "delete"]
- apiGroups: ["apps"]
  resources: ["deployments/scale"]
  verbs: ["get", "patch", "update"]
- apiGroups: ["autoscaling"]
  resources: ["horizontalpodautoscalers"]
  verbs: ["get", "list", "watch", "create", "patch", "update", "delete"]
# The apex, -primary and -canary Services.
- apiGroups: [""]
  resources: ["services"]
  verbs: ["get", "list", "watch", "create", "patch", "update", "delete"]
# Config tracking: the ConfigMaps and Secrets a target mounts, and their -primary copies.
# Secrets are also read for the credentials of MetricTemplates and AlertProviders.
- apiGroups: [""]
  resources: ["configmaps"]
  verbs: ["get", "list", "watch", "create", "patch", "update", "delete"]
- apiGroups: [""]
  resources: ["secrets"]
  verbs: {{ include "serin.secretVerbs" . }}
# Kubernetes events about each Canary's progress.
- apiGroups: [""]
  resources: ["events"]
  verbs: ["create", "patch"]
- apiGroups: ["events.k8s.io"]
  resources: ["events"]
  verbs: ["create", "patch"]
# The routers' objects: what each router declares it writes (serin_controller::routers).
- apiGroups: ["gateway.networking.k8s.io"]
  resources: ["grpcroutes", "httproutes"]
  verbs: ["get", "list", "watch", "create", "patch", "update", "delete"]
- apiGroups: ["networking.istio.io"]
  resources: ["virtualservices", "destinationrules"]
  verbs: ["get", "list", "watch", "create", "patch", "update", "delete"]
- apiGroups: ["networking.k8s.io"]
  resources: ["ingresses"]
  verbs: ["get", "list", "watch", "create", "patch", "update", "delete"]
- apiGroups: ["projectcontour.io"]
  resources: ["httpproxies"]
  verbs: ["get", "list", "watch", "create", "patch", "update", "delete"]
- apiGroups: ["traefik.io"]
  resources: ["traefikservices"]
  verbs: ["get", "list", "watch", "create", "patch", "update", "delete"]
- apiGroups: ["apisix.apache.org"]
  resources: ["apisixroutes"]
  verbs: ["get", "list", "watch", "create", "patch", "update", "delete"]
- apiGroups: ["split.smi-spec.io"]
  resources: ["trafficsplits"]
  verbs: ["get", "list", "watch", "create", "patch", "update", "delete"]
- apiGroups: ["kuma.io"]
  resources: ["trafficroutes", "meshhttproutes"]
  verbs: ["get", "list", "watch", "create", "patch", "update", "delete"]
- apiGroups: ["gateway.solo.io"]
  resources: ["routetables"]
  verbs: ["get", "list", "watch", "create", "patch", "update", "delete"]
- apiGroups: ["gloo.solo.io"]
  resources: ["upstreams"]
  verbs: ["get", "list", "watch", "create", "patch", "update", "delete"]
- apiGroups: ["serving.knative.dev"]
  resources: ["services"]
  verbs: ["get", "list", "watch", "create", "patch", "update", "delete"]
{{- end -}}

{{/* Rules for routers serin does not implement yet (routers.extra): Traefik's legacy API
   group, KEDA. */}}
{{- define "serin.extraRouterRules" -}}
- apiGroups: ["traefik.containo.us"]
  resources: ["traefikservices"]
  verbs: ["get", "list", "watch", "create", "patch", "update", "delete"]
- apiGroups: ["keda.sh"]
  resources: ["scaledobjects"]
  verbs: ["get", "list", "watch", "create", "patch", "update", "delete"]
{{- end -}}

{{/* The container security context shared by the controller and the load tester. */}}
{{- define "serin.containerSecurityContext" -}}
runAsNonRoot: true
runAsUser: 65532
runAsGroup: 65532
readOnlyRootFilesystem: true
allowPrivilegeEscalation: false
capabilities:
  drop: ["ALL"]
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{/* The pod security context shared by the controller and the load tester. */}}
{{- define "serin.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: 65532
runAsGroup: 65532
seccompProfile:
  type: RuntimeDefault
{{- end -}}
