import ArgumentParser
import Foundation
import Headroom

/// One configuration of the engine, measured alone: for tuning (group commit's batch and wait)
/// and for profiling, without running the whole suite.
struct Probe: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure one configuration of the engine (closed loop) and print its figures.",
        discussion: "Example: headroom-bench probe --threads 64 --group-commit --batch-max 256 --gather 100")

    @Option(help: "Payments in the workload.") var payments = 20_000
    @Option(help: "Cards the payments are drawn from (Zipf).") var cards = 1_000_000
    @Option(help: "Caller threads.") var threads = 1
    @Flag(help: "Send operations through a group committer.") var groupCommit = false
    @Flag(help: "Commit without syncing.") var noSync = false
    @Option(help: "Group commit: most operations per transaction.") var batchMax = GroupCommitter.Options().batchMax
    @Option(help: "Group commit: microseconds to wait for a fuller batch.") var gather = GroupCommitter.Options().gatherMicroseconds
    @Flag(help: "Group commit in journal mode.") var journal = false
    @Flag(name: .customLong("async"), help: "Callers are tasks using the async API (--threads of them), not threads.") var asyncTasks = false
    @Option(help: "Runs of the same configuration, each on a new store.") var repeats = 1
    @Option(help: "A scratch directory for stores.") var scratch = NSTemporaryDirectory() + "headroom-bench-probe"

    func run() throws {
        var spec = WorkloadSpec()
        spec.payments = payments
        spec.cards = cards
        let workload = Workload.generate(spec)
        for _ in 0..<repeats {
            try? FileManager.default.removeItem(atPath: scratch)
            try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: scratch) }
            let harness = try EngineHarness(workload: workload, store: scratch, durable: !noSync)
            let committer = groupCommit || journal
                ? GroupCommitter.Options(batchMax: batchMax, gatherMicroseconds: gather, journal: journal ? .init() : nil) : nil
            let r = try EngineRunner.closedLoop(harness, threads: threads, setting: noSync ? "no sync" : "durable", committer: committer,
                                                asyncTasks: asyncTasks)
            print(String(format: "%@ %d \(asyncTasks ? "tasks" : "threads")%@: %.0f authorizations/s%@, correct %@", r.setting, threads,
                         committer != nil ? " group commit\(journal ? ", journal" : "") (batch \(batchMax), gather \(gather) us)" : "",
                         r.authorizationsPerSecond, r.note.isEmpty ? "" : " (\(r.note))", r.correct ? "yes" : "NO"))
        }
    }
}
