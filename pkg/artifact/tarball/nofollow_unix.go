//go:build unix

package tarball

import "syscall"

// oNoFollow makes opening an extracted file fail if it is a symlink.
const oNoFollow = syscall.O_NOFOLLOW

// oNonBlock keeps opening a file swapped for a FIFO from blocking.
const oNonBlock = syscall.O_NONBLOCK
