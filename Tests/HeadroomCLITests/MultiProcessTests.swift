import Foundation
@testable import Headroom
import HeadroomCore
import HeadroomRules
import Testing

/// Two front-processor processes on one store: LMDB serialises their writes, so together they
/// never exceed a limit, and the counters equal what both were told.
@Suite(.serialized) struct MultiProcessTests {
    static let rules = """
    limits:
      - {id: bank.card-daily, tier: bank, window: day, group: card, amount_max: 1000.00, count_max: 6,
         applies_to: {business: [agreement]}}
    card_tier: {applies_to: {business: [agreement]}}
    """

    struct Payment {
        let id: String
        let card: Int
        let fen: Int64
    }

    /// A temporary directory with this suite's rules in `rules/` and a store made with them in
    /// `store`; remove `root` when done.
    static func storeWithRules(_ name: String) throws -> (root: String, store: String) {
        let root = try CLI.temporaryDirectory(name)
        try FileManager.default.createDirectory(atPath: root + "/rules", withIntermediateDirectories: true)
        try rules.write(toFile: root + "/rules/limits.yaml", atomically: true, encoding: .utf8)
        #expect(try CLI.run(["replay", "--store", root + "/store", "--rules", root + "/rules"], input: "").status == 0)
        return (root, root + "/store")
    }

    /// An authorize line for `card` (an index into the test cards).
    static func authorize(_ id: String, card: Int, amount: String = "10.00") -> String {
        #"{"op":"authorize","id":"\#(id)","time":"2026-11-25T10:00:00+08:00","card":"\#(pan(card))","institution":"Z1","business":"agreement","amount":"\#(amount)","account_class":"I"}"# + "\n"
    }

    /// Reads `process`'s answers until it has given `count` lines (or ended), then kills it with
    /// SIGKILL; what it answered by then.
    static func kill(_ process: Process, _ output: Pipe, afterAnswers count: Int) -> Data {
        var answers = Data()
        while answers.reduce(0, { $1 == 10 ? $0 + 1 : $0 }) < count {
            let chunk = output.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            answers.append(chunk)
        }
        Foundation.kill(process.processIdentifier, SIGKILL)
        return answers
    }

    /// A `headroom` process kept running on a pipe: it has the store open until ``finish()``.
    final class Held {
        let process = Process()
        private let input = Pipe(), output = Pipe()

        init(_ arguments: [String]) throws {
            process.executableURL = URL(fileURLWithPath: CLI.binary)
            process.arguments = arguments
            process.environment = CLI.environment([:])
            process.standardInput = input
            process.standardOutput = output
            process.standardError = FileHandle.nullDevice
            try process.run()
        }

        /// Sends one line and waits for its one answer.
        func ask(_ line: String) -> [String: Any] {
            input.fileHandleForWriting.write(Data(line.utf8))
            var buffer = Data()
            while !buffer.contains(10) {
                let chunk = output.fileHandleForReading.availableData
                if chunk.isEmpty { break }
                buffer.append(chunk)
            }
            return object(String(decoding: buffer, as: UTF8.self))
        }

        /// Ends its input and waits for it to exit; its exit status.
        func finish() throws -> Int32 {
            try input.fileHandleForWriting.close()
            _ = output.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            return process.terminationStatus
        }
    }


