package main

import (
	"os/exec"
	"syscall"
)

// endWithUs makes the serve this tool starts stop (SIGTERM) when the tool
// dies, however it dies: a run killed with SIGKILL left its serve running.
func endWithUs(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
}
