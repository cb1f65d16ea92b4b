import Foundation
@testable import Headroom
import HeadroomCore
import HeadroomRules
import Synchronization
import Testing

@Suite struct GroupCommitTests {
    typealias F = Fixture

    static let tight = [RuleSource(name: "g/limits.yaml", text: """
    limits:
      - {id: bank.card-daily, tier: bank, window: day, group: card, amount_max: 1000.00, count_max: 5,
         applies_to: {business: [agreement]}}
      - {id: inst.exposure, tier: institution, window: day, group: institution, amount_max: 6000.00,
         applies_to: {business: [agreement]}}
    card_tier: {applies_to: {business: [agreement]}}
    """)]

    func ticket(_ op: EngineOperation) -> Ticket {
        Ticket(op, card: nil, semaphore: DispatchSemaphore(value: 0))
    }

    /// An authorization's ticket: its card hashed, as the committer does on the caller's thread.
    func ticket(authorize request: PaymentRequest, on engine: Engine) -> Ticket {
        Ticket(.authorize(request), card: engine.cardKey.hash(request.card), semaphore: DispatchSemaphore(value: 0))
    }

    @Test func aBatchIsOneTransactionWhoseRefusalsLeaveNothing() throws {
        let dir = try F.directory("batch")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let committer = try GroupCommitter(engine: try F.engine(dir, rules: Self.tight), options: .init(), startWriter: false)
        let a = try F.request("A", "2026-11-25T10:00:00+08:00", amount: "600.00")
        let other = try F.request("A", "2026-11-25T10:00:00+08:00", amount: "600.01")
        let b = try F.request("B", "2026-11-25T10:01:00+08:00", amount: "500.00")
        let c = try F.request("C", "2026-11-25T10:02:00+08:00", amount: "400.00")
        let e = committer.engine
        let batch = [ticket(authorize: a, on: e), ticket(authorize: a, on: e), ticket(authorize: other, on: e), ticket(.confirm(try PaymentID("nope"))),
                     ticket(authorize: b, on: e), ticket(authorize: c, on: e), ticket(.confirm(try PaymentID("A")))]
        committer.commitForTesting(batch)
        func decision(_ i: Int) -> AuthorizeResult? {
            if case .success(.authorized(let r)) = batch[i].answer { return r }
            return nil
        }
        func refusal(_ i: Int) -> HeadroomError.Code? {
            if case .failure(let e) = batch[i].answer { return e.code }
            return nil
        }
        #expect(decision(0)?.decision.isApproved == true && decision(0)?.replayed == false)
        #expect(decision(1)?.replayed == true)  // the retry sees the first in the same batch
        #expect(refusal(2) == .idConflict)
        #expect(refusal(3) == .unknownPayment)
        #expect(decision(4)?.decision.code.name == "exceedsBankDailyAmount")  // 600 + 500 > 1000 within the batch
        #expect(decision(5)?.decision.isApproved == true)
        if case .success(.confirmed) = batch[6].answer {} else { Issue.record("confirm in the batch failed: \(String(describing: batch[6].answer))") }
        #expect(committer.batches == 1 && committer.operationsCommitted == 7)
        let engine = committer.engine
        #expect(try engine.state(of: try PaymentID("A")) == .confirmed)
        #expect(try engine.check().problems.isEmpty)
        let daily = try engine.explain(try F.request("p", "2026-11-25T11:00:00+08:00", amount: "1.00")).lines.first { $0.check.limitID == "bank.card-daily" }
        #expect(daily?.used == CounterValue(amountFen: 100_000, count: 2))
    }

