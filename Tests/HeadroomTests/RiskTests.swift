import Foundation
import HeadroomCore
import HeadroomTesting
import Synchronization
import Testing

@testable import Headroom

/// Risk rules against a model that recomputes every window from the payments themselves, on
/// seeded random days: a list, ended agreements, a burst of attempts, an approved-amount
/// velocity per card and merchant, a new agreement's cool-off, a bank cap, and challenges that
/// are verified, released, verified too late or left to expire (across midnight), with the
/// engine closed and opened again in the middle.
@Suite struct RiskTests {
    static let rules = [
        RuleSource(name: "r/limits.yaml", text: """
        card_tier:
          applies_to:
            business: [agreement, gateway]
        holds:
          agreement: 1h
          authentication: 1h
          gateway: 1h
          entrusted: 1h
          payout: 1h
          challenge: 5m
        limits:
          - id: bank.card-daily
            tier: bank
            window: day
            group: card
            applies_to: { business: [agreement, gateway] }
            amount_max: 900.00
        """),
        RuleSource(name: "r/risk.yaml", text: """
        risk:
          - id: blocked
            kind: list
            list: blocked-cards
            match: card
            action: decline
            applies_to: { business: [agreement, gateway] }
          - id: ended
            kind: ended-agreement
            action: decline
            applies_to: { business: [agreement] }
          - id: burst
            kind: velocity
            counts: attempts
            window: rolling 10m
            group: card
            count_max: 3
            action: challenge
            applies_to: { business: [agreement, gateway] }
          - id: merchant-day
            kind: velocity
            counts: approved
            window: day
            group: card+merchant
            amount_max: 300.00
            action: decline
            applies_to: { business: [gateway] }
          - id: new
            kind: new-agreement
            cool_off: 1h
            amount_max: 150.00
            action: challenge
            applies_to: { business: [agreement] }
        """),
    ]

    final class Clock: Sendable {
        let now = Mutex<Int64>(0)
        var read: @Sendable () -> Int64 { { self.now.withLock { $0 } } }
    }

    /// The model: a payment and what it holds.
    struct Paid {
        var card: Int
        var merchant: Int
        var agreement: Int?
        var business: Business
        var fen: Int64
        var time: Int64
        var state: PaymentState
        var heldUntil: Int64
        var challenged: Bool
        var inCoolOff: Int?  // the agreement whose cool-off it counted in
    }

    struct Model {
        var paid: [String: Paid] = [:]
        var order: [String] = []
        var blocked: Set<Int> = []
        var signed: [Int: Int64] = [:]
        var ended: Set<Int> = []

        mutating func expire(now: Int64) {
            for id in order where paid[id]!.heldUntil != 0 && paid[id]!.heldUntil <= now {
                paid[id]!.state = .expired
                paid[id]!.heldUntil = 0
            }
        }

        func holding(_ p: Paid) -> Bool { p.state == .authorized || p.state == .confirmed || p.state == .challenged }

        /// What the engine should answer, as (outcome, rule or nil).
        func judge(card: Int, merchant: Int, agreement: Int?, business: Business, fen: Int64, time: Int64) -> (Decision.Outcome, String?) {
            let day = Timestamp(unixSeconds: time).chinaDay
            let minute = ChinaTime.minute(time)
            if blocked.contains(card) { return (.decline, "blocked") }
            if business == .agreement, let a = agreement, ended.contains(a) { return (.decline, "ended") }
            let all = order.map { paid[$0]! }
            let dayAmount = all.filter { holding($0) && $0.card == card && Timestamp(unixSeconds: $0.time).chinaDay == day }.reduce(0) { $0 + $1.fen }
            if dayAmount + fen > 90_000 { return (.decline, "bank.card-daily") }
            var challenge: String?
            let attempts = all.filter { $0.card == card && (minute - 9...minute).contains(ChinaTime.minute($0.time)) }.count
            if attempts >= 3 { challenge = "burst" }
            if business == .gateway {
                let merchantDay = all.filter {
                    holding($0) && $0.business == .gateway && $0.card == card && $0.merchant == merchant
                        && Timestamp(unixSeconds: $0.time).chinaDay == day
                }.reduce(0) { $0 + $1.fen }
                if merchantDay + fen > 30_000 { return (.decline, "merchant-day") }
            }
            if business == .agreement, let a = agreement, let at = signed[a], !ended.contains(a), time >= at, time - at < 3600 {
                let taken = all.filter { holding($0) && $0.inCoolOff == a }.reduce(0) { $0 + $1.fen }
                if taken + fen > 15_000, challenge == nil { challenge = "new" }
            }
            return challenge.map { (.challenge, $0) } ?? (.approve, nil)
        }
    }

