package reconcile

import "context"

// Step is one ordered unit of a reconcile. It sets only its own
// negative-polarity conditions and returns a typed *Error on failure.
type Step[T Object] struct {
	// Name identifies the step in logs.
	Name string
	// Run does the work.
	Run func(ctx context.Context, obj T) error
}

// RunSteps runs the steps in order and stops at the first failure.
func RunSteps[T Object](ctx context.Context, obj T, steps ...Step[T]) error {
	for _, s := range steps {
		if err := s.Run(ctx, obj); err != nil {
			return err
		}
	}
	return nil
}
