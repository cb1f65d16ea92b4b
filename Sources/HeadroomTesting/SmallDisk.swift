#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// A small tmpfs mounted for a test: the honest way to fill a disk. Only root on Linux may
/// mount; tests that need one are enabled only where ``canMount``.
public struct SmallDisk {
    public let path: String

    /// Mounts a tmpfs of `megabytes` at `path` (created).
    public init(_ path: String, megabytes: Int) throws {
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        #if os(Linux)
        guard mount("tmpfs", path, "tmpfs", 0, "size=\(megabytes)m") == 0 else {
            throw CocoaError(.fileWriteNoPermission, userInfo: [NSFilePathErrorKey: path])
        }
        #else
        throw CocoaError(.featureUnsupported, userInfo: [NSFilePathErrorKey: path])
        #endif
        self.path = path
    }

    /// Gives the disk more room, keeping what it holds.
    public func grow(megabytes: Int) -> Bool {
        #if os(Linux)
        return mount("tmpfs", path, "tmpfs", UInt(MS_REMOUNT), "size=\(megabytes)m") == 0
        #else
        return false
        #endif
    }

    public func unmount() {
        #if os(Linux)
        umount(path)
        #endif
    }

    /// Whether this machine lets the tests mount a tmpfs (root, and a kernel that allows it).
    public static let canMount: Bool = {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("headroom-mount-probe-\(getpid())").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        guard let disk = try? SmallDisk(dir, megabytes: 1) else { return false }
        disk.unmount()
        return true
    }()
}
