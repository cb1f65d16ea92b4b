import Foundation
@testable import Headroom
import HeadroomCore
import HeadroomRules
import Testing

/// The journal of group commit's journal mode (decision 0009): its file, torn tails, recovery
/// at open, and the store having one writer while it runs.
@Suite struct JournalTests {
    typealias F = Fixture

    static let rules = GroupCommitTests.tight

    /// Authorizes `count` payments of 1.00 on card `card` through a journaling committer that
    /// never checkpoints, then stops it as a crash would: the store holds none of them, the
    /// journal all.
    static func crashWithJournal(_ dir: String, count: Int, card: Int = 1) throws -> [AuthorizeResult] {
        let committer = try GroupCommitter(engine: try F.engine(dir, rules: rules),
                                           options: .init(journal: .init(checkpointOperations: 1_000_000, checkpointMilliseconds: 600_000)))
        let results = try (0..<count).map { i in
            try committer.authorize(try F.request("J\(card)-\(i)", "2026-11-25T10:00:00+08:00", card: card, amount: "1.00"))
        }
        committer.crashForTesting()
        return results
    }

    @Test func anEngineOpeningAStoreAppliesItsJournal() throws {
        let dir = try F.directory("journal-open")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let answered = try Self.crashWithJournal(dir, count: 4)
        #expect(answered.allSatisfy { $0.decision.isApproved })
        let journal = try JournalFile(directory: dir)
        #expect(try journal.entries().entries.count == 4)

        let engine = try F.engine(dir)
        for i in 0..<4 { #expect(try engine.state(of: try PaymentID("J1-\(i)")) == .authorized) }
        #expect(try engine.check().problems.isEmpty)
        #expect(try engine.journalLSN() == 4)
        #expect(try journal.entries().entries.isEmpty)  // emptied once applied
        // The count cap (5 a day) knows the four: the sixth is declined.
        #expect(try engine.authorize(try F.request("J1-4", "2026-11-25T11:00:00+08:00", amount: "1.00")).decision.isApproved)
        #expect(try engine.authorize(try F.request("J1-5", "2026-11-25T11:00:00+08:00", amount: "1.00")).decision.isApproved == false)
    }

    /// A crash in the middle of an append leaves a torn entry: it was never synced, so never
    /// answered. Reading stops there; the entries before it are applied; the rest is dropped.
    @Test func aTornTailIsDroppedAndWhatPrecedesItApplied() throws {
        let dir = try F.directory("journal-torn")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        _ = try Self.crashWithJournal(dir, count: 3)
        let path = dir + "/" + JournalFile.name
        let (written, end) = try JournalFile(directory: dir).entries()
        #expect(written.count == 3 && end == .clean)  // zeros follow: the file was preallocated
        let whole = written.reduce(JournalFile.fileHeaderBytes) { $0 + JournalFile.headerBytes + $1.payload.count }
        var bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        #expect(bytes.count >= GroupCommitter.JournalOptions().preallocatedBytes)
        // The next entry, cut short where the zeros of the preallocated file begin.
        let salt = try #require(try JournalFile(directory: dir).fileSalt())
        let partial = JournalFile.encode(lsn: 4, salt: salt, payload: [UInt8](repeating: 1, count: 100))
        bytes.replaceSubrange(whole..<whole + 60, with: partial.prefix(60))
        try bytes.write(to: URL(fileURLWithPath: path))
        #expect(try JournalFile(directory: dir).entries().entries.count == 3)
        #expect(try JournalFile(directory: dir).entries().end == .torn)

        // A damaged byte inside the last entry ends the journal there too (nothing valid
        // follows it: it reads as a torn tail). The file keeps its size: a shorter journal
        // than the one written is refused (see aDamagedJournalRefusesToOpen...).
        var damaged = bytes
        damaged.replaceSubrange(whole..<whole + 60, with: [UInt8](repeating: 0, count: 60))
        damaged[whole - 1] ^= 0xFF
        try damaged.write(to: URL(fileURLWithPath: path))
        #expect(try JournalFile(directory: dir).entries().entries.count == 2)
        #expect(try JournalFile(directory: dir).entries().end == .torn)

        let engine = try F.engine(dir)
        #expect(try engine.state(of: try PaymentID("J1-0")) == .authorized)
        #expect(try engine.state(of: try PaymentID("J1-1")) == .authorized)
        #expect(try engine.state(of: try PaymentID("J1-2")) == nil)
        #expect(try engine.check().problems.isEmpty)
    }

    /// Entries the store already holds (up to its `journal-lsn`) are not applied twice.
    @Test func entriesAtOrBeforeTheCheckpointAreNotAppliedAgain() throws {
        let dir = try F.directory("journal-twice")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        _ = try Self.crashWithJournal(dir, count: 2)
        let path = dir + "/" + JournalFile.name
        let saved = try Data(contentsOf: URL(fileURLWithPath: path))
        do {
            let engine = try F.engine(dir)  // applies 2, empties the journal
            #expect(try engine.journalLSN() == 2)
        }
        try saved.write(to: URL(fileURLWithPath: path))  // as if emptying it had not reached the disk
        let engine = try F.engine(dir)
        #expect(try engine.check().problems.isEmpty)
        let daily = try engine.explain(try F.request("p", "2026-11-25T12:00:00+08:00", amount: "1.00")).lines.first { $0.check.limitID == "bank.card-daily" }
        #expect(daily?.used == CounterValue(amountFen: 200, count: 2))
    }

    /// After a checkpoint the journal is written again from its start, over entries the store
    /// already holds: reading stops where the sequence breaks, so an older entry past the
    /// newer ones is never taken for one of them, and recovery applies exactly the new ones.
    @Test func olderEntriesPastTheNewOnesAreNotRead() throws {
        let dir = try F.directory("journal-reuse")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        _ = try Self.crashWithJournal(dir, count: 5, card: 1)  // entries 1-5
        do {
            let engine = try F.engine(dir)  // applies 1-5, then writes from the start again
            #expect(try engine.journalLSN() == 5)
        }
        #expect(try JournalFile(directory: dir).entries().entries.isEmpty)  // its first header zeroed
        _ = try Self.crashWithJournal(dir, count: 2, card: 2)  // entries 6-7 over 1-2; 3-5 follow them
        let (entries, end) = try JournalFile(directory: dir).entries()
        #expect(entries.map(\.lsn) == [6, 7] && end == .clean)
        let engine = try F.engine(dir)
        #expect(try engine.journalLSN() == 7)
        #expect(try engine.check().problems.isEmpty)
        for i in 0..<5 { #expect(try engine.state(of: try PaymentID("J1-\(i)")) == .authorized) }
        for i in 0..<2 { #expect(try engine.state(of: try PaymentID("J2-\(i)")) == .authorized) }
        // Card 1's five payments are counted once: the daily count cap (5) is reached, not passed.
        #expect(try engine.authorize(try F.request("J1-5", "2026-11-25T11:00:00+08:00", amount: "1.00")).decision.isApproved == false)
    }

    /// A checkpoint interval that writes more than the preallocated file holds goes on past
    /// its end (the file grows), and all of it is applied after a crash.
    @Test func aJournalGrowsPastItsPreallocatedSize() throws {
        let dir = try F.directory("journal-grow")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let committer = try GroupCommitter(
            engine: try F.engine(dir, rules: Self.rules),
            options: .init(journal: .init(checkpointOperations: 1_000_000, checkpointMilliseconds: 600_000, preallocatedBytes: 1_024)))
        var approved = 0
        for i in 0..<40 {
            let result = try committer.authorize(try F.request("G\(i)", "2026-11-25T10:00:00+08:00", card: 100 + i, amount: "1.00"))
            if result.decision.isApproved { approved += 1 }
        }
        committer.crashForTesting()
        let path = dir + "/" + JournalFile.name
        let size = try #require(try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int)
        #expect(size > 1_024)
        #expect(try JournalFile(directory: dir).entries().entries.count == 40)
        let engine = try F.engine(dir)
        #expect(try engine.journalLSN() == 40)
        #expect(try engine.check().problems.isEmpty)
        for i in 0..<40 { #expect(try engine.state(of: try PaymentID("G\(i)")) != nil) }
        #expect(try engine.check().liveReservations == approved)
    }

    /// What a journal left that crashed beside an open engine (here: this engine's own committer,
    /// stopped as a crash would; in production another process's) is applied by the engine's
    /// next write transaction. A transaction that aborts leaves the journal as it was (it is
    /// emptied only once one commits), so the next one applies it again.
    @Test func aWriteTransactionAppliesWhatAStoppedJournalLeftAndAnAbortKeepsIt() throws {
        let dir = try F.directory("journal-beside")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let engine = try F.engine(dir, rules: Self.rules)
        let committer = try GroupCommitter(engine: engine, options: .init(journal: .init(checkpointOperations: 1_000_000, checkpointMilliseconds: 600_000)))
        for i in 0..<5 { _ = try committer.authorize(try F.request("J1-\(i)", "2026-11-25T10:00:00+08:00", amount: "1.00")) }
        committer.crashForTesting()
        #expect(try engine.journalLSN() == 0)
        do {
            let txn = try engine.store.beginWrite()  // applies the five entries ...
            #expect(try engine.store.record(txn, id: "J1-0") != nil)
            _ = consume txn  // ... and aborts
        }
        #expect(try engine.state(of: try PaymentID("J1-0")) == nil)
        #expect(try JournalFile(directory: dir).entries().entries.count == 5)
        // The next write applies them again, then decides: the card's five are counted.
        #expect(try engine.authorize(try F.request("J1-5", "2026-11-25T11:00:00+08:00", amount: "1.00")).decision.isApproved == false)
        #expect(try engine.journalLSN() == 5)
        for i in 0..<5 { #expect(try engine.state(of: try PaymentID("J1-\(i)")) == .authorized) }
        #expect(try JournalFile(directory: dir).entries().entries.isEmpty)  // tidied after the commit
        #expect(try engine.check().problems.isEmpty)
    }

    /// A store has one journal writer at a time: a second journaling committer is refused
    /// (another process's engine is refused its writes too: MultiProcessTests), and the store
    /// takes writes again once the journal stops.
    @Test func oneJournalAtATime() throws {
        let dir = try F.directory("journal-owner")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let engine = try F.engine(dir, rules: Self.rules)
        let committer = try GroupCommitter(engine: engine, options: .init(journal: .init()))
        #expect(try committer.authorize(try F.request("A", "2026-11-25T10:00:00+08:00", amount: "3.00")).decision.isApproved)
        expectError(.storeBusy) { _ = try GroupCommitter(engine: engine, options: .init(journal: .init()), startWriter: false) }
        committer.shutdown()
        #expect(try engine.authorize(try F.request("B", "2026-11-25T10:00:00+08:00", amount: "1.00")).decision.isApproved)
        #expect(try engine.state(of: try PaymentID("A")) == .authorized)
    }
}

/// A clock the test moves by hand (group commit's deadlines follow ``CommitClock``).
final class ManualCommitClock: CommitClock, @unchecked Sendable {
    // @unchecked: `now` is guarded by `lock`.
    private let lock = NSLock()
    private var now: UInt64 = 1_000_000_000

    func nanoseconds() -> UInt64 { lock.withLock { now } }

    func advance(milliseconds: UInt64) { lock.withLock { now += milliseconds * 1_000_000 } }

    /// Wakes on a signal, or every few real milliseconds to look at the hands.
    func wait(_ condition: NSCondition, until deadline: UInt64) -> Bool {
        guard nanoseconds() < deadline else { return false }
        _ = condition.wait(until: Date(timeIntervalSinceNow: 0.002))
        return nanoseconds() < deadline
    }
}

@Suite struct CommitClockTests {
    typealias F = Fixture

    /// A checkpoint interval ends when the committer's clock says so, not the wall clock: real
    /// time passes without one while the clock stands still; moved past the interval, the idle
    /// writer ends it with a checkpoint of what it holds.
    @Test func checkpointsFollowTheInjectedClock() throws {
        let dir = try F.directory("manual-clock")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let clock = ManualCommitClock()
        let committer = try GroupCommitter(engine: try F.engine(dir, rules: JournalTests.rules),
                                           options: .init(journal: .init(checkpointOperations: 1_000_000, checkpointMilliseconds: 100)),
                                           clock: clock)
        let engine = committer.engine
        for i in 0..<3 {
            _ = try committer.authorize(try F.request("C\(i)", "2026-11-25T10:00:00+08:00", amount: "1.00"))
        }
        Thread.sleep(forTimeInterval: 0.3)  // three intervals of real time; none on the committer's clock
        #expect(try engine.journalLSN() == 0)
        clock.advance(milliseconds: 100)
        // The waiting writer sees the deadline pass and checkpoints: wait for it to land.
        var waited = 0
        while try engine.journalLSN() != 3 && waited < 1_000 {
            Thread.sleep(forTimeInterval: 0.01)
            waited += 1
        }
        #expect(try engine.journalLSN() == 3)
        try committer.close()
        #expect(committer.checkpoints == 1)  // that one: nothing was left to checkpoint at the close
    }
}
