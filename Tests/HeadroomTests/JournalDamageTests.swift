import Foundation
@testable import Headroom
import HeadroomCore
import Testing

/// A journal that lost answered payments is never read as a torn tail: damage followed by valid
/// entries, a journal deleted, replaced or truncated where the store expects one, all refuse to
/// open (`journalDamaged`) until an operator accepts the loss, on record.
@Suite struct JournalDamageTests {
    typealias F = Fixture

    /// Five payments answered by a journal that crashed before its checkpoint; the journal's
    /// path and the byte offset of each entry.
    static func crashed(_ name: String) throws -> (dir: String, path: String, offsets: [Int]) {
        let dir = try F.directory(name)
        _ = try JournalTests.crashWithJournal(dir, count: 5)
        let path = dir + "/" + JournalFile.name
        let (entries, _) = try JournalFile(directory: dir).entries()
        #expect(entries.count == 5)
        var offsets: [Int] = []
        var at = JournalFile.fileHeaderBytes
        for entry in entries {
            offsets.append(at)
            at += JournalFile.headerBytes + entry.payload.count
        }
        return (dir, path, offsets)
    }

    static func change(_ path: String, _ body: (inout Data) -> Void) throws {
        var bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        body(&bytes)
        let handle = try #require(FileHandle(forWritingAtPath: path))  // in place: the same file
        try handle.write(contentsOf: bytes)
        try handle.close()
    }

