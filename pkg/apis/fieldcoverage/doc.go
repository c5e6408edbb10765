// Package fieldcoverage holds only a test: every spec field of every gotk
// kind must be read by controller code and map to the behavioural test
// that checks it (or to the condition Flux itself gives it), so no field
// is silently ignored.
package fieldcoverage
