import Foundation
import Headroom
import Histogram
import Synchronization

struct OpenLoopResult: Codable, Sendable {
    var setting: String
    var offeredPerSecond: Double
    var requests: Int
    var completed: Int
    var achievedPerSecond: Double
    var p50Microseconds: UInt64
    var p99Microseconds: UInt64
    var p999Microseconds: UInt64
    var maxMicroseconds: UInt64
    /// The engine could not hold the rate: the run fell more than `lagLimitSeconds` behind its
    /// schedule (and was stopped there), or achieved less than 95% of the offered rate.
    var saturated: Bool
    /// The end-of-run check passed for the payments it completed.
    var correct: Bool? = nil
    /// Journal mode: the checkpoints the run crossed (older results have none).
    var note: String? = nil
    /// The commit path's pauses and the store's size (day-scale runs; older results have none).
    var pauses: PauseSummary? = nil
}

extension OpenLoopResult {
    /// A run of the write-behind prototype (peers/writebehind.c), not of the engine.
    var fromPrototype: Bool { setting.contains("prototype") }
}

enum OpenLoop {
    /// Past this lag behind the schedule the engine cannot keep up: the run stops and says so.
    static let lagLimitSeconds = 1.0
}

extension OpenLoop {
    /// The open loop for group commit: `callers` threads share the offered payments (payment
    /// i goes to thread i mod callers and is due at start + i/rate), so that many are in flight
    /// at once, as from a front processor's connections. Each thread waits for its next payment's
    /// due time (sleeping, then spinning its last 50 us), runs it, and records its latency from
    /// when it was due: a thread that falls behind makes every later payment of its own late,
    /// and that counts (no coordinated omission).
    static func runCallers(_ harness: EngineHarness, rate: Double, seconds: Double, setting: String, callers: Int,
                           committer options: GroupCommitter.Options) throws -> OpenLoopResult {
        try harness.startCommitter(options)
        let units = harness.workload.units.filter { harness.workload.ops[$0.lowerBound].kind == Op.Kind.authorize.rawValue }
        let requests = min(units.count, Int(rate * seconds))
        let interval = 1e9 / rate
        let start = DispatchTime.now().uptimeNanoseconds + 5_000_000
        let latencies = Mutex([UInt64]())
        let approved = Mutex([Int: Bool]())
        let unreleased = Mutex(Set<Int>())  // payments whose release was refused: they still hold their limit
        let completed = Atomic<Int>(0)
        let lagging = Atomic<Bool>(false)
        runThreads(callers) { [units] in
            // Each thread finds its index by taking the next free one.
            let me = callerIndex.add(1, ordering: .relaxed).oldValue % callers
            var mine: [UInt64] = []
            var decided: [Int: Bool] = [:]
            var refusedReleases = Set<Int>()
            var n = me
            while n < requests && !lagging.load(ordering: .relaxed) {
                let due = start + UInt64(Double(n) * interval)
                var now = DispatchTime.now().uptimeNanoseconds
                if due > now + 100_000 { usleep(UInt32((due - now - 50_000) / 1000)) }
                now = DispatchTime.now().uptimeNanoseconds
                while now < due { now = DispatchTime.now().uptimeNanoseconds }
                if Double(now - due) / 1e9 > lagLimitSeconds {
                    lagging.store(true, ordering: .relaxed)
                    break
                }
                let unit = units[n]
                let (ok, _) = harness.run(unit.lowerBound)
                mine.append((DispatchTime.now().uptimeNanoseconds - due) / 1000)
                let payment = Int(harness.workload.ops[unit.lowerBound].payment)
                if let ok { decided[payment] = ok }
                for i in unit.dropFirst() {
                    let (retried, failed) = harness.run(i)
                    // A retry decides the payment when its first try was refused (`overloaded`).
                    if let retried, decided[payment] == nil { decided[payment] = retried }
                    if failed && harness.workload.ops[i].kind == Op.Kind.release.rawValue { refusedReleases.insert(payment) }
                }
                completed.add(1, ordering: .relaxed)
                n += callers
            }
            latencies.withLock { $0 += mine }
            approved.withLock { all in for (k, v) in decided { all[k] = v } }
            unreleased.withLock { $0.formUnion(refusedReleases) }
        }
        callerIndex.store(0, ordering: .relaxed)
        let elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        let committer = harness.stopCommitter()
        let note = String(checkpointNote(committer).dropFirst(2))
        var histogram = Histogram<UInt64>(highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: .three)
        for l in latencies.withLock({ $0 }) { _ = histogram.record(l) }
        let done = completed.load(ordering: .relaxed)
        let achieved = Double(done) / elapsed
        return OpenLoopResult(setting: setting, offeredPerSecond: rate, requests: requests, completed: done,
                              achievedPerSecond: achieved,
                              p50Microseconds: histogram.valueAtPercentile(50), p99Microseconds: histogram.valueAtPercentile(99),
                              p999Microseconds: histogram.valueAtPercentile(99.9), maxMicroseconds: histogram.max,
                              saturated: lagging.load(ordering: .relaxed) || achieved < 0.95 * rate,
                              correct: try Correctness.verify(harness, approved: approved.withLock { $0 }, unreleased: unreleased.withLock { $0 }),
                              note: note.isEmpty ? nil : note,
                              pauses: harness.pauseSummary())
    }
}

