import Foundation
@testable import Headroom
import HeadroomCore
import HeadroomRules
import Testing

/// NetsUnion's reconciliation: every final status against every state a payment can be in, and
/// a generated day whose drifted counters end equal, cell for cell, to what its reconciliation
/// file says (the seeded simulation compares many more interleavings with the model).
@Suite struct ReconcileTests {
    static let batch = try! ReconciliationBatch("B202611250013")

    static func line(_ id: String, _ status: ReconciliationStatus, _ amount: String, card: Int? = nil,
                     institution: String = "Z2007933000010", time: String = "2026-11-25T10:00:00+08:00") throws -> ReconciliationLine {
        ReconciliationLine(id: try PaymentID(id), batch: batch, status: status, amount: try Amount(yuan: amount),
                           time: try Timestamp(iso8601: time), institution: try Institution(institution),
                           unseen: try card.map { .init(card: try CardNumber(Fixture.pan($0)), business: .agreement, accountClass: .classI) })
    }

    func daily(_ engine: Engine, card: Int = 1) throws -> CounterValue {
        let probe = try Fixture.request("probe", "2026-11-25T12:00:00+08:00", card: card, amount: "1.00")
        return try #require(try engine.explain(probe).lines.first { $0.check.limitID == "bank.card-daily" }).used
    }

    /// Each state (declined, authorized, authorized past its hold, confirmed, confirmed and
    /// partly refunded, released, expired, unknown) meets each status, on a fresh store; the
    /// correction, the state after, the card's daily window, and the same line again. A
    /// reservation past its hold is expired by the reconciling transaction itself first.
    @Test(arguments: ReconciliationStatus.allCases)
    func everyStatusAgainstEveryState(status: ReconciliationStatus) throws {
        let states = ["declined", "authorized", "due", "confirmed", "refunded", "released", "expired", "unknown"]
        for state in states {
            let dir = try Fixture.directory("reconcile")
            defer { try? FileManager.default.removeItem(atPath: dir) }
            let clock = ExpiryTests.Clock()
            try clock.set("2026-11-25T10:00:00+08:00")
            let engine = try ExpiryTests.engine(dir, clock)
            let id = try PaymentID("P1")
            let amount = state == "declined" ? "60000.00" : "100.00"  // above bank.single: declined
            if state != "unknown" {
                _ = try engine.authorize(try Fixture.request("P1", "2026-11-25T10:00:00+08:00", amount: amount))
            }
            switch state {
            case "confirmed": try engine.confirm(id)
            case "refunded":
                try engine.confirm(id)
                _ = try engine.refund(RefundRequest(id: try PaymentID("R1"), original: id, amount: try Amount(yuan: "30.00"),
                                                    time: try Timestamp(iso8601: "2026-11-25T11:00:00+08:00")))
            case "released": try engine.release(id)
            case "due": try clock.set("2026-11-25T11:00:00+08:00")  // past the hour, not yet expired
            case "expired":
                try clock.set("2026-11-25T11:30:00+08:00")
                #expect(try engine.expireAllDue() == 1)
            default: break
            }
            let before = try daily(engine)
            let context = Comment(rawValue: "\(status) against \(state)")
            let result = try engine.reconcile(try Self.line("P1", status, amount, card: state == "unknown" ? 1 : nil))
            let counts = status.counts
            let (correction, after): (ReconcileResult.Correction, PaymentState) = switch (state, counts) {
            case ("unknown", true): (.unknownToBank, .confirmed)
            case ("unknown", false): (.unknownToBank, .reversed)
            case ("authorized", true): (.confirmed, .confirmed)
            case ("confirmed", true), ("refunded", true): (.unchanged, .confirmed)
            case ("declined", true), ("released", true), ("expired", true), ("due", true): (.recounted, .confirmed)
            case ("authorized", false), ("confirmed", false), ("refunded", false): (.givenBack, .reversed)
            default: (.unchanged, state == "declined" ? .declined : state == "released" ? .released : .expired)
            }
            #expect(result.correction == correction && result.state == after, context)
            #expect(try engine.state(of: id) == after, context)
            // The daily window: what counts holds the amount (shipped rules do not restore on
            // refunds), what does not holds nothing.
            let fen = try Amount(yuan: amount).fen
            #expect(try daily(engine) == (counts ? CounterValue(amountFen: fen, count: 1) : .zero), "\(context): before \(before)")
            #expect(result.overLimit?.limitID == (counts && state == "declined" ? "bank.single" : nil), context)
            #expect(try engine.heldReservations().count == 0, context)
            #expect(try engine.check().problems.isEmpty, context)
            // The same line again changes nothing; another status is refused.
            #expect(try engine.reconcile(try Self.line("P1", status, amount, card: state == "unknown" ? 1 : nil)).correction == .alreadyReconciled, context)
            let other = ReconciliationStatus.allCases.first { $0.counts != counts }!
            expectError(.reconcileConflict) { _ = try engine.reconcile(try Self.line("P1", other, amount)) }
            expectError(.reconcileConflict) { _ = try engine.reconcile(try Self.line("P1", status, "1.00")) }
            #expect(try daily(engine) == (counts ? CounterValue(amountFen: fen, count: 1) : .zero), context)
            if counts && state != "unknown" && state != "declined" {
                expectError(.idConflict) { _ = try engine.authorize(try Fixture.request("P1", "2026-11-25T10:00:00+08:00", amount: "5.00")) }
            }
        }
    }

