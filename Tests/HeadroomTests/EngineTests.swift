import Foundation
@testable import Headroom
import HeadroomCore
import HeadroomRules
import Testing

@Suite struct EngineTests {
    typealias F = Fixture

    @Test func approvesReservesAndAnswersRetriesWithTheFirstAnswer() throws {
        let dir = try F.directory("basic")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let engine = try F.engine(dir, rules: try F.shippedRules())
        let first = try engine.authorize(try F.request("T1", "2026-11-25T10:00:00+08:00", amount: "1234.56"))
        #expect(first.decision.isApproved && !first.replayed)
        #expect(first.decision.headroom[.bank] == TierHeadroom(amountFen: 5_000_000, count: 49))
        #expect(first.decision.headroom[.institution] == TierHeadroom(amountFen: 2_000_000, count: nil))
        let again = try engine.authorize(try F.request("T1", "2026-11-25T10:00:00+08:00", amount: "1234.56"))
        #expect(again.replayed && again.decision == first.decision)
        let probe = try engine.explain(try F.request("probe", "2026-11-25T11:00:00+08:00", amount: "1.00"))
        #expect(probe.lines.first { $0.check.limitID == "bank.card-daily" }?.used == CounterValue(amountFen: 123_456, count: 1))
        expectError(.idConflict) { _ = try engine.authorize(try F.request("T1", "2026-11-25T10:00:00+08:00", amount: "1234.57")) }
        expectError(.idConflict) { _ = try engine.authorize(try F.request("T1", "2026-11-25T10:00:00+08:00", card: 2, amount: "1234.56")) }
        #expect(try engine.check().problems.isEmpty)
    }

