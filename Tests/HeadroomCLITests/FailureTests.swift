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
        for id in answered { #expect(try engine.state(of: try PaymentID(id)) == .authorized, "\(id)") }
        #expect(try engine.check().problems.isEmpty)
    }

    /// Ctrl-C in a dry run: what was answered is summarised, the private scratch copy removed,
    /// and the status is 130; a copy left by a run that was killed is removed by the next.
    @Test(.timeLimit(.minutes(1)))
    func anInterruptedReplaySummarisesAndLeavesNoScratchCopy() throws {
        let (root, store) = try M.storeWithRules("interrupted")
        defer { try? FileManager.default.removeItem(atPath: root) }
        // A temporary directory of its own: another test's dry run, running meanwhile, would
        // otherwise find the stale copy first and remove it (and say so in its own output).
        let temp = root + "/tmp"
        try FileManager.default.createDirectory(atPath: temp, withIntermediateDirectories: true)
        let stale = temp + "/headroom-dry-run-2147483000-stale"  // no such process
        try FileManager.default.createDirectory(atPath: stale, withIntermediateDirectories: true)
        let scratches = { Set((try? FileManager.default.contentsOfDirectory(atPath: temp)) ?? []).filter { $0.hasPrefix("headroom-dry-run-") } }
        let before = scratches().subtracting([URL(fileURLWithPath: stale).lastPathComponent])
        let process = Process()
        process.executableURL = URL(fileURLWithPath: CLI.binary)
        process.arguments = ["replay", "--store", store, "--dry-run"]
        process.environment = CLI.environment(["TMPDIR": temp])
        let input = Pipe(), output = Pipe(), errors = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        let stderr = ErrorCollector(errors.fileHandleForReading)
        input.fileHandleForWriting.write(Data((M.authorize("I1", card: 3) + M.authorize("I2", card: 4)).utf8))
        var answers = Data()
        while answers.reduce(0, { $1 == 10 ? $0 + 1 : $0 }) < 2 {
            let chunk = output.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            answers.append(chunk)
        }
        let own = scratches().subtracting(before)
        #expect(own.count == 1, "\(own)")
        let mode = own.first.flatMap { try? FileManager.default.attributesOfItem(atPath: temp + "/" + $0)[.posixPermissions] as? Int }
        #expect(mode == 0o700)
        kill(process.processIdentifier, SIGINT)
        process.waitUntilExit()
        let text = stderr.text()
        #expect(process.terminationStatus == 130, "\(text)")
        #expect(text.contains("interrupted by SIGINT") && text.contains("replayed 2 lines: 2 approved") && text.contains("interrupted)"), "\(text)")
        #expect(text.contains("removed \(stale)"))
        #expect(scratches().subtracting(before).isEmpty, "the scratch copy was left")
        try? input.fileHandleForWriting.close()
    }

    /// The summary counts every answered line once, by kind.
    @Test func theReplaySummaryCountsEveryLine() throws {
        let root = try CLI.temporaryDirectory("summary")
        defer { try? FileManager.default.removeItem(atPath: root) }
        let example = try String(contentsOfFile: CLI.repositoryRoot + "/examples/payments.jsonl", encoding: .utf8)
        let lines = example.split(separator: "\n").count
        let run = try CLI.run(["replay", "--store", root + "/s", "--rules", CLI.repositoryRoot + "/Rules"], input: example)
        #expect(run.status == 0 && run.lines.count == lines)
        #expect(run.stderr.contains("replayed \(lines) lines: 4 approved, 2 declined, 2 confirmed, 1 released, 1 refunded, 1 errors; 1 retries answered again"),
                "\(run.stderr)")
        // With 4 callers which of two payments racing for the last headroom wins can change
        // (docs/replay.md), and so the counts: they still add up to the lines, one count each.
        let many = try CLI.run(["replay", "--store", root + "/s4", "--rules", CLI.repositoryRoot + "/Rules", "--callers", "4"], input: example)
        let counts = try #require(many.stderr.firstMatch(of: #/replayed (\d+) lines: (\d+) approved, (\d+) declined, (\d+) confirmed, (\d+) released, (\d+) refunded, (\d+) errors/#))
        let parts = [counts.2, counts.3, counts.4, counts.5, counts.6, counts.7].compactMap { Int($0) }
        #expect(Int(counts.1) == lines && parts.reduce(0, +) == lines, "\(many.stderr)")
    }

    /// The exit statuses in docs/operating.md are the ones `headroom --help` prints.
    @Test func theExitStatusTableIsTheSameInHelpAndDocs() throws {
        let help = try CLI.run(["--help"], environment: ["COLUMNS": "10000"]).stdout
        let section = help.components(separatedBy: "Exit status:\n")[1].components(separatedBy: "\n\n")[0]
        var fromHelp: [String] = []
        for line in section.split(separator: "\n") {
            let words = line.split(separator: " ", maxSplits: 1)
            if let number = Int(words[0]) {
                fromHelp.append("| \(number) | \(words[1].trimmingCharacters(in: .whitespaces))")
            } else {
                fromHelp[fromHelp.count - 1] += " " + line.trimmingCharacters(in: .whitespaces)
            }
        }
        let docs = try String(contentsOfFile: CLI.repositoryRoot + "/docs/operating.md", encoding: .utf8)
        let table = docs.components(separatedBy: "| status | meaning |\n| --- | --- |\n")[1].components(separatedBy: "\n\n")[0]
        #expect(table.split(separator: "\n").map(String.init) == fromHelp.map { $0 + " |" })
    }

    /// Changes other than replay's refuse a path without a store, as reads do; a negative
    /// number is refused as a number, not as a missing value.
    @Test func changesNeedAStoreAndNumbersAreReadAsNumbers() throws {
        let root = try CLI.temporaryDirectory("changes")
        defer { try? FileManager.default.removeItem(atPath: root) }
        let set = try CLI.run(["card-limit", "set", "--store", root + "/typo", "--card", pan(3), "--daily-amount", "10.00"])
        #expect(set.status == 2 && set.stderr.contains("noStore"), "\(set.stderr)")
        let purge = try CLI.run(["store", "purge", "--store", root + "/typo"])
        #expect(purge.status == 2 && purge.stderr.contains("noStore"))
        #expect(!FileManager.default.fileExists(atPath: root + "/typo"))
        let negative = try CLI.run(["store", "purge", "--store", root, "--retain-days", "-5"])
        #expect(negative.status == 64 && negative.stderr.contains("at least 31, not -5"), "\(negative.stderr)")
        let rules = try CLI.run(["rules", "validate", root + "/missing"])
        #expect(rules.stdout.contains("no such directory") && !rules.stdout.contains("NSCocoaErrorDomain"))
    }

    /// Reads never wait for a writer: with LMDB's write lock held all along (as a journaling
    /// process holds it through each checkpoint interval), every read command answers. One that
    /// waited would hang here until the time limit fails the test.
    @Test(.timeLimit(.minutes(1)))
    func readsNeverWaitForAWriter() throws {
        let (root, store) = try M.storeWithRules("reads-beside-writer")
        defer { try? FileManager.default.removeItem(atPath: root) }
        #expect(try CLI.run(["replay", "--store", store], input: M.authorize("R1", card: 3)).status == 0)
        let engine = try Engine(path: store, cardKey: try CardKey(hex: CLI.cardKeyHex), rules: nil)
        let writing = try engine.store.beginWrite()
        let card = pan(3) + "\n"
        let reads: [([String], String)] = [
            (["store", "stat"], ""), (["store", "check"], ""), (["usage", "--card-file", "-", "--institution", "Z1"], card),
            (["card-limit", "get", "--card-file", "-"], card), (["explain", "-"], M.authorize("R2", card: 3)), (["audit"], ""),
            (["rules", "history"], ""), (["rules", "show"], ""), (["store", "purge", "--dry-run"], ""),
        ]
        for (command, input) in reads {
            let result = try CLI.run(command + ["--store", store], input: input)
            #expect(result.status == 0, "\(command): \(result.stderr)")
        }
        writing.abort()
    }

    /// An account that may only read the store's files (group read, no write) reads it, without
    /// the lock file and saying so; its writes are refused by the file system, loudly.
    @Test(.enabled(if: CLI.canActAsOperators, "needs root to run as another account"))
    func anAccountThatMayOnlyReadReadsAndCannotWrite() throws {
        let (root, store) = try M.storeWithRules("read-only-account")
        defer { try? FileManager.default.removeItem(atPath: root) }
        #expect(try CLI.run(["replay", "--store", store], input: M.authorize("R1", card: 3)).status == 0)
        for path in [root, store] { chmod(path, 0o755) }
        for file in try FileManager.default.contentsOfDirectory(atPath: store) { chmod(store + "/" + file, 0o644) }
        let asNobody = { (arguments: [String], input: String) throws -> CLI.Result in
            try CLI.run(["--reuid=65534", "--regid=65534", "--clear-groups", CLI.binary] + arguments, input: input,
                        environment: [:], executable: "/usr/bin/setpriv")
        }
        let stat = try asNobody(["store", "stat", "--store", store, "--format", "json"], "")
        #expect(stat.status == 0 && stat.stderr.contains("without its lock file"), "\(stat.stderr)")
        #expect((try? JSONSerialization.jsonObject(with: Data(stat.stdout.utf8)) as? [String: Any])?["records"] as? Int == 1)
        let write = try asNobody(["replay", "--store", store], M.authorize("R2", card: 3))
        #expect(write.status == 3 && write.stderr.contains("Permission denied: this account may not write the store's files"), "\(write.stderr)")
    }
}
