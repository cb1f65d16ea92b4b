import Foundation
@testable import Headroom
import HeadroomCore
import Synchronization
import Testing

/// Write-behind (decision 0019): what a crash leaves in the ring is applied when the store
/// opens; a damaged ring refuses the store until an operator accepts the loss; a stalled apply
/// bounds memory and callers are told `overloaded`. (The seeded simulation and the SIGKILL
/// suite cover crashes at every point; MultiProcessTests, other processes.)
@Suite struct WriteBehindTests {
    typealias F = Fixture

    /// Options that never apply on their own: whatever is answered stays in the ring.
    static let neverApplying = GroupCommitter.Options(writeBehind: .init(applyMilliseconds: 600_000, applyOperations: 1_000_000,
                                                                       overlayBytesMax: 1 << 20, journalFileBytes: 1 << 20))

    /// `count` payments of card 1 answered by a write-behind committer that then crashes
    /// before any apply.
    static func crashWithRing(_ dir: String, count: Int) throws -> [AuthorizeResult] {
        let committer = try GroupCommitter(engine: try F.engine(dir, rules: JournalTests.rules), options: neverApplying)
        let results = try (0..<count).map { i in
            try committer.authorize(try F.request("J1-\(i)", "2026-11-25T10:00:00+08:00", amount: "1.00"))
        }
        committer.crashForTesting()
        return results
    }