    static func expectRefused(_ dir: String, saying words: [String], sourceLocation: Testing.SourceLocation = #_sourceLocation) {
        do {
            _ = try F.engine(dir)
            Issue.record("a damaged journal opened", sourceLocation: sourceLocation)
        } catch let error as HeadroomError {
            #expect(error.code == .journalDamaged, sourceLocation: sourceLocation)
            for word in words { #expect(error.message.contains(word), "\(error.message)", sourceLocation: sourceLocation) }
        } catch {
            Issue.record("\(error)", sourceLocation: sourceLocation)
        }
    }

    /// One byte flipped in the middle entry's payload, its lsn changed, or its magic: the two
    /// valid entries after it are answered payments, so the store refuses to open, naming them.
    @Test(arguments: ["payload", "lsn", "magic"])
    func damageInTheMiddleRefusesToOpen(part: String) throws {
        let (dir, path, offsets) = try Self.crashed("journal-damage-\(part)")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let byte = offsets[2] + (part == "payload" ? JournalFile.headerBytes + 5 : part == "lsn" ? 9 : 1)
        try Self.change(path) { $0[byte] ^= 0x5A }
        Self.expectRefused(dir, saying: ["damaged at byte \(offsets[2])", "2 valid entries after it (4-5)", "accept-journal-loss"])
        let reader = try Engine(path: dir, cardKey: F.cardKey, rules: nil, options: .init(readOnly: true))
        #expect(try reader.journalNotice()?.contains("2 valid entries after it (4-5)") == true)
        // Refused again, and nothing was applied meanwhile.
        Self.expectRefused(dir, saying: ["2 valid entries"])
        #expect(try JournalFile(directory: dir).entries().entries.count == 2)
    }

    /// The journal deleted, cut to nothing, cut short, or replaced by another store's journal
    /// (valid entries, other salt), after its process crashed: what it answered cannot be
    /// known, and the store says so.
    @Test(arguments: ["deleted", "emptied", "cut short", "replaced"])
    func aMissingOrReplacedJournalRefusesToOpen(how: String) throws {
        let (dir, path, _) = try Self.crashed("journal-gone-\(how)")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        switch how {
        case "deleted": try FileManager.default.removeItem(atPath: path)
        case "emptied": #expect(truncate(path, 0) == 0)
        case "cut short": #expect(truncate(path, 1 << 20) == 0)  // past every entry, short of its preallocation
        default:
            let (other, otherPath, _) = try Self.crashed("journal-other")
            defer { try? FileManager.default.removeItem(atPath: other) }
            try FileManager.default.removeItem(atPath: path)
            try FileManager.default.copyItem(atPath: otherPath, toPath: path)
            #expect(try JournalFile(directory: dir).entries().entries.count == 5)  // valid in itself
        }
        // A read-only view opens, and says it (also before any writer has tried the store).
        do {  // closed before the next opening: one environment per store per process
            let first = try Engine(path: dir, cardKey: F.cardKey, rules: nil, options: .init(readOnly: true))
            #expect(try first.journalNotice()?.contains(how == "cut short" ? "it was truncated" : "deleted, replaced or emptied") == true)
        }
        Self.expectRefused(dir, saying: [how == "cut short" ? "it was truncated" : "deleted, replaced or emptied", "accept-journal-loss"])
        let reader = try Engine(path: dir, cardKey: F.cardKey, rules: nil, options: .init(readOnly: true))
        let notice = try reader.journalNotice()
        #expect(notice?.contains(how == "cut short" ? "it was truncated" : "deleted, replaced or emptied") == true, "\(String(describing: notice))")
    }

    /// An operator accepts the loss: the entries before the damage are applied, the journal is
    /// kept in a copy, the acceptance is in the audit log, and the store opens again, sound.
    @Test func acceptingTheLossOpensTheStoreOnRecord() throws {
        let (dir, path, offsets) = try Self.crashed("journal-accept")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        expectError(.invalidInput) { _ = try Engine.acceptJournalLoss(path: dir, by: "alice") }  // sound: nothing to accept
        try Self.change(path) { $0[offsets[3] + JournalFile.headerBytes] ^= 1 }
        expectError(.operatorRequired) { _ = try Engine.acceptJournalLoss(path: dir, by: " ") }
        let report = try Engine.acceptJournalLoss(path: dir, by: "alice", clock: { 1_795_572_000 })
        #expect(report.entriesApplied == 3 && report.problem.contains("1 valid entries after it (5-5)"))
        #expect(report.copyPath == path + ".damaged-1795572000" && FileManager.default.fileExists(atPath: report.copyPath))
        let mode = try FileManager.default.attributesOfItem(atPath: report.copyPath)[.posixPermissions] as? Int
        #expect(mode == 0o600)
        let engine = try F.engine(dir)
        for i in 0..<3 { #expect(try engine.state(of: try PaymentID("J1-\(i)")) == .authorized) }
        for i in 3..<5 { #expect(try engine.state(of: try PaymentID("J1-\(i)")) == nil) }
        #expect(try engine.check().problems.isEmpty)
        let last = try #require(try engine.ruleBook.auditLog().last)
        #expect(last.action == "store.accept-journal-loss" && last.operatorName == "alice" && last.detail.contains("3 journal entries"))
    }

    /// A crash between a new committer's file header and its record in the store is no damage:
    /// what the crashed one before it left was applied and forgotten first, so no journal is
    /// expected, and nothing was answered under the new header.
    /// Two ways to have crashed: with entries the store lacks (applied by the next write), and
    /// right after a checkpoint (nothing to apply; the opening forgets the journal).
    @Test(arguments: [false, true])
    func aCrashBeforeANewJournalIsRecordedIsNoDamage(afterCheckpoint: Bool) throws {
        let dir = try F.directory("journal-new-header")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        if afterCheckpoint {
            let committer = try GroupCommitter(engine: try F.engine(dir, rules: JournalTests.rules),
                                               options: .init(journal: .init(checkpointOperations: 1)))
            for i in 0..<5 { _ = try committer.authorize(try F.request("J1-\(i)", "2026-11-25T10:00:00+08:00", amount: "1.00")) }
            committer.crashForTesting()  // every entry checkpointed: nothing for the store to apply
        } else {
            _ = try JournalTests.crashWithJournal(dir, count: 5)
        }
        do {
            let engine = try F.engine(dir)  // applies what the crashed journal left, and forgets it
            #expect(try engine.state(of: try PaymentID("J1-4")) == .authorized)
        }
        try JournalFile(directory: dir).begin(salt: 777, preallocating: 1 << 20)  // the next committer, killed here
        let engine = try F.engine(dir)
        for i in 0..<5 { #expect(try engine.state(of: try PaymentID("J1-\(i)")) == .authorized) }
        #expect(try engine.check().problems.isEmpty)
    }

    /// A committer that stops cleanly leaves nothing at stake: its journal may then go.
    @Test func aCleanStopLeavesNoJournalExpected() throws {
        let dir = try F.directory("journal-clean")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let committer = try GroupCommitter(engine: try F.engine(dir, rules: JournalTests.rules), options: .init(journal: .init()))
        #expect(try committer.authorize(try F.request("C1", "2026-11-25T10:00:00+08:00", amount: "1.00")).decision.isApproved)
        try committer.close()
        try committer.close()  // again: nothing
        try FileManager.default.removeItem(atPath: dir + "/" + JournalFile.name)
        let engine = try F.engine(dir)
        #expect(try engine.state(of: try PaymentID("C1")) == .authorized)
    }

    /// A journal that cannot be preallocated (a disk of 1 MiB) gives back what it took.
    @Test(.enabled(if: SmallDisk.canMount, "needs root to mount a small tmpfs"))
    func aFailedPreallocationGivesTheSpaceBack() throws {
        let dir = try F.directory("journal-prealloc")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let disk = try SmallDisk(dir + "/disk", megabytes: 1)
        defer { disk.unmount() }
        let journal = try JournalFile(directory: disk.path)
        let result = Result { () throws(HeadroomError) in try journal.begin(salt: 7, preallocating: 8 << 20) }
        guard case .failure(let error) = result else {
            Issue.record("preallocating 8 MiB on a disk of 1 MiB succeeded")
            return
        }
        #expect(error.message.contains("cannot preallocate") && error.message.contains("given back")
                && error.message.contains("no space left on device"), "\(error.message)")
        #expect(try journal.sizeBytes() == 0)
    }
}
