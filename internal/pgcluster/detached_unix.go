//go:build unix

package pgcluster

import "syscall"

// detached puts a command in a process group of its own.
func detached() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
