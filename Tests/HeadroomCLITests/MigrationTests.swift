import Foundation
@testable import Headroom
import LMDBKit
import Testing

/// A store written by Headroom 0.9 (schema 2, Tests/Fixtures/store-0.9) is refused until an
/// operator migrates it; migrated, every payment keeps its first answer.
@Suite struct MigrationTests {
    static let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/store-0.9").path

    /// A copy of the fixture store; remove `root` when done.
    static func copy(_ name: String) throws -> (root: String, store: String) {
        let root = try CLI.temporaryDirectory(name)
        let store = root + "/store"
        try FileManager.default.createDirectory(atPath: store, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: fixture + "/data.mdb", toPath: store + "/data.mdb")
        return (root, store)
    }

    @Test func anOlderStoreIsRefusedUntilMigratedAndThenKeepsEveryAnswer() throws {
        let (root, store) = try Self.copy("migrate")
        defer { try? FileManager.default.removeItem(atPath: root) }
        let input = try String(contentsOfFile: Self.fixture + "/input.jsonl", encoding: .utf8)
        let before = try String(contentsOfFile: Self.fixture + "/answers-0.9.jsonl", encoding: .utf8).split(separator: "\n").map(String.init)

        // Reads and writes are refused, naming the schema and the command.
        for command in [["store", "stat"], ["replay"]] {
            let refused = try CLI.run(command + ["--store", store], input: input)
            #expect(refused.status == 2 && refused.stdout.isEmpty, "\(command): \(refused.stdout)")
            #expect(refused.stderr.contains("storeNeedsMigration") && refused.stderr.contains("schema is version 2")
                    && refused.stderr.contains("headroom store migrate"), "\(command): \(refused.stderr)")
        }

        let migrated = try CLI.run(["store", "migrate", "--store", store], as: "alice")
        #expect(migrated.status == 0, "\(migrated.stderr)")
        #expect(migrated.stdout.contains("from schema 2 to 5: 6 payment and refund records rewritten"), "\(migrated.stdout)")
        let again = try CLI.run(["store", "migrate", "--store", store], as: "alice")
        #expect(again.status == 2 && again.stderr.contains("already at schema 5"), "\(again.stderr)")
        #expect(try CLI.run(["audit", "--store", store]).stdout.contains("store.migrate"))
        #expect(try CLI.run(["store", "check", "--store", store]).status == 0)

        // Every authorization sent again gets the first answer 0.9 gave, as a retry.
        let after = try CLI.run(["replay", "--store", store], input: input)
        #expect(after.status == 0, "\(after.stderr)")
        let answers = after.stdout.split(separator: "\n").map(String.init)
        #expect(answers.count == before.count)
        var compared = 0
        for (old, new) in zip(before, answers) where object(old)["op"] as? String == "authorize" && object(old)["outcome"] as? String != "error" {
            let retry = old.hasSuffix(#","replayed":true}"#) ? old : String(old.dropLast()) + #","replayed":true}"#
            #expect(new == retry)
            compared += 1
        }
        #expect(compared == 6)
    }

    /// A store whose journal still holds what a journaling process of 0.9 answered is refused:
    /// 0.9 must apply it first.
    @Test func aStoreWithAnExpectedJournalIsNotMigrated() throws {
        let (root, store) = try Self.copy("migrate-journal")
        defer { try? FileManager.default.removeItem(atPath: root) }
        do {
            let raw = try Store(environment: try Environment(path: store, options: .init()))
            let txn = try raw.beginWrite(applyingJournal: false)
            try raw.putMeta(txn, .journalFile, JournalIdentity(salt: 7, sizeBytes: 4096).bytes)
            try txn.commit()
        }
        // The journal 0.9 left: its file header (format 1, the salt) and one entry after it.
        var file = [UInt8](repeating: 0, count: JournalFile.fileHeaderBytes)
        withUnsafeBytes(of: JournalFile.fileMagic) { file.replaceSubrange(0..<4, with: $0) }
        withUnsafeBytes(of: UInt32(1)) { file.replaceSubrange(4..<8, with: $0) }
        withUnsafeBytes(of: UInt64(7)) { file.replaceSubrange(8..<16, with: $0) }
        file += JournalFile.encode(lsn: 1, salt: 7, payload: [UInt8](repeating: 9, count: 40))
        let journal = store + "/" + JournalFile.name
        FileManager.default.createFile(atPath: journal, contents: Data(file))
        let refused = try CLI.run(["store", "migrate", "--store", store], as: "alice")
        #expect(refused.status == 2 && refused.stderr.contains("open the store once with Headroom 0.9"), "\(refused.stderr)")
        // No command takes 0.9's journal for a damaged one of its own, nor empties it: each
        // names the migration (accepting a loss above all, which would drop answered payments).
        for command in [["replay"], ["store", "accept-journal-loss"], ["store", "check"], ["rules", "history"]] {
            let result = try CLI.run(command + ["--store", store], as: "alice")
            #expect(result.status == 2 && result.stderr.contains("storeNeedsMigration"), "\(command): \(result.stderr)")
        }
        #expect(FileManager.default.contents(atPath: journal) == Data(file))
        let missing = try CLI.run(["store", "migrate", "--store", root + "/nothing-here"], as: "alice")
        #expect(missing.status == 2 && missing.stderr.contains("noStore"), "\(missing.stderr)")
    }
}
