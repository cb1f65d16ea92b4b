import Foundation
@testable import Headroom
import Testing

/// Every write of the engine goes through ``StoreTransaction`` (decision 0014): so a journal
/// captures it whatever it is, and recovery reproduces it without code of its own.
@Suite struct OneWritePathTests {
    typealias F = Fixture

    /// Every entry of every table, as bytes (the journal's own bookkeeping left out).
    static func dump(_ engine: Engine) throws -> [String: [UInt8]] {
        let txn = try engine.store.beginRead()
        var out: [String: [UInt8]] = [:]
        let bookkeeping: Set<[UInt8]> = [MetaKey.journalLSN.bytes, MetaKey.journalFile.bytes]
        for table in Table.allCases {
            try txn.scan(table) { (key, value) throws(HeadroomError) in
                if table == .meta && bookkeeping.contains(Array(key)) { return true }
                out["\(table.name)/\(Array(key))"] = Array(value)
                return true
            }
        }
        return out
    }

    /// Seeded operations of every kind: authorizations (retries too), confirms, releases,
    /// refunds, and customer limits set and cleared.
    static func operations(seed: UInt64, count: Int) throws -> [EngineOperation] {
        var rng = SplitMix64(seed: seed)
        var out: [EngineOperation] = []
        var issued: [PaymentID] = []
        for n in 0..<count {
            let roll = rng.next() % 100
            let card = try CardNumber(F.pan(Int(rng.next() % 6)))
            switch roll {
            case 0..<50 where true, _ where issued.isEmpty:
                let request = try F.request("P\(n)", "2026-11-25T1\(rng.next() % 10):00:00+08:00", card: Int(rng.next() % 6),
                                            amount: "\(1 + rng.next() % 400).00")
                issued.append(request.id)
                out.append(.authorize(request))
            case 50..<60: out.append(.authorize(try F.request(issued.last!.text, "2026-11-25T10:00:00+08:00", amount: "1.00")))
            case 60..<72: out.append(.confirm(issued[Int(rng.next() % UInt64(issued.count))]))
            case 72..<82: out.append(.release(issued[Int(rng.next() % UInt64(issued.count))]))
            case 82..<90:
                out.append(.refund(RefundRequest(id: try PaymentID("R\(n)"), original: issued[Int(rng.next() % UInt64(issued.count))],
                                                 amount: try Amount(yuan: "1.00"), time: try Timestamp(iso8601: "2026-11-26T09:00:00+08:00"))))
            case 90..<96:
                let institution: Institution? = rng.next() % 2 == 0 ? nil : try Institution("Z2007933000010")
                out.append(.setCardLimits(CardLimitChange(card: card, institution: institution,
                                                          limits: CardLimits(dailyAmountFenMax: Int64(100 + rng.next() % 500) * 100), by: "alice")))
            default:
                out.append(.clearCardLimits(card: card, institution: nil, by: "bob"))
            }
        }
        return out
    }

    /// The same operations, performed one by one by an engine, and through a journaling
    /// committer that is stopped as a crash would stop it (its long transaction aborted: the
    /// journal alone holds them): once the second store is reopened, the two are equal, entry
    /// for entry, in every table. A write that escaped the journal would be missing.
    @Test(arguments: [3, 4])
    func whateverIsWrittenIsJournaledAndRecovered(seed: UInt64) throws {
        let direct = try F.directory("one-path-direct")
        let journaled = try F.directory("one-path-journal")
        defer {
            try? FileManager.default.removeItem(atPath: direct)
            try? FileManager.default.removeItem(atPath: journaled)
        }
        let clock: @Sendable () -> Int64 = { 1_795_572_000 }
        let options = Engine.Options(mapSizeBytes: 64 << 20, clock: clock)
        let rules = GroupCommitTests.tight
        let operations = try Self.operations(seed: seed, count: 300)

        let engine = try Engine(path: direct, cardKey: F.cardKey, rules: rules, options: options)
        var answers: [Result<Answer, HeadroomError>] = []
        for operation in operations {
            do { answers.append(.success(try engine.perform(operation))) } catch { answers.append(.failure(error)) }
        }
        #expect(answers.contains { if case .success(.cardLimitsSet) = $0 { true } else { false } })
        #expect(answers.contains { if case .success(.refunded) = $0 { true } else { false } })

        let committer = try GroupCommitter(engine: try Engine(path: journaled, cardKey: F.cardKey, rules: rules, options: options),
                                           options: .init(journal: .init(checkpointOperations: 1_000_000, checkpointMilliseconds: 600_000)))
        for (operation, expected) in zip(operations, answers) {
            let answer: Result<Answer, HeadroomError>
            do { answer = .success(try committer.perform(operation)) } catch { answer = .failure(error) }
            switch (answer, expected) {
            case (.success(let a), .success(let b)): #expect(a == b)
            case (.failure(let a), .failure(let b)): #expect(a.code == b.code)
            default: Issue.record("\(operation.name): \(answer) against \(expected)")
            }
        }
        committer.crashForTesting()
        #expect(try JournalFile(directory: journaled).entries().entries.count == operations.count)

        let reopened = try Engine(path: journaled, cardKey: F.cardKey, rules: nil, options: options)
        let want = try Self.dump(engine)
        let got = try Self.dump(reopened)
        #expect(got.count == want.count)
        let show = { (key: String, bytes: [UInt8]?) -> String in
            guard let bytes else { return "nothing" }
            return key.hasPrefix("meta/") ? String(decoding: bytes, as: UTF8.self) : "\(bytes)"
        }
        for (key, value) in want where got[key] != value {
            Issue.record("\(key): recovered \(show(key, got[key])), written \(show(key, value))")
        }
        #expect(Set(got.keys) == Set(want.keys))
    }

    /// The one way to write: only Storage/StoreTransaction.swift holds an LMDB transaction or
    /// cursor (without one, nothing can be put or deleted); every other file of the engine
    /// reads and writes through the store transaction.
    @Test func noFileButTheStoreTransactionTouchesLMDBTransactions() throws {
        let sources = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Sources/Headroom")
        let files = FileManager.default.enumerator(atPath: sources.path)!.compactMap { $0 as? String }.filter { $0.hasSuffix(".swift") }
        #expect(files.count > 20)
        let forbidden = try [#"(^|[^A-Za-z])Transaction\b"#, #"environment\.begin(Write|Read)"#, "withCursor", "deleteCurrent"].map { try Regex($0) }
        for file in files where file != "Storage/StoreTransaction.swift" {
            let text = try String(contentsOfFile: sources.path + "/" + file, encoding: .utf8)
            for (n, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
                let code = line.split(separator: "//", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
                for pattern in forbidden where code.contains(pattern) {
                    Issue.record("\(file):\(n + 1) reaches LMDB around the store transaction: \(line)")
                }
            }
        }
    }
}