    static let seeds: [UInt64] = [1, 7, 2026]

    @Test(arguments: seeds) func engineMatchesTheModel(seed: UInt64) throws {
        let dir = try Fixture.directory("risk-\(seed)")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let clock = Clock()
        var time = try Timestamp(iso8601: "2026-11-25T22:30:00+08:00").unixSeconds
        clock.now.withLock { $0 = time }
        func open() throws -> Engine {
            try Engine(path: dir, cardKey: Fixture.cardKey, rules: Self.rules, options: .init(mapSizeBytes: 64 << 20, clock: clock.read))
        }
        var engine: Engine? = try open()
        var rng = SplitMix64(seed: seed)
        var model = Model()
        var tally: [String: Int] = [:]
        for step in 0..<1_500 {
            time += Int64(rng.next() % 60)
            clock.now.withLock { $0 = time }
            model.expire(now: time)
            if step == 700 {  // closed and opened again: held challenges survive it
                engine = nil
                engine = try open()
            }
            let e = engine!
            let roll = rng.next() % 100
            let card = Int(rng.next() % 10) + 1
            switch roll {
            case 0..<2:
                guard rng.next() % 6 == 0 else { continue }  // rarely: a listed card stays listed
                try e.addToList("blocked-cards", [.card(try CardNumber(Fixture.pan(card)))], by: "ops")
                model.blocked.insert(card)
                tally["listed", default: 0] += 1
            case 2..<5:
                let a = Int(rng.next() % 4)
                // Signed once; an id already signed or ended is refused (tested apart).
                guard model.signed[a] == nil && !model.ended.contains(a) else { continue }
                let replayed = try e.signAgreement(AgreementSigning(agreementID: "A\(a)", card: try CardNumber(Fixture.pan(card)),
                                                                     institution: try Institution("Z2007933000010"), kind: .agreement,
                                                                     time: Timestamp(unixSeconds: time)))
                #expect(!replayed)
                model.signed[a] = time
            case 5..<6:
                let a = Int(rng.next() % 4)
                _ = try e.endAgreement(AgreementEnding(agreementID: "A\(a)", by: .institution, time: Timestamp(unixSeconds: time)))
                model.ended.insert(a)
                tally["ended", default: 0] += 1
            case 6..<30:
                // Settle one held payment: verify, release or confirm.
                guard let id = model.order.last(where: { model.paid[$0]!.heldUntil != 0 || model.paid[$0]!.state == .expired }) else { continue }
                let p = model.paid[id]!
                let pid = try PaymentID(id)
                let action = rng.next() % 3
                if p.state == .challenged || (p.state == .expired && p.challenged), action != 1 {
                    do {
                        try e.verify(pid)
                        #expect(p.state == .challenged, "\(id) verified in state \(p.state)")
                        model.paid[id]!.state = .authorized
                        model.paid[id]!.heldUntil = time + 3600
                        tally["verified", default: 0] += 1
                    } catch {
                        #expect(p.state == .expired && error.code == .expired, "\(id): \(error)")
                        tally["verified too late", default: 0] += 1
                    }
                } else if p.state == .authorized || p.state == .challenged {
                    if action == 1 {
                        try e.release(pid)
                        model.paid[id]!.state = .released
                        model.paid[id]!.heldUntil = 0
                        tally["released", default: 0] += 1
                    } else if p.state == .authorized {
                        try e.confirm(pid)
                        model.paid[id]!.state = .confirmed
                        model.paid[id]!.heldUntil = 0
                    } else {
                        #expect(throws: HeadroomError.self) { try e.confirm(pid) }  // verify first
                    }
                }
            default:
                let id = "P\(step)"
                let gateway = rng.next() % 3 == 0
                let agreement = gateway ? nil : Int(rng.next() % 4)
                let merchant = Int(rng.next() % 2)
                let fen = Int64(rng.next() % 25_000) + 100
                let (outcome, rule) = model.judge(card: card, merchant: merchant, agreement: agreement,
                                                  business: gateway ? .gateway : .agreement, fen: fen, time: time)
                var request = try Fixture.request(id, Timestamp(unixSeconds: time).chinaISO8601, card: card,
                                                  business: gateway ? .gateway : .agreement, amount: Amount.plain(fen))
                request.agreementID = agreement.map { "A\($0)" }
                request.merchantID = "M\(merchant)"
                let result = try e.authorize(request)
                #expect(result.decision.outcome == outcome && result.decision.decidedBy?.ruleID == rule,
                        "seed \(seed) step \(step): \(id) engine \(result.decision.outcome) \(result.decision.decidedBy?.ruleID ?? "-"), model \(outcome) \(rule ?? "-")")
                if outcome == .challenge { #expect(result.challengeEnds == time + 300) }
                let inCoolOff: Int? = {
                    guard !gateway, let a = agreement, let at = model.signed[a], !model.ended.contains(a), time >= at, time - at < 3600 else { return nil }
                    return a
                }()
                model.paid[id] = Paid(card: card, merchant: merchant, agreement: agreement, business: gateway ? .gateway : .agreement,
                                      fen: fen, time: time, state: outcome == .approve ? .authorized : outcome == .challenge ? .challenged : .declined,
                                      heldUntil: outcome == .approve ? time + 3600 : outcome == .challenge ? time + 300 : 0,
                                      challenged: outcome == .challenge, inCoolOff: inCoolOff)
                model.order.append(id)
                tally["\(outcome)\(rule.map { " " + $0 } ?? "")", default: 0] += 1
                // A retry gets the first answer, the challenge included.
                if rng.next() % 10 == 0 {
                    let again = try e.authorize(request)
                    #expect(again.replayed && again.decision == result.decision)
                }
            }
        }
        #expect(try engine!.check().problems.isEmpty)
        // Every kind of answer happened, or the test proves little.
        for kind in ["approve", "decline blocked", "decline ended", "decline bank.card-daily", "decline merchant-day",
                     "challenge burst", "challenge new", "verified", "verified too late", "released"] {
            #expect(tally[kind, default: 0] > 0, "seed \(seed): no \(kind) in \(tally)")
        }
    }