    @Test func declinesNameTheLimitTierAndFigures() throws {
        let dir = try F.directory("decline")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let engine = try F.engine(dir, rules: try F.shippedRules())
        let big = try engine.authorize(try F.request("T1", "2026-11-25T10:00:00+08:00", amount: "60000.00"))
        #expect(big.decision.code.name == "exceedsBankSingleAmount")
        #expect(big.decision.failed?.limitID == "bank.single" && big.decision.failed?.tier == .bank)
        let other = try engine.authorize(try F.request("T2", "2026-11-25T10:00:00+08:00", institution: "Z9", amount: "10000.01"))
        #expect(other.decision.code.name == "exceedsInstitutionSingleAmount")
        // Class III: 2,000.00 a day, checked before the bank's tiers.
        _ = try engine.authorize(try F.request("T3", "2026-11-25T10:00:00+08:00", amount: "1500.00", accountClass: .classIII))
        let reg = try engine.authorize(try F.request("T4", "2026-11-25T11:00:00+08:00", amount: "500.01", accountClass: .classIII))
        #expect(reg.decision.code.name == "exceedsRegulatoryDailyAmount")
        #expect(reg.decision.failed == FailedLimit(limitID: "regulatory.class-iii-daily", tier: .regulatory, window: .day,
                                                   measure: .amount, max: 200_000, used: 150_000))
        #expect(reg.decision.headroom[.regulatory] == TierHeadroom(amountFen: 50_000, count: nil))
        // A decline counts nothing, and its retry gets the same decline.
        #expect(try engine.authorize(try F.request("T4", "2026-11-25T11:00:00+08:00", amount: "500.01", accountClass: .classIII)).replayed)
        #expect(try engine.authorize(try F.request("T5", "2026-11-25T12:00:00+08:00", amount: "500.00", accountClass: .classIII)).decision.isApproved)
        // The 51st payment of a card in a day (T3 and T5 were the first two).
        for i in 0..<48 { _ = try engine.authorize(try F.request("C\(i)", "2026-11-25T13:00:00+08:00", amount: "1.00")) }
        let count = try engine.authorize(try F.request("C99", "2026-11-25T13:00:00+08:00", amount: "1.00"))
        #expect(count.decision.code.name == "exceedsBankDailyCount")
        #expect(count.decision.headroom[.bank]?.count == 0)
        // Payouts credit the customer: no shipped limit counts them.
        let payout = try engine.authorize(try F.request("P1", "2026-11-25T13:00:00+08:00", card: 2, business: .payout, amount: "90000.00"))
        #expect(payout.decision.isApproved && payout.decision.headroom.isEmpty)
        expectError(.invalidInput) { _ = try engine.authorize(try F.request("R1", "2026-11-25T13:00:00+08:00", business: .refund, amount: "1.00")) }
    }

    @Test func lifecycleErrorsChangeNothing() throws {
        let dir = try F.directory("lifecycle")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let engine = try F.engine(dir, rules: try F.shippedRules())
        _ = try engine.authorize(try F.request("A", "2026-11-25T10:00:00+08:00", amount: "100.00"))
        _ = try engine.authorize(try F.request("D", "2026-11-25T10:00:00+08:00", amount: "90000.00"))
        let id = { try PaymentID($0) }
        expectError(.unknownPayment) { try engine.confirm(try id("nope")) }
        expectError(.unknownPayment) { try engine.release(try id("nope")) }
        expectError(.notApproved) { try engine.confirm(try id("D")) }
        expectError(.notApproved) { try engine.release(try id("D")) }
        try engine.confirm(try id("A"))
        expectError(.alreadyConfirmed) { try engine.confirm(try id("A")) }
        expectError(.alreadyConfirmed) { try engine.release(try id("A")) }
        _ = try engine.authorize(try F.request("B", "2026-11-25T10:00:00+08:00", amount: "100.00"))
        try engine.release(try id("B"))
        expectError(.alreadyReleased) { try engine.release(try id("B")) }
        expectError(.alreadyReleased) { try engine.confirm(try id("B")) }
        #expect(try engine.state(of: try id("A")) == .confirmed)
        #expect(try engine.state(of: try id("B")) == .released)
        #expect(try engine.state(of: try id("D")) == .declined)
        let probe = try engine.explain(try F.request("probe", "2026-11-25T11:00:00+08:00", amount: "1.00"))
        #expect(probe.lines.first { $0.check.limitID == "bank.card-daily" }?.used == CounterValue(amountFen: 10_000, count: 1))
        #expect(try engine.check().problems.isEmpty)
    }

    @Test func releaseAfterMidnightGivesBackToTheOriginalDay() throws {
        let dir = try F.directory("midnight")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let engine = try F.engine(dir, rules: try F.shippedRules())
        #expect(try engine.authorize(try F.request("late", "2026-11-25T23:59:59+08:00", amount: "15000.00")).decision.isApproved)
        #expect(try engine.authorize(try F.request("early", "2026-11-26T00:00:00+08:00", amount: "12000.00")).decision.isApproved)
        try engine.release(try PaymentID("late"))  // the next day
        let day = { (time: String) in
            try engine.explain(try F.request("probe", time, amount: "1.00")).lines.first { $0.check.limitID == "bank.card-daily" }?.used
        }
        #expect(try day("2026-11-25T12:00:00+08:00") == .zero)
        #expect(try day("2026-11-26T12:00:00+08:00") == CounterValue(amountFen: 1_200_000, count: 1))
        #expect(try engine.check().problems.isEmpty)
    }

    static let refundRules = [RuleSource(name: "r/limits.yaml", text: """
    limits:
      - {id: bank.keeps, tier: bank, window: day, group: card, amount_max: 1000.00, count_max: 2,
         applies_to: {business: [agreement]}}
      - {id: bank.restores, tier: bank, window: month, group: card, amount_max: 1500.00, count_max: 2, refund_restores: true,
         applies_to: {business: [agreement]}}
    card_tier: {applies_to: {business: [agreement]}}
    """)]

    @Test func refundsGiveBackOnlyWhereTheLimitSays() throws {
        let dir = try F.directory("refund")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let engine = try F.engine(dir, rules: Self.refundRules)
        _ = try engine.authorize(try F.request("T1", "2026-11-25T10:00:00+08:00", amount: "600.00"))
        let refund = { (id: String, amount: String) in
            try engine.refund(RefundRequest(id: try PaymentID(id), original: try PaymentID("T1"), amount: try Amount(yuan: amount),
                                            time: try Timestamp(iso8601: "2026-12-02T09:00:00+08:00")))
        }
        expectError(.notConfirmed) { _ = try refund("R0", "1.00") }
        try engine.confirm(try PaymentID("T1"))
        let r1 = try refund("R1", "200.00")
        #expect(r1.refundedTotalFen == 20_000 && r1.remainingFen == 40_000 && !r1.replayed)
        #expect(try refund("R1", "200.00").replayed)
        expectError(.idConflict) { _ = try refund("R1", "200.01") }
        expectError(.refundExceedsRemaining) { _ = try refund("R2", "400.01") }
        let used = { (id: String) in
            try engine.explain(try F.request("probe", "2026-11-25T12:00:00+08:00", amount: "1.00")).lines.first { $0.check.limitID == id }?.used
        }
        #expect(try used("bank.keeps") == CounterValue(amountFen: 60_000, count: 1))
        #expect(try used("bank.restores") == CounterValue(amountFen: 40_000, count: 1))
        _ = try refund("R3", "400.00")  // the rest: the payment is refunded in full, its count given back too
        #expect(try used("bank.restores") == CounterValue(amountFen: 0, count: 0))
        #expect(try used("bank.keeps") == CounterValue(amountFen: 60_000, count: 1))
        expectError(.refundExceedsRemaining) { _ = try refund("R4", "0.01") }
        expectError(.notAPayment) {
            _ = try engine.refund(RefundRequest(id: try PaymentID("R5"), original: try PaymentID("R1"), amount: try Amount(yuan: "1.00"),
                                                time: try Timestamp(iso8601: "2026-12-02T09:00:00+08:00")))
        }
        expectError(.idConflict) { _ = try engine.authorize(try F.request("R1", "2026-11-25T10:00:00+08:00", amount: "1.00")) }
        #expect(try engine.check().problems.isEmpty)
    }

    @Test func rollingWindowsSumWholeBuckets() throws {
        let dir = try F.directory("rolling")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let rules = [RuleSource(name: "r/limits.yaml", text: """
        limits:
          - {id: bank.burst, tier: bank, window: rolling 60m, group: card, count_max: 2, applies_to: {business: [agreement]}}
        card_tier: {applies_to: {business: [agreement]}}
        """)]
        let engine = try F.engine(dir, rules: rules)
        #expect(try engine.authorize(try F.request("a", "2026-11-25T10:00:30+08:00", amount: "1.00")).decision.isApproved)
        #expect(try engine.authorize(try F.request("b", "2026-11-25T10:30:00+08:00", amount: "1.00")).decision.isApproved)
        let third = try engine.authorize(try F.request("c", "2026-11-25T10:59:59+08:00", amount: "1.00"))
        #expect(third.decision.code.name == "exceedsBankRollingCount")
        // 10:00 leaves the window once 11:00's bucket is the 60th: the window is 10:01-11:00.
        #expect(try engine.authorize(try F.request("d", "2026-11-25T11:00:00+08:00", amount: "1.00")).decision.isApproved)
        #expect(try engine.check().problems.isEmpty)
    }

    @Test func customerLimitsOnlyLowerAndCountTheDaySoFar() throws {
        let dir = try F.directory("card")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let engine = try F.engine(dir, rules: try F.shippedRules())
        let card = try CardNumber(F.pan(1))
        let z = try Institution("Z2007933000010")
        _ = try engine.authorize(try F.request("T1", "2026-11-25T09:00:00+08:00", amount: "3000.00"))
        try engine.setCardLimits(card, institution: nil, CardLimits(dailyAmountFenMax: 500_000), by: "alice")
        let over = try engine.authorize(try F.request("T2", "2026-11-25T10:00:00+08:00", amount: "2000.01"))
        #expect(over.decision.code.name == "exceedsCardDailyAmount" && over.decision.failed?.limitID == "card.daily")
        #expect(over.decision.headroom[.card] == TierHeadroom(amountFen: 200_000, count: nil))
        try engine.setCardLimits(card, institution: z, CardLimits(singleAmountFenMax: 100_000), by: "alice")
        let single = try engine.authorize(try F.request("T3", "2026-11-25T10:00:00+08:00", amount: "1000.01"))
        #expect(single.decision.failed?.limitID == "card@Z2007933000010.single")
        #expect(try engine.authorize(try F.request("T4", "2026-11-25T10:00:00+08:00", institution: "Z9", amount: "1500.00")).decision.isApproved)
        #expect(try engine.cardLimits(card, institution: nil) == CardLimits(dailyAmountFenMax: 500_000))
        try engine.setCardLimits(card, institution: nil, CardLimits(dailyCountMax: 3), by: "alice")
        #expect(try engine.cardLimits(card, institution: nil) == CardLimits(dailyAmountFenMax: 500_000, dailyCountMax: 3))
        do {
            try engine.setCardLimits(card, institution: nil, CardLimits(dailyAmountFenMax: 20_000_001), by: "alice")
            Issue.record("a card limit above the bank's was accepted")
        } catch {
            #expect(error.code == .cardLimitAboveBank)
            #expect(error.message.contains("bank.card-daily") && error.message.contains("200,000.00"))
        }
        expectError(.cardLimitAboveBank) { try engine.setCardLimits(card, institution: z, CardLimits(dailyAmountFenMax: 5_000_001), by: "alice") }
        expectError(.cardLimitAboveBank) { try engine.setCardLimits(card, institution: nil, CardLimits(dailyCountMax: 51), by: "alice") }
        #expect(try engine.cardLimits(card, institution: nil) == CardLimits(dailyAmountFenMax: 500_000, dailyCountMax: 3))
        #expect(try engine.clearCardLimits(card, institution: nil, by: "alice"))
        #expect(try engine.clearCardLimits(card, institution: nil, by: "alice") == false)
        #expect(try engine.cardLimits(card, institution: nil) == nil)
    }

    @Test func aStoreRefusesAnotherCardKeyAndRuleFilesNotInForce() throws {
        let dir = try F.directory("key")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        do {
            let engine = try F.engine(dir, rules: try F.shippedRules())
            #expect(engine.ruleSetVersion == 1)
        }
        expectError(.cardKeyMismatch) { _ = try F.engine(dir, key: CardKey.generate()) }
        #expect(try F.engine(dir).ruleSetVersion == 1)
        #expect(try F.engine(dir, rules: try F.shippedRules()).ruleSetVersion == 1)
        // Other rule files cannot bypass dual control by reopening the store with them.
        expectError(.rulesNotInForce) { _ = try F.engine(dir, rules: Self.changedRules()) }
        expectError(.noRuleSet) { _ = try F.engine(try F.directory("empty")) }
    }

    /// A store written with another key layout (schema 1 put the counter's kind first) is
    /// refused with its version named, never read with the wrong layout.
    @Test func aStoreOfAnotherSchemaIsRefused() throws {
        let dir = try F.directory("schema")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        do {
            let engine = try F.engine(dir, rules: try F.shippedRules())
            let txn = try engine.store.beginWrite()
            #expect(try engine.store.metaInteger(txn, .schema) == Int64(Store.schemaVersion))
            try engine.store.putMetaInteger(txn, .schema, 1)
            try txn.commit()
        }
        do {
            _ = try F.engine(dir)
            Issue.record("a schema-1 store was opened")
        } catch {
            let refusal = error as? HeadroomError
            #expect(refusal?.code == .corrupted)
            #expect(refusal?.message.contains("schema is version 1") == true)
        }
    }

    static func changedRules() throws -> [RuleSource] {
        var changed = try F.shippedRules()
        changed[0] = RuleSource(name: changed[0].name, text: changed[0].text.replacingOccurrences(of: "50000.00", with: "40000.00"))
        return changed
    }

    @Test func purgeRemovesClosedWindowsAndTheirRecordsOnly() throws {
        let dir = try F.directory("purge")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // The clock stands far in the future, so that the last purge may count from there.
        let future = try Timestamp(iso8601: "2032-06-01T10:00:00+08:00").unixSeconds
        let engine = try Engine(path: dir, cardKey: F.cardKey, rules: try F.shippedRules(),
                                options: .init(mapSizeBytes: 64 << 20, clock: { future }))
        _ = try engine.authorize(try F.request("old", "2024-03-10T10:00:00+08:00", amount: "100.00"))
        try engine.confirm(try PaymentID("old"))
        _ = try engine.authorize(try F.request("declined", "2024-03-10T10:00:00+08:00", amount: "90000.00"))
        _ = try engine.authorize(try F.request("recent", "2026-11-20T10:00:00+08:00", amount: "100.00"))
        _ = try engine.authorize(try F.request("year", "2026-01-05T10:00:00+08:00", amount: "100.00", accountClass: .classII))
        let today = try Timestamp(iso8601: "2026-11-25T10:00:00+08:00").chinaDay
        let report = try engine.purge(today: today, by: "ops")
        #expect(report.recordsRemoved == 2)
        #expect(try engine.state(of: try PaymentID("old")) == nil)
        #expect(try engine.state(of: try PaymentID("year")) == .authorized)
        #expect(try engine.check().problems.isEmpty)
        // The class II yearly counter of 2026 stays; its day and month cells of January can go
        // only after the retention, so a release still finds them.
        try engine.release(try PaymentID("year"))
        #expect(try engine.check().problems.isEmpty)
        // Far in the future every window is closed; "recent", authorized and never confirmed
        // nor released, still holds limit and stays.
        let later = try engine.purge(today: today + 2000, by: "ops")
        #expect(later.recordsRemoved == 1 && later.reservationsKept == 1)
        #expect(try engine.state(of: try PaymentID("recent")) == .authorized)
        #expect(try engine.check().counterCells == 0)
    }

    /// A purge counting from a day after the clock's would remove live counters, and payments
    /// replayed afterwards would count twice: refused. A reservation never confirmed nor
    /// released holds limit and stays; a dry run removes nothing and says what would go.
    @Test func purgeNeverTakesLiveDataNorAFutureCutOff() throws {
        let dir = try F.directory("purge-safe")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let now = try Timestamp(iso8601: "2026-11-25T10:00:00+08:00").unixSeconds
        let engine = try Engine(path: dir, cardKey: F.cardKey, rules: try F.shippedRules(),
                                options: .init(mapSizeBytes: 64 << 20, clock: { now }))
        _ = try engine.authorize(try F.request("live", "2026-11-25T09:00:00+08:00", amount: "100.00"))
        _ = try engine.authorize(try F.request("held", "2024-03-10T10:00:00+08:00", amount: "100.00"))
        _ = try engine.authorize(try F.request("done", "2024-03-10T10:00:00+08:00", amount: "200.00"))
        try engine.confirm(try PaymentID("done"))
        let cellsBefore = try engine.check().counterCells
        let today = Timestamp(unixSeconds: now).chinaDay
        expectError(.invalidInput) { _ = try engine.purge(today: today + 1, by: "ops") }
        expectError(.invalidInput) { _ = try engine.purge(today: today + 40_000, by: "ops") }
        #expect(try engine.state(of: try PaymentID("live")) == .authorized)
        let dry = try engine.purge(today: today, by: "ops", dryRun: true)
        #expect(dry.dryRun && dry.recordsRemoved == 1 && dry.reservationsKept == 1 && dry.counterCellsRemoved > 0)
        #expect(try engine.check().counterCells == cellsBefore)
        #expect(try engine.ruleBook.auditLog().last?.action != "store.purge")
        let real = try engine.purge(today: today, by: "ops")
        #expect(real.recordsRemoved == dry.recordsRemoved && real.counterCellsRemoved == dry.counterCellsRemoved && real.reservationsKept == 1)
        #expect(try engine.state(of: try PaymentID("done")) == nil)
        #expect(try engine.state(of: try PaymentID("held")) == .authorized)
        #expect(try engine.state(of: try PaymentID("live")) == .authorized)
        #expect(try engine.check().problems.isEmpty)
        // The retry of today's payment gets its first answer and counts nothing.
        let retry = try engine.authorize(try F.request("live", "2026-11-25T09:00:00+08:00", amount: "100.00"))
        #expect(retry.replayed)
        try engine.release(try PaymentID("held"))
    }
}

