import CoreMetrics
import Foundation
import Headroom
import HeadroomCore
import HeadroomRules
import Logging
import Synchronization

/// One measured run, as it goes into the report and results.json.
struct RunResult: Codable, Sendable {
    var system: String
    var setting: String
    var threads: Int
    var ops: Int
    var authorizations: Int
    var seconds: Double
    var approved: Int
    var declined: Int
    var errors: Int
    /// The end-of-run check passed (counters equal the approved, unreleased payments).
    var correct: Bool
    var note: String = ""
    /// The commit path's pauses and the store's size (day-scale runs; older results have none).
    var pauses: PauseSummary? = nil

    var authorizationsPerSecond: Double { Double(authorizations) / seconds }
}

/// A workload's requests and ids, built once: several runs share them.
final class PreparedWorkload: Sendable {
    let workload: Workload
    let requests: [PaymentRequest?]
    let ids: [PaymentID]

    init(_ workload: Workload) throws {
        self.workload = workload
        var requests: [PaymentRequest?] = []
        var ids: [PaymentID] = []
        requests.reserveCapacity(workload.ops.count)
        ids.reserveCapacity(workload.ops.count)
        for op in workload.ops {
            let id = try PaymentID("\(workload.spec.idPrefix)\(op.kind == Op.Kind.refund.rawValue ? op.payment + 1_000_000_000 : op.payment)")
            ids.append(id)
            guard op.kind == Op.Kind.authorize.rawValue else {
                requests.append(nil)
                continue
            }
            requests.append(PaymentRequest(
                id: id, time: Timestamp(unixSeconds: op.time), card: try CardNumber(cardNumber(op.card)),
                institution: try Institution(institutionCodes[Int(op.institution)]), business: Business(rawValue: op.business)!,
                amount: Amount(fen: op.amountFen), accountClass: AccountClass(rawValue: op.accountClass)!))
        }
        self.requests = requests
        self.ids = ids
    }
}

/// The engine and its requests, prebuilt so that the clock measures the engine alone.
final class EngineHarness: @unchecked Sendable {
    // @unchecked: the engine is used under `lock` only, and not while a committer owns it.
    /// The engine, while no committer owns it (``startCommitter(_:)`` takes it over).
    private(set) var engine: Engine!
    private let store: String
    private let key: CardKey
    private let options: Engine.Options
    private let logger: Logger
    let lock = NSLock()
    let prepared: PreparedWorkload
    var workload: Workload { prepared.workload }
    var requests: [PaymentRequest?] { prepared.requests }
    var ids: [PaymentID] { prepared.ids }
    /// What the store's counters held before this workload ran (a day store's own payments):
    /// the end-of-run check adds the workload's answers to it.
    var baseline: [UInt64: CounterValue] = [:]
    /// When set, operations go through group commit instead of the lock.
    var committer: GroupCommitter?
    /// Where the engine's commit-path metrics go, when the run reports its pauses.
    let pauses: PauseRecorder?

    /// The benchmark's card key (made up; never a bank's).
    static let cardKeyHex = String(repeating: "b7", count: 32)