    /// A decline wins over a challenge; a challenge holds its reservation (headroom as an
    /// approval's); a late verify is refused; the hold ends across midnight and gives back.
    @Test func aChallengeHoldsItsReservationUntilVerifiedOrExpired() throws {
        let dir = try Fixture.directory("risk-hold")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let clock = Clock()
        let start = try Timestamp(iso8601: "2026-11-25T23:57:00+08:00").unixSeconds
        clock.now.withLock { $0 = start }
        let engine = try Engine(path: dir, cardKey: Fixture.cardKey, rules: Self.rules, options: .init(mapSizeBytes: 64 << 20, clock: clock.read))
        let t = "2026-11-25T23:57:00+08:00"
        for i in 0..<3 { _ = try engine.authorize(try Fixture.request("B\(i)", t, amount: "10.00")) }
        let challenged = try engine.authorize(try Fixture.request("B3", t, amount: "100.00"))
        #expect(challenged.decision.outcome == .challenge && challenged.decision.code == .velocityCount)
        #expect(challenged.decision.headroom[.bank] == TierHeadroom(amountFen: 90_000 - 13_000))  // held, as approved
        #expect(try engine.state(of: PaymentID("B3")) == .challenged)
        expectError(.challenged) { try engine.confirm(try PaymentID("B3")) }
        // Over the bank cap too: the decline wins.
        let over = try engine.authorize(try Fixture.request("B4", t, amount: "800.00"))
        #expect(over.decision.outcome == .decline && over.decision.decidedBy?.ruleID == "bank.card-daily")
        // Past midnight the challenge hold (5m) runs out: given back to the day it was taken from.
        clock.now.withLock { $0 = start + 301 }
        #expect(try engine.expireAllDue() == 1)
        expectError(.expired) { try engine.verify(try PaymentID("B3")) }
        let probe = try engine.explain(try Fixture.request("probe", t, amount: "1.00"))
        #expect(probe.lines.first { $0.check.limitID == "bank.card-daily" }?.used == CounterValue(amountFen: 3_000, count: 3))
        expectError(.notChallenged) { try engine.verify(try PaymentID("B0")) }
        #expect(try engine.check().problems.isEmpty)
    }