@Suite struct RecordTests {
    @Test func recordsRoundTrip() throws {
        let key = CounterKey(kind: .month, definition: 77, card: CardHash(high: 1, low: 2), institution: try Institution("Z1"), window: 24_310)
        let decision = Decision(
            outcome: .decline, code: .exceeds(.card, .rollingHours(3), .count),
            decidedBy: .cap(FailedLimit(limitID: "card@Z1.daily", tier: .card, window: .rollingHours(3), measure: .count, max: 3, used: 3)),
            headroom: [.bank: TierHeadroom(amountFen: 10, count: nil), .card: TierHeadroom(amountFen: nil, count: 0)],
            ruleSetVersion: 9)
        let record = PaymentRecord(kind: .payment, state: .confirmed, fingerprint: 0xfeed, time: Timestamp(unixSeconds: 1_795_572_000),
                                   amountFen: 12_345, refundedFen: 45, ruleSetVersion: 9, decision: decision,
                                   counters: [CounterUpdate(key: key, refundRestores: true)], original: nil)
        let bytes = record.encoded()
        #expect(bytes.withUnsafeBytes { PaymentRecord(bytes: $0) } == record)
        // Any truncation is refused, never read out of bounds.
        for cut in 0..<bytes.count {
            #expect(Array(bytes[0..<cut]).withUnsafeBytes { PaymentRecord(bytes: $0) } == nil)
        }
        // Encoding into a used buffer gives the same bytes as a new one.
        var buffer = Array(repeating: UInt8(0xAA), count: 500)
        record.encode(into: &buffer)
        #expect(buffer == bytes)
    }

