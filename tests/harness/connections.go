package harness

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// connectionPorts lists the local ports of process pid's TCP connections
// to remotePort, from Linux's /proc: the process's descriptors name socket
// inodes, and /proc/net/tcp (tcp6) gives each inode's addresses. The
// process should be stopped, so that none opens or closes meanwhile.
func connectionPorts(pid, remotePort int) (map[int]bool, error) {
	dir := fmt.Sprintf("/proc/%d/fd", pid)
	fds, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("descriptors of process %d: %w", pid, err)
	}
	inodes := map[string]bool{}
	for _, fd := range fds {
		target, err := os.Readlink(filepath.Join(dir, fd.Name()))
		if err != nil {
			continue // closed while listed
		}
		if inode, ok := strings.CutPrefix(target, "socket:["); ok {
			inodes[strings.TrimSuffix(inode, "]")] = true
		}
	}
	ports := map[int]bool{}
	for _, table := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		if err := socketPorts(table, inodes, remotePort, ports); err != nil && !(table == "/proc/net/tcp6" && errors.Is(err, fs.ErrNotExist)) {
			return nil, err
		}
	}
	return ports, nil
}

// socketPorts adds to ports the local port of each socket of table whose
// inode is in inodes and whose remote port is remotePort. A line reads
// "sl local_address rem_address st … inode …", an address as HEXIP:HEXPORT.
func socketPorts(table string, inodes map[string]bool, remotePort int, ports map[int]bool) error {
	f, err := os.Open(table)
	if err != nil {
		return err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Scan() // the header
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 10 || !inodes[fields[9]] {
			continue
		}
		local, errL := hexPort(fields[1])
		remote, errR := hexPort(fields[2])
		if err := errors.Join(errL, errR); err != nil {
			return fmt.Errorf("%s: %q: %w", table, sc.Text(), err)
		}
		if remote == remotePort {
			ports[local] = true
		}
	}
	return sc.Err()
}

// hexPort is the port of a /proc/net/tcp address (0100007F:1F90 → 8080).
func hexPort(addr string) (int, error) {
	i := strings.LastIndexByte(addr, ':')
	if i < 0 {
		return 0, fmt.Errorf("address %q has no port", addr)
	}
	port, err := strconv.ParseUint(addr[i+1:], 16, 16)
	return int(port), err
}
