// Package browser holds the UI's test in a real headless Chromium (Debian's
// chromium package, which `make test` installs): a package of its own so
// that it has its own test binary and timeout.
package browser
