package sops

import "errors"

// SOPS splits the data key with Shamir's secret sharing when a file has
// several key groups: each group's keys encrypt one share, and any
// shamir_threshold shares give the key back. A share is the secret's
// length in bytes of y values, one polynomial per secret byte, followed
// by one byte: the x coordinate all those polynomials were evaluated at.
// Arithmetic is in GF(2^8) with the AES reduction polynomial
// x^8+x^4+x^3+x+1.

// gfMul multiplies in GF(2^8). It branches on no secret bit, since the
// operands are shares of a key.
func gfMul(a, b byte) byte {
	var p byte
	for i := 0; i < 8; i++ {
		p ^= -(b & 1) & a
		// Multiply a by x, reducing by 0x1B when the top bit falls off.
		a = (a << 1) ^ (-(a >> 7) & 0x1B)
		b >>= 1
	}
	return p
}

// gfInv returns a^254, the inverse of a non-zero a (a^255 = 1).
func gfInv(a byte) byte {
	r := byte(1)
	for e := 254; e > 0; e >>= 1 {
		if e&1 == 1 {
			r = gfMul(r, a)
		}
		a = gfMul(a, a)
	}
	return r
}

// shamirCombine recovers the secret from shares by Lagrange
// interpolation at x = 0. All shares given are used; SOPS passes every
// share it could decrypt, and any threshold-sized subset gives the same
// secret.
func shamirCombine(shares [][]byte) ([]byte, error) {
	if len(shares) < 2 {
		return nil, errors.New("at least two shares are needed")
	}
	n := len(shares[0])
	if n < 2 {
		return nil, errors.New("a share is too short")
	}
	xs := make([]byte, len(shares))
	seen := map[byte]bool{}
	for i, s := range shares {
		if len(s) != n {
			return nil, errors.New("shares differ in length")
		}
		x := s[n-1]
		if seen[x] {
			return nil, errors.New("two shares have the same x coordinate")
		}
		seen[x] = true
		xs[i] = x
	}
	// The Lagrange basis at 0 depends only on the x coordinates; in
	// GF(2^8) subtraction is XOR, so (0 - xj) / (xi - xj) = xj / (xi ^ xj).
	basis := make([]byte, len(shares))
	for i := range xs {
		b := byte(1)
		for j := range xs {
			if i != j {
				b = gfMul(b, gfMul(xs[j], gfInv(xs[i]^xs[j])))
			}
		}
		basis[i] = b
	}
	secret := make([]byte, n-1)
	for k := range secret {
		var v byte
		for i, s := range shares {
			v ^= gfMul(s[k], basis[i])
		}
		secret[k] = v
	}
	return secret, nil
}
