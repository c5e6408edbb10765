package generator

import (
	sourceextv1beta1 "gotk.dev/pkg/apis/sourceextensions/v1beta1"
	"gotk.dev/pkg/artifact/securepath"
)

// OpError is the failure of one copy operation of an output artifact.
type OpError struct {
	// Index is the operation's position in spec.artifacts[].copy.
	Index int
	Err   error
}

func (e *OpError) Error() string { return e.Err.Error() }

// Unwrap returns the operation's error (an *Error for spec or content).
func (e *OpError) Unwrap() error { return e.Err }

// Compose runs an output artifact's copy operations, in order, into
// root; srcDirs holds the extracted tree of each source alias. The first
// failure is returned as an *OpError.
func Compose(root *securepath.Root, out *sourceextv1beta1.OutputArtifact, srcDirs map[string]string) error {
	for i, op := range out.Copy {
		alias, _, err := ParseFrom(op.From)
		if err == nil {
			dir, ok := srcDirs[alias]
			if !ok {
				err = invalid("copy from '%s': unknown source alias '%s'", op.From, alias)
			} else {
				err = Apply(root, Op{From: op.From, To: op.To, SrcDir: dir, Exclude: op.Exclude, Strategy: op.Strategy})
			}
		}
		if err != nil {
			return &OpError{Index: i, Err: err}
		}
	}
	return nil
}
