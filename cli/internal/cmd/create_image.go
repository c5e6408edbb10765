package cmd

import (
	"errors"

	"github.com/fluxcd/pkg/apis/meta"
	"github.com/spf13/cobra"

	imagev1 "gotk.dev/pkg/apis/image/v1"
)

func newCreateImageRepository(g *Globals, cf *createFlags) *cobra.Command {
	var image, secret string
	cmd := &cobra.Command{
		Use:   "repository NAME --image REPO",
		Short: "Create an ImageRepository (scans an image's tags)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if image == "" {
				return errors.New("--image is required")
			}
			om, err := cf.objectMeta(g, args[0])
			if err != nil {
				return err
			}
			obj := &imagev1.ImageRepository{ObjectMeta: om, Spec: imagev1.ImageRepositorySpec{
				Image: image, Interval: cf.duration(), SecretRef: secretRef(secret)}}
			return finishCreate(cmd.Context(), g, cf, obj)
		},
	}
	cmd.Flags().StringVar(&image, "image", "", "image repository to scan, e.g. ghcr.io/org/app")
	cmd.Flags().StringVar(&secret, "secret-ref", "", "Secret of type dockerconfigjson")
	return cmd
}

func newCreateImagePolicy(g *Globals, cf *createFlags) *cobra.Command {
	var imageRef, semver, alpha, numeric, pattern, extract string
	cmd := &cobra.Command{
		Use:   "policy NAME --image-ref REPOSITORY (--select-semver|--select-alpha|--select-numeric)",
		Short: "Create an ImagePolicy (picks the latest tag)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if imageRef == "" {
				return errors.New("--image-ref is required")
			}
			om, err := cf.objectMeta(g, args[0])
			if err != nil {
				return err
			}
			obj := &imagev1.ImagePolicy{ObjectMeta: om, Spec: imagev1.ImagePolicySpec{
				ImageRepositoryRef: meta.NamespacedObjectReference{Name: imageRef}}}
			switch {
			case semver != "" && alpha == "" && numeric == "":
				obj.Spec.Policy.SemVer = &imagev1.SemVerPolicy{Range: semver}
			case alpha != "" && semver == "" && numeric == "":
				obj.Spec.Policy.Alphabetical = &imagev1.AlphabeticalPolicy{Order: alpha}
			case numeric != "" && semver == "" && alpha == "":
				obj.Spec.Policy.Numerical = &imagev1.NumericalPolicy{Order: numeric}
			default:
				return errors.New("give exactly one of --select-semver, --select-alpha, --select-numeric")
			}
			if pattern != "" {
				obj.Spec.FilterTags = &imagev1.TagFilter{Pattern: pattern, Extract: extract}
			}
			return finishCreate(cmd.Context(), g, cf, obj)
		},
	}
	f := cmd.Flags()
	f.StringVar(&imageRef, "image-ref", "", "ImageRepository to read tags from")
	f.StringVar(&semver, "select-semver", "", "semver range, e.g. '>=1.0.0'")
	f.StringVar(&alpha, "select-alpha", "", "alphabetical order: asc or desc")
	f.StringVar(&numeric, "select-numeric", "", "numerical order: asc or desc")
	f.StringVar(&pattern, "filter-regex", "", "only tags matching this regular expression")
	f.StringVar(&extract, "filter-extract", "", "the part of the tag to compare, e.g. $ts")
	return cmd
}

func newCreateImageUpdate(g *Globals, cf *createFlags) *cobra.Command {
	var gitRepo, checkout, push, authorName, authorEmail, template, path string
	cmd := &cobra.Command{
		Use:   "update NAME --git-repo-ref NAME --checkout-branch BRANCH --author-email EMAIL",
		Short: "Create an ImageUpdateAutomation (commits new tags to Git)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if gitRepo == "" || authorEmail == "" {
				return errors.New("--git-repo-ref and --author-email are required")
			}
			om, err := cf.objectMeta(g, args[0])
			if err != nil {
				return err
			}
			if push == "" {
				push = checkout
			}
			obj := &imagev1.ImageUpdateAutomation{ObjectMeta: om, Spec: imagev1.ImageUpdateAutomationSpec{
				SourceRef: imagev1.CrossNamespaceSourceReference{Kind: "GitRepository", Name: gitRepo},
				Interval:  cf.duration(),
				GitSpec: &imagev1.GitSpec{
					Checkout: &imagev1.GitCheckoutSpec{Reference: imagev1.GitRepositoryRef{Branch: checkout}},
					Commit:   imagev1.CommitSpec{Author: imagev1.CommitUser{Name: authorName, Email: authorEmail}, MessageTemplate: template},
					Push:     &imagev1.PushSpec{Branch: push},
				},
				Update: &imagev1.UpdateStrategy{Strategy: imagev1.UpdateStrategySetters, Path: path},
			}}
			return finishCreate(cmd.Context(), g, cf, obj)
		},
	}
	f := cmd.Flags()
	f.StringVar(&gitRepo, "git-repo-ref", "", "GitRepository to update")
	f.StringVar(&checkout, "checkout-branch", "main", "branch to check out")
	f.StringVar(&push, "push-branch", "", "branch to push to (default: the checkout branch)")
	f.StringVar(&authorName, "author-name", "gotk", "commit author name")
	f.StringVar(&authorEmail, "author-email", "", "commit author email")
	f.StringVar(&template, "commit-template", "", "Go template of the commit message")
	f.StringVar(&path, "git-repo-path", "./", "path in the repository whose files are updated")
	return cmd
}
