import Foundation
@testable import Headroom
import HeadroomCore
import HeadroomRules
import Synchronization
import Testing

/// A clock the test moves by hand.
final class ManualClock: Sendable {
    let seconds: Atomic<Int64>
    init(_ start: Int64) { seconds = Atomic(start) }
    func advance(_ by: Int64) { seconds.add(by, ordering: .relaxed) }
    var read: @Sendable () -> Int64 { { self.seconds.load(ordering: .relaxed) } }
}

@Suite struct RuleBookTests {
    typealias F = Fixture
    static let start: Int64 = 1_795_572_000  // 2026-11-25T10:00:00+08:00

    func engine(_ dir: String, clock: ManualClock) throws -> Engine {
        try Engine(path: dir, cardKey: F.cardKey, rules: try F.shippedRules(),
                   options: .init(mapSizeBytes: 64 << 20, clock: clock.read))
    }

    @Test func dualControlFromProposalToActivation() throws {
        let dir = try F.directory("book")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let clock = ManualClock(Self.start)
        let engine = try engine(dir, clock: clock)
        let book = engine.ruleBook
        let proposed = try book.propose(try EngineTests.changedRules(), by: "alice")
        #expect(proposed.version == 2 && proposed.proposedBy == "alice" && proposed.approvedBy == nil)
        expectError(.ruleSetNotApproved) { _ = try book.activate(2, by: "bob") }
        expectError(.sameOperator) { _ = try book.approve(2, by: "alice") }
        expectError(.operatorRequired) { _ = try book.approve(2, by: " ") }
        expectError(.unknownRuleSet) { _ = try book.approve(9, by: "bob") }
        #expect(try book.approve(2, by: "bob").approvedBy == "bob")
        expectError(.ruleSetAlreadyApproved) { _ = try book.approve(2, by: "carol") }
        expectError(.ruleSetAlreadyActive) { _ = try book.propose(try F.shippedRules(), by: "alice") }

        // The running engine still decides with v1 until the change.
        let before = try engine.authorize(try F.request("A", "2026-11-25T10:00:00+08:00", amount: "45000.00", accountClass: .classI))
        #expect(before.decision.ruleSetVersion == 1)
        #expect(try book.activate(2, by: "bob") == .now)
        // ...and takes up v2 at its next payment, without a restart.
        let after = try engine.authorize(try F.request("B", "2026-11-25T10:00:01+08:00", institution: "Z9", amount: "45000.00"))
        #expect(after.decision.ruleSetVersion == 2)
        #expect(after.decision.code.name == "exceedsBankSingleAmount")  // 40,000.00 in v2
        #expect(after.decision.failed?.max == 4_000_000)
        expectError(.ruleSetAlreadyActive) { _ = try book.activate(2, by: "bob") }

        let statuses = try book.versions().map { "\($0.0.version):\($0.1.rawValue)" }
        #expect(statuses == ["1:retired", "2:active"])
        let (from, to) = try book.rollback(by: "carol")
        #expect(from == 2 && to == 1)
        #expect(try engine.authorize(try F.request("C", "2026-11-25T10:00:02+08:00", amount: "1.00")).decision.ruleSetVersion == 1)
        expectError(.nothingToRollBack) { _ = try book.rollback(by: "carol") }
        let actions = try book.auditLog().map { "\($0.operatorName) \($0.action)" }
        // The refused attempts (activating before approval, approving one's own proposal) too.
        #expect(actions == ["bootstrap rules.bootstrap", "alice rules.propose", "bob rules.activate.refused", "alice rules.approve.refused",
                            "bob rules.approve", "carol rules.approve.refused", "bob rules.activate", "carol rules.rollback"])
    }

    @Test func aScheduledActivationLandsAtItsTimeBetweenTwoPayments() throws {
        let dir = try F.directory("schedule")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let clock = ManualClock(Self.start)
        let engine = try engine(dir, clock: clock)
        let book = engine.ruleBook
        _ = try book.propose(try EngineTests.changedRules(), by: "alice")
        _ = try book.approve(2, by: "bob")
        #expect(try book.activate(2, at: Self.start + 3600, by: "bob") == .scheduled(at: Self.start + 3600))
        #expect(try book.versions().last?.1 == .scheduled)
        #expect(try engine.authorize(try F.request("A", "2026-11-25T10:00:00+08:00", amount: "1.00")).decision.ruleSetVersion == 1)
        clock.advance(3599)
        #expect(try engine.explain(try F.request("p", "2026-11-25T10:00:00+08:00", amount: "1.00")).decision.ruleSetVersion == 1)
        clock.advance(1)
        #expect(try engine.explain(try F.request("p", "2026-11-25T10:00:00+08:00", amount: "1.00")).decision.ruleSetVersion == 2)
        #expect(try engine.authorize(try F.request("B", "2026-11-25T11:00:00+08:00", amount: "1.00")).decision.ruleSetVersion == 2)
        #expect(try book.currentVersion() == 2 && book.schedule() == nil)
        let last = try #require(try book.auditLog().last)
        #expect(last.action == "rules.activate" && last.operatorName == "bob" && last.detail.contains("as scheduled"))
    }

    @Test func customerLimitChangesAndPurgesAreAudited() throws {
        let dir = try F.directory("audit")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let engine = try engine(dir, clock: ManualClock(Self.start))
        let card = try CardNumber(F.pan(3))
        try engine.setCardLimits(card, institution: nil, CardLimits(dailyAmountFenMax: 100_000), by: "teller-7")
        _ = try engine.clearCardLimits(card, institution: nil, by: "teller-8")
        _ = try engine.purge(today: Timestamp(unixSeconds: Self.start).chinaDay, by: "ops")
        expectError(.operatorRequired) { try engine.setCardLimits(card, institution: nil, CardLimits(dailyCountMax: 1), by: "") }
        let entries = try engine.ruleBook.auditLog().dropFirst()
        #expect(entries.map(\.action) == ["card-limit.set", "card-limit.clear", "store.purge"])
        #expect(entries.first?.detail == "card \(card.masked) (all institutions): daily amount 1,000.00")
        #expect(entries.allSatisfy { !$0.detail.contains(F.pan(3)) })
        #expect(entries.first?.time == Self.start)
    }
}
