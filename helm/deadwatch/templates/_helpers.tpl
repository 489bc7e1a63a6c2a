{{/* Chart name, truncated to the DNS label limit. */}}
{{- define "deadwatch.name" -}}
{{- .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Release-qualified name. */}}
{{- define "deadwatch.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "deadwatch.selectorLabels" -}}
app.kubernetes.io/name: {{ include "deadwatch.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "deadwatch.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{ include "deadwatch.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{- define "deadwatch.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "deadwatch.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* Path of the agent jar inside the training container. */}}
{{- define "deadwatch.agentJar" -}}
{{- if .Values.agent.image.repository -}}
/deadwatch/agent/deadwatch-agent.jar
{{- else -}}
{{- .Values.agent.jarPath -}}
{{- end -}}
{{- end -}}

{{/* JAVA_TOOL_OPTIONS: the javaagent with its arguments, then the extra options. */}}
{{- define "deadwatch.javaToolOptions" -}}
{{- $a := .Values.agent -}}
{{- $args := printf "port=%d,host=0.0.0.0,every=%d,order=%d,budget=%v,probe=%d,fisher=%t,copies=%t,run=%s" (int .Values.metrics.port) (int $a.every) (int $a.order) $a.budget (int $a.probe) $a.fisher $a.copies (default .Release.Name $a.run) -}}
{{- printf "-javaagent:%s=%s %s" (include "deadwatch.agentJar" .) $args $a.extraJavaOptions | trim -}}
{{- end -}}

{{/* The pod template shared by the Job and the Deployment. */}}
{{- define "deadwatch.podTemplate" -}}
metadata:
  labels:
    {{- include "deadwatch.labels" . | nindent 4 }}
    {{- with .Values.podLabels }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  {{- with .Values.podAnnotations }}
  annotations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
spec:
  serviceAccountName: {{ include "deadwatch.serviceAccountName" . }}
  {{- if eq .Values.workload.kind "Job" }}
  restartPolicy: Never
  {{- end }}
  {{- with .Values.imagePullSecrets }}
  imagePullSecrets:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  securityContext:
    {{- toYaml .Values.podSecurityContext | nindent 4 }}
  {{- if and .Values.agent.enabled .Values.agent.image.repository }}
  initContainers:
    - name: deadwatch-agent
      image: {{ printf "%s:%s" .Values.agent.image.repository (default .Chart.AppVersion .Values.agent.image.tag) | quote }}
      imagePullPolicy: {{ .Values.agent.image.pullPolicy }}
      command: ["cp", {{ .Values.agent.image.jarPath | quote }}, "/deadwatch/agent/deadwatch-agent.jar"]
      securityContext:
        {{- toYaml .Values.securityContext | nindent 8 }}
      resources:
        limits:
          cpu: 100m
          memory: 64Mi
        requests:
          cpu: 10m
          memory: 16Mi
      volumeMounts:
        - name: deadwatch-agent
          mountPath: /deadwatch/agent
  {{- end }}
  containers:
    - name: training
      image: {{ printf "%s:%s" (required "image.repository is required: the image of your training program" .Values.image.repository) (default .Chart.AppVersion .Values.image.tag) | quote }}
      imagePullPolicy: {{ .Values.image.pullPolicy }}
      {{- with .Values.command }}
      command:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with .Values.args }}
      args:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      env:
        {{- if .Values.agent.enabled }}
        - name: JAVA_TOOL_OPTIONS
          value: {{ include "deadwatch.javaToolOptions" . | quote }}
        {{- end }}
        - name: HOME
          value: /tmp
        - name: DJL_CACHE_DIR
          value: /tmp/djl
        - name: ENGINE_CACHE_DIR
          value: /tmp/djl
        {{- with .Values.env }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
      {{- if .Values.agent.enabled }}
      ports:
        - name: metrics
          containerPort: {{ .Values.metrics.port }}
          protocol: TCP
      {{- end }}
      securityContext:
        {{- toYaml .Values.securityContext | nindent 8 }}
      resources:
        {{- toYaml .Values.resources | nindent 8 }}
      volumeMounts:
        - name: tmp
          mountPath: /tmp
        {{- if and .Values.agent.enabled .Values.agent.image.repository }}
        - name: deadwatch-agent
          mountPath: /deadwatch/agent
          readOnly: true
        {{- end }}
  volumes:
    - name: tmp
      emptyDir:
        sizeLimit: {{ .Values.tmp.sizeLimit }}
    {{- if and .Values.agent.enabled .Values.agent.image.repository }}
    - name: deadwatch-agent
      emptyDir:
        sizeLimit: 64Mi
    {{- end }}
  {{- with .Values.nodeSelector }}
  nodeSelector:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .Values.affinity }}
  affinity:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .Values.tolerations }}
  tolerations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
{{- end -}}
