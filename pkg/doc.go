// Package pkg is the root of gotk's shared module: API types (apis), the
// reconcile skeleton (runtime), artifacts (artifact), the test environment
// (testenv) and the real-protocol test servers (testserver).
package pkg
