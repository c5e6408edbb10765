package git

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha512"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	gogit "github.com/go-git/go-git/v5"
	"golang.org/x/crypto/ssh"
)

// sshsig constants (OpenSSH PROTOCOL.sshsig): git signs commits in the
// "git" namespace, and SHA-512 is what `ssh-keygen -Y sign` uses.
const (
	sshsigMagic     = "SSHSIG"
	sshsigVersion   = 1
	sshsigNamespace = "git"
	sshsigHash      = "sha512"
	minRSABits      = 2048
)

// WithSigner signs the commit with s (see ParseSSHSigningKey).
func WithSigner(s gogit.Signer) CommitOption {
	return func(o *gogit.CommitOptions) { o.Signer = s }
}

// ParseSSHSigningKey reads an SSH private key (OpenSSH or PEM, decrypted
// with passphrase when protected) and returns a signer that signs commits
// as git does with gpg.format=ssh. Accepted: ed25519, ECDSA P-256/384/521
// and RSA of at least 2048 bits.
func ParseSSHSigningKey(pemBytes, passphrase []byte) (gogit.Signer, error) {
	signer, err := parseIdentity(pemBytes, string(passphrase))
	if err != nil {
		return nil, fmt.Errorf("reading the SSH signing key: %w", err)
	}
	pub := signer.PublicKey()
	switch pub.Type() {
	case ssh.KeyAlgoED25519, ssh.KeyAlgoECDSA256, ssh.KeyAlgoECDSA384, ssh.KeyAlgoECDSA521:
	case ssh.KeyAlgoRSA:
		cpk, ok := pub.(ssh.CryptoPublicKey)
		if !ok {
			return nil, errors.New("the RSA signing key cannot be read")
		}
		if k, ok := cpk.CryptoPublicKey().(*rsa.PublicKey); !ok || k.N.BitLen() < minRSABits {
			return nil, fmt.Errorf("RSA signing keys must have at least %d bits", minRSABits)
		}
	default:
		return nil, fmt.Errorf("SSH key type %s cannot sign commits; use ed25519, ecdsa or rsa", pub.Type())
	}
	return &sshSigner{signer: signer}, nil
}

type sshSigner struct{ signer ssh.Signer }

// Sign returns the armored SSH signature of message.
func (s *sshSigner) Sign(message io.Reader) ([]byte, error) {
	h := sha512.New()
	if _, err := io.Copy(h, message); err != nil {
		return nil, err
	}
	var toSign []byte
	toSign = append(toSign, sshsigMagic...)
	toSign = appendSSHString(toSign, []byte(sshsigNamespace))
	toSign = appendSSHString(toSign, nil) // reserved
	toSign = appendSSHString(toSign, []byte(sshsigHash))
	toSign = appendSSHString(toSign, h.Sum(nil))

	var sig *ssh.Signature
	var err error
	if as, ok := s.signer.(ssh.AlgorithmSigner); ok && s.signer.PublicKey().Type() == ssh.KeyAlgoRSA {
		// ssh-rsa (SHA-1) signatures are refused by current verifiers.
		sig, err = as.SignWithAlgorithm(rand.Reader, toSign, ssh.KeyAlgoRSASHA512)
	} else {
		sig, err = s.signer.Sign(rand.Reader, toSign)
	}
	if err != nil {
		return nil, fmt.Errorf("signing the commit: %w", err)
	}

	var blob []byte
	blob = append(blob, sshsigMagic...)
	blob = binary.BigEndian.AppendUint32(blob, sshsigVersion)
	blob = appendSSHString(blob, s.signer.PublicKey().Marshal())
	blob = appendSSHString(blob, []byte(sshsigNamespace))
	blob = appendSSHString(blob, nil)
	blob = appendSSHString(blob, []byte(sshsigHash))
	blob = appendSSHString(blob, ssh.Marshal(sig))
	return armorSSHSignature(blob), nil
}

func appendSSHString(b, s []byte) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(len(s)))
	return append(b, s...)
}

// armorSSHSignature wraps blob as ssh-keygen does: base64 in lines of 70.
func armorSSHSignature(blob []byte) []byte {
	enc := base64.StdEncoding.EncodeToString(blob)
	var buf bytes.Buffer
	buf.WriteString("-----BEGIN SSH SIGNATURE-----\n")
	for len(enc) > 70 {
		buf.WriteString(enc[:70] + "\n")
		enc = enc[70:]
	}
	buf.WriteString(enc + "\n-----END SSH SIGNATURE-----\n")
	return buf.Bytes()
}
