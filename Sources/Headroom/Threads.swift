#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// Starts a thread of the engine's own, named for the operating system as well, so that
/// `top -H`, `ps -L` and profilers show which of Headroom's threads is busy (Foundation's
/// `Thread.name` does not reach the kernel on Linux). Linux keeps 15 bytes of a name; it is set
/// through `/proc/thread-self/comm`, since `pthread_setname_np` is not visible to Swift without
/// `_GNU_SOURCE`. Where that fails (another system, no /proc), the thread runs unnamed.
func startNamedThread(_ name: String, _ body: @escaping @Sendable () -> Void) {
    precondition(name.utf8.count <= 15, "a thread name of at most 15 bytes")
    let thread = Thread {
        #if os(Linux)
        let fd = open("/proc/thread-self/comm", O_WRONLY | O_CLOEXEC)
        if fd >= 0 {
            _ = name.withCString { write(fd, $0, strlen($0)) }
            close(fd)
        }
        #endif
        body()
    }
    thread.name = name
    thread.start()
}
