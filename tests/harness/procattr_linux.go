package harness

import (
	"os/exec"
	"syscall"
)

// setProcAttr makes serve get sig (0: SIGKILL) when the process that
// started it dies, so a killed run leaves no engine behind.
func setProcAttr(cmd *exec.Cmd, sig syscall.Signal) {
	if sig == 0 {
		sig = syscall.SIGKILL
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: sig}
}
