import Foundation
import Headroom
import HeadroomMetrics
import Prometheus

/// `replay --metrics-file PATH`: the engine's figures (docs/integration.md) in node_exporter's
/// textfile-collector format, rewritten atomically every second while the replay runs and a
/// last time when it ends (also when interrupted). A write that fails is said once on standard
/// error and never stops the replay: monitoring must not stop payments.
final class MetricsFile: @unchecked Sendable {
    // @unchecked: `stopped` and `failedBefore` are guarded by `condition`.
    let file: MetricsTextfile
    let factory: PrometheusMetricsFactory
    private let condition = NSCondition()
    private var stopped = false
    private var failedBefore = false
    private var thread: Thread?

    /// Writes the file once (with no figures yet) before any payment is replayed, so that a
    /// mistyped path is refused at once, not discovered in an hour: throws what that write threw.
    init(path: String) throws {
        let registry = PrometheusCollectorRegistry()
        file = MetricsTextfile(path: path, registry: registry)
        factory = .headroom(registry)
        try file.write()
    }

    /// Rewrites the file every second until ``stop()``.
    func start() {
        let thread = Thread { [self] in
            condition.lock()
            while !stopped {
                _ = condition.wait(until: Date().addingTimeInterval(1))
                if stopped { break }
                condition.unlock()
                write()
                condition.lock()
            }
            condition.unlock()
        }
        thread.name = "headroom-metrics"
        self.thread = thread
        thread.start()
    }

    /// Stops the rewriting and writes the final figures.
    func stop() {
        condition.lock()
        stopped = true
        condition.broadcast()
        condition.unlock()
        write()
    }

    private func write() {
        do {
            try file.write()
        } catch {
            condition.lock()
            let first = !failedBefore
            failedBefore = true
            condition.unlock()
            if first { warn("--metrics-file: cannot write \(error); the replay goes on without it") }
        }
    }
}
