// Headroom's figures in Prometheus' text format: the factory the C ABI and `headroom replay
// --metrics-file` give the engine, and the textfile writer of the latter.

#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Prometheus

extension PrometheusMetricsFactory {
    /// A factory into `registry` with buckets that fit Headroom's figures: durations (answers,
    /// commits, syncs, checkpoints) from 50 µs to 10 s, batches of 1 to 4,096 operations.
    public static func headroom(_ registry: PrometheusCollectorRegistry) -> PrometheusMetricsFactory {
        var factory = PrometheusMetricsFactory(registry: registry)
        let micro: [Int] = [50, 100, 250, 500, 1_000, 2_000, 5_000, 10_000, 25_000, 50_000, 100_000, 250_000, 500_000,
                            1_000_000, 2_500_000, 5_000_000, 10_000_000]
        factory.defaultDurationHistogramBuckets = micro.map { Duration.microseconds($0) }
        factory.defaultValueHistogramBuckets = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1_024, 2_048, 4_096]
        return factory
    }
}

/// Rewrites a node_exporter textfile-collector file from a registry: each time into a
/// temporary file beside it, then renamed over it, so the collector never reads half a file.
public struct MetricsTextfile: Sendable {
    /// The file rewritten.
    public let path: String
    /// The registry whose figures it holds.
    public let registry: PrometheusCollectorRegistry

    /// A writer of `registry`'s figures into `path`; nothing is written until ``write()``.
    public init(path: String, registry: PrometheusCollectorRegistry) {
        self.path = path
        self.registry = registry
    }

    /// Writes the registry's figures now. Throws ``WriteError`` with what the file system said
    /// (a missing directory, permissions, a full disk); the file is then left as it was.
    public func write() throws(WriteError) {
        var text: [UInt8] = []
        registry.emit(into: &text)
        let temporary = path + ".tmp.\(getpid())"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw WriteError(path: temporary, reason: String(cString: strerror(errno))) }
        var written = 0
        while written < text.count {
            let n = text.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + written, $0.count - written) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else {
                let reason = String(cString: strerror(errno))
                close(fd)
                unlink(temporary)
                throw WriteError(path: temporary, reason: reason)
            }
            written += n
        }
        close(fd)
        guard rename(temporary, path) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(temporary)
            throw WriteError(path: path, reason: reason)
        }
    }

    /// A metrics file that could not be written, with the file system's reason.
    public struct WriteError: Error, CustomStringConvertible {
        /// The file that could not be written (or renamed into place).
        public let path: String
        /// The file system's reason.
        public let reason: String
        public var description: String { "\(path): \(reason)" }
    }
}