    @Test func twoProcessesNeverExceedALimitTogether() throws {
        let (root, store) = try Self.storeWithRules("two")
        defer { try? FileManager.default.removeItem(atPath: root) }

        var rng = SplitMix64(seed: 5)
        var payments: [String: Payment] = [:]
        var inputs = ["", ""]
        for i in 0..<300 {
            for p in 0..<2 {
                let payment = Payment(id: "P\(p)-\(i)", card: Int(rng.next() % 3), fen: Int64(5_000 + rng.next() % 30_000))
                payments[payment.id] = payment
                inputs[p] += Self.authorize(payment.id, card: payment.card, amount: Amount(fen: payment.fen).plain)
            }
        }
        let running = try inputs.map { try CLI.start(["replay", "--store", store], input: $0, inputFile: store + "-\(UUID().uuidString).jsonl") }
        var approved: [Payment] = []
        for (process, out) in running {
            let lines = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self).split(separator: "\n")
            process.waitUntilExit()
            #expect(process.terminationStatus == 0 && lines.count == 300)
            for line in lines {
                let o = object(String(line))
                if o["outcome"] as? String == "approve", let id = o["id"] as? String { approved.append(payments[id]!) }
            }
        }
        for card in 0..<3 {
            let mine = approved.filter { $0.card == card }
            #expect(!mine.isEmpty)
            #expect(mine.reduce(0) { $0 + $1.fen } <= 100_000, "card \(card): over the daily amount together")
            #expect(mine.count <= 6, "card \(card): over the daily count together")
        }
        let engine = try Engine(path: store, cardKey: try CardKey(hex: CLI.cardKeyHex), rules: nil)
        #expect(try engine.check().problems.isEmpty)
        let daily = try #require(engine.ruleSet.limit(id: "bank.card-daily")?.counter?.id)
        #expect(try engine.counterTotals()[daily] == CounterValue(amountFen: approved.reduce(0) { $0 + $1.fen }, count: Int64(approved.count)))
    }
}

extension MultiProcessTests {
    @Test func aProcessAdoptsAMapAnotherProcessGrew() throws {
        let root = try CLI.temporaryDirectory("resized")
        defer { try? FileManager.default.removeItem(atPath: root) }
        let store = root + "/store"
        let rules = CLI.repositoryRoot + "/Rules"
        #expect(try CLI.run(["replay", "--store", store, "--rules", rules, "--map-size-mib", "1"], input: "").status == 0)
        func line(_ id: String, _ card: Int) -> String { Self.authorize(id, card: card) }
        // A stays open with a 1 MiB map, answering one line at a time.
        let a = try Held(["replay", "--store", store, "--map-size-mib", "1"])
        #expect(a.ask(line("A1", 1))["outcome"] as? String == "approve")
        // B grows the store well past A's map.
        let many = (0..<4000).map { line("B\($0)", 10 + $0) }.joined()
        let b = try CLI.run(["replay", "--store", store, "--map-size-mib", "1"], input: many)
        #expect(b.status == 0 && b.lines.count == 4000 && !b.stdout.contains("\"error\""))
        let facts = json(try CLI.run(["store", "stat", "--store", store, "--map-size-mib", "1", "--format", "json"]))
        #expect((facts?["used_bytes"] as? Int ?? 0) > 1 << 20)
        // A's next transaction finds the map resized, adopts it, and answers.
        #expect(a.ask(line("A2", 2))["outcome"] as? String == "approve")
        #expect(try a.finish() == 0)
        #expect(try CLI.run(["store", "check", "--store", store]).status == 0)
    }

    func json(_ result: CLI.Result) -> [String: Any]? {
        (try? JSONSerialization.jsonObject(with: Data(result.stdout.utf8))) as? [String: Any]
    }

