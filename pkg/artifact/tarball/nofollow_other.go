//go:build !unix

package tarball

// oNoFollow is unavailable here; securepath.Join already resolved links.
const oNoFollow = 0