    /// An agreement Headroom never saw signed is judged as before; ended from either side, it
    /// is declined; a new agreement's payments past its cool-off cap are challenged.
    @Test func agreementsSignedEndedAndUnknown() throws {
        let dir = try Fixture.directory("risk-agreements")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let clock = Clock()
        clock.now.withLock { $0 = try! Timestamp(iso8601: "2026-11-25T10:00:00+08:00").unixSeconds }
        let engine = try Engine(path: dir, cardKey: Fixture.cardKey, rules: Self.rules, options: .init(mapSizeBytes: 64 << 20, clock: clock.read))
        func pay(_ id: String, _ agreement: String, _ amount: String, card: Int = 1) throws -> Decision {
            var r = try Fixture.request(id, "2026-11-25T10:00:00+08:00", card: card, amount: amount)
            r.agreementID = agreement
            return try engine.authorize(r).decision
        }
        #expect(try pay("U1", "OLD", "140.00").outcome == .approve)  // never seen: judged as today
        #expect(try engine.endAgreement(AgreementEnding(agreementID: "OLD", by: .bank, time: try Timestamp(iso8601: "2026-11-25T10:00:00+08:00"))) == false)
        #expect(try pay("U2", "OLD", "1.00", card: 2).code == .agreementEnded)
        let signing = AgreementSigning(agreementID: "NEW", card: try CardNumber(Fixture.pan(3)), institution: try Institution("Z2007933000010"),
                                       kind: .agreement, time: try Timestamp(iso8601: "2026-11-25T09:30:00+08:00"))
        #expect(try engine.signAgreement(signing) == false)
        #expect(try engine.signAgreement(signing) == true)  // the same again
        var other = signing
        other.institution = try Institution("Z9999999999999")
        expectError(.agreementConflict) { try engine.signAgreement(other) }
        #expect(try pay("N1", "NEW", "100.00", card: 3).outcome == .approve)
        let second = try pay("N2", "NEW", "60.00", card: 3)
        #expect(second.outcome == .challenge && second.code == .newAgreementAmount && second.decidedBy?.ruleID == "new")
        #expect(try engine.agreement("NEW")?.signedAt == signing.time)
        #expect(try engine.endAgreement(AgreementEnding(agreementID: "NEW", by: .institution, time: signing.time)) == false)
        #expect(try engine.endAgreement(AgreementEnding(agreementID: "NEW", by: .bank, time: signing.time)) == true)
        expectError(.agreementConflict) { try engine.signAgreement(signing) }
        #expect(try engine.check().problems.isEmpty)
    }

    /// Taking an entry off a list takes two operators; adding takes one, at once.
    @Test func listsAreDualControlledOnRemoval() throws {
        let dir = try Fixture.directory("risk-lists")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let engine = try Fixture.engine(dir, rules: Self.rules)
        let card = try CardNumber(Fixture.pan(5))
        #expect(try engine.addToList("blocked-cards", [.card(card)], by: "alice") == 1)
        #expect(try engine.addToList("blocked-cards", [.card(card)], by: "alice") == 0)
        expectError(.listKindMismatch) { try engine.addToList("blocked-cards", [.merchant("M1")], by: "alice") }
        #expect(try engine.authorize(try Fixture.request("L1", "2026-11-25T10:00:00+08:00", card: 5, amount: "1.00")).decision.code.name == "cardOnBlockList")
        try engine.requestListRemoval("blocked-cards", .card(card), by: "alice")
        expectError(.sameOperator) { try engine.approveListRemoval("blocked-cards", .card(card), by: "alice") }
        #expect(try engine.list("blocked-cards")?.entries.first?.removalRequestedBy == "alice")
        #expect(try engine.authorize(try Fixture.request("L2", "2026-11-25T10:00:01+08:00", card: 5, amount: "1.00")).decision.code.name == "cardOnBlockList")
        try engine.approveListRemoval("blocked-cards", .card(card), by: "bob")
        #expect(try engine.list("blocked-cards")?.entries.isEmpty == true)
        #expect(try engine.authorize(try Fixture.request("L3", "2026-11-25T10:00:02+08:00", card: 5, amount: "1.00")).decision.isApproved)
        expectError(.unknownListEntry) { try engine.requestListRemoval("blocked-cards", .card(card), by: "alice") }
        let audit = try engine.ruleBook.auditLog().map(\.action)
        #expect(audit.contains("list.add") && audit.contains("list.remove") && audit.contains("list.approve-removal.refused")
                && audit.contains("list.approve-removal"))
    }
}