    @Test func anEngineOpeningAStoreAppliesItsRing() throws {
        let dir = try F.directory("ring-open")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        #expect(try Self.crashWithRing(dir, count: 4).allSatisfy { $0.decision.isApproved })
        #expect(try JournalRing(directory: dir, readOnly: true).files[0].entries().entries.map(\.lsn) == [1, 2, 3, 4])

        let engine = try F.engine(dir)
        for i in 0..<4 { #expect(try engine.state(of: try PaymentID("J1-\(i)")) == .authorized) }
        #expect(try engine.check().problems.isEmpty)
        #expect(try engine.journalLSN() == 4)
        #expect(try engine.store.expectedRing(try engine.store.beginRead()) == nil)  // forgotten once applied
        // The count cap (5 a day) knows the four: the sixth is declined.
        #expect(try engine.authorize(try F.request("J1-4", "2026-11-25T11:00:00+08:00", amount: "1.00")).decision.isApproved)
        #expect(try engine.authorize(try F.request("J1-5", "2026-11-25T11:00:00+08:00", amount: "1.00")).decision.isApproved == false)
    }

    /// The third of five entries damaged: the two valid ones after it are answered payments,
    /// so the store refuses to open, naming them; the operator's acceptance applies the two
    /// before it, keeps both files, and is on record. The second file deleted while the store
    /// expects it: refused too (what it held cannot be known), then accepted.
    @Test(arguments: ["damaged", "deleted"])
    func aDamagedRingRefusesTheStoreUntilTheLossIsAccepted(how: String) throws {
        let dir = try F.directory("ring-\(how)")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        _ = try Self.crashWithRing(dir, count: 5)
        let first = dir + "/" + JournalRing.names[0]
        if how == "damaged" {
            let entries = try JournalRing(directory: dir, readOnly: true).files[0].entries().entries
            let third = JournalFile.fileHeaderBytes + entries[0..<2].reduce(0) { $0 + JournalFile.headerBytes + $1.payload.count }
            try JournalDamageTests.change(first) { $0[third + JournalFile.headerBytes + 3] ^= 0x5A }
            JournalDamageTests.expectRefused(dir, saying: ["damaged at byte \(third)", "2 valid entries after it (4-5)", "accept-journal-loss"])
        } else {
            try FileManager.default.removeItem(atPath: dir + "/" + JournalRing.names[1])
            JournalDamageTests.expectRefused(dir, saying: ["journal.1 is not the one the write-behind engine wrote", "accept-journal-loss"])
        }
        do {  // a reader opens, and says it
            let reader = try Engine(path: dir, cardKey: F.cardKey, rules: nil, options: .init(readOnly: true))
            #expect(try reader.journalNotice()?.contains(how == "damaged" ? "2 valid entries after it" : "not the one") == true)
        }
        let report = try Engine.acceptJournalLoss(path: dir, by: "alice", clock: { 1_795_572_000 })
        let kept = how == "damaged" ? 2 : 5  // the deleted file held nothing yet: every entry was in the first
        #expect(report.entriesApplied == kept, "\(report.problem)")
        #expect(FileManager.default.fileExists(atPath: first + ".damaged-1795572000"))
        let engine = try F.engine(dir)
        for i in 0..<5 { #expect(try engine.state(of: try PaymentID("J1-\(i)")) == (i < kept ? .authorized : nil), "J1-\(i)") }
        #expect(try engine.check().problems.isEmpty)
        let last = try #require(try engine.ruleBook.auditLog().last)
        #expect(last.action == "store.accept-journal-loss" && last.detail.contains("\(kept) journal entries"))
    }

    /// The apply held up (another transaction holds LMDB's write lock): the overlay (or the
    /// ring, whichever is smaller here) fills to its bound, the writer stops taking batches,
    /// and a caller beyond the queue is answered `overloaded` at once; memory stays bounded. Let go, everything waiting is answered and
    /// applied, and the store is sound.
    @Test(.timeLimit(.minutes(1)))
    func aStalledApplyBoundsTheOverlayAndCallersAreToldOverloaded() throws {
        let dir = try F.directory("ring-stalled")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let engine = try Engine(path: dir, cardKey: F.cardKey, rules: GroupCommitTests.tight, options: .init(mapSizeBytes: 64 << 20))
        let committer = try GroupCommitter(engine: engine, options: .init(batchMax: 1, queueMax: 1, writeBehind: .init(
            applyMilliseconds: 1, overlayBytesMax: 1 << 20, journalFileBytes: 1 << 20)))
        // Begun and ended on this thread (a synchronous test stays on one): LMDB's write lock.
        let blocker = try engine.store.beginWrite(applyingJournal: false)
        let answered = Atomic<Int>(0)
        let callerDone = DispatchSemaphore(value: 0)
        let failures = Mutex<[String]>([])  // the caller's
        DispatchQueue.global().async {
            do {
                for i in 0..<3_000 {
                    _ = try committer.authorize(try F.request("S\(i)", "2026-11-25T10:00:00+08:00", card: i, amount: "1.00"))
                    answered.add(1, ordering: .relaxed)
                }
            } catch {
                failures.withLock { $0.append("\(error)") }
            }
            callerDone.signal()
        }
        // Wait until the answers stop coming for a whole second: the overlay (or the ring) is full.
        var last = -1
        while answered.load(ordering: .relaxed) != last {
            last = answered.load(ordering: .relaxed)
            Thread.sleep(forTimeInterval: 1)
        }
        #expect(last > 100 && last < 3_000, "\(last) answered before the stall")
        // The caller's next payment is in the writer's hands (waiting for room); one more fills
        // the queue (it holds one), and the next is refused at once. Queued through the test
        // hook, which never waits: a wrong answer here fails the test rather than hanging it.
        let answeredQ1 = DispatchSemaphore(value: 0)
        func ticket(_ id: String, card: Int) throws -> Ticket {
            let request = try F.request(id, "2026-11-25T10:00:00+08:00", card: card, amount: "1.00")
            return Ticket(.authorize(request), card: engine.cardKey.hash(request.card), semaphore: answeredQ1)
        }
        let q1 = try ticket("Q1", card: 9_001), q2 = try ticket("Q2", card: 9_002)
        let q1Refused = committer.enqueue(q1)
        #expect(q1Refused == nil)
        let refusal = committer.enqueue(q2)
        #expect(refusal?.code == .overloaded, "\(String(describing: refusal))")
        blocker.abort()
        callerDone.wait()
        if q1Refused == nil { answeredQ1.wait() }
        if case .success(.authorized(let result)) = q1.answer { #expect(result.decision.isApproved) } else { Issue.record("Q1: \(String(describing: q1.answer))") }
        #expect(failures.withLock { $0 }.isEmpty, "\(failures.withLock { $0 })")
        try committer.close()
        #expect(try engine.check().problems.isEmpty)
        #expect(try engine.state(of: try PaymentID("S2999")) == .authorized && engine.state(of: try PaymentID("Q2")) == nil)
    }

    /// On a disk with room for one file of the ring and not two, starting the ring fails with
    /// the disk's reason and leaves neither file holding zeros.
    @Test(.enabled(if: SmallDisk.canMount, "needs root to mount a small tmpfs"))
    func aRingThatCannotBePreallocatedGivesTheSpaceBack() throws {
        let dir = try F.directory("ring-prealloc")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let disk = try SmallDisk(dir + "/disk", megabytes: 3)
        defer { disk.unmount() }
        let ring = try JournalRing(directory: disk.path)
        let result = Result { () throws(HeadroomError) in try ring.begin(salt: 7, preallocating: 2 << 20) }
        guard case .failure(let error) = result else {
            Issue.record("preallocating two files of 2 MiB on a disk of 3 MiB succeeded")
            return
        }
        #expect(error.message.contains("no space left on device"), "\(error.message)")
        #expect(try ring.files.map { try $0.sizeBytes() } == [0, 0])
    }
}