    /// An operation refused after it began writing (its last counter would overflow, after the
    /// others were added to) is left out of the batch, which runs again: the others commit, and
    /// nothing of the refused one stays.
    /// The same with either batch writer: journal mode ends its interval (the journal applied)
    /// and runs the batch again in a new one.
    @Test(arguments: [false, true])
    func aRefusalAfterWritingIsLeftOutOfTheBatch(journaling: Bool) throws {
        let dir = try F.directory("rerun")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let engine = try F.engine(dir, rules: Self.tight)
        let doomed = try F.request("D", "2026-11-25T10:00:00+08:00", card: 2, amount: "10.00")
        // The last counter the payment adds to (per card and institution, monthly) is near its limit of Int64.
        let last = try #require(engine.ruleSet.cardTierCounter(.month, perInstitution: true)).key(for: engine.hashed(doomed))!
        let txn = try engine.store.beginWrite()
        try engine.store.add(txn, last, amountFen: Int64.max - 5, count: 1)
        try txn.commit()
        let before = try engine.counterCells()

        let committer = try GroupCommitter(engine: engine, options: .init(journal: journaling ? .init() : nil), startWriter: false)
        let a = try F.request("A", "2026-11-25T10:00:00+08:00", amount: "100.00")
        let b = try F.request("B", "2026-11-25T10:01:00+08:00", amount: "200.00")
        let batch = [ticket(authorize: a, on: engine), ticket(authorize: doomed, on: engine), ticket(authorize: b, on: engine)]
        committer.commitForTesting(batch)
        guard case .failure(let refusal) = batch[1].answer else {
            Issue.record("the overflowing payment was answered \(String(describing: batch[1].answer))")
            return
        }
        #expect(refusal.code == .counterOverflow)
        for i in [0, 2] {
            guard case .success(.authorized(let r)) = batch[i].answer else {
                Issue.record("payment \(i) was answered \(String(describing: batch[i].answer))")
                continue
            }
            #expect(r.decision.isApproved)
        }
        #expect(committer.batches == 1)
        try committer.close()
        #expect(try engine.state(of: doomed.id) == nil)
        // Every cell the refused payment touched is as it was; only A's and B's were added.
        let after = try engine.counterCells()
        let doomedKeys = Set(engine.ruleSet.plan(for: engine.hashed(doomed), cardLimits: nil, cardInstitutionLimits: nil).updates.map(\.key))
        for key in doomedKeys {
            let othersAdded = [a, b].contains { r in
                engine.ruleSet.plan(for: engine.hashed(r), cardLimits: nil, cardInstitutionLimits: nil).updates.contains { $0.key == key }
            }
            if !othersAdded { #expect(after[key] == before[key], "cell \(key) kept a write of the refused payment") }
        }
    }

    @Test func aFullQueueAnswersOverloadedAtOnce() throws {
        let dir = try F.directory("overload")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let committer = try GroupCommitter(engine: try F.engine(dir, rules: Self.tight), options: .init(batchMax: 1, queueMax: 1), startWriter: false)
        expectError(.overloaded) { _ = try committer.authorize(try F.request("A", "2026-11-25T10:00:00+08:00", amount: "1.00")) }
    }

    /// Many threads race for tight caps on a few cards: no limit is ever exceeded, and the
    /// counters equal the sums of the answers the callers got.
    /// In journal mode too (checkpoints every 40 operations).
    @Test(arguments: [false, true])
    func concurrentCallersNeverOverApprove(journal: Bool) throws {
        let dir = try F.directory("threads")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let committer = try GroupCommitter(engine: try F.engine(dir, rules: Self.tight),
                                           options: .init(batchMax: 64, journal: journal ? .init(checkpointOperations: 40) : nil))
        let approved = Mutex([(card: Int, fen: Int64)]())
        DispatchQueue.concurrentPerform(iterations: 8) { thread in
            var rng = SplitMix64(seed: UInt64(thread) + 1)
            for i in 0..<60 {
                let card = Int(rng.next() % 4) + 1
                let fen = Int64(1 + rng.next() % 40_000)
                let request = try! F.request("T\(thread)-\(i)", "2026-11-25T10:00:00+08:00", card: card, institution: "Z1",
                                             amount: Amount(fen: fen).plain)
                let result = try! committer.authorize(request)
                guard result.decision.isApproved else { continue }
                if i % 3 == 0 {
                    try! committer.release(request.id)  // the core debit failed: the limit comes back
                } else {
                    try! committer.confirm(request.id)
                    approved.withLock { $0.append((card, fen)) }
                }
            }
        }
        committer.shutdown()
        let live = approved.withLock { $0 }
        for card in 1...4 {
            let mine = live.filter { $0.card == card }
            #expect(mine.reduce(0) { $0 + $1.fen } <= 100_000, "card \(card) over its daily amount")
            #expect(mine.count <= 5, "card \(card) over its daily count")
        }
        #expect(live.reduce(0) { $0 + $1.fen } <= 600_000)
        #expect(committer.operationsCommitted > 0 && committer.batches <= committer.operationsCommitted)
        if journal {
            // A checkpoint once an interval reaches 40 operations (it ends with a batch of at most
            // 64), and one at shutdown; each one timed.
            #expect(committer.checkpoints >= committer.operationsCommitted / (40 + 64))
            #expect(committer.checkpointMicrosecondsMax > 0 && committer.checkpointMicrosecondsTotal >= committer.checkpointMicrosecondsMax)
        } else {
            #expect(committer.checkpoints == 0)
        }
        let engine = committer.engine
        #expect(try engine.check().problems.isEmpty)
        let totals = try engine.counterTotals()
        let exposure = try #require(engine.ruleSet.limit(id: "inst.exposure")?.counter?.id)
        #expect(totals[exposure] == CounterValue(amountFen: live.reduce(0) { $0 + $1.fen }, count: Int64(live.count)))
    }

    /// The committer's threads carry their names to the operating system (`top -H`, `ps -L`).
    @Test(.enabled(if: FileManager.default.fileExists(atPath: "/proc/self/task")))
    func itsThreadsAreNamedForTheSystem() throws {
        let dir = try F.directory("names")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let committer = try GroupCommitter(engine: try F.engine(dir, rules: Self.tight), options: .init(journal: .init()))
        _ = try committer.authorize(try F.request("N1", "2026-11-25T10:00:00+08:00", amount: "1.00"))  // both threads have run
        let names = try FileManager.default.contentsOfDirectory(atPath: "/proc/self/task").compactMap {
            try? String(contentsOfFile: "/proc/self/task/\($0)/comm", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        }
        let mine = try String(contentsOfFile: "/proc/thread-self/comm", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        committer.shutdown()
        // (Other tests running beside this one may have committers of their own.)
        #expect(names.contains("headroom-writer") && names.contains("headroom-syncer"), "threads: \(names)")
        #expect(!mine.hasPrefix("headroom-"))  // the caller's thread keeps its own name
    }

    @Test func theAsyncAPIAnswersAfterTheCommit() async throws {
        let dir = try F.directory("async")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let committer = try GroupCommitter(engine: try F.engine(dir, rules: Self.tight))
        let results = try await withThrowingTaskGroup(of: Bool.self) { group in
            for i in 0..<8 {
                group.addTask {
                    let request = try F.request("A\(i)", "2026-11-25T10:00:00+08:00", card: 9, institution: "Z1", amount: "200.00")
                    let approved = try await committer.authorize(request).decision.isApproved
                    if approved { try await committer.confirm(request.id) }
                    return approved
                }
            }
            return try await group.reduce(into: [Bool]()) { $0.append($1) }
        }
        #expect(results.filter { $0 }.count == 5)  // 5 x 200.00 = the daily amount, and the daily count
        committer.shutdown()
        #expect(try committer.engine.check().problems.isEmpty)
        expectError(.overloaded) { _ = try committer.authorize(try F.request("late", "2026-11-25T10:00:00+08:00", amount: "1.00")) }
    }
}

extension GroupCommitTests {
    /// Reads run beside the writer: each is a consistent snapshot (a window never above its cap,
    /// bank and card-tier views of the same cell equal), and a read through the committer equals
    /// the engine's own.
    @Test func readsDoNotWaitForTheWriterAndSeeSnapshots() throws {
        let dir = try F.directory("reads")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let engine = try F.engine(dir, rules: Self.tight)
        let idle = try F.request("probe", "2026-11-25T10:00:00+08:00", card: 1, institution: "Z1", amount: "1.00")
        let committer = try GroupCommitter(engine: engine)
        let before = try engine.explain(idle), through = try committer.explain(idle)
        #expect(through.lines == before.lines && through.decision == before.decision)
        let reads = Atomic<Int>(0)
        let problems = Mutex([String]())
        runConcurrently(writers: 4, readers: 2) { thread in
            var rng = SplitMix64(seed: UInt64(thread) + 11)
            for i in 0..<80 {
                let request = try! F.request("W\(thread)-\(i)", "2026-11-25T10:00:00+08:00", card: Int(rng.next() % 3) + 1,
                                             institution: "Z1", amount: Amount(fen: Int64(1 + rng.next() % 30_000)).plain)
                if try! committer.authorize(request).decision.isApproved { try! committer.confirm(request.id) }
            }
        } read: {
            let e = try! committer.explain(idle)
            reads.add(1, ordering: .relaxed)
            for line in e.lines where line.check.counter != nil {
                let overAmount = line.check.caps.amountFenMax.map { line.used.amountFen > $0 } ?? false
                let overCount = line.check.caps.countMax.map { line.used.count > $0 } ?? false
                if overAmount || overCount {
                    problems.withLock { if $0.isEmpty { $0.append("\(line.check.limitID): \(line.used)") } }
                }
            }
        }
        committer.shutdown()
        #expect(problems.withLock { $0 }.isEmpty)
        #expect(reads.load(ordering: .relaxed) > 0)
        #expect(try engine.check().problems.isEmpty)
    }

    /// `writers` threads run `write(thread)`; `readers` threads loop `read()` until the writers end.
    func runConcurrently(writers: Int, readers: Int, _ write: @escaping @Sendable (Int) -> Void,
                         read: @escaping @Sendable () -> Void) {
        final class Writing: Sendable { let on = Atomic<Bool>(true) }
        let writing = Writing()
        let writersDone = DispatchGroup(), readersDone = DispatchGroup()
        for thread in 0..<writers {
            writersDone.enter()
            Thread {
                write(thread)
                writersDone.leave()
            }.start()
        }
        for _ in 0..<readers {
            readersDone.enter()
            Thread {
                repeat { read() } while writing.on.load(ordering: .relaxed)
                readersDone.leave()
            }.start()
        }
        writersDone.wait()
        writing.on.store(false, ordering: .relaxed)
        readersDone.wait()
    }
}