/// Hands each caller thread of ``OpenLoop/runCallers`` its index.
let callerIndex = Atomic<Int>(0)

extension OpenLoop {
    /// The open loop as an event-loop front processor offers it: every payment becomes a task
    /// calling the group committer's `async` API when it is due, so that as many are in flight
    /// as the rate and the latency make, without a thread each. One thread releases the tasks,
    /// waking every `tickMicroseconds` to start all that have come due (a spinning thread
    /// would take a whole core of two); a payment's latency runs from when it was due, so the
    /// tick's delay counts against it too (no coordinated omission). Each task authorizes,
    /// records the latency, then sends its confirm or release. More than `lagLimitSeconds` of
    /// payments waiting unanswered means the engine cannot hold the rate: the run stops there.
    static func runTasks(_ harness: EngineHarness, rate: Double, seconds: Double, setting: String,
                         committer options: GroupCommitter.Options, tickMicroseconds: Int = 100) throws -> OpenLoopResult {
        let committer = try harness.startCommitter(options)
        let units = harness.workload.units.filter { harness.workload.ops[$0.lowerBound].kind == Op.Kind.authorize.rawValue }
        let requests = min(units.count, Int(rate * seconds))
        let interval = 1e9 / rate
        let outcomes = Outcomes(requests)
        let start = DispatchTime.now().uptimeNanoseconds + 5_000_000
        var started = 0
        var lagging = false
        while started < requests {
            let now = DispatchTime.now().uptimeNanoseconds
            if now < start + UInt64(Double(started) * interval) {
                usleep(UInt32(tickMicroseconds))
                continue
            }
            let due = Int(Double(now - start) / interval) + 1
            if Double(started - outcomes.completed.load(ordering: .relaxed)) > rate * lagLimitSeconds {
                lagging = true
                break
            }
            for n in started..<min(due, requests) {
                let dueAt = start + UInt64(Double(n) * interval)
                let unit = units[n]
                Task {
                    let (ok, _) = await harness.runAsync(unit.lowerBound, on: committer)
                    outcomes.record(n, latencyMicroseconds: (DispatchTime.now().uptimeNanoseconds - dueAt) / 1000, approved: ok)
                    for i in unit.dropFirst() {
                        let (retried, failed) = await harness.runAsync(i, on: committer)
                        // A retry decides the payment when its first try was refused (`overloaded`).
                        if let retried, outcomes.approved(n) == nil { outcomes.decide(n, approved: retried) }
                        if failed && harness.workload.ops[i].kind == Op.Kind.release.rawValue { outcomes.releaseRefused(n) }
                    }
                    outcomes.completed.add(1, ordering: .releasing)
                }
            }
            started = min(due, requests)
        }
        while outcomes.completed.load(ordering: .acquiring) < started { usleep(1_000) }
        let elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        harness.stopCommitter()
        let note = String(checkpointNote(committer).dropFirst(2))
        var histogram = Histogram<UInt64>(highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: .three)
        var approved: [Int: Bool] = [:]
        var unreleased = Set<Int>()
        var refused = 0
        for n in 0..<started {
            _ = histogram.record(outcomes.latency(n))
            let payment = Int(harness.workload.ops[units[n].lowerBound].payment)
            if let ok = outcomes.approved(n) { approved[payment] = ok } else { refused += 1 }
            if outcomes.wasReleaseRefused(n) { unreleased.insert(payment) }
        }
        // An authorization answered with an error (`overloaded`: the queue was full) was not
        // held: its quick answer must not pass for a fast one, so the run counts as saturated.
        var notes = [note].filter { !$0.isEmpty }
        if refused > 0 { notes.append("\(refused) answered overloaded") }
        // Achieved: the payments answered (an `overloaded` refusal is not an answer).
        let done = outcomes.completed.load(ordering: .relaxed)
        let achieved = Double(done - refused) / elapsed
        return OpenLoopResult(setting: setting, offeredPerSecond: rate, requests: requests, completed: done,
                              achievedPerSecond: achieved,
                              p50Microseconds: histogram.valueAtPercentile(50), p99Microseconds: histogram.valueAtPercentile(99),
                              p999Microseconds: histogram.valueAtPercentile(99.9), maxMicroseconds: histogram.max,
                              saturated: lagging || refused > 0 || achieved < 0.95 * rate,
                              correct: try Correctness.verify(harness, approved: approved, unreleased: unreleased),
                              note: notes.isEmpty ? nil : notes.joined(separator: "; "), pauses: harness.pauseSummary())
    }
}

