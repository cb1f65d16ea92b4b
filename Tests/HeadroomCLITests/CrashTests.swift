import Foundation
@testable import Headroom
import HeadroomCore
import Testing

/// Kills `headroom replay` with SIGKILL at random points, several times, under hold times (the
/// replay's clock is its lines' time: reservations expire as the day passes, across kills). After each kill the
/// input resumes at the first line that got no answer, as NetsUnion retries what it was never
/// answered; that line may already be committed, and its retry must count nothing. After every
/// kill the store must be sound (counters equal their reservations) and hold every answered
/// payment; at the end it must equal, cell for cell and state for state, a store that got the
/// input once without a crash.
@Suite(.serialized) struct CrashTests {
    static let rules = """
    limits:
      - {id: bank.card-daily, tier: bank, window: day, group: card, amount_max: 3000.00, count_max: 8,
         applies_to: {business: [agreement, gateway]}}
      - {id: bank.card-monthly, tier: bank, window: month, group: card, amount_max: 9000.00, refund_restores: true,
         applies_to: {business: [agreement, gateway]}}
      - {id: inst.exposure, tier: institution, window: day, group: institution, amount_max: 20000.00,
         applies_to: {business: [agreement, gateway]}}
    card_tier:
      applies_to: {business: [agreement, gateway]}
    holds: {agreement: 1h, authentication: 1h, gateway: 3h, entrusted: 1h, payout: 1h, challenge: 5m}
    risk:
      - {id: burst, kind: velocity, counts: attempts, window: rolling 10m, group: card, count_max: 1, action: challenge,
         applies_to: {business: [agreement, gateway]}}
    """