/// Shadow mode: a second, approved rule set judges every authorization and changes no live
/// answer nor live counter; what it would have changed is tallied per rule.
@Suite struct ShadowTests {
    /// The live rules with a stricter burst (2 attempts per 10 minutes, declined) and a merchant
    /// velocity the live set lacks (its own counter, fed by the live traffic).
    static var stricter: [RuleSource] {
        var rules = RiskTests.rules
        rules[1] = RuleSource(name: rules[1].name, text: rules[1].text.replacingOccurrences(of: "count_max: 3\n    action: challenge", with: "count_max: 2\n    action: decline")
            + """

              - id: merchant-hour
                kind: velocity
                counts: approved
                window: rolling 1h
                group: merchant
                amount_max: 400.00
                action: challenge
                applies_to: { business: [gateway] }
            """)
        return rules
    }

    @Test(arguments: [3, 11] as [UInt64]) func theShadowChangesNothingLive(seed: UInt64) throws {
        let plain = try Fixture.directory("shadow-plain-\(seed)"), shadowed = try Fixture.directory("shadow-on-\(seed)")
        defer {
            try? FileManager.default.removeItem(atPath: plain)
            try? FileManager.default.removeItem(atPath: shadowed)
        }
        let clock = RiskTests.Clock()
        var time = try Timestamp(iso8601: "2026-11-25T09:00:00+08:00").unixSeconds
        clock.now.withLock { $0 = time }
        let options = Engine.Options(mapSizeBytes: 64 << 20, clock: clock.read)
        let a = try Engine(path: plain, cardKey: Fixture.cardKey, rules: RiskTests.rules, options: options)
        let b = try Engine(path: shadowed, cardKey: Fixture.cardKey, rules: RiskTests.rules, options: options)
        let book = b.ruleBook
        let v2 = try book.propose(Self.stricter, by: "alice").version
        _ = try book.approve(v2, by: "bob")
        expectError(.ruleSetAlreadyActive) { try book.shadow(1, by: "bob") }
        try book.shadow(v2, by: "bob")
        let shadowRules = try book.ruleSet(v2)
        var rng = SplitMix64(seed: seed)
        var differing = 0
        var ids: [PaymentID] = []
        for step in 0..<600 {
            time += Int64(rng.next() % 90)
            clock.now.withLock { $0 = time }
            let card = Int(rng.next() % 5) + 1
            if rng.next() % 5 == 0, let id = ids.randomElement(using: &rng) {
                // Settle one: both engines must agree, and give back their own cells alike.
                let ra = Result { () throws(HeadroomError) in try a.release(id) }
                let rb = Result { () throws(HeadroomError) in try b.release(id) }
                #expect(ra.isSuccess == rb.isSuccess)
                continue
            }
            _ = try a.expireAllDue()
            _ = try b.expireAllDue()  // so that the probe below sees what the authorization will
            var request = try Fixture.request("S\(step)", Timestamp(unixSeconds: time).chinaISO8601, card: card,
                                              business: rng.next() % 2 == 0 ? .gateway : .agreement, amount: Amount.plain(Int64(rng.next() % 20_000) + 100))
            request.merchantID = "M\(rng.next() % 3)"
            let judged = try ShadowProbe.judge(b, request, rules: shadowRules, version: v2)
            let live = try a.authorize(request), withShadow = try b.authorize(request)
            #expect(live == withShadow, "step \(step)")
            if judged.outcome != live.decision.outcome || judged.decidedBy?.ruleID != live.decision.decidedBy?.ruleID { differing += 1 }
            ids.append(request.id)
        }
        // The live cells are the same; the shadowed store has the shadow's own cells besides.
        let own = Set(try book.ruleSet(v2).risk.compactMap(\.counter?.id)).subtracting(RiskTests.liveCounterIDs(a.ruleSet))
        #expect(!own.isEmpty)
        #expect(try ShadowProbe.cells(a, excluding: own) == ShadowProbe.cells(b, excluding: own))
        #expect(try !ShadowProbe.cells(b, only: own).isEmpty)
        #expect(try a.check().problems.isEmpty && b.check().problems.isEmpty)
        let report = try #require(try book.shadowReport())
        #expect(report.version == v2 && report.judged == ids.count)
        #expect(report.differences.reduce(0) { $0 + $1.count } == differing && differing > 0)
        #expect(report.differences.contains { $0.rule == "burst" && $0.shadow == .decline && $0.samples.count <= 5 })
        // Promoting it ends the shadow.
        _ = try book.activate(v2, by: "bob")
        #expect(try book.shadowReport() == nil)
        #expect(try book.shadowReport(v2)?.judged == ids.count)
    }
}

