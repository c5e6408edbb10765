package ui

import (
	"context"
	"fmt"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// eventSource names the UI as the reporter of the events it records.
const eventSource = "gotk-ui"

// whoAmI asks the API server for the identity's user name (SelfSubjectReview).
func (s *Server) whoAmI(ctx context.Context) string {
	review := &authenticationv1.SelfSubjectReview{}
	if err := s.client(ctx).Create(ctx, review); err != nil || review.Status.UserInfo.Username == "" {
		return "unknown user"
	}
	return review.Status.UserInfo.Username
}

// record leaves a Normal event on obj saying who did what from the UI, so
// `gotk events` and the object page show it. Failing to record does not
// undo the action: the identity may lack `create events`.
func (s *Server) record(ctx context.Context, obj client.Object, apiVersion, kind, reason, action string) error {
	now := metav1.NewTime(time.Now())
	ev := &corev1.Event{
		ObjectMeta: metav1.ObjectMeta{Namespace: obj.GetNamespace(), GenerateName: obj.GetName() + "."},
		InvolvedObject: corev1.ObjectReference{APIVersion: apiVersion, Kind: kind, Namespace: obj.GetNamespace(),
			Name: obj.GetName(), UID: obj.GetUID(), ResourceVersion: obj.GetResourceVersion()},
		Type: corev1.EventTypeNormal, Reason: reason,
		Message:        fmt.Sprintf("%s by %s from the web UI", action, s.whoAmI(ctx)),
		Source:         corev1.EventSource{Component: eventSource},
		FirstTimestamp: now, LastTimestamp: now, Count: 1,
		ReportingController: eventSource, ReportingInstance: eventSource,
	}
	return s.client(ctx).Create(ctx, ev)
}