    /// The decision is stored with its outcome (challenge too) and its kind of finding; a record
    /// of Headroom 0.9 (version 1) is read only by the migration, never as a current record.
    @Test func decisionsAreVersionedInTheRecord() throws {
        let limit = FailedLimit(limitID: "bank.card-daily", tier: .bank, window: .day, measure: .amount, max: 100_000, used: 99_000)
        for decision in [
            Decision(outcome: .challenge, code: .exceeds(.bank, .day, .amount), decidedBy: .cap(limit), headroom: [:], ruleSetVersion: 2),
            Decision(outcome: .decline, code: .exceeds(.bank, .day, .amount), decidedBy: .cap(limit), headroom: [.bank: TierHeadroom(amountFen: 0)], ruleSetVersion: 2),
            Decision(outcome: .approve, code: .approved, decidedBy: nil, headroom: [:], ruleSetVersion: 2),
        ] {
            let record = PaymentRecord(kind: .payment, state: decision.isApproved ? .authorized : .declined, fingerprint: 7,
                                       time: Timestamp(unixSeconds: 1_795_572_000), amountFen: 1_000, refundedFen: 0, ruleSetVersion: 2,
                                       decision: decision, counters: [], original: nil)
            let bytes = record.encoded()
            #expect(bytes[0] == PaymentRecord.version && PaymentRecord.version == 3)
            let decoded = bytes.withUnsafeBytes { PaymentRecord(bytes: $0) }
            #expect(decoded == record && decoded?.decision.decidedBy?.ruleID == (decision.isApproved ? nil : "bank.card-daily"))
            // Versions 1 and 2 had these bytes without the hold time and subject (9 bytes here),
            // under their own version number: readable only to migrate.
            for older: UInt8 in [1, 2] {
                var old = bytes
                old.removeSubrange(PaymentRecord.heldUntilOffset..<(PaymentRecord.heldUntilOffset + 9))
                old[0] = older
                #expect(old.withUnsafeBytes { PaymentRecord(bytes: $0) } == nil)
                #expect(old.withUnsafeBytes { PaymentRecord.header($0) } == nil)
                if decision.outcome != .challenge || older == 2 {
                    #expect(old.withUnsafeBytes { PaymentRecord(olderVersion: $0) } == record)
                }
            }
        }
        // Hold time, subject and history travel with the record; the header reads the hold in place.
        let card = CardHash(high: 0x0102_0304_0506_0708, low: 9)
        let payment = Payment(id: try PaymentID("S1"), time: Timestamp(unixSeconds: 1_795_572_000), card: card,
                              institution: try Institution("Z2007933000010"), business: .gateway, amount: Amount(fen: 500),
                              accountClass: .classII, channel: .h5, accountType: .corporate)
        let full = PaymentRecord(kind: .payment, state: .authorized, fingerprint: 7, time: payment.time, amountFen: 500, refundedFen: 0,
                                 ruleSetVersion: 2, heldUntil: 1_795_575_600, subject: .init(payment),
                                 decision: Decision(outcome: .approve, code: .approved, decidedBy: nil, headroom: [:], ruleSetVersion: 2),
                                 counters: [], original: nil,
                                 events: [.init(kind: .authorized, time: 1_795_572_001),
                                          .init(kind: .reconciled, detail: 3, time: 1_795_580_000, amountFen: 500, extra: 202_611_250_013)])
        let fullBytes = full.encoded()
        #expect(fullBytes.withUnsafeBytes { PaymentRecord(bytes: $0) } == full)
        #expect(fullBytes.withUnsafeBytes { PaymentRecord.header($0)?.heldUntil } == 1_795_575_600)
        #expect(full.subject?.payment(id: payment.id, time: payment.time, amountFen: 500) == payment)
        // A history cut mid-event is refused.
        #expect(Array(fullBytes.dropLast()).withUnsafeBytes { PaymentRecord(bytes: $0) } == nil)
        // An unknown kind of finding is refused, never taken for another.
        var unknown = PaymentRecord(kind: .payment, state: .declined, fingerprint: 7, time: Timestamp(unixSeconds: 0), amountFen: 1,
                                    refundedFen: 0, ruleSetVersion: 1,
                                    decision: Decision(outcome: .decline, code: .exceeds(.bank, .day, .amount), decidedBy: .cap(limit), headroom: [:], ruleSetVersion: 1),
                                    counters: [], original: nil).encoded()
        let tagOffset = 1 + 1 + 1 + 8 + 8 + 8 + 8 + 4 + 8 + 1 + 1 + 2  // ... held until, no subject, outcome, code
        #expect(unknown[tagOffset] == PaymentRecord.capTag)
        unknown[tagOffset] = 9
        #expect(unknown.withUnsafeBytes { PaymentRecord(bytes: $0) } == nil)
    }