extension RiskTests {
    static func liveCounterIDs(_ rules: RuleSet) -> Set<UInt64> {
        Set(rules.limits.compactMap(\.counter?.id) + rules.cardTierCounters.map(\.id) + rules.risk.compactMap(\.counter?.id))
    }
}

extension Result {
    var isSuccess: Bool { if case .success = self { true } else { false } }
}

/// Reads for the shadow tests: what a rule set says of a payment on a store as it is, and the
/// cells of a store.
enum ShadowProbe {
    /// What `rules` decide for `request` on the store as it is now (before it is authorized).
    static func judge(_ engine: Engine, _ request: PaymentRequest, rules: RuleSet, version: UInt32) throws -> Decision {
        var payment = engine.hashed(request)
        engine.keyIdentifiers(&payment, always: true)
        let txn = try engine.store.beginRead()
        let (plan, usage, riskUsage) = try engine.evaluate(txn, payment, rules: rules)
        return decide(amountFen: payment.amount.fen, plan: plan, usage: usage, riskUsage: riskUsage, rules: rules, ruleSetVersion: version)
    }

    static func cells(_ engine: Engine, excluding: Set<UInt64> = [], only: Set<UInt64>? = nil) throws -> [[UInt8]: [UInt8]] {
        var out: [[UInt8]: [UInt8]] = [:]
        let txn = try engine.store.beginRead()
        try txn.scan(.counters) { (k, v) throws(HeadroomError) in
            let key = CounterKey(bytes: k)!
            if excluding.contains(key.definition) { return true }
            if let only, !only.contains(key.definition) { return true }
            out[Array(k)] = Array(v)
            return true
        }
        return out
    }
}

/// A store of Headroom 0.12 (schema 4) is refused until migrated; the migration rewrites no
/// record (they are already current), and every payment keeps its answer and its reservation.
@Suite struct SchemaFiveTests {
    @Test func aSchema4StoreMigratesWithoutRewriting() throws {
        let dir = try Fixture.directory("schema-4")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var engine: Engine! = try Fixture.engine(dir, rules: try Fixture.shippedRules())
        let first = try engine.authorize(try Fixture.request("V1", "2026-11-25T10:00:00+08:00", amount: "10.00"))
        let txn = try engine.store.beginWrite()
        try engine.store.putMetaInteger(txn, .schema, 4)
        try txn.commit()
        engine = nil
        expectError(.storeNeedsMigration) { _ = try Fixture.engine(dir) }
        let report = try Engine.migrate(path: dir, by: "alice")
        #expect(report.fromSchema == 4 && report.toSchema == 5 && report.recordsRewritten == 0)
        engine = try Fixture.engine(dir)
        let again = try engine.authorize(try Fixture.request("V1", "2026-11-25T10:00:00+08:00", amount: "10.00"))
        #expect(again.replayed && again.decision == first.decision)
        #expect(try engine.check().problems.isEmpty && engine.check().liveReservations == 1)
        #expect(try engine.lists().isEmpty)
    }
}
