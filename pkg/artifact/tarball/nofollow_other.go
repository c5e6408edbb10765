//go:build !unix

package tarball

// oNoFollow is unavailable here; os.Root already confines the open.
const oNoFollow = 0

// oNonBlock is unavailable here.
const oNonBlock = 0