    /// Amounts follow NetsUnion's; a line naming another institution is refused; a payment the
    /// bank never saw needs its card to be counted; a refund is not reconciled.
    @Test func amountsInstitutionsAndUnknownPayments() throws {
        let dir = try Fixture.directory("reconcile-edges")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let clock = ExpiryTests.Clock()
        try clock.set("2026-11-25T10:00:00+08:00")
        let engine = try ExpiryTests.engine(dir, clock)
        _ = try engine.authorize(try Fixture.request("A1", "2026-11-25T10:00:00+08:00", amount: "100.00"))
        expectError(.reconcileConflict) { _ = try engine.reconcile(try Self.line("A1", .success, "100.00", institution: "Z1")) }
        let corrected = try engine.reconcile(try Self.line("A1", .success, "80.00"))
        #expect(corrected.correction == .confirmed && corrected.amountCorrectedFromFen == 10_000 && corrected.amountFen == 8_000)
        #expect(try daily(engine) == CounterValue(amountFen: 8_000, count: 1))
        expectError(.invalidInput) { _ = try engine.reconcile(try Self.line("U1", .exceptionSuccess, "5.00")) }
        #expect(try engine.state(of: try PaymentID("U1")) == nil)
        _ = try engine.authorize(try Fixture.request("A2", "2026-11-25T10:00:00+08:00", amount: "50.00"))
        try engine.confirm(try PaymentID("A2"))
        _ = try engine.refund(RefundRequest(id: try PaymentID("R2"), original: try PaymentID("A2"), amount: try Amount(yuan: "50.00"),
                                            time: try Timestamp(iso8601: "2026-11-25T11:00:00+08:00")))
        expectError(.notAPayment) { _ = try engine.reconcile(try Self.line("R2", .success, "50.00")) }
        expectError(.reconcileConflict) { _ = try engine.reconcile(try Self.line("A2", .success, "40.00")) }  // below its refunds
        let view = try #require(try engine.payment(try PaymentID("A1")))
        #expect(view.events.map(\.name) == ["authorized", "reconciled"] && view.events[1].detail == "00 in B202611250013: confirmed")
        #expect(try engine.check().problems.isEmpty)
    }

