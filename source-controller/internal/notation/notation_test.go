package notation_test

import (
	"strings"
	"testing"

	. "github.com/onsi/gomega"

	"gotk.dev/source-controller/internal/notation"
	"gotk.dev/source-controller/internal/notation/notationtest"
)

// ParsePolicy reads the trust policy and every certificate (PEM, several
// per key, or DER) of the *.crt and *.pem keys, ignores other keys, and
// names the key at fault.
func TestParsePolicy(t *testing.T) {
	g := NewWithT(t)
	a, err := notationtest.NewSigner("a")
	g.Expect(err).NotTo(HaveOccurred())
	b, err := notationtest.NewSigner("b")
	g.Expect(err).NotTo(HaveOccurred())
	policy := notationtest.TrustPolicy("p", "*")
	for name, tc := range map[string]struct {
		data  map[string][]byte
		certs []string // the certificates' subjects' common names, on success
		err   string   // the error, or "" for success
	}{
		"pem and der": {data: map[string][]byte{"trustpolicy.json": policy, "a.pem": a.CAPEM(), "b.crt": b.CA.Raw, "notes.txt": []byte("x")}, certs: []string{"a", "b"}},
		"two in one":  {data: map[string][]byte{"trustpolicy.json": policy, "ca.crt": append(a.CAPEM(), b.CAPEM()...)}, certs: []string{"a", "b"}},
		"no policy":   {data: map[string][]byte{"ca.crt": a.CAPEM()}, err: "no 'trustpolicy.json' key"},
		"misspelt statements": {data: map[string][]byte{"trustpolicy.json": []byte(`{"version":"1.0","policies":[]}`), "ca.crt": a.CAPEM()},
			err: "key 'trustpolicy.json' is invalid: trust policy document can not have zero trust policy statements"},
		"not json": {data: map[string][]byte{"trustpolicy.json": []byte(`version: "1.0"`), "ca.crt": a.CAPEM()},
			err: "key 'trustpolicy.json' is not a trust policy document: invalid character"},
		"bad version": {data: map[string][]byte{"trustpolicy.json": []byte(strings.Replace(string(policy), `"1.0"`, `"9"`, 1)), "ca.crt": a.CAPEM()},
			err: "key 'trustpolicy.json' is invalid: "},
		"only a key": {data: map[string][]byte{"trustpolicy.json": policy, "ca.pem": []byte("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")},
			err: "key 'ca.pem' holds no certificate"},
		"garbage":  {data: map[string][]byte{"trustpolicy.json": policy, "ca.crt": []byte("garbage")}, err: "key 'ca.crt': x509: "},
		"no certs": {data: map[string][]byte{"trustpolicy.json": policy, "ca.key": a.CAPEM()}, err: "no certificates: no key ends in '.crt' or '.pem'"},
	} {
		t.Run(name, func(t *testing.T) {
			g := NewWithT(t)
			p, err := notation.ParsePolicy(tc.data)
			if tc.err == "" {
				g.Expect(err).NotTo(HaveOccurred())
				var names []string
				for _, c := range p.Certificates() {
					names = append(names, c.Subject.CommonName)
				}
				g.Expect(names).To(Equal(tc.certs))
				return
			}
			g.Expect(err).To(MatchError(HavePrefix(tc.err)))
		})
	}
}
