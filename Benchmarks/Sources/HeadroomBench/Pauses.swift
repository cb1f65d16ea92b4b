import CoreMetrics
import Foundation
import Histogram
import Synchronization

/// One distribution of a run: how many, the total, and the percentiles (HDR histogram, 3
/// significant digits).
struct Distribution: Codable, Sendable {
    var count: Int
    var total: UInt64
    var p50: UInt64
    var p99: UInt64
    var max: UInt64
}

/// What a run's commits did, from the engine's own metrics: each checkpoint (the writer
/// decides nothing meanwhile), each journal append-and-sync, each LMDB commit of group commit
/// without a journal, each apply of write-behind, and the operations of each batch. Times in microseconds.
struct PauseSummary: Codable, Sendable {
    var checkpoints: Distribution?
    var journalSyncs: Distribution?
    var commits: Distribution?
    var batchOperations: Distribution?
    /// Write-behind's applies to LMDB (the writer decides meanwhile).
    var applies: Distribution?
    /// The store's data file at the end of the run, bytes.
    var storeBytes: Int?
}

/// A metrics backend that keeps only the commit path's timers and the batch sizes, each in a
/// histogram; every other metric is a no-op (the figures measure the engine, not a backend).
/// Each of these is recorded once per batch, sync or checkpoint, not per payment.
final class PauseRecorder: MetricsFactory, Sendable {
    private let histograms = Mutex([String: Histogram<UInt64>]())
    private static let kept: Set<String> = ["headroom_checkpoint_duration", "headroom_journal_sync_duration",
                                            "headroom_commit_duration", "headroom_batch_operations", "headroom_apply_duration"]

    func record(_ label: String, _ value: UInt64) {
        histograms.withLock {
            if $0[label] == nil {
                $0[label] = Histogram<UInt64>(highestTrackableValue: 600_000_000, numberOfSignificantValueDigits: .three)
            }
            _ = $0[label]!.record(value)
        }
    }

    func summary(storeBytes: Int?) -> PauseSummary {
        let all = histograms.withLock { $0 }
        func dist(_ label: String) -> Distribution? {
            guard let h = all[label], h.totalCount > 0 else { return nil }
            var total: UInt64 = 0
            for bucket in h.recordedValues() { total += bucket.value * bucket.count }
            return Distribution(count: Int(h.totalCount), total: total, p50: h.valueAtPercentile(50), p99: h.valueAtPercentile(99), max: h.max)
        }
        return PauseSummary(checkpoints: dist("headroom_checkpoint_duration"), journalSyncs: dist("headroom_journal_sync_duration"),
                            commits: dist("headroom_commit_duration"), batchOperations: dist("headroom_batch_operations"),
                            applies: dist("headroom_apply_duration"), storeBytes: storeBytes)
    }

    func makeCounter(label: String, dimensions: [(String, String)]) -> CounterHandler { NOOPMetricsHandler.instance }
    func makeRecorder(label: String, dimensions: [(String, String)], aggregate: Bool) -> RecorderHandler {
        Self.kept.contains(label) ? Kept(label, self) : NOOPMetricsHandler.instance
    }
    func makeTimer(label: String, dimensions: [(String, String)]) -> TimerHandler {
        Self.kept.contains(label) ? Kept(label, self) : NOOPMetricsHandler.instance
    }
    func destroyCounter(_ handler: CounterHandler) {}
    func destroyRecorder(_ handler: RecorderHandler) {}
    func destroyTimer(_ handler: TimerHandler) {}

    /// A kept metric: timers in microseconds, recorders as given.
    final class Kept: RecorderHandler, TimerHandler, Sendable {
        let label: String
        let owner: PauseRecorder

        init(_ label: String, _ owner: PauseRecorder) {
            self.label = label
            self.owner = owner
        }

        func record(_ value: Int64) { owner.record(label, UInt64(max(0, value))) }
        func record(_ value: Double) { owner.record(label, UInt64(max(0, value.rounded()))) }
        func recordNanoseconds(_ duration: Int64) { owner.record(label, UInt64(max(0, duration)) / 1000) }
    }
}
