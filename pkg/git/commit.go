package git

import (
	"bytes"
	"errors"
	"fmt"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	gogit "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/transport"
)

// CommitOption changes how CommitAll commits.
type CommitOption func(*gogit.CommitOptions)

// WithSigningKey signs the commit with an OpenPGP key (see ParseSigningKey).
func WithSigningKey(key *openpgp.Entity) CommitOption {
	return func(o *gogit.CommitOptions) { o.SignKey = key }
}

// ParseSigningKey reads an armored OpenPGP private key and decrypts it
// with passphrase when it is protected.
func ParseSigningKey(armored, passphrase []byte) (*openpgp.Entity, error) {
	entities, err := openpgp.ReadArmoredKeyRing(bytes.NewReader(armored))
	if err != nil {
		return nil, fmt.Errorf("reading the signing key: %w", err)
	}
	if len(entities) == 0 || entities[0].PrivateKey == nil {
		return nil, errors.New("the signing key holds no private key")
	}
	key := entities[0]
	if key.PrivateKey.Encrypted {
		if len(passphrase) == 0 {
			return nil, errors.New("the signing key is encrypted and no passphrase is given")
		}
		if err := key.DecryptPrivateKeys(passphrase); err != nil {
			return nil, fmt.Errorf("decrypting the signing key: %w", err)
		}
	}
	return key, nil
}

// Signature is a commit author.
type Signature struct {
	Name, Email string
}

// InitEmpty starts a repository in dir whose origin is u and whose HEAD
// is branch, for pushing the first commit to an empty remote.
func InitEmpty(dir string, u *URL, branch string) error {
	repo, err := gogit.PlainInit(dir, false)
	if err != nil {
		return fmt.Errorf("init repository: %w", err)
	}
	if _, err := repo.CreateRemote(&config.RemoteConfig{Name: "origin", URLs: []string{u.String()}}); err != nil {
		return fmt.Errorf("init repository: %w", err)
	}
	head := plumbing.NewSymbolicReference(plumbing.HEAD, plumbing.NewBranchReferenceName(branch))
	return repo.Storer.SetReference(head)
}

// CommitAll stages every change in the checkout at dir (additions,
// modifications, deletions), commits it on branch and returns the new
// commit's hash; it returns "" when there was nothing to commit. The
// checkout may be detached (as Clone leaves it): branch is moved to the
// new commit and HEAD attached to it, ready for Push with
// "refs/heads/<branch>:refs/heads/<branch>".
func CommitAll(dir, branch string, author Signature, message string, opts ...CommitOption) (string, error) {
	repo, err := gogit.PlainOpen(dir)
	if err != nil {
		return "", fmt.Errorf("open repository: %w", err)
	}
	wt, err := repo.Worktree()
	if err != nil {
		return "", err
	}
	if err := wt.AddWithOptions(&gogit.AddOptions{All: true}); err != nil {
		return "", fmt.Errorf("stage changes: %w", err)
	}
	status, err := wt.Status()
	if err != nil {
		return "", fmt.Errorf("status: %w", err)
	}
	if status.IsClean() {
		return "", nil
	}
	var parents []plumbing.Hash
	if head, err := repo.Head(); err == nil {
		parents = []plumbing.Hash{head.Hash()}
	} else if !errors.Is(err, plumbing.ErrReferenceNotFound) {
		return "", fmt.Errorf("read HEAD: %w", err)
	}
	sig := &object.Signature{Name: author.Name, Email: author.Email, When: time.Now()}
	co := &gogit.CommitOptions{Author: sig, Committer: sig, Parents: parents, AllowEmptyCommits: false}
	for _, o := range opts {
		o(co)
	}
	hash, err := wt.Commit(message, co)
	if err != nil {
		return "", fmt.Errorf("commit: %w", err)
	}
	ref := plumbing.NewBranchReferenceName(branch)
	if err := repo.Storer.SetReference(plumbing.NewHashReference(ref, hash)); err != nil {
		return "", fmt.Errorf("move %s: %w", ref, err)
	}
	if err := repo.Storer.SetReference(plumbing.NewSymbolicReference(plumbing.HEAD, ref)); err != nil {
		return "", fmt.Errorf("attach HEAD: %w", err)
	}
	return hash.String(), nil
}

// HeadCommit returns the hash HEAD points at in the checkout at dir.
func HeadCommit(dir string) (string, error) {
	repo, err := gogit.PlainOpen(dir)
	if err != nil {
		return "", fmt.Errorf("open repository: %w", err)
	}
	head, err := repo.Head()
	if err != nil {
		return "", err
	}
	return head.Hash().String(), nil
}

// IsEmptyRemote reports whether err says the remote has no refs at all
// (a new repository), which a first push fills.
func IsEmptyRemote(err error) bool {
	return errors.Is(err, transport.ErrEmptyRemoteRepository)
}
