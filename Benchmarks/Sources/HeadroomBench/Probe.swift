import ArgumentParser
import Foundation
import Headroom
import HeadroomMetrics
import Prometheus

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
    @Option(help: "Journal mode: MiB of journal file filled with zeros beforehand (0: the journal is appended to).")
    var preallocateMib = GroupCommitter.JournalOptions().preallocatedBytes >> 20
    @Option(help: "Journal mode: milliseconds between checkpoints.") var checkpointMs = GroupCommitter.JournalOptions().checkpointMilliseconds
    @Option(help: "Journal mode: operations between checkpoints.") var checkpointOps = GroupCommitter.JournalOptions().checkpointOperations
    @Flag(help: "Group commit in write-behind mode (decision 0019).") var writeBehind = false
    @Option(help: "Write-behind: milliseconds of batches per apply.") var applyMs = GroupCommitter.WriteBehindOptions().applyMilliseconds
    @Flag(name: .customLong("async"), help: "Callers are tasks using the async API (--threads of them), not threads.") var asyncTasks = false
    @Option(help: "Open loop: payments offered per second (through group commit: --threads caller threads, or with --async a task per payment); without it, a closed loop.")
    var rate: Double?
    @Option(help: "Open loop: seconds offered.") var seconds = 1.0
    @Option(help: "Runs of the same configuration, each on a new store.") var repeats = 1
    @Flag(help: "The engine records its metrics into a Prometheus registry (what a monitored host pays).") var prometheus = false
    @Flag(help: "The shipped rule set whole, risk rules included (default: its limits alone, as the peers check).") var risk = false
    @Flag(help: "Closed loop, limits alone and with the risk rules in turn (--repeats times each, on new stores): what the risk rules cost per authorization.")
    var compareRisk = false
    @Flag(help: "Run on a day store: every one of --cards cards has paid once that morning before the run (built first, untimed); the payments run from 08:00.")
    var day = false
    @Option(help: "A scratch directory for stores.") var scratch = NSTemporaryDirectory() + "headroom-bench-probe"

    func run() throws {
        var spec = WorkloadSpec()
        spec.payments = payments
        spec.cards = cards
        if day { spec.firstSecond = 8 * 3600 }
        let prepared = try PreparedWorkload(Workload.generate(spec))
        let workload = prepared.workload
        if compareRisk { return try compare(workload) }
        let dayScratch = scratch + "-day"
        var dayStore: DayStore?
        if day {
            try? FileManager.default.removeItem(atPath: dayScratch)
            try FileManager.default.createDirectory(atPath: dayScratch, withIntermediateDirectories: true)
            dayStore = try DayStore.build(cards: cards, spec: spec, scratch: dayScratch, say: say)
        }
        defer { if day { try? FileManager.default.removeItem(atPath: dayScratch) } }
        for _ in 0..<repeats {
            try? FileManager.default.removeItem(atPath: scratch)
            try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: scratch) }
            try dayStore?.copy(to: scratch)
            let harness = try EngineHarness(prepared: prepared, store: scratch, durable: !noSync,
                                            mapSizeBytes: DayStore.mapSizeBytes(cards: cards),
                                            metrics: prometheus ? PrometheusMetricsFactory.headroom(PrometheusCollectorRegistry()) : nil,
                                            risk: risk, pauses: !prometheus)
            harness.baseline = dayStore?.baseline ?? [:]
            let committer = groupCommit || journal || writeBehind
                ? GroupCommitter.Options(batchMax: batchMax, gatherMicroseconds: gather, journal: journal ? .init(checkpointOperations: checkpointOps, checkpointMilliseconds: checkpointMs,
                                                                                             preallocatedBytes: preallocateMib << 20) : nil,
                                         writeBehind: writeBehind ? .init(applyMilliseconds: applyMs) : nil) : nil
            if let rate {
                let options = committer ?? GroupCommitter.Options()
                let r = asyncTasks
                    ? try OpenLoop.runTasks(harness, rate: rate, seconds: seconds, setting: "open loop, tasks", committer: options)
                    : try OpenLoop.runCallers(harness, rate: rate, seconds: seconds, setting: "open loop", callers: threads, committer: options)
                print(String(format: "%@%@ offered %.0f/s: achieved %.0f/s, p50 %d us, p99 %d us, p99.9 %d us, max %d us%@, correct %@%@",
                             r.setting, journal ? ", journal" : writeBehind ? ", write-behind" : "", rate, r.achievedPerSecond, r.p50Microseconds, r.p99Microseconds,
                             r.p999Microseconds, r.maxMicroseconds, r.saturated ? " (saturated)" : "", r.correct == true ? "yes" : "NO",
                             r.note.map { " (\($0))" } ?? ""))
                r.pauses.map { print(Report.pauses($0)) }
                continue
            }
            let r = try EngineRunner.closedLoop(harness, threads: threads, setting: noSync ? "no sync" : "durable", committer: committer,
                                                asyncTasks: asyncTasks)
            print(String(format: "%@ %d \(asyncTasks ? "tasks" : "threads")%@: %.0f authorizations/s%@, correct %@", r.setting, threads,
                         committer != nil ? " group commit\(journal ? ", journal (\(preallocateMib) MiB preallocated)" : writeBehind ? ", write-behind" : "") (batch \(batchMax), gather \(gather) us)" : "",
                         r.authorizationsPerSecond, r.note.isEmpty ? "" : " (\(r.note))", r.correct ? "yes" : "NO"))
            r.pauses.map { print(Report.pauses($0)) }
        }
    }

    /// Limits alone and with the risk rules, alternately on new stores, on the same workload:
    /// the difference of the mean time per authorization is what the risk rules cost.
    func compare(_ workload: Workload) throws {
        var perAuthorization: [Bool: [Double]] = [false: [], true: []]
        var answers: [Bool: String] = [:]
        for round in 0..<repeats {
            for risk in [false, true] {
                try? FileManager.default.removeItem(atPath: scratch)
                try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
                defer { try? FileManager.default.removeItem(atPath: scratch) }
                let harness = try EngineHarness(workload: workload, store: scratch, durable: !noSync, risk: risk)
                let r = try EngineRunner.closedLoop(harness, threads: threads, setting: risk ? "limits and risk rules" : "limits alone")
                let micros = 1e6 * r.seconds / Double(r.authorizations)
                perAuthorization[risk]!.append(micros)
                answers[risk] = "\(r.approved) approved, \(r.declined) not approved"
                print(String(format: "round %d, %@: %.0f authorizations/s, %.2f us each, correct %@", round + 1, r.setting,
                             r.authorizationsPerSecond, micros, r.correct ? "yes" : "NO"))
            }
        }
        let mean = { (xs: [Double]) in xs.reduce(0, +) / Double(xs.count) }
        let alone = mean(perAuthorization[false]!), withRisk = mean(perAuthorization[true]!)
        print(String(format: "limits alone %.2f us, with risk rules %.2f us per authorization (means of %d runs): the risk rules cost %.2f us (%+.1f%%); answers: %@ / %@",
                     alone, withRisk, repeats, withRisk - alone, 100 * (withRisk - alone) / alone, answers[false]!, answers[true]!))
    }
}