    /// A generated day: NetsUnion's record of 400 payments over 40 cards, and the bank's view of
    /// it drifted (confirms lost so that reservations expired, payments the bank never saw,
    /// debits that failed but were confirmed, successes released, declines that went through,
    /// amounts that differ). After its reconciliation file, every counter cell equals that of a
    /// store holding exactly the successful payments at NetsUnion's amounts; the file again
    /// changes nothing.
    @Test(arguments: [UInt64(7), 2026])
    func aDriftedDayEndsEqualToItsReconciliation(seed: UInt64) throws {
        let drifted = try Fixture.directory("reconcile-day")
        let reference = try Fixture.directory("reconcile-reference")
        defer {
            try? FileManager.default.removeItem(atPath: drifted)
            try? FileManager.default.removeItem(atPath: reference)
        }
        let clock = ExpiryTests.Clock()
        try clock.set("2026-11-25T00:00:00+08:00")
        let bank = try ExpiryTests.engine(drifted, clock)
        var rng = SplitMix64(seed: seed)
        var lines: [ReconciliationLine] = []
        var kinds: [String: Int] = [:]
        var payments: [String: ReconciliationLine.Unseen] = [:]  // what the reference is told
        let start = try Timestamp(iso8601: "2026-11-25T00:00:00+08:00").unixSeconds
        for n in 0..<400 {
            let time = start + Int64(n) * 200
            try clock.set(Timestamp(unixSeconds: time).chinaISO8601)
            let card = Int(rng.next() % 40) + 1
            let institution = ["Z2007933000010", "Z2004944000010"][Int(rng.next() % 2)]
            let fen = Int64(100 + rng.next() % 900_000)
            let id = "D\(n)"
            let request = PaymentRequest(id: try PaymentID(id), time: Timestamp(unixSeconds: time), card: try CardNumber(Fixture.pan(card)),
                                         institution: try Institution(institution), business: .agreement, amount: Amount(fen: fen),
                                         accountClass: [.classI, .classII, .classIII][Int(rng.next() % 3)])
            let succeeded = rng.next() % 4 != 0
            var netsUnionFen = fen
            let drift = rng.next() % 10
            if drift == 0 {
                kinds["never seen", default: 0] += 1
            } else {
                let approved = try bank.authorize(request).decision.isApproved
                if approved {
                    switch drift {
                    case 1: kinds["confirm lost", default: 0] += 1  // expires an hour on
                    case 2: try bank.release(request.id); kinds["released", default: 0] += 1
                    case 3: try bank.confirm(request.id); kinds["confirmed", default: 0] += 1
                        netsUnionFen = max(1, fen - Int64(rng.next() % 5_000))
                    default: try bank.confirm(request.id); kinds["confirmed", default: 0] += 1
                    }
                } else {
                    kinds["declined", default: 0] += 1
                }
            }
            let unseen = ReconciliationLine.Unseen(card: request.card, business: .agreement, accountClass: request.accountClass)
            payments[id] = unseen
            lines.append(ReconciliationLine(id: request.id, batch: Self.batch,
                                            status: succeeded ? (drift == 0 ? .exceptionSuccess : .success) : (rng.next() % 2 == 0 ? .failure : .exceptionFailure),
                                            amount: Amount(fen: netsUnionFen), time: request.time, institution: request.institution,
                                            unseen: drift == 0 ? unseen : nil))
        }
        try clock.set("2026-11-26T02:00:00+08:00")  // the file comes after the day: held ones have expired
        #expect(kinds.values.allSatisfy { $0 > 10 } && kinds.count == 5, "\(kinds)")
        // The cells of reservations; not those counting attempts (the reference saw none).
        let attempts = Set(bank.ruleSet.risk.compactMap { $0.counter?.counting == .attempts ? $0.counter?.id : nil })
        func counters(_ engine: Engine) throws -> [[UInt8]: [UInt8]] {
            var out: [[UInt8]: [UInt8]] = [:]
            let txn = try engine.store.beginRead()
            try txn.scan(.counters) { (k, v) throws(HeadroomError) in
                if let key = CounterKey(bytes: k), attempts.contains(key.definition) { return true }
                out[Array(k)] = Array(v)
                return true
            }
            return out
        }
        for line in lines { _ = try bank.reconcile(line) }
        // The reference: an empty store told only of the successful payments, as payments it never saw.
        let truth = try ExpiryTests.engine(reference, clock)
        for line in lines where line.status.counts {
            var told = line
            told.unseen = payments[line.id.text]
            #expect(try truth.reconcile(told).correction == .unknownToBank)
        }
        let want = try counters(truth)
        #expect(try counters(bank) == want, "seed \(seed)")
        #expect(try bank.check().problems.isEmpty)
        for line in lines { #expect(try bank.reconcile(line).correction == .alreadyReconciled) }
        #expect(try counters(bank) == want)
    }
}