    /// Seeded input: authorizations on 12 cards over two days, retries, confirms, releases,
    /// refunds, and verifies (a card's second authorization within 10 minutes is challenged and
    /// holds its reservation for 5 minutes, across kills too).
    static func input(seed: UInt64, lines: Int) -> [String] {
        var rng = SplitMix64(seed: seed)
        var out: [String] = []
        var issued: [String] = []
        var authorizations: [String: String] = [:]
        var minute = 0
        for n in 0..<lines {
            minute += Int(rng.next() % 4)
            let time = String(format: "2026-11-%02dT%02d:%02d:00+08:00", 25 + minute / 1440, minute / 60 % 24, minute % 60)
            let roll = rng.next() % 100
            if roll < 55 || issued.isEmpty {
                let id = "N\(n)"
                let amount = "\(50 + rng.next() % 900).\(String(format: "%02d", rng.next() % 100))"
                let line = #"{"op":"authorize","id":"\#(id)","time":"\#(time)","card":"\#(pan(Int(rng.next() % 12)))","institution":"Z\#(rng.next() % 3)","business":"agreement","amount":"\#(amount)","account_class":"I"}"#
                issued.append(id)
                authorizations[id] = line
                out.append(line)
                continue
            }
            let id = issued[Int(rng.next() % UInt64(issued.count))]
            switch roll {
            case 55..<65: out.append(authorizations[id]!)
            case 65..<85: out.append(#"{"op":"confirm","id":"\#(id)"}"#)
            case 85..<92: out.append(#"{"op":"release","id":"\#(id)"}"#)
            case 92..<97: out.append(#"{"op":"verify","id":"\#(issued.last!)"}"#)  // the latest: its challenge may still hold
            default: out.append(#"{"op":"refund","id":"R\#(n)","original":"\#(id)","amount":"10.00","time":"\#(time)"}"#)
            }
        }
        return out
    }

    /// Starts a replay, reads `answersBeforeKill` answers, kills it with SIGKILL, and returns
    /// every answer it had written (those read, and those still in the pipe).
    static func replayAndKill(store: String, rules: String, input: String, answersBeforeKill: Int?,
                              arguments: [String] = []) throws -> [String] {
        let (process, outPipe) = try CLI.start(["replay", "--store", store, "--rules", rules] + arguments, input: input, inputFile: store + ".input")
        let reader = outPipe.fileHandleForReading
        var buffer = Data()
        var answered = 0
        while answersBeforeKill.map({ answered < $0 }) ?? true {
            let chunk = reader.availableData
            if chunk.isEmpty { break }
            buffer.append(chunk)
            answered = buffer.reduce(0) { $1 == 10 ? $0 + 1 : $0 }
        }
        if answersBeforeKill != nil { kill(process.processIdentifier, SIGKILL) }
        buffer.append(reader.readDataToEndOfFile())
        process.waitUntilExit()
        return String(decoding: buffer, as: UTF8.self).split(separator: "\n").map(String.init)
    }

    /// A temporary directory with this suite's rules in `rules/`; remove `root` when done.
    static func rulesDirectory(_ name: String) throws -> (root: String, rules: String) {
        let root = try CLI.temporaryDirectory(name)
        try FileManager.default.createDirectory(atPath: root + "/rules", withIntermediateDirectories: true)
        try rules.write(toFile: root + "/rules/limits.yaml", atomically: true, encoding: .utf8)
        return (root, root + "/rules")
    }

    /// Opens a store to check it, expiring nothing: the replays' clock is their lines' time (a
    /// day long past), which the wall clock must not overtake between two rounds.
    static func openStore(_ path: String) throws -> Engine {
        try Engine(path: path, cardKey: CardKey(hex: CLI.cardKeyHex), rules: nil, options: .init(expiresOnOpening: false))
    }

    @Test func killedReplaysLoseNothingAndCountNothingTwice() throws {
        let (root, rulesDir) = try Self.rulesDirectory("crash")
        defer { try? FileManager.default.removeItem(atPath: root) }
        let lines = Self.input(seed: 11, lines: 600)
        let input = lines.joined(separator: "\n") + "\n"

        // The reference: the input once, uninterrupted.
        let reference = try Self.replayAndKill(store: root + "/once", rules: rulesDir, input: input, answersBeforeKill: nil)
        #expect(reference.count == lines.count)
        var firstAnswer: [String: [String: Any]] = [:]  // authorize id -> its first answer
        for line in reference {
            let o = object(line)
            if o["op"] as? String == "authorize", o["replayed"] == nil, let id = o["id"] as? String, o["outcome"] as? String != "error" {
                firstAnswer[id] = o
            }
        }
        #expect(firstAnswer.values.contains { $0["outcome"] as? String == "decline" }, "the input should decline some payments")
        #expect(firstAnswer.values.filter { $0["outcome"] as? String == "challenge" }.count > 10, "the input should challenge some payments")
        #expect(reference.filter { $0.contains(#""code":"verified""#) }.count > 5, "the input should verify some challenges")

        // Killed at random points; each restart replays the whole input.
        var rng = SplitMix64(seed: 99)
        let store = root + "/killed"
        var answeredAuthorizations: [String: [String: Any]] = [:]
        var offset = 0
        for round in 0..<5 {
            let remaining = lines.count - offset
            let killAt = round < 4 && remaining > 1 ? Int(1 + rng.next() % UInt64(min(remaining - 1, 200))) : nil
            let rest = lines[offset...].joined(separator: "\n") + "\n"
            let answers = try Self.replayAndKill(store: store, rules: rulesDir, input: rest, answersBeforeKill: killAt)
            if killAt != nil { #expect(answers.count < remaining, "round \(round): the kill came after the end") }
            offset += answers.count
            for line in answers {
                let o = object(line)
                guard o["op"] as? String == "authorize", let id = o["id"] as? String, o["outcome"] as? String != "error" else { continue }
                // Every answer for an id, first or replayed, matches the uninterrupted run's.
                #expect(o["outcome"] as? String == firstAnswer[id]?["outcome"] as? String, "round \(round) \(id)")
                #expect(o["code"] as? String == firstAnswer[id]?["code"] as? String, "round \(round) \(id)")
                #expect((o["headroom"] as? NSDictionary) == (firstAnswer[id]?["headroom"] as? NSDictionary), "round \(round) \(id)")
                answeredAuthorizations[id] = o
            }
            let engine = try Self.openStore(store)
            let report = try engine.check()
            #expect(report.problems.isEmpty, "round \(round): \(report.problems)")
            // Every answered payment is on record with the state its answer implies.
            for (id, o) in answeredAuthorizations {
                let state = try engine.state(of: PaymentID(id))?.name
                if o["outcome"] as? String == "approve" || o["outcome"] as? String == "challenge" {
                    #expect(["authorized", "confirmed", "released", "expired", "challenged"].contains(state ?? "missing"), "round \(round) \(id): \(state ?? "missing")")
                } else {
                    #expect(state == "declined", "round \(round) \(id)")
                }
            }
        }

        #expect(offset == lines.count)
        // At the end the killed store equals the reference, cell for cell and state for state.
        let once = try Self.openStore(root + "/once")
        let killed = try Self.openStore(store)
        #expect(try once.counterCells() == killed.counterCells())
        #expect(try once.counterCells().isEmpty == false)
        for id in firstAnswer.keys {
            #expect(try once.state(of: PaymentID(id)) == killed.state(of: PaymentID(id)), "\(id)")
        }
        // Reservations expired as the replayed day's time passed their hold, across the kills too.
        #expect(try firstAnswer.keys.filter { try killed.state(of: PaymentID($0)) == .expired }.count > 10)
    }

    /// Kills `headroom replay --callers 8` (group commit) with SIGKILL at random points. The
    /// answers leave in commit order, so each restart sends the whole input again, as NetsUnion
    /// retries. After every kill: no partial batch (the counters equal their reservations), every
    /// answered payment on record in the state its answer implies, and every later answer for a
    /// payment the same as its first.
    /// The same in journal mode: a kill loses the long transaction since the last checkpoint,
    /// and the next open brings the store up to date from the journal. And in write-behind
    /// (decision 0019), applying every 3 ms with a ring of two 64 KiB files: kills land before,
    /// during and after applies, and while the ring turns; the next open applies the ring.
    @Test(arguments: [[], ["--journal"], ["--write-behind", "--apply-ms", "3", "--ring-bytes", "65536"]])
    func killedDuringGroupCommitLosesNoAnsweredPayment(mode: [String]) throws {
        let (root, rulesDir) = try Self.rulesDirectory("crash-group")
        defer { try? FileManager.default.removeItem(atPath: root) }
        let lines = Self.input(seed: 12, lines: 1_500)
        let input = lines.joined(separator: "\n") + "\n"
        let group = ["--callers", "8"] + mode

        // Operations do share commits in this mode (else this would test nothing new).
        let reference = try CLI.run(["replay", "--store", root + "/reference", "--rules", rulesDir] + group, input: input)
        #expect(reference.status == 0 && reference.lines.count == lines.count, "\(reference.stderr)")
        let perCommit = reference.stderr.firstMatch(of: /([0-9.]+) operations per (commit|batch)/).flatMap { Double($0.1) } ?? 0
        if mode == ["--journal"] { #expect(reference.stderr.contains(/[1-9][0-9]* checkpoints?, the longest [0-9.]+ ms/), "\(reference.stderr)") }
        if mode.first == "--write-behind" {
            #expect(reference.stderr.contains(/[1-9][0-9]* appl(y|ies) to the store behind/), "\(reference.stderr)")
        }
        #expect(perCommit > 1.2, "\(reference.stderr)")

        var rng = SplitMix64(seed: 77)
        let store = root + "/killed"
        var first: [String: [String: Any]] = [:]  // authorize id -> the first answer it got
        var ringPending = 0, ringTurned = 0
        for round in 0..<6 {
            let killAt = round < 5 ? Int(1 + rng.next() % 400) : nil
            let answers = try Self.replayAndKill(store: store, rules: rulesDir, input: input, answersBeforeKill: killAt, arguments: group)
            if killAt != nil { #expect(answers.count < lines.count, "round \(round): the kill came after the end") }
            for line in answers {
                let o = object(line)
                guard o["op"] as? String == "authorize", let id = o["id"] as? String, o["outcome"] as? String != "error" else { continue }
                if let earlier = first[id] {
                    #expect(o["replayed"] as? Bool == true, "round \(round) \(id): answered as new twice")
                    #expect(o["outcome"] as? String == earlier["outcome"] as? String, "round \(round) \(id)")
                    #expect(o["code"] as? String == earlier["code"] as? String, "round \(round) \(id)")
                } else {
                    first[id] = o
                }
            }
            if mode.first == "--write-behind" && killAt != nil {
                // What the kill left in the ring past what the store holds, and whether the ring
                // had turned to its second file.
                let applied = try Engine(path: store, cardKey: CardKey(hex: CLI.cardKeyHex), rules: nil,
                                         options: .init(readOnly: true)).journalLSN()
                let ring = try JournalRing(directory: store, readOnly: true).files.map { try $0.entries().entries }
                if ring.joined().contains(where: { $0.lsn > applied }) { ringPending += 1 }
                if !ring[1].isEmpty { ringTurned += 1 }
            }
            let engine = try Self.openStore(store)
            let report = try engine.check()
            #expect(report.problems.isEmpty, "round \(round): \(report.problems)")
            for (id, o) in first {
                let state = try engine.state(of: PaymentID(id))?.name
                if o["outcome"] as? String == "approve" || o["outcome"] as? String == "challenge" {
                    #expect(["authorized", "confirmed", "released", "expired", "challenged"].contains(state ?? "missing"), "round \(round) \(id): \(state ?? "missing")")
                } else {
                    #expect(state == "declined", "round \(round) \(id)")
                }
            }
        }
        if mode.first == "--write-behind" {
            #expect(ringPending > 0, "no kill left answered entries that the store did not hold")
            #expect(ringTurned > 0, "the ring never turned before a kill")
        }
        #expect(first.values.contains { $0["outcome"] as? String == "decline" }, "the input should decline some payments")
        #expect(first.values.contains { $0["outcome"] as? String == "challenge" }, "the input should challenge some payments")
        #expect(first.count == Set(lines.compactMap { object($0)["op"] as? String == "authorize" ? object($0)["id"] as? String : nil }).count)
    }

    /// Not only payments: a card limit set through a journaling committer is made durable by the
    /// journal alone (every write goes through the one store transaction, decision 0014). Killed
    /// with SIGKILL before any checkpoint, the process leaves the limit and its audit entry in
    /// the journal, and the store's next opening has both.
    @Test func aCardLimitSetByAJournalingProcessSurvivesSIGKILL() throws {
        let (root, rulesDir) = try Self.rulesDirectory("crash-card-limit")
        defer { try? FileManager.default.removeItem(atPath: root) }
        let store = root + "/store"
        let limitLine = #"{"op":"set-card-limits","card":"\#(pan(3))","daily_amount":"123.45","daily_count":4}"#
        let input = ([limitLine] + Self.input(seed: 5, lines: 3_000)).joined(separator: "\n") + "\n"
        let answers = try Self.replayAndKill(store: store, rules: rulesDir, input: input, answersBeforeKill: 50,
                                             arguments: ["--callers", "2", "--journal"])
        let set = try #require(answers.map(object).first { $0["op"] as? String == "set-card-limits" }, "\(answers.prefix(3))")
        #expect(set["code"] as? String == "cardLimitsSet" && set["daily_amount"] as? String == "123.45")
        // Killed inside the first checkpoint interval (a second long; 50 answers take a few
        // milliseconds): the store holds nothing yet, the journal the limit's write. Should a
        // very slow machine have checkpointed first, the limit is in the store instead, and only
        // the reopening below is tested.
        let checkpointed = try Engine(path: store, cardKey: CardKey(hex: CLI.cardKeyHex), rules: nil,
                                      options: .init(readOnly: true)).journalLSN()
        let entries = try JournalFile(directory: store).entries().entries
        var cardWrites = 0
        for entry in entries where entry.lsn > checkpointed {
            try EffectLog.forEach(entry.payload) { (item) throws(HeadroomError) in
                if case .put(.cards, _, _) = item { cardWrites += 1 }
            }
        }
        if checkpointed == 0 {
            #expect(cardWrites == 1, "the journal's \(entries.count) entries hold \(cardWrites) card-limit writes")
        }

        let engine = try Self.openStore(store)
        let limits = try engine.cardLimits(try CardNumber(pan(3)), institution: nil)
        #expect(limits?.dailyAmountFenMax == 12_345 && limits?.dailyCountMax == 4)
        #expect(try engine.ruleBook.auditLog().contains { $0.action == "card-limit.set" && $0.detail.contains("daily amount 123.45") })
        #expect(try engine.check().problems.isEmpty)
    }
}

/// Kills `headroom reconcile` with SIGKILL partway through a file, several times, and runs the
/// file again each time, as an operator would. After each kill the store is sound; at the end it
/// equals, cell for cell and state for state, a copy that got the file once: no line applied
/// twice, none lost.
@Suite(.serialized) struct ReconcileCrashTests {
    /// A line for every payment of the input (random final statuses and, now and then, another
    /// amount), and payments the bank never saw.
    static func file(seed: UInt64, payments: [String]) -> String {
        var rng = SplitMix64(seed: seed)
        var out: [String] = []
        for id in payments {
            let status = ["00", "01", "03", "04"][Int(rng.next() % 4)]
            let amount = "\(1 + rng.next() % 900).00"
            out.append("B202611250013|\(id)|2026-11-25T10:00:00+08:00|Z\(rng.next() % 3)|\(amount)|\(status)")
        }
        for n in 0..<4000 {
            out.append("B202611250013|U\(n)|2026-11-25T1\(n % 10):00:00+08:00|Z\(n % 3)|\(1 + rng.next() % 300).00|0\(["0", "3"][Int(rng.next() % 2)])|\(pan(Int(rng.next() % 12)))|agreement|I")
        }
        return out.joined(separator: "\n") + "\n"
    }

    @Test func killedReconciliationsApplyEachLineOnce() throws {
        let (root, rulesDir) = try CrashTests.rulesDirectory("reconcile-crash")
        defer { try? FileManager.default.removeItem(atPath: root) }
        let lines = CrashTests.input(seed: 5, lines: 1500)
        let input = lines.joined(separator: "\n") + "\n"
        #expect(try CLI.run(["replay", "--store", root + "/once", "--rules", rulesDir], input: input).status == 0)
        #expect(try CLI.run(["replay", "--store", root + "/killed", "--rules", rulesDir], input: input).status == 0)
        let ids = lines.compactMap { line -> String? in
            let o = object(line)
            return o["op"] as? String == "authorize" ? o["id"] as? String : nil
        }
        let payments = Array(Set(ids)).sorted()
        // Institutions at random: some lines name another than the payment's and are refused.
        let file = root + "/B202611250013.txt"
        try Self.file(seed: 8, payments: payments).write(toFile: file, atomically: true, encoding: .utf8)
        let started = Date()
        let once = try CLI.run(["reconcile", file, "--store", root + "/once", "--format", "json"], as: "ops")
        let took = Date().timeIntervalSince(started)  // the kills come within it
        #expect(once.status == 1, "some lines name another institution: \(once.stderr)")
        let corrections = (try JSONSerialization.jsonObject(with: Data(once.stdout.utf8)) as? [String: Any])?["corrections"] as? [String: [String: Any]]
        // (The file is applied after the day: what was never confirmed has expired by then.)
        #expect((corrections?["givenBack"]?["count"] as? Int ?? 0) > 0 && (corrections?["recounted"]?["count"] as? Int ?? 0) > 20
                && (corrections?["unchanged"]?["count"] as? Int ?? 0) > 20, "\(corrections ?? [:])")

        var rng = SplitMix64(seed: 41)
        var killedPartway = 0
        var midFile = 0  // kills that left some of the file applied and some not
        for round in 0..<4 {
            let (process, out) = try CLI.start(["reconcile", file, "--store", root + "/killed"], input: "", inputFile: root + "/empty")
            usleep(UInt32(took * Double(30 + rng.next() % 50) / 100 * 1_000_000))  // 30% to 80% of a whole run
            let finished = !process.isRunning
            if !finished { kill(process.processIdentifier, SIGKILL) }
            _ = out.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            if !finished && process.terminationReason == .uncaughtSignal { killedPartway += 1 }
            let engine = try CrashTests.openStore(root + "/killed")
            #expect(try engine.check().problems.isEmpty, "round \(round)")
            let recorded = try (0..<4000).filter { try engine.state(of: PaymentID("U\($0)")) != nil }.count
            if recorded > 0 && recorded < 4000 { midFile += 1 }
        }
        #expect(killedPartway >= 2 && midFile >= 1, "the kills came before the start or after the end: \(killedPartway), \(midFile)")
        let last = try CLI.run(["reconcile", file, "--store", root + "/killed"], as: "ops")
        #expect(last.status == 1)
        let reference = try CrashTests.openStore(root + "/once")
        let killed = try CrashTests.openStore(root + "/killed")
        #expect(try reference.counterCells() == killed.counterCells())
        for id in payments + (0..<4000).map({ "U\($0)" }) {
            #expect(try reference.state(of: PaymentID(id)) == killed.state(of: PaymentID(id)), "\(id)")
        }
    }
}
