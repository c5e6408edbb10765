package webhook

// verifyGenericHMAC checks `X-Signature: <sha1|sha256|sha512>=<hex>`, the
// HMAC of the body keyed with the token.
func verifyGenericHMAC(r Request) (Result, error) {
	if err := checkHMAC(r.Header.Get("X-Signature"), r.Token, r.Body); err != nil {
		return Result{}, err
	}
	return Result{Act: true}, nil
}
