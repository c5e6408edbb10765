package cmd

import (
	"errors"

	"github.com/fluxcd/pkg/apis/meta"
	"github.com/spf13/cobra"

	sourcev1 "gotk.dev/pkg/apis/source/v1"
)

func secretRef(name string) *meta.LocalObjectReference {
	if name == "" {
		return nil
	}
	return &meta.LocalObjectReference{Name: name}
}

func newCreateSourceGit(g *Globals, cf *createFlags) *cobra.Command {
	var url, branch, tag, semver, commit, refName, secret, ignore, provider string
	var creds sourceCredentials
	var submodules bool
	cmd := &cobra.Command{
		Use:   "git NAME --url URL [--branch|--tag|--tag-semver|--commit|--ref-name]",
		Short: "Create a GitRepository",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if url == "" {
				return errors.New("--url is required")
			}
			om, err := cf.objectMeta(g, args[0])
			if err != nil {
				return err
			}
			obj := &sourcev1.GitRepository{ObjectMeta: om, Spec: sourcev1.GitRepositorySpec{
				URL: url, Interval: cf.duration(), SecretRef: secretRef(secret),
				Reference:         &sourcev1.GitRepositoryRef{Branch: branch, Tag: tag, SemVer: semver, Commit: commit, Name: refName},
				RecurseSubmodules: submodules, Provider: provider,
			}}
			if ignore != "" {
				obj.Spec.Ignore = &ignore
			}
			if err := creds.secret(cmd.Context(), g, cf, args[0], url, &obj.Spec.SecretRef); err != nil {
				return err
			}
			return finishCreate(cmd.Context(), g, cf, obj)
		},
	}
	f := cmd.Flags()
	f.StringVar(&url, "url", "", "repository address (https://, http://, ssh://)")
	f.StringVar(&branch, "branch", "main", "branch to follow")
	f.StringVar(&tag, "tag", "", "tag to check out")
	f.StringVar(&semver, "tag-semver", "", "semver range of tags")
	f.StringVar(&commit, "commit", "", "commit SHA to check out")
	f.StringVar(&refName, "ref-name", "", "full reference name, e.g. refs/pull/1/head")
	f.StringVar(&secret, "secret-ref", "", "Secret with credentials")
	f.StringVar(&ignore, "ignore-paths", "", "paths to leave out of the artifact (.gitignore syntax)")
	f.BoolVar(&submodules, "recurse-submodules", false, "clone the repository's submodules too")
	f.StringVar(&provider, "provider", "", "authentication provider: generic (secretRef), aws, azure or github")
	creds.bind(cmd, true)
	return cmd
}

func newCreateSourceOCI(g *Globals, cf *createFlags) *cobra.Command {
	var url, tag, semver, digest, secret, provider, ignore string
	var insecure bool
	cmd := &cobra.Command{
		Use:   "oci NAME --url oci://REPO [--tag|--tag-semver|--digest]",
		Short: "Create an OCIRepository",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if url == "" {
				return errors.New("--url is required")
			}
			om, err := cf.objectMeta(g, args[0])
			if err != nil {
				return err
			}
			obj := &sourcev1.OCIRepository{ObjectMeta: om, Spec: sourcev1.OCIRepositorySpec{
				URL: url, Interval: cf.duration(), SecretRef: secretRef(secret),
				Reference: &sourcev1.OCIRepositoryRef{Tag: tag, SemVer: semver, Digest: digest},
				Provider:  provider, Insecure: insecure,
			}}
			if ignore != "" {
				obj.Spec.Ignore = &ignore
			}
			return finishCreate(cmd.Context(), g, cf, obj)
		},
	}
	f := cmd.Flags()
	f.StringVar(&url, "url", "", "repository address (oci://)")
	f.StringVar(&tag, "tag", "latest", "tag to pull")
	f.StringVar(&semver, "tag-semver", "", "semver range of tags")
	f.StringVar(&digest, "digest", "", "digest to pull")
	f.StringVar(&secret, "secret-ref", "", "Secret of type dockerconfigjson")
	f.StringVar(&provider, "provider", sourcev1.GenericOCIProvider, "authentication provider: generic, aws, azure or gcp")
	f.StringVar(&ignore, "ignore-paths", "", "paths to leave out of the artifact (.gitignore syntax)")
	f.BoolVar(&insecure, "insecure", false, "pull over plain HTTP")
	return cmd
}

func newCreateSourceHelm(g *Globals, cf *createFlags) *cobra.Command {
	var url, secret string
	var oci bool
	var creds sourceCredentials
	cmd := &cobra.Command{
		Use:   "helm NAME --url URL",
		Short: "Create a HelmRepository",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if url == "" {
				return errors.New("--url is required")
			}
			om, err := cf.objectMeta(g, args[0])
			if err != nil {
				return err
			}
			obj := &sourcev1.HelmRepository{ObjectMeta: om, Spec: sourcev1.HelmRepositorySpec{
				URL: url, Interval: cf.duration(), SecretRef: secretRef(secret)}}
			if oci {
				obj.Spec.Type = "oci"
			}
			if err := creds.secret(cmd.Context(), g, cf, args[0], url, &obj.Spec.SecretRef); err != nil {
				return err
			}
			return finishCreate(cmd.Context(), g, cf, obj)
		},
	}
	f := cmd.Flags()
	f.StringVar(&url, "url", "", "repository address (https:// or oci://)")
	f.StringVar(&secret, "secret-ref", "", "Secret with credentials")
	f.BoolVar(&oci, "oci", false, "the repository is an OCI registry")
	creds.bind(cmd, false)
	return cmd
}

func newCreateSourceBucket(g *Globals, cf *createFlags) *cobra.Command {
	var bucket, endpoint, provider, region, secret string
	var insecure bool
	cmd := &cobra.Command{
		Use:   "bucket NAME --bucket-name NAME --endpoint HOST",
		Short: "Create a Bucket",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if bucket == "" || endpoint == "" {
				return errors.New("--bucket-name and --endpoint are required")
			}
			om, err := cf.objectMeta(g, args[0])
			if err != nil {
				return err
			}
			obj := &sourcev1.Bucket{ObjectMeta: om, Spec: sourcev1.BucketSpec{
				BucketName: bucket, Endpoint: endpoint, Provider: provider, Region: region, Insecure: insecure,
				Interval: cf.duration(), SecretRef: secretRef(secret)}}
			return finishCreate(cmd.Context(), g, cf, obj)
		},
	}
	f := cmd.Flags()
	f.StringVar(&bucket, "bucket-name", "", "bucket name")
	f.StringVar(&endpoint, "endpoint", "", "S3-compatible endpoint host")
	f.StringVar(&provider, "provider", "generic", "generic, aws, gcp or azure")
	f.StringVar(&region, "region", "", "bucket region")
	f.StringVar(&secret, "secret-ref", "", "Secret with accesskey and secretkey")
	f.BoolVar(&insecure, "insecure", false, "plain HTTP to the endpoint")
	return cmd
}
