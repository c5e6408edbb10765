package controller

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
)

// optsChart is a chart that makes the effect of each action option
// visible: hooks that record the revision they ran for, a CRD of its own
// API group (CRDs are cluster-wide, so each test namespace gets its own),
// a values schema, and switches for a PVC that never binds (Helm's wait
// never ends), a name the API server rejects, an extra
// ConfigMap, a Deployment and a test hook.
func optsChart(t testing.TB, version, group, crdExtra string) []byte {
	return packageChart(t, "opts", version, map[string]string{
		"values.yaml": "message: hello\npvc: false\nbadName: false\nextra: false\ndeployment: false\ntestExit: \"0\"\n",
		"values.schema.json": `{"$schema": "http://json-schema.org/draft-07/schema#", "type": "object",
  "properties": {"message": {"type": "string"}}}`,
		"crds/widgets.yaml": `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.` + group + `
spec:
  group: ` + group + `
  names: {kind: Widget, plural: widgets` + crdExtra + `}
  scope: Namespaced
  versions:
  - name: v1
    served: true
    storage: true
    schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}
`,
		"templates/configmap.yaml": `apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ .Release.Name }}-config
data:
  message: {{ .Values.message | quote }}
{{- if .Values.badName }}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: Invalid_Name_{{ .Release.Name }}
{{- end }}
{{- if .Values.extra }}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ .Release.Name }}-extra
data: {}
{{- end }}
`,
		"templates/hooks.yaml": `apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ .Release.Name }}-hook
  annotations:
    helm.sh/hook: pre-install,pre-upgrade,pre-rollback
data:
  revision: {{ .Release.Revision | quote }}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ .Release.Name }}-predelete
  annotations:
    helm.sh/hook: pre-delete
data: {}
`,
		"templates/pvc.yaml": `{{- if .Values.pvc }}
apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: {{ .Release.Name }}-data
spec:
  accessModes: [ReadWriteOnce]
  storageClassName: never-provisioned
  resources:
    requests:
      storage: 1Mi
{{- end }}
`,
		"templates/deployment.yaml": `{{- if .Values.deployment }}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .Release.Name }}
spec:
  replicas: 1
  selector:
    matchLabels: {app: {{ .Release.Name }}}
  template:
    metadata:
      labels: {app: {{ .Release.Name }}}
    spec:
      containers:
      - name: app
        image: example.com/app:1
{{- end }}
`,
		"templates/tests/test.yaml": testHookTemplate,
	})
}

// publishOpts publishes optsChart as the HelmChart "opts" in ns and
// returns the API group of its CRD, deleted when the test ends.
func publishOpts(t *testing.T, ns, version, crdExtra string) string {
	t.Helper()
	group := ns + ".gotk.test"
	publishChart(t, ns, "opts", optsChart(t, version, group, crdExtra), version)
	t.Cleanup(func() {
		_ = env.Client.Delete(context.Background(), &apiextensionsv1.CustomResourceDefinition{ObjectMeta: metaOf("", "widgets."+group)})
	})
	return group
}

// configMap returns the ConfigMap ns/name, or nil when it does not exist.
func configMap(t testing.TB, ns, name string) *corev1.ConfigMap {
	t.Helper()
	cm := &corev1.ConfigMap{}
	err := env.Client.Get(context.Background(), types.NamespacedName{Namespace: ns, Name: name}, cm)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	return cm
}

// crd returns the CRD widgets.group, or nil when it does not exist.
func crd(t testing.TB, group string) *apiextensionsv1.CustomResourceDefinition {
	t.Helper()
	c := &apiextensionsv1.CustomResourceDefinition{}
	err := env.Client.Get(context.Background(), types.NamespacedName{Name: "widgets." + group}, c)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// fieldsTimeout bounds each wait of the option tests.
const fieldsTimeout = 90 * time.Second