    static let rulesDirectory: String = {
        let here = URL(fileURLWithPath: #filePath)
        return here.deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Rules").path
    }()

    /// `risk`: the shipped rule set whole; without it, its limits alone (no `risk.yaml`), the
    /// checks the peers (raw LMDB, SQLite, Redis) make too.
    convenience init(workload: Workload, store: String, durable: Bool, mapSizeBytes: Int = 8 << 30, metrics: (any MetricsFactory)? = nil,
                     risk: Bool = false) throws {
        try self.init(prepared: try PreparedWorkload(workload), store: store, durable: durable, mapSizeBytes: mapSizeBytes,
                      metrics: metrics, risk: risk)
    }

    /// `pauses`: the engine's commit-path metrics go to a ``PauseRecorder`` (instead of `metrics`).
    init(prepared: PreparedWorkload, store: String, durable: Bool, mapSizeBytes: Int = 8 << 30, metrics: (any MetricsFactory)? = nil,
         risk: Bool = false, pauses: Bool = false) throws {
        self.prepared = prepared
        let recorder = pauses ? PauseRecorder() : nil
        self.pauses = recorder
        let metrics = recorder ?? metrics
        let key = try CardKey(hex: Self.cardKeyHex)
        let rules = try RuleSource.read(directory: Self.rulesDirectory).filter { risk || !$0.name.hasSuffix("/risk.yaml") }
        var logger = Logger(label: "headroom-bench")
        logger.logLevel = .warning  // the engine's notices (a rule set put in force) are noise here
        options = Engine.Options(mapSizeBytes: mapSizeBytes, durability: durable ? .syncEachCommit : .operatingSystemDecides,
                                 metrics: metrics)
        engine = try Engine(path: store, cardKey: key, rules: rules, options: options, logger: logger)
        self.store = store
        self.key = key
        self.logger = logger
    }

    /// Closes the engine (the store can then be copied); the harness runs nothing after it.
    func close() {
        engine = nil
    }

    /// The run's pauses and the store's size, when it records them.
    func pauseSummary() -> PauseSummary? {
        pauses?.summary(storeBytes: Machine.size(of: store))
    }

    /// Hands the store to a group committer, which opens and owns its own engine (the harness's
    /// is closed first: a process opens a store once).
    @discardableResult
    func startCommitter(_ commit: GroupCommitter.Options) throws -> GroupCommitter {
        engine = nil
        let started = try GroupCommitter(path: store, cardKey: key, rules: nil, engineOptions: options, options: commit, logger: logger)
        committer = started
        return started
    }

    /// Stops the committer and takes its engine back.
    @discardableResult
    func stopCommitter() -> GroupCommitter {
        let stopped = committer!
        engine = stopped.shutdown()
        committer = nil
        return stopped
    }

    /// Runs op `i`; answers whether an authorization was approved (nil for other ops). Through
    /// group commit when it is on, else under the lock.
    @discardableResult
    func run(_ i: Int) -> (approved: Bool?, error: Bool) {
        if let committer { return run(i, on: committer) }
        lock.lock()
        defer { lock.unlock() }
        return run(i, on: engine)
    }

    func run(_ i: Int, on target: some PaymentLifecycle) -> (approved: Bool?, error: Bool) {
        let op = workload.ops[i]
        do {
            switch Op.Kind(rawValue: op.kind)! {
            case .authorize: return (try target.authorize(requests[i]!).decision.isApproved, false)
            case .confirm: try target.confirm(ids[i])
            case .release: try target.release(ids[i])
            case .refund:
                _ = try target.refund(RefundRequest(id: ids[i], original: try PaymentID("\(workload.spec.idPrefix)\(op.payment)"),
                                                    amount: Amount(fen: op.amountFen), time: Timestamp(unixSeconds: op.time + 3600)))
            }
            return (nil, false)
        } catch {
            return (nil, true)
        }
    }
}

extension EngineHarness {
    /// ``run(_:)`` through the group committer's `async` API: the caller suspends, no thread waits.
    func runAsync(_ i: Int, on committer: GroupCommitter) async -> (approved: Bool?, error: Bool) {
        let op = workload.ops[i]
        do {
            switch Op.Kind(rawValue: op.kind)! {
            case .authorize: return (try await committer.authorize(requests[i]!).decision.isApproved, false)
            case .confirm: try await committer.confirm(ids[i])
            case .release: try await committer.release(ids[i])
            case .refund:
                _ = try await committer.refund(RefundRequest(id: ids[i], original: try PaymentID("\(workload.spec.idPrefix)\(op.payment)"),
                                                             amount: Amount(fen: op.amountFen), time: Timestamp(unixSeconds: op.time + 3600)))
            }
            return (nil, false)
        } catch {
            return (nil, true)
        }
    }
}

/// Journal mode: how many checkpoints a run crossed, and the longest (the writer waits through
/// each); empty otherwise.
func checkpointNote(_ committer: GroupCommitter) -> String {
    guard committer.options.journal != nil || committer.options.writeBehind != nil, committer.checkpoints > 0 else { return "" }
    // Write-behind's applies stop nobody: the writer decides meanwhile.
    let one = committer.checkpoints == 1
    let noun = committer.options.journal != nil ? (one ? "checkpoint" : "checkpoints") : (one ? "apply" : "applies")
    return String(format: "; %d %@, longest %.1f ms", committer.checkpoints, noun, Double(committer.checkpointMicrosecondsMax) / 1000)
}

/// What the callers of a closed loop found.
final class Tally: Sendable {
    let approved = Mutex([Int: Bool]())
    let errors = Atomic<Int>(0)
}

/// A shared position in the work, for tasks.
final class SharedCursor: Sendable {
    let value: Atomic<Int>
    init(_ start: Int) { value = Atomic(start) }
}

/// Runs `body` on `count` threads of their own at once and waits for all of them.
func runThreads(_ count: Int, _ body: @escaping @Sendable () -> Void) {
    let group = DispatchGroup()
    for _ in 0..<count {
        group.enter()
        let thread = Thread {
            body()
            group.leave()
        }
        thread.stackSize = 1 << 20
        thread.start()
    }
    group.wait()
}

enum EngineRunner {
    /// Runs the whole workload as fast as it goes with `threads` caller threads.
    /// `verify`: compare the counters with the store's baseline plus what the answers make;
    /// otherwise (and with risk rules) only the engine's own invariant check runs.
    /// `seconds`: a run bounded in time, not by the workload: callers take no new payment after
    /// it (refunds are left out), and the check and the figures cover the payments run.
    static func closedLoop(_ harness: EngineHarness, threads: Int, setting: String, verify: Bool = true,
                           committer options: GroupCommitter.Options? = nil,
                           asyncTasks: Bool = false, seconds limit: Double? = nil) throws -> RunResult {
        if let options {
            try harness.startCommitter(options)
        }
        let units = harness.workload.units
        let next = Atomic<Int>(0)
        let tally = Tally()  // payment -> approved, by its first answer; refused operations
        let refundStart = units.firstIndex { harness.workload.ops[$0.lowerBound].kind == Op.Kind.refund.rawValue } ?? units.count
        let started = DispatchTime.now().uptimeNanoseconds
        let deadline = limit.map { started + UInt64($0 * 1e9) } ?? .max
        var phases = [0..<refundStart, refundStart..<units.count]
        if limit != nil { phases.removeLast() }
        var opsRun = harness.workload.ops.count  // ops 0..<opsRun ran (a bounded run stops early)
        for phase in phases {
            next.store(phase.lowerBound, ordering: .relaxed)
            // Real threads: concurrentPerform would run only as many at once as there are cores.
            @Sendable func record(_ i: Int, _ ok: Bool?, _ failed: Bool) {
                if failed { tally.errors.add(1, ordering: .relaxed) }
                if let ok { tally.approved.withLock { _ = $0[Int(harness.workload.ops[i].payment)] = $0[Int(harness.workload.ops[i].payment)] ?? ok } }
            }
            if asyncTasks, let committer = harness.committer {
                // Tasks on Swift's cooperative pool (one thread per core), suspended while they wait.
                let done = DispatchSemaphore(value: 0)
                let cursor = SharedCursor(phase.lowerBound)
                Task { @Sendable in
                    await withTaskGroup(of: Void.self) { group in
                        for _ in 0..<threads {
                            group.addTask {
                                while DispatchTime.now().uptimeNanoseconds < deadline {
                                    let u = cursor.value.add(1, ordering: .relaxed).oldValue
                                    guard u < phase.upperBound else { return }
                                    for i in units[u] {
                                        let (ok, failed) = await harness.runAsync(i, on: committer)
                                        record(i, ok, failed)
                                    }
                                }
                            }
                        }
                    }
                    done.signal()
                }
                done.wait()
                if limit != nil { opsRun = units[min(cursor.value.load(ordering: .relaxed), phase.upperBound) - 1].upperBound }
            } else {
                runThreads(threads) {
                    while DispatchTime.now().uptimeNanoseconds < deadline {
                        let u = next.add(1, ordering: .relaxed).oldValue
                        guard u < phase.upperBound else { return }
                        for i in units[u] {
                            let (ok, failed) = harness.run(i)
                            record(i, ok, failed)
                        }
                    }
                }
                if limit != nil { opsRun = units[min(next.load(ordering: .relaxed), phase.upperBound) - 1].upperBound }
            }
        }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
        var note = ""
        if harness.committer != nil {
            let committer = harness.stopCommitter()
            note = String(format: committer.options.writeBehind != nil ? "write-behind: %.1f operations per batch"
                            : committer.options.journal == nil ? "group commit: %.1f operations per commit" : "journal: %.1f operations per batch",
                          Double(committer.operationsCommitted) / Double(max(1, committer.batches))) + checkpointNote(committer)
        }
        if let limit { note += (note.isEmpty ? "" : "; ") + String(format: "stopped after %g s", limit) }
        let decisions = tally.approved.withLock { $0 }
        // Risk rules challenge and count attempts: the model of the limits alone does not apply;
        // the store's own check (every cell equals what its records hold) does.
        let correct = verify && harness.engine.ruleSet.risk.isEmpty ? try Correctness.verify(harness, approved: decisions, opsRun: opsRun)
            : try harness.engine.check().problems.isEmpty
        let authorizations = harness.workload.ops[..<opsRun].reduce(0) { $0 + ($1.kind == Op.Kind.authorize.rawValue ? 1 : 0) }
        return RunResult(system: "headroom", setting: setting, threads: threads, ops: opsRun,
                         authorizations: authorizations, seconds: seconds,
                         approved: decisions.values.filter { $0 }.count, declined: decisions.values.filter { !$0 }.count,
                         errors: tally.errors.load(ordering: .relaxed), correct: correct, note: note, pauses: harness.pauseSummary())
    }
}

/// The end-of-run check: the engine's counters equal the sums the harness computes itself from
/// the answers it got, limit by limit; and the engine's own invariant check is clean.
enum Correctness {
    /// `unreleased`: payments whose release the engine refused (an open loop past what the
    /// engine holds is answered `overloaded`): they still hold their limit. `opsRun`: a run
    /// bounded in time ran the workload's ops up to there only. The harness's ``EngineHarness/baseline``
    /// (a day store's own payments) is added to what the answers make.
    static func verify(_ harness: EngineHarness, approved: [Int: Bool], unreleased: Set<Int> = [], opsRun: Int? = nil) throws -> Bool {
        let engine: Engine = harness.engine
        var released = Set<UInt32>()
        let ops = harness.workload.ops[..<(opsRun ?? harness.workload.ops.count)]
        for op in ops where op.kind == Op.Kind.release.rawValue && !unreleased.contains(Int(op.payment)) {
            released.insert(op.payment)
        }
        var seen = Set<UInt32>()
        var expected = harness.baseline
        let definitions = engine.ruleSet.limits.compactMap(\.counter) + engine.ruleSet.cardTierCounters
        for op in ops where op.kind == Op.Kind.authorize.rawValue {
            guard seen.insert(op.payment).inserted, approved[Int(op.payment)] == true, !released.contains(op.payment) else { continue }
            var counted = Set<UInt64>()
            for d in definitions where d.filter.businesses.contains(Business(rawValue: op.business)!)
                && (d.filter.accountClasses?.contains(AccountClass(rawValue: op.accountClass)!) ?? true) && counted.insert(d.id).inserted {
                expected[d.id, default: .zero].amountFen += op.amountFen
                expected[d.id, default: .zero].count += 1
            }
        }
        let actual = try engine.counterTotals()
        let report = try engine.check()
        // A failed check says where: the limits whose totals differ, and the store's own problems.
        for id in Set(actual.keys).union(expected.keys) where actual[id] != expected[id] {
            let name = definitions.first { $0.id == id }.map { "\($0)" } ?? "\(id)"
            say("check: \(name.prefix(80)): the store holds \(actual[id].map { "\($0)" } ?? "nothing"), the answers make \(expected[id].map { "\($0)" } ?? "nothing")")
        }
        for problem in report.problems.prefix(5) { say("check: \(problem)") }
        return actual == expected && report.problems.isEmpty
    }
}
