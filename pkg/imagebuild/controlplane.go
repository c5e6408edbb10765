package imagebuild

import (
	"debug/elf"
	"fmt"
	"os"
	"path"
	"path/filepath"
)

// ControlPlaneBinaries are what a ControlPlane component takes from
// Options.ControlPlaneDir: what `gotk test` starts.
var ControlPlaneBinaries = []string{"kube-apiserver", "etcd"}

// elfMachines are the ELF machines of the architectures images are built for.
var elfMachines = map[string]elf.Machine{
	"amd64": elf.EM_X86_64, "arm64": elf.EM_AARCH64, "arm": elf.EM_ARM,
	"386": elf.EM_386, "ppc64le": elf.EM_PPC64, "s390x": elf.EM_S390, "riscv64": elf.EM_RISCV,
}

// controlPlaneDir is Options.ControlPlaneDir's default.
func controlPlaneDir(o Options) string {
	if o.ControlPlaneDir != "" {
		return o.ControlPlaneDir
	}
	if dir := os.Getenv("GOTK_CONTROLPLANE_BIN"); dir != "" {
		return dir
	}
	return filepath.Join(o.Root, "bin")
}

// componentEntries are the files of a component's layer: its entrypoint
// and, beside it, its helpers and control plane binaries (checked to be
// Linux executables for p: the control plane is built for the host).
func componentEntries(o Options, c Component, p platform, bins map[string]string) ([]entry, error) {
	dir := path.Dir(c.Entrypoint)
	var out []entry
	add := func(src, inImage string) error {
		es, err := binaryEntries(src, inImage)
		out = append(out, es...)
		return err
	}
	if err := add(bins[c.Package], c.Entrypoint); err != nil {
		return nil, err
	}
	for _, h := range c.Helpers {
		if err := add(bins[h], path.Join(dir, filepath.Base(bins[h]))); err != nil {
			return nil, err
		}
	}
	if !c.ControlPlane {
		return out, nil
	}
	cp := controlPlaneDir(o)
	for _, b := range ControlPlaneBinaries {
		src := filepath.Join(cp, b)
		if err := checkELF(src, p); err != nil {
			return nil, fmt.Errorf("%s image for %s: %w (the control plane is built for the host: `make controlplane`, then build this image for the host's platform)", c.Name, p, err)
		}
		if err := add(src, path.Join(dir, b)); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// checkELF fails unless path is a Linux executable for p's architecture.
func checkELF(path string, p platform) error {
	f, err := elf.Open(path)
	if err != nil {
		return fmt.Errorf("%s: not a Linux executable: %w", path, err)
	}
	defer f.Close()
	want, ok := elfMachines[p.arch]
	if !ok {
		return fmt.Errorf("%s: cannot check a binary for %s", path, p)
	}
	if f.Machine != want {
		return fmt.Errorf("%s is for %s, not %s", path, f.Machine, p)
	}
	return nil
}
