package harness

import (
	"os/exec"
	"syscall"
)

// setProcAttr makes a serve started by the tests die with the test binary,
// so a killed run leaves no engine behind.
func setProcAttr(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