    /// While `replay --journal` runs, other processes still write the store (each write waits
    /// for the journal's checkpoint): another replay is answered, an operator sets a customer's
    /// limit, `usage` reads; together they exceed no limit, and everything is on record after.
    @Test func otherProcessesWriteBesideAJournal() throws {
        let (root, store) = try Self.storeWithRules("journal-beside")
        defer { try? FileManager.default.removeItem(atPath: root) }
        let journaling = try Held(["replay", "--store", store, "--callers", "2", "--journal"])
        for i in 0..<5 { #expect(journaling.ask(Self.authorize("J\(i)", card: 1))["outcome"] as? String == "approve") }

        // The sixth payment of the card's day is the last its count cap allows; the seventh is not.
        let beside = try CLI.run(["replay", "--store", store], input: Self.authorize("X1", card: 1) + Self.authorize("X2", card: 1))
        #expect(beside.status == 0, "\(beside.stderr)")
        #expect(beside.lines.map { object($0)["outcome"] as? String } == ["approve", "decline"], "\(beside.stdout)")
        let limit = try CLI.run(["card-limit", "set", "--store", store, "--card", pan(2), "--daily-count", "1"], as: "alice")
        #expect(limit.status == 0, "\(limit.stderr)")
        let usage = try CLI.run(["usage", pan(1), "--store", store, "--at", "2026-11-25T11:00:00+08:00", "--format", "json"])
        #expect(usage.status == 0, "\(usage.stderr)")
        // The journal sees what the others wrote: card 1 is full, card 2 now takes one payment.
        #expect(journaling.ask(Self.authorize("J5", card: 1))["outcome"] as? String == "decline")
        #expect(journaling.ask(Self.authorize("J6", card: 2))["outcome"] as? String == "approve")
        #expect(journaling.ask(Self.authorize("J7", card: 2))["outcome"] as? String == "decline")

        #expect(try journaling.finish() == 0)
        let engine = try Engine(path: store, cardKey: try CardKey(hex: CLI.cardKeyHex), rules: nil)
        for id in ["J0", "J4", "X1", "J6"] { #expect(try engine.state(of: try PaymentID(id)) == .authorized, "\(id)") }
        #expect(try engine.check().problems.isEmpty)
    }

    /// A journaling process killed in the middle of a checkpoint interval leaves payments it
    /// answered only in its journal. A process that has the store open applies them in its next
    /// write transaction, before deciding anything: the card whose six payments the dead journal
    /// approved declines a seventh there.
    /// The same for a write-behind engine (decision 0019) killed before its first apply: what
    /// it answered is only in its ring, and the next writer applies it.
    @Test(.timeLimit(.minutes(1)), arguments: [["--journal"], ["--write-behind"]])
    func aKilledJournalIsAppliedByTheNextWriterInAnotherProcess(mode: [String]) throws {
        let (root, store) = try Self.storeWithRules("journal-killed")
        defer { try? FileManager.default.removeItem(atPath: root) }
        let survivor = try Held(["replay", "--store", store])  // open all along
        #expect(survivor.ask(Self.authorize("S0", card: 3))["outcome"] as? String == "approve")

        var input = ""
        for i in 0..<6 { input += Self.authorize("K\(i)", card: 9, amount: "1.00") }
        for i in 6..<4_000 { input += Self.authorize("K\(i)", card: 100 + i % 500, amount: "1.00") }
        let (victim, victimOut) = try CLI.start(["replay", "--store", store, "--callers", "2"] + mode, input: input,
                                                inputFile: store + "-victim.jsonl")
        let answers = Self.kill(victim, victimOut, afterAnswers: 200)
        victim.waitUntilExit()
        let answered = String(decoding: answers, as: UTF8.self).split(separator: "\n").map { object(String($0)) }
        #expect(answered.count >= 200, "the journaling process stopped early")
        #expect(answered.filter { ($0["id"] as? String).map { ["K0", "K1", "K2", "K3", "K4", "K5"].contains($0) } == true }
            .allSatisfy { $0["outcome"] as? String == "approve" })
        // Killed inside its first interval (well under a second in): its journal holds what it answered.
        if mode == ["--journal"] {
            #expect(try JournalFile(directory: store).entries().entries.isEmpty == false)
        } else {
            #expect(try JournalRing(directory: store, readOnly: true).files[0].entries().entries.isEmpty == false)
            // A reader says so: the store lacks what the ring holds.
            let usage = try CLI.run(["usage", pan(9), "--store", store, "--at", "2026-11-25T11:00:00+08:00"])
            #expect(usage.status == 0 && usage.stderr.contains("the journal ring holds"), "\(usage.stderr)")
        }

        #expect(survivor.ask(Self.authorize("S1", card: 9))["outcome"] as? String == "decline")
        #expect(survivor.ask(Self.authorize("S2", card: 3))["outcome"] as? String == "approve")
        #expect(try survivor.finish() == 0)
        let engine = try Engine(path: store, cardKey: try CardKey(hex: CLI.cardKeyHex), rules: nil)
        #expect(try engine.check().problems.isEmpty)
        for o in answered where o["outcome"] as? String == "approve" {
            let id = try #require(o["id"] as? String)
            #expect(try engine.state(of: try PaymentID(id)) == .authorized, "\(id)")
        }
    }

    /// Two processes write one store; one is killed with SIGKILL in the middle of its work
    /// (perhaps holding LMDB's write lock, or a reader slot). The other finishes every line
    /// (LMDB's robust lock passes on; the dead transaction is rolled back), the store is sound,
    /// every payment the killed one answered is on record, and together they exceeded no limit.
    @Test(.timeLimit(.minutes(1)))  // a survivor stuck on a dead lock holder would hang: fail instead
    func oneOfTwoProcessesKilledMidWriteLeavesTheOtherGoing() throws {
        let (root, store) = try Self.storeWithRules("two-killed")
        defer { try? FileManager.default.removeItem(atPath: root) }
        var rng = SplitMix64(seed: 8)
        var payments: [String: Payment] = [:]
        var inputs = ["", ""]
        for i in 0..<1_500 {
            for p in 0..<2 {
                let payment = Payment(id: "K\(p)-\(i)", card: Int(rng.next() % 40), fen: Int64(5_000 + rng.next() % 30_000))
                payments[payment.id] = payment
                inputs[p] += Self.authorize(payment.id, card: payment.card, amount: Amount(fen: payment.fen).plain)
            }
        }
        let (victim, victimOut) = try CLI.start(["replay", "--store", store], input: inputs[0], inputFile: store + "-victim.jsonl")
        let (survivor, survivorOut) = try CLI.start(["replay", "--store", store], input: inputs[1], inputFile: store + "-survivor.jsonl")
        // Kill the victim once it has answered a few hundred lines, while both are writing.
        var victimAnswers = Self.kill(victim, victimOut, afterAnswers: 300)
        victimAnswers.append(victimOut.fileHandleForReading.readDataToEndOfFile())
        victim.waitUntilExit()
        let survivorLines = String(decoding: survivorOut.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self).split(separator: "\n")
        survivor.waitUntilExit()
        #expect(survivor.terminationStatus == 0 && survivorLines.count == 1_500, "the survivor stopped after \(survivorLines.count) lines")
        let victimLines = String(decoding: victimAnswers, as: UTF8.self).split(separator: "\n")
        #expect(victimLines.count < 1_500, "the kill came after the victim's end")

        let engine = try Engine(path: store, cardKey: try CardKey(hex: CLI.cardKeyHex), rules: nil)
        #expect(try engine.check().problems.isEmpty)
        for line in victimLines + survivorLines {
            let o = object(String(line))
            guard let id = o["id"] as? String else { continue }
            let state = try engine.state(of: PaymentID(id))?.name
            #expect(state == (o["outcome"] as? String == "approve" ? "authorized" : "declined"), "\(id): \(state ?? "missing")")
        }
        // Together (answered or not), no card went past its daily caps.
        var approved: [Int: (fen: Int64, count: Int)] = [:]
        for (id, payment) in payments where try engine.state(of: PaymentID(id)) == .authorized {
            approved[payment.card, default: (0, 0)].fen += payment.fen
            approved[payment.card, default: (0, 0)].count += 1
        }
        for (card, total) in approved {
            #expect(total.fen <= 100_000 && total.count <= 6, "card \(card): \(total)")
        }
    }

    /// While a write-behind engine runs (decision 0019), the store lags its answers: another
    /// process may read it (and is told how old what it reads is), but its writes are refused
    /// `storeBusy`, naming the engine's process: a replay already open, a new one, an operator's
    /// card limit, a journaling committer. Once the engine stops, the others write again, and
    /// the store holds everything it answered.
    @Test func aWriteBehindEngineLetsOthersReadAndRefusesTheirWrites() throws {
        let (root, store) = try Self.storeWithRules("write-behind-beside")
        defer { try? FileManager.default.removeItem(atPath: root) }
        let holder = try Held(["replay", "--store", store])  // open before the engine starts
        #expect(holder.ask(Self.authorize("H1", card: 1))["outcome"] as? String == "approve")
        let engine = try Held(["replay", "--store", store, "--callers", "2", "--write-behind", "--apply-ms", "20"])
        for i in 0..<3 { #expect(engine.ask(Self.authorize("W\(i)", card: 1))["outcome"] as? String == "approve") }

        // The replay open from before is refused at its next write: a store failure, it stops.
        #expect(holder.ask(Self.authorize("H2", card: 1)).isEmpty)
        #expect(try holder.finish() == 3)
        let replay = try CLI.run(["replay", "--store", store], input: Self.authorize("X1", card: 1))
        #expect(replay.status == 3 && replay.stderr.contains("storeBusy")
                && replay.stderr.contains("write-behind engine (process \(engine.process.processIdentifier))"), "\(replay.status) \(replay.stderr)")
        let limit = try CLI.run(["card-limit", "set", "--store", store, "--card", pan(2), "--daily-count", "1"], as: "alice")
        #expect(limit.status == 3 && limit.stderr.contains("write-behind"), "\(limit.status) \(limit.stderr)")
        let journaling = try CLI.run(["replay", "--store", store, "--callers", "2", "--journal"], input: Self.authorize("J1", card: 1))
        #expect(journaling.status == 3 && journaling.stderr.contains("storeBusy"), "\(journaling.stderr)")
        // Write-behind's settings without write-behind are refused, not ignored.
        let stray = try CLI.run(["replay", "--store", store, "--callers", "2", "--apply-ms", "5"], input: "")
        #expect(stray.status == 64 && stray.stderr.contains("give --write-behind too"), "\(stray.stderr)")

        // Reads: what the engine applied (an apply every 20 ms), and how old that is.
        Thread.sleep(forTimeInterval: 0.3)
        let usage = try CLI.run(["usage", pan(1), "--store", store, "--at", "2026-11-25T11:00:00+08:00", "--format", "json"])
        #expect(usage.status == 0, "\(usage.stderr)")
        #expect(usage.stderr.contains("a write-behind engine (process \(engine.process.processIdentifier)) runs this store")
                && usage.stderr.contains("as of 20"), "\(usage.stderr)")
        #expect(usage.stdout.contains("\"used_count\" : 4"), "\(usage.stdout)")

        #expect(try engine.finish() == 0)
        // Stopped cleanly: everything applied, the ring forgotten; the others write again.
        let after = try CLI.run(["replay", "--store", store], input: Self.authorize("H3", card: 1))
        #expect(after.status == 0 && object(after.lines[0])["outcome"] as? String == "approve", "\(after.stdout)\(after.stderr)")
        #expect(!after.stderr.contains("write-behind"), "\(after.stderr)")
        let opened = try Engine(path: store, cardKey: try CardKey(hex: CLI.cardKeyHex), rules: nil)
        for id in ["H1", "W0", "W2", "H3"] { #expect(try opened.state(of: try PaymentID(id)) == .authorized, "\(id)") }
        #expect(try opened.state(of: try PaymentID("H2")) == nil)
        #expect(try opened.check().problems.isEmpty)
    }

    /// A journal starts beside processes that have the store open (their writes wait for its
    /// checkpoints), but not beside another journal: a store has one at a time.
    @Test func oneJournalAtATimeBesideOtherProcesses() throws {
        let (root, store) = try Self.storeWithRules("journal-start")
        defer { try? FileManager.default.removeItem(atPath: root) }
        let holder = try Held(["replay", "--store", store])  // a plain replay holds the store open
        #expect(holder.ask(Self.authorize("H1", card: 1))["outcome"] as? String == "approve")
        let journaling = try Held(["replay", "--store", store, "--callers", "2", "--journal"])
        #expect(journaling.ask(Self.authorize("J1", card: 1))["outcome"] as? String == "approve")

        let second = try CLI.run(["replay", "--store", store, "--callers", "2", "--journal"], input: Self.authorize("J2", card: 1))
        #expect(second.status == 3 && second.stderr.contains("storeBusy"), "\(second.status) \(second.stderr)")
        #expect(holder.ask(Self.authorize("H2", card: 1))["outcome"] as? String == "approve")
        #expect(try journaling.finish() == 0)
        #expect(try holder.finish() == 0)
        let again = try CLI.run(["replay", "--store", store, "--callers", "2", "--journal"], input: Self.authorize("J1", card: 1))
        #expect(again.status == 0 && object(again.lines[0])["replayed"] as? Bool == true, "\(again.stdout)\(again.stderr)")
    }
}