/// What each task of ``OpenLoop/runTasks`` found, one slot per payment: each slot is written by
/// its own task only, and read after every task has counted itself in `completed`.
final class Outcomes: @unchecked Sendable {
    // @unchecked: slot n is written once, by task n, before its `completed` increment (a
    // release); the reader reads after seeing every increment (an acquire on the same atomic).
    private let latencies: UnsafeMutableBufferPointer<UInt64>
    private let decisions: UnsafeMutableBufferPointer<Int8>
    private let refusedReleases: UnsafeMutableBufferPointer<Int8>
    let completed = Atomic<Int>(0)

    init(_ count: Int) {
        latencies = .allocate(capacity: max(1, count))
        latencies.initialize(repeating: 0)
        decisions = .allocate(capacity: max(1, count))
        decisions.initialize(repeating: -1)
        refusedReleases = .allocate(capacity: max(1, count))
        refusedReleases.initialize(repeating: 0)
    }

    deinit {
        latencies.deallocate()
        decisions.deallocate()
        refusedReleases.deallocate()
    }

    func record(_ n: Int, latencyMicroseconds: UInt64, approved: Bool?) {
        latencies[n] = latencyMicroseconds
        decisions[n] = approved.map { $0 ? 1 : 0 } ?? -1
    }

    /// Payment n's decision, from its retry (its first try was refused).
    func decide(_ n: Int, approved: Bool) { decisions[n] = approved ? 1 : 0 }

    /// The engine refused payment n's release (overloaded, or nothing to release): an approved
    /// payment then still holds its limit.
    func releaseRefused(_ n: Int) { refusedReleases[n] = 1 }

    func latency(_ n: Int) -> UInt64 { latencies[n] }
    func approved(_ n: Int) -> Bool? { decisions[n] < 0 ? nil : decisions[n] == 1 }
    func wasReleaseRefused(_ n: Int) -> Bool { refusedReleases[n] == 1 }
}
