// Package pkg is the root of gotk's shared module: API types (apis), the
// reconcile skeleton (runtime), artifacts (artifact), the local control
// plane (localcluster) and Git server (localserver) that the gotk binary
// ships, and their test-only layers: the test environment (testenv) and
// the real-protocol test servers (testserver), which only tests import.
package pkg
