// Package bootstrape2e holds end-to-end stories of `gotk bootstrap` against
// a hosting service's API served locally, real Git servers and a real
// control plane with the controllers running as processes. It has no
// code outside its tests.
package bootstrape2e
