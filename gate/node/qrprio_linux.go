package node

import "syscall"

// qrNice is the niceness of the QR reader's thread: when the cores are
// busy, the face engine gets them first, and the QR reader what is left.
const qrNice = 10

// lowerThreadPriority gives the calling goroutine's thread, which it must
// have locked and never unlock (the thread then ends with it), niceness
// qrNice. Linux sets niceness per thread.
func lowerThreadPriority() error {
	return syscall.Setpriority(syscall.PRIO_PROCESS, syscall.Gettid(), qrNice)
}
