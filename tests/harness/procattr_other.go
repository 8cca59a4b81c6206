//go:build !linux

package harness

import (
	"os/exec"
	"syscall"
)

func setProcAttr(*exec.Cmd, syscall.Signal) {}
