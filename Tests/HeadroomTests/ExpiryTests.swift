import Foundation
@testable import Headroom
import HeadroomCore
import HeadroomRules
import Synchronization
import Testing

/// Hold times with the shipped rules: an authorization not confirmed or released in time gives
/// its reservation back and becomes `expired` (the seeded simulation compares many more cases
/// with the model).
@Suite struct ExpiryTests {
    final class Clock: Sendable {
        let now = Mutex<Int64>(0)
        func set(_ time: String) throws { let t = try Timestamp(iso8601: time).unixSeconds; now.withLock { $0 = t } }
        var read: @Sendable () -> Int64 { { self.now.withLock { $0 } } }
    }

    static func engine(_ dir: String, _ clock: Clock, perTransaction: Int = 256) throws -> Engine {
        try Engine(path: dir, cardKey: Fixture.cardKey, rules: try Fixture.shippedRules(),
                   options: .init(mapSizeBytes: 64 << 20, clock: clock.read, expiriesPerTransaction: perTransaction))
    }

    func daily(_ engine: Engine, _ time: String) throws -> CounterValue {
        let probe = try Fixture.request("probe", time, amount: "1.00")
        return try #require(try engine.explain(probe).lines.first { $0.check.limitID == "bank.card-daily" }).used
    }

    @Test func anAbandonedReservationExpiresAndAConfirmAfterIsRefused() throws {
        let dir = try Fixture.directory("expiry")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let clock = Clock()
        try clock.set("2026-11-25T23:30:00+08:00")
        let engine = try Self.engine(dir, clock)
        // Authorized at 23:30 (payment time 23:29: the line may lag), held 1 hour by the engine's clock.
        let late = try Fixture.request("A1", "2026-11-25T23:29:00+08:00", amount: "100.00")
        #expect(try engine.authorize(late).decision.isApproved)
        #expect(try engine.heldReservations().count == 1)
        #expect(try engine.heldReservations().earliest == (try Timestamp(iso8601: "2026-11-26T00:30:00+08:00")).unixSeconds)
        // A gateway order of a company holds 30 days; the same for a person, 3 hours.
        var corporate = try Fixture.request("G1", "2026-11-25T23:30:00+08:00", business: .gateway, amount: "50.00")
        corporate.accountType = .corporate
        #expect(try engine.authorize(corporate).decision.isApproved)
        #expect(try daily(engine, "2026-11-25T23:59:00+08:00") == CounterValue(amountFen: 15_000, count: 2))

        // Past midnight and past its hold: the next transaction gives A1 back to the 25th.
        try clock.set("2026-11-26T00:30:00+08:00")
        expectError(.expired) { try engine.confirm(try PaymentID("A1")) }
        #expect(try engine.state(of: try PaymentID("A1")) == .expired)
        #expect(try daily(engine, "2026-11-25T23:59:00+08:00") == CounterValue(amountFen: 5_000, count: 1))
        expectError(.expired) { try engine.release(try PaymentID("A1")) }
        // A retry of the expired id gets its first answer, as a retry, and reserves nothing.
        let retry = try engine.authorize(late)
        #expect(retry.replayed && retry.decision.isApproved)
        #expect(try daily(engine, "2026-11-25T23:59:00+08:00") == CounterValue(amountFen: 5_000, count: 1))
        #expect(try engine.check().problems.isEmpty)

        // The company's order is still held 29 days on, and confirmed in time.
        try clock.set("2026-12-24T23:00:00+08:00")
        try engine.confirm(try PaymentID("G1"))
        #expect(try engine.heldReservations().count == 0)
        let record = try #require(try engine.store.record(try engine.store.beginRead(), id: "G1"))
        #expect(record.events.map(\.kind) == [.authorized, .confirmed] && record.heldUntil == 0)
        #expect(record.events.map(\.time) == [try Timestamp(iso8601: "2026-11-25T23:30:00+08:00").unixSeconds,
                                              try Timestamp(iso8601: "2026-12-24T23:00:00+08:00").unixSeconds])
    }

    /// A backlog (the front processor was down for a day) drains a bounded number per
    /// transaction; an engine opening drains it all, and `expireAllDue` too.
    @Test func aBacklogDrainsInBoundedTransactionsAndOnOpening() throws {
        let dir = try Fixture.directory("expiry-backlog")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let clock = Clock()
        try clock.set("2026-11-25T09:00:00+08:00")
        var engine: Engine! = try Self.engine(dir, clock, perTransaction: 3)
        for n in 0..<10 {
            #expect(try engine.authorize(try Fixture.request("B\(n)", "2026-11-25T09:00:00+08:00", card: n + 1, amount: "10.00")).decision.isApproved)
        }
        try clock.set("2026-11-26T09:00:00+08:00")
        // One payment's transaction expires the three oldest (by due time, then id) and no more.
        _ = try engine.authorize(try Fixture.request("C1", "2026-11-26T09:00:00+08:00", card: 99, amount: "10.00"))
        #expect(try engine.heldReservations().count == 8)
        #expect(try (0..<3).allSatisfy { try engine.state(of: try PaymentID("B\($0)")) == .expired })
        #expect(try engine.state(of: try PaymentID("B3")) == .authorized)
        // A refused operation still leaves its transaction's expiries.
        expectError(.unknownPayment) { try engine.confirm(try PaymentID("nope")) }
        #expect(try engine.heldReservations().count == 5)
        // Reopened: everything due goes, in transactions of three; C1 (due tomorrow) stays.
        engine = nil
        engine = try Self.engine(dir, clock, perTransaction: 3)
        #expect(try engine.heldReservations().count == 1)
        #expect(try engine.expireAllDue() == 0)
        try clock.set("2026-11-27T09:00:00+08:00")
        #expect(try engine.expireAllDue() == 1)
        #expect(try engine.check().problems.isEmpty)
    }

    /// Without a holds section (a rule set from before 0.11), a reservation never expires.
    @Test func aRuleSetWithoutHoldsKeepsReservations() throws {
        let dir = try Fixture.directory("expiry-none")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let clock = Clock()
        try clock.set("2026-11-25T09:00:00+08:00")
        // Without risk rules too: a rule that challenges needs a challenge hold.
        let rules = try Fixture.shippedRules().filter { !$0.name.hasSuffix("holds.yaml") && !$0.name.hasSuffix("risk.yaml") }
        let engine = try Engine(path: dir, cardKey: Fixture.cardKey, rules: rules, options: .init(mapSizeBytes: 64 << 20, clock: clock.read))
        #expect(try engine.authorize(try Fixture.request("N1", "2026-11-25T09:00:00+08:00", amount: "10.00")).decision.isApproved)
        #expect(try engine.heldReservations().count == 0)
        try clock.set("2027-11-25T09:00:00+08:00")
        try engine.confirm(try PaymentID("N1"))
    }
}

