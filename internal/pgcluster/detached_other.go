//go:build !unix

package pgcluster

import "syscall"

// detached leaves a command's process attributes as they are.
func detached() *syscall.SysProcAttr { return nil }
