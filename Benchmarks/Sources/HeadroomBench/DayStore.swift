import Foundation
import Headroom
import HeadroomCore

/// A store that already holds a day: every one of `cards` cards has paid once that morning
/// (``Workload/prefill(cards:spec:)``), so its day, month and year cells, its record and its
/// expiry entry are in the tree before any measured run begins. Built once, through the engine
/// (group commit, without sync: nothing here is timed as a result), then copied for each run, so
/// that every run starts from the same day.
struct DayStore {
    /// The store built once; runs get copies.
    let template: String
    let cards: Int
    let workload: Workload
    /// The same payments for the C peers (which fill their own stores from it).
    let workloadFile: String
    /// The counters' totals after the day's own payments: each run's check adds its own to them.
    let baseline: [UInt64: CounterValue]
    let storeBytes: Int
    let seconds: Double
    let correct: Bool

    static func build(cards: Int, spec: WorkloadSpec, scratch: String, say: (String) -> Void) throws -> DayStore {
        let workload = Workload.prefill(cards: cards, spec: spec)
        let template = scratch + "/day-template"
        try FileManager.default.createDirectory(atPath: template, withIntermediateDirectories: true)
        let workloadFile = scratch + "/day.bin"
        try workload.write(to: workloadFile)
        say("day store: \(cards) cards pay once each, through the engine (group commit, no sync)")
        let harness = try EngineHarness(prepared: try PreparedWorkload(workload), store: template, durable: false,
                                        mapSizeBytes: mapSizeBytes(cards: cards))
        let r = try EngineRunner.closedLoop(harness, threads: 16, setting: "day store", committer: GroupCommitter.Options())
        let baseline = try harness.engine.counterTotals()
        harness.close()
        let bytes = Machine.size(of: template)
        say(String(format: "day store: %d payments in %.1f s, %@ MiB, correct %@", r.authorizations, r.seconds,
                   Report.n(Double(bytes) / 1_048_576), r.correct ? "yes" : "NO"))
        return DayStore(template: template, cards: cards, workload: workload, workloadFile: workloadFile, baseline: baseline,
                        storeBytes: bytes, seconds: r.seconds, correct: r.correct)
    }

    /// A map large enough for the day and the runs on top of it.
    static func mapSizeBytes(cards: Int) -> Int { max(8 << 30, cards * 8 << 10) }

    /// Copies the day into `directory` (its data file; the lock file is made at opening).
    func copy(to directory: String) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/cp")
        p.arguments = [template + "/data.mdb", directory + "/data.mdb"]
        try p.run()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else { throw BenchError("could not copy the day store to \(directory)") }
    }
}

struct BenchError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