/// A store of Headroom 0.10 (schema 3: records of version 2, no expiry index) is refused until
/// migrated, then keeps every answer; its reservations have no hold time.
@Suite struct MigrationFromSchema3Tests {
    @Test func aSchema3StoreMigratesAndItsReservationsHoldUntilSettled() throws {
        let dir = try Fixture.directory("migrate-3")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let clock = ExpiryTests.Clock()
        try clock.set("2026-11-25T10:00:00+08:00")
        var engine: Engine! = try ExpiryTests.engine(dir, clock)
        #expect(try engine.authorize(try Fixture.request("M1", "2026-11-25T10:00:00+08:00", amount: "10.00")).decision.isApproved)
        #expect(try engine.authorize(try Fixture.request("M2", "2026-11-25T10:00:00+08:00", amount: "20.00")).decision.isApproved)
        try engine.confirm(try PaymentID("M2"))
        #expect(try !engine.authorize(try Fixture.request("M3", "2026-11-25T10:00:00+08:00", amount: "60000.00")).decision.isApproved)
        // Written back as 0.10 wrote it: version-2 records, schema 3, no expiry index.
        var expected: [String: PaymentRecord] = [:]
        let store = engine.store
        let txn = try store.beginWrite()
        var records: [(String, PaymentRecord)] = []
        try txn.scan(.payments) { (key, value) throws(HeadroomError) in
            records.append((String(decoding: key, as: UTF8.self), PaymentRecord(bytes: value)!))
            return true
        }
        for (id, var record) in records {
            record.heldUntil = 0
            record.subject = nil
            record.events = []
            expected[id] = record
            var bytes = record.encoded()
            bytes.removeSubrange(PaymentRecord.heldUntilOffset..<(PaymentRecord.heldUntilOffset + 9))
            bytes[0] = 2
            try txn.put(.payments, key: Array(id.utf8), value: bytes)
        }
        _ = try txn.deleteWhere(.expiry) { _, _ in true }
        try store.putMetaInteger(txn, .schema, 3)
        try txn.commit()
        engine = nil

        expectError(.storeNeedsMigration) { _ = try ExpiryTests.engine(dir, clock) }
        let report = try Engine.migrate(path: dir, by: "alice")
        #expect(report.fromSchema == 3 && report.toSchema == 5 && report.recordsRewritten == 3)
        try clock.set("2026-12-25T10:00:00+08:00")  // a month on: nothing of before expires
        engine = try ExpiryTests.engine(dir, clock)
        let after = try engine.store.beginRead()
        for (id, record) in expected { #expect(try engine.store.record(after, id: id) == record) }
        #expect(try engine.check().problems.isEmpty)
        #expect(try engine.authorize(try Fixture.request("M1", "2026-11-25T10:00:00+08:00", amount: "10.00")).replayed)
        try engine.confirm(try PaymentID("M1"))
    }
}