    /// Confirming rewrites the record in place (``Store/transition``: state byte, hold cleared,
    /// an event appended): the header read in place must name the same kind, state and hold as
    /// the full decode, and the edit must equal decoding, changing and encoding, for every kind
    /// and state.
    @Test func theHeaderReadInPlaceAgreesWithTheFullDecode() throws {
        for kind in [PaymentRecord.Kind.payment, .refund] {
            for state in [PaymentRecord.State.declined, .authorized, .confirmed, .released, .refunded, .expired, .reversed] {
                let record = PaymentRecord(kind: kind, state: state, fingerprint: 1, time: Timestamp(unixSeconds: 0), amountFen: 1,
                                           refundedFen: 0, ruleSetVersion: 1, heldUntil: state == .authorized ? 1_800_000_000 : 0,
                                           decision: Decision(outcome: .approve, code: .approved, decidedBy: nil, headroom: [:], ruleSetVersion: 1),
                                           counters: [], original: kind == .refund ? "N1" : nil,
                                           events: [.init(kind: .authorized, time: 5, amountFen: 1)])
                var bytes = record.encoded()
                let header = bytes.withUnsafeBytes { PaymentRecord.header($0) }
                #expect(header?.kind == kind && header?.state == state && header?.heldUntil == record.heldUntil)
                let event = PaymentRecord.Event(kind: .confirmed, time: 9)
                PaymentRecord.transition(&bytes, to: .confirmed, appending: event)
                var expected = record
                expected.state = .confirmed
                expected.heldUntil = 0
                expected.events.append(event)
                #expect(bytes.withUnsafeBytes { PaymentRecord(bytes: $0) } == expected)
            }
        }
        let v = PaymentRecord.version
        #expect([UInt8]([v, 1]).withUnsafeBytes { PaymentRecord.header($0) } == nil)
        let pad = [UInt8](repeating: 0, count: PaymentRecord.heldUntilOffset + 8 - 3)  // up to the hold's end
        #expect(([v, 1, 2] + pad).withUnsafeBytes { PaymentRecord.header($0) } != nil)
        #expect(([v, 1, 2] + pad.dropLast()).withUnsafeBytes { PaymentRecord.header($0) } == nil)  // too short for the hold
        #expect(([v + 1, 1, 2] + pad).withUnsafeBytes { PaymentRecord.header($0) } == nil)  // another version
        #expect(([v - 1, 1, 2] + pad).withUnsafeBytes { PaymentRecord.header($0) } == nil)  // Headroom 0.10's
        #expect(([v, 1, 9] + pad).withUnsafeBytes { PaymentRecord.header($0) } == nil)  // no such state
    }
}
