import Foundation
@testable import Headroom
import HeadroomCore
import Testing

/// What an operator sees when things go wrong: a damaged journal, a full disk. Nothing passes in
/// silence, and nothing answered is lost.
@Suite(.serialized) struct FailureTests {
    typealias M = MultiProcessTests

    /// A journaling `replay` killed inside its interval, then one byte flipped in the middle of
    /// its journal: writers refuse the store (exit 3, journalDamaged), `store check` reports it
    /// (exit 1), and `store accept-journal-loss` (by a named operator only) applies what precedes
    /// the damage, keeps a copy and records the acceptance; the store is then sound.
    @Test(.timeLimit(.minutes(1)))
    func aDamagedJournalIsRefusedUntilAnOperatorAcceptsTheLoss() throws {
        let (root, store) = try M.storeWithRules("journal-damaged")
        defer { try? FileManager.default.removeItem(atPath: root) }
        var input = ""
        for i in 0..<4_000 { input += M.authorize("K\(i)", card: 100 + i % 500, amount: "1.00") }
        let (victim, out) = try CLI.start(["replay", "--store", store, "--callers", "2", "--journal"], input: input,
                                          inputFile: store + "-victim.jsonl")
        _ = M.kill(victim, out, afterAnswers: 300)
        victim.waitUntilExit()
        let journal = try JournalFile(directory: store)
        let entries = try journal.entries().entries
        #expect(entries.count >= 3, "killed too early")
        // Flip a byte in the middle entry's payload.
        let middle = entries.count / 2
        let offset = entries[..<middle].reduce(JournalFile.fileHeaderBytes) { $0 + JournalFile.headerBytes + $1.payload.count }
        let handle = try #require(FileHandle(forUpdatingAtPath: store + "/journal"))
        try handle.seek(toOffset: UInt64(offset + JournalFile.headerBytes + 3))
        let byte = try #require(try handle.read(upToCount: 1)).first! ^ 0xFF
        try handle.seek(toOffset: UInt64(offset + JournalFile.headerBytes + 3))
        try handle.write(contentsOf: [byte])
        try handle.close()

        let write = try CLI.run(["replay", "--store", store], input: M.authorize("W1", card: 3))
        #expect(write.status == 3 && write.stderr.contains("journalDamaged") && write.stderr.contains("accept-journal-loss"), "\(write.stderr)")
        let check = try CLI.run(["store", "check", "--store", store])
        #expect(check.status == 1 && check.stdout.contains("damaged at byte \(offset)"), "\(check.stdout)")
        let typed = try CLI.run(["store", "accept-journal-loss", "--store", store, "--operator", "alice"])
        #expect(typed.status == 64)
        let accept = try CLI.run(["store", "accept-journal-loss", "--store", store], as: "alice")
        #expect(accept.status == 0 && accept.stdout.contains("\(middle) entries before the damage applied"), "\(accept.stdout)\(accept.stderr)")
        #expect(try CLI.run(["store", "check", "--store", store]).status == 0)
        let again = try CLI.run(["store", "accept-journal-loss", "--store", store], as: "alice")
        #expect(again.status == 2 && again.stderr.contains("sound"))
        let audit = try CLI.run(["audit", "--store", store])
        #expect(audit.stdout.contains("store.accept-journal-loss") && audit.stdout.contains("alice"))
        #expect(try CLI.run(["replay", "--store", store], input: M.authorize("W2", card: 3)).status == 0)
    }

    /// A full disk: the journal's last checkpoint cannot be written after every line was
    /// answered. `replay` exits 3 saying so, names the full disk and its path (not "Input/output
    /// error"); the operators' reads still work on the full disk; and once room is made, the
    /// store's next opening applies what the journal holds: nothing answered is lost.
    @Test(.enabled(if: SmallDisk.canMount, "needs root to mount a small tmpfs"), .timeLimit(.minutes(2)))
    func aFullDiskFailsLoudlyAndLosesNothing() throws {
        let root = try CLI.temporaryDirectory("full-disk")
        defer { try? FileManager.default.removeItem(atPath: root) }
        try M.rules.write(toFile: root + "/limits.yaml", atomically: true, encoding: .utf8)
        // The journal takes 64 MiB of 65: the checkpoint of 3,000 payments does not fit.
        let disk = try SmallDisk(root + "/disk", megabytes: 65)
        defer { disk.unmount() }
        let store = disk.path + "/store"
        #expect(try CLI.run(["replay", "--store", store, "--rules", root], input: "").status == 0)
        var input = ""
        for i in 0..<3_000 { input += M.authorize("F\(i)", card: 10 + i, amount: "1.00") }
        let replay = try CLI.run(["replay", "--store", store, "--callers", "16", "--journal"], input: input)
        #expect(replay.status == 3, "\(replay.stderr)")
        #expect(replay.stderr.contains("no space left on device") && replay.stderr.contains(store), "\(replay.stderr)")
        #expect(!replay.stderr.contains("Input/output error"))
        let answered = replay.lines.map(object).filter { $0["outcome"] as? String == "approve" }.compactMap { $0["id"] as? String }
        #expect(!answered.isEmpty)
        let stat = try CLI.run(["store", "stat", "--store", store])
        #expect(stat.status == 0 && stat.stderr.contains("the journal holds"), "\(stat.stderr)")
        // Room again: the next opening applies the journal.
        #expect(disk.grow(megabytes: 256))
        let engine = try Engine(path: store, cardKey: try CardKey(hex: CLI.cardKeyHex), rules: nil)
        for id in answered { #expect(try engine.state(of: try PaymentID(id)) == "authorized", "\(id)") }
        #expect(try engine.check().problems.isEmpty)
    }
}
