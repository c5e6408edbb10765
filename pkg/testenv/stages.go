package testenv

// ExitAnnotation on a bare Pod makes kwok finish it: "0" → Succeeded, "1" →
// Failed (with PodExitStages). Helm test and hook Pods need this, since
// kwok's default stages complete only Pods owned by a Job.
const ExitAnnotation = "testenv.gotk.dev/exit"

// PodExitStages are kwok Stages that finish Running Pods carrying
// ExitAnnotation; pass them to WithStages.
var PodExitStages = []string{podExitStage("pod-exit-success", "0", "Succeeded", "Completed"),
	podExitStage("pod-exit-failure", "1", "Failed", "Error")}

func podExitStage(name, code, phase, reason string) string {
	return `apiVersion: kwok.x-k8s.io/v1alpha1
kind: Stage
metadata:
  name: ` + name + `
spec:
  resourceRef:
    apiGroup: v1
    kind: Pod
  selector:
    matchExpressions:
    - key: '.metadata.deletionTimestamp'
      operator: 'DoesNotExist'
    - key: '.status.phase'
      operator: 'In'
      values: ['Running']
    - key: '.metadata.annotations["` + ExitAnnotation + `"]'
      operator: 'In'
      values: ['` + code + `']
  next:
    statusTemplate: |
      {{ $now := Now }}
      containerStatuses:
      {{ range $index, $item := .spec.containers }}
      - image: {{ $item.image | Quote }}
        name: {{ $item.name | Quote }}
        ready: false
        restartCount: 0
        started: false
        state:
          terminated:
            exitCode: ` + code + `
            finishedAt: {{ $now | Quote }}
            reason: ` + reason + `
            startedAt: {{ $now | Quote }}
      {{ end }}
      phase: ` + phase + `
`
}
