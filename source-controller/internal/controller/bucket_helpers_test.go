package controller

import (
	"context"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	sourcev1 "gotk.dev/pkg/apis/source/v1"
	"gotk.dev/pkg/runtime/reconcile"
)

// newBucket is a Bucket of provider reading bucketName at endpoint over
// plain HTTP.
func newBucket(ns, name, provider, endpoint, bucketName string) *sourcev1.Bucket {
	return &sourcev1.Bucket{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}, Spec: sourcev1.BucketSpec{
		Provider: provider, BucketName: bucketName, Endpoint: endpoint, Insecure: true,
		Interval: metav1.Duration{Duration: time.Hour}}}
}

// connectAndList runs the Bucket's connect and list steps and returns
// their typed error (nil when both passed).
func connectAndList(ctx context.Context, r *BucketReconciler, obj *sourcev1.Bucket) *reconcile.Error {
	run := &bucketRun{r: r}
	defer run.cleanup()
	err := run.connect(ctx, obj)
	if err == nil {
		err = run.list(ctx, obj)
	}
	if err == nil {
		return nil
	}
	return reconcile.Classify(err, "")
}

// bucketErrorCase is a row of the providers' error tables: a Bucket and
// the class, reason and message part its connect and list steps give.
type bucketErrorCase struct {
	name   string
	mutate func(*sourcev1.Bucket)
	gate   bool
	class  reconcile.Class
	reason string
	msg    string
}

// runBucketErrorCases runs each row on a copy of base.
func runBucketErrorCases(t *testing.T, base *sourcev1.Bucket, r BucketReconciler, cases []bucketErrorCase) {
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			obj := base.DeepCopy()
			tc.mutate(obj)
			rr := r
			rr.WorkloadIdentity = tc.gate
			// Short: an unreachable endpoint is retried until the deadline.
			ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
			defer cancel()
			e := connectAndList(ctx, &rr, obj)
			g.Expect(e).NotTo(BeNil())
			t.Log(e.Reason, ": ", e.Error())
			g.Expect([]any{e.Class, e.Reason}).To(Equal([]any{tc.class, tc.reason}), e.Error())
			g.Expect(e.Error()).To(ContainSubstring(tc.msg))
		})
	}
}
