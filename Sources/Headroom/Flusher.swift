import Foundation
import LMDBKit
import Logging
import Synchronization

/// Flushes a no-sync environment to disk every few milliseconds, from a thread of its own
/// (`mdb_env_sync` is safe beside a write transaction): the bound on what a power loss can take
/// under ``Engine/Durability/syncEvery(milliseconds:)``.
final class Flusher: Sendable {
    private let environment: Environment
    private let interval: UInt32
    private let running = Atomic<Bool>(true)
    private let done = DispatchSemaphore(value: 0)
    /// Flushes done so far.
    let flushes = Atomic<Int>(0)

    init(environment: Environment, milliseconds: Int, logger: Logger) {
        precondition(milliseconds >= 1, "a flush interval of at least 1 millisecond")
        self.environment = environment
        self.interval = UInt32(milliseconds) * 1000
        startNamedThread("headroom-flush") { [self] in
            while running.load(ordering: .relaxed) {
                usleep(interval)
                do {
                    try environment.sync()
                    flushes.add(1, ordering: .relaxed)
                } catch {
                    logger.error("flushing the store failed", metadata: ["error": "\(error)"])
                }
            }
            done.signal()
        }
    }

    /// Stops after one last flush.
    func stop() {
        running.store(false, ordering: .relaxed)
        done.wait()
        try? environment.sync()
    }
}
