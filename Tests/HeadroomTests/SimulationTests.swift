import Foundation
@testable import Headroom
import HeadroomCore
import HeadroomRules
import Synchronization
import Testing

/// Seeded simulations: the LMDB engine and the in-memory model get the same events; every
/// answer, and the use of every window that applies, must agree. Reopens the store mid-run.
/// A failure prints its seed; rerun one with HEADROOM_SEED=<seed>.
@Suite struct SimulationTests {
    static let rules = RuleSource(name: "sim/limits.yaml", text: """
    limits:
      - {id: reg.ii-daily, tier: regulatory, window: day, group: card, amount_max: 800.00,
         applies_to: {business: [agreement, authentication, gateway, entrusted], account_class: [II]}}
      - {id: reg.iii-yearly, tier: regulatory, window: year, group: card, amount_max: 1500.00, refund_restores: true,
         applies_to: {business: [agreement, authentication, gateway, entrusted], account_class: [III]}}
      - {id: bank.single, tier: bank, window: single, amount_max: 600.00,
         applies_to: {business: [agreement, authentication, gateway, entrusted]}}
      - {id: bank.card-daily, tier: bank, window: day, group: card, amount_max: 2000.00, count_max: 6,
         applies_to: {business: [agreement, authentication, gateway, entrusted]}}
      - {id: bank.card-monthly, tier: bank, window: month, group: card, amount_max: 5000.00, refund_restores: true,
         applies_to: {business: [agreement, authentication, gateway, entrusted]}}
      - {id: bank.card-90m, tier: bank, window: rolling 90m, group: card, count_max: 3,
         applies_to: {business: [agreement, authentication, gateway, entrusted]}}
      - {id: bank.exposure, tier: bank, window: day, group: bank, amount_max: 9000.00,
         applies_to: {business: [agreement, authentication, gateway, entrusted]}}
      - {id: bank.gateway-pc, tier: bank, window: day, group: card, count_max: 2,
         applies_to: {business: [gateway], channel: [pc]}}
      - id: inst.single
        tier: institution
        window: single
        applies_to: {business: [agreement, authentication, gateway, entrusted]}
        amount_max: 400.00
        per_institution: {Z2007933000010: {amount_max: 550.00}}
      - id: inst.card-daily
        tier: institution
        window: day
        group: card+institution
        applies_to: {business: [agreement, authentication, gateway, entrusted]}
        amount_max: 1000.00
        per_institution: {Z2007933000010: {amount_max: 1500.00, count_max: 4}}
      - {id: inst.exposure, tier: institution, window: rolling 3h, group: institution, amount_max: 3000.00,
         refund_restores: true, applies_to: {business: [agreement, authentication, gateway, entrusted, payout]}}
    card_tier:
      applies_to: {business: [agreement, authentication, gateway, entrusted]}
      refund_restores: true
    holds:
      agreement: 3h
      authentication: 150m
      entrusted: 4h
      payout: 1h
      gateway: {personal: 6h, corporate: 30d}
    """)

    /// Few expiries per transaction, so that a backlog outlasts one (the model drains alike).
    static let expiriesPerTransaction = 2

    /// The engine's clock, moved by the simulation (to the latest time it has sent).
    final class Clock: Sendable {
        let now = Mutex<Int64>(0)
        var read: @Sendable () -> Int64 { { self.now.withLock { $0 } } }
    }

    static func engine(_ dir: String, _ clock: Clock, rules: [RuleSource]? = nil) throws -> Engine {
        try Engine(path: dir, cardKey: Fixture.cardKey, rules: rules,
                   options: .init(mapSizeBytes: 64 << 20, clock: clock.read, expiriesPerTransaction: expiriesPerTransaction))
    }

    /// Sets the engine's clock and the model's to the simulation's now.
    static func tick(_ clock: Clock, _ model: Model, _ sim: Simulator) {
        clock.now.withLock { $0 = sim.now }
        model.now = sim.now
    }

    static var seeds: [UInt64] {
        if let text = ProcessInfo.processInfo.environment["HEADROOM_SEED"], let seed = UInt64(text) { return [seed] }
        return [1, 2, 3, 20261125]
    }

    @Test(arguments: seeds)
    func engineMatchesModel(seed: UInt64) throws {
        let dir = try Fixture.directory("sim")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let clock = Clock()
        var sim = Simulator(seed: seed)
        clock.now.withLock { $0 = sim.now }
        var engine: Engine! = try Self.engine(dir, clock, rules: [Self.rules])
        let model = Model(rules: engine.ruleSet, version: engine.ruleSetVersion, expiriesPerTransaction: Self.expiriesPerTransaction)
        var expiredBehind = 0  // steps at which a due reservation waited for a later transaction
        var reconciledPairs: Set<String> = []  // final status and the state it met
        for step in 0..<1200 {
            let event = sim.next(model: model)
            Self.tick(clock, model, sim)
            let context = Comment(rawValue: "seed \(seed) step \(step): \(event)")
            if model.payments.values.filter({ $0.state == .authorized && ($0.heldUntil ?? .max) <= sim.now }).count > Self.expiriesPerTransaction {
                expiredBehind += 1
            }
            if case .reopen = event {
                let report = try engine.check()
                #expect(report.problems.isEmpty, context)
                engine = nil  // closed first: a process must not hold a store open twice
                engine = try Self.engine(dir, clock)  // the store's own rule set; expires what is due
                model.open()
                #expect(engine.ruleSetVersion == model.version, context)
                continue
            }
            if case .authorize(_, let pay) = event {
                try compareUsage(engine, model, pay, context)
            }
            if case .reconcile(let id, let status, _, _, _, _) = event {
                let state = model.payments[id].map { $0.reconciled == nil ? model.name($0.state) : "reconciled" } ?? "unknown"
                reconciledPairs.insert("\(status) \(state)")
            }
            let got = run(event, on: engine)
            let want = run(event, on: model)
            #expect(got == want, context)
            if got != want { return }
        }
        let report = try engine.check()
        #expect(report.problems.isEmpty, "seed \(seed): \(report.problems)")
        #expect(report.liveReservations == model.payments.values.filter { $0.state == .authorized || $0.state == .confirmed }.count)
        #expect(model.payments.values.contains { $0.state == .declined }, "seed \(seed): the run declined nothing: too easy")
        #expect(model.payments.values.contains { $0.refundedFen > 0 }, "seed \(seed): the run refunded nothing")
        #expect(model.payments.values.filter { $0.state == .expired }.count > 10, "seed \(seed): few reservations expired")
        #expect(expiredBehind > 0, "seed \(seed): no backlog ever outlasted a transaction's bound")
        #expect(reconciledPairs.count >= 12, "seed \(seed): reconciliation met few pairs of status and state: \(reconciledPairs.sorted())")
    }

    /// The same simulation through group commit in journal mode, with checkpoints every few
    /// operations, and each `reopen` a crash: the writer stops without its checkpoint, the
    /// store is reopened and brought up to date from the journal, and every answer given before
    /// must still stand. Card limits are set between two committers (the committer owns the
    /// engine while it runs).
    @Test(arguments: seeds)
    func journalModeMatchesModelThroughCrashes(seed: UInt64) throws {
        let journaling = GroupCommitter.Options(journal: .init(checkpointOperations: 7, checkpointMilliseconds: 50))
        try matchesModelThroughCrashes(seed: seed, journaling) { dir in try JournalFile(directory: dir).entries().entries.isEmpty == false }
    }

    /// The same through write-behind (decision 0019): applies every few operations, a ring of
    /// two files of 8 KiB (so that it turns many times), and each `reopen` a crash: the apply
    /// thread stops where it is, and the store is brought up to date from the ring when it is
    /// reopened. Crashes land before, during and after applies and ring turns.
    @Test(arguments: seeds)
    func writeBehindMatchesModelThroughCrashes(seed: UInt64) throws {
        let options = GroupCommitter.Options(writeBehind: .init(applyMilliseconds: 20, applyOperations: 9, overlayBytesMax: 1 << 20,
                                                                journalFileBytes: 8192))
        try matchesModelThroughCrashes(seed: seed, options) { dir in
            // Entries past what the store holds: the store's journal-lsn, read alone.
            let store = try Store.open(dir, .init(mapSizeBytes: 64 << 20, readOnly: true))
            let applied = UInt64(try store.metaInteger(try store.beginRead(), .journalLSN) ?? 0)
            let ring = try JournalRing(directory: dir, readOnly: true)
            return try ring.files.contains { try $0.entries().entries.contains { $0.lsn > applied } }
        }
    }

    /// A group-commit mode through crashes; `pending(dir)` says whether a crash left answered
    /// entries that the store did not yet hold.
    func matchesModelThroughCrashes(seed: UInt64, _ journaling: GroupCommitter.Options,
                                    pending: (String) throws -> Bool) throws {
        let dir = try Fixture.directory("sim-journal")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let clock = Clock()
        var sim = Simulator(seed: seed)
        clock.now.withLock { $0 = sim.now }
        var engine: Engine! = try Self.engine(dir, clock, rules: [Self.rules])
        var committer: GroupCommitter! = try GroupCommitter(engine: engine, options: journaling)
        let model = Model(rules: engine.ruleSet, version: engine.ruleSetVersion, expiriesPerTransaction: Self.expiriesPerTransaction)
        var recovered = 0
        for step in 0..<1200 {
            let event = sim.next(model: model)
            Self.tick(clock, model, sim)
            let context = Comment(rawValue: "seed \(seed) step \(step): \(event)")
            switch event {
            case .reopen:
                committer.crashForTesting()
                committer = nil
                engine = nil  // closed first: a process must not hold a store open twice
                if try pending(dir) { recovered += 1 }
                engine = try Self.engine(dir, clock)  // brought up to date from the journal here; expires what is due
                model.open()
                let report = try engine.check()
                #expect(report.problems.isEmpty, context)
                #expect(report.liveReservations == model.payments.values.filter { $0.state == .authorized || $0.state == .confirmed }.count,
                        "reopened without what the journal held: \(context)")
                committer = try GroupCommitter(engine: engine, options: journaling)
                continue
            case .setCardLimits, .clearCardLimits:
                committer.shutdown()
                _ = run(event, on: engine)
                _ = run(event, on: model)
                committer = try GroupCommitter(engine: engine, options: journaling)
                continue
            case .authorize(_, let pay):
                try compareUsageAfterCheckpoint(&committer, engine, journaling, model, pay, context)
            default:
                break
            }
            let got = run(event, on: committer)
            let want = run(event, on: model)
            #expect(got == want, context)
            if got != want { return }
        }
        committer.shutdown()
        #expect(recovered > 0, "seed \(seed): no crash left anything in the journal to recover")
        #expect(model.payments.values.filter { $0.state == .expired }.count > 10, "seed \(seed): few reservations expired")
        let report = try engine.check()
        #expect(report.problems.isEmpty, "seed \(seed): \(report.problems)")
        #expect(report.liveReservations == model.payments.values.filter { $0.state == .authorized || $0.state == .confirmed }.count)
    }

    /// Snapshot reads see the last checkpoint in journal mode: now and then, checkpoint (a
    /// committer shut down and started again) and compare the windows with the model.
    func compareUsageAfterCheckpoint(_ committer: inout GroupCommitter!, _ engine: Engine, _ options: GroupCommitter.Options,
                                     _ model: Model, _ pay: Model.Pay, _ context: Comment) throws {
        guard pay.amountFen % 5 == 0 else { return }
        committer.shutdown()
        try compareUsage(engine, model, pay, context)
        committer = try GroupCommitter(engine: engine, options: options)
    }

    /// Every limit that applies to `pay`: the engine's counter cells and the model's scan agree.
    func compareUsage(_ engine: Engine, _ model: Model, _ pay: Model.Pay, _ context: Comment) throws {
        let explanation = try engine.explain(Simulator.request("probe", pay))
        let expected = model.checks(for: pay)
        #expect(explanation.lines.map(\.check.limitID) == expected.map(\.id), context)
        for (line, want) in zip(explanation.lines, expected) {
            #expect(line.used == want.used, "\(line.check.limitID): \(context)")
        }
    }

    func run(_ event: Simulator.Event, on engine: some PaymentLifecycle) -> Model.Outcome {
        do {
            switch event {
            case .authorize(let id, let pay):
                let r = try engine.authorize(Simulator.request(id, pay))
                return .decision(r.decision, replayed: r.replayed)
            case .confirm(let id):
                try engine.confirm(try PaymentID(id))
                return .ok
            case .release(let id):
                try engine.release(try PaymentID(id))
                return .ok
            case .refund(let id, let original, let amount, let time):
                let r = try engine.refund(RefundRequest(id: try PaymentID(id), original: try PaymentID(original),
                                                        amount: Amount(fen: amount), time: Timestamp(unixSeconds: time)))
                return .refund(total: r.refundedTotalFen, remaining: r.remainingFen, replayed: r.replayed)
            case .setCardLimits(let pan, let institution, let limits):
                guard let engine = engine as? Engine else { preconditionFailure("card limits are set on the engine") }
                try engine.setCardLimits(try CardNumber(pan), institution: try institution.map { try Institution($0) }, limits, by: "sim")
                return .ok
            case .clearCardLimits(let pan, let institution):
                guard let engine = engine as? Engine else { preconditionFailure("card limits are set on the engine") }
                try engine.clearCardLimits(try CardNumber(pan), institution: try institution.map { try Institution($0) }, by: "sim")
                return .ok
            case .reconcile(let id, let status, let amount, let institution, let unseen, let time):
                let line = ReconciliationLine(
                    id: try PaymentID(id), batch: try ReconciliationBatch("B" + Timestamp(unixSeconds: time).chinaISO8601.prefix(10).replacingOccurrences(of: "-", with: "") + "0001"),
                    status: status, amount: Amount(fen: amount), time: Timestamp(unixSeconds: unseen?.time ?? time),
                    institution: try Institution(institution),
                    unseen: try unseen.map { .init(card: try CardNumber($0.pan), business: $0.business, accountClass: $0.accountClass, channel: $0.channel) })
                let r = try engine.reconcile(line)
                return .reconciled(r.correction.rawValue, r.state.name, r.amountFen, r.amountCorrectedFromFen, r.overLimit?.limitID)
            case .reopen:
                return .ok
            }
        } catch let error as HeadroomError {
            return .error(error.code)
        } catch {
            return .error(.invalidInput)
        }
    }

    func run(_ event: Simulator.Event, on model: Model) -> Model.Outcome {
        switch event {
        case .authorize(let id, let pay): return model.authorize(id, pay)
        case .confirm(let id): return model.confirm(id)
        case .release(let id): return model.release(id)
        case .refund(let id, let original, let amount, let time): return model.refund(id, original: original, amountFen: amount, time: time)
        case .setCardLimits(let pan, let institution, let limits):
            model.setCardLimits(pan: pan, institution: institution, limits)
            return .ok
        case .clearCardLimits(let pan, let institution):
            model.clearCardLimits(pan: pan, institution: institution)
            return .ok
        case .reconcile(let id, let status, let amount, let institution, let unseen, _):
            return model.reconcile(id, status: status, amountFen: amount, institution: institution, unseen: unseen)
        case .reopen: return .ok
        }
    }
}

/// Generates a seeded stream of events over a few cards and institutions, with time moving
/// forward in steps, across midnights and month ends, and sometimes back a little.
struct Simulator {
    enum Event: CustomStringConvertible {
        case authorize(String, Model.Pay)
        case confirm(String)
        case release(String)
        case refund(String, original: String, amountFen: Int64, time: Int64)
        case setCardLimits(String, String?, CardLimits)
        case clearCardLimits(String, String?)
        /// id, status, amount, institution, the payment when the line carries it, the time.
        case reconcile(String, ReconciliationStatus, Int64, String, Model.Pay?, Int64)
        case reopen

        var description: String {
            switch self {
            case .authorize(let id, let p): "authorize \(id) \(Amount.plain(p.amountFen)) \(p.business) \(p.institution) class \(p.accountClass) at \(Timestamp(unixSeconds: p.time).chinaISO8601)"
            case .confirm(let id): "confirm \(id)"
            case .release(let id): "release \(id)"
            case .refund(let id, let o, let a, _): "refund \(id) of \(o) \(Amount.plain(a))"
            case .setCardLimits(_, let i, let l): "card limits \(i ?? "all") \(l)"
            case .clearCardLimits(_, let i): "clear card limits \(i ?? "all")"
            case .reconcile(let id, let status, let amount, let i, let unseen, _): "reconcile \(id) \(status) \(Amount.plain(amount)) at \(i)\(unseen == nil ? "" : " with its payment")"
            case .reopen: "reopen"
            }
        }
    }

    var rng: SplitMix64
    var time: Int64 = 1_769_774_400  // 2026-01-30T20:00:00+08:00: a month end two days ahead
    /// The engine's clock: the latest time sent (payments may state a time a little back).
    var now: Int64 = 1_769_774_400
    var issued: [String] = []
    var counter = 0
    let pans = (1...4).map { Fixture.pan($0 * 7919) }
    let institutions = ["Z2007933000010", "Z1", "Z2"]

    init(seed: UInt64) {
        rng = SplitMix64(seed: seed)
    }

    static func request(_ id: String, _ p: Model.Pay) throws -> PaymentRequest {
        PaymentRequest(id: try PaymentID(id), time: Timestamp(unixSeconds: p.time), card: try CardNumber(p.pan),
                       institution: try Institution(p.institution), business: p.business, amount: Amount(fen: p.amountFen),
                       accountClass: p.accountClass, channel: p.channel)
    }

    mutating func pick<T>(_ items: [T]) -> T { items[Int(rng.next() % UInt64(items.count))] }
    mutating func chance(_ percent: UInt64) -> Bool { rng.next() % 100 < percent }

    mutating func advanceTime() {
        switch rng.next() % 100 {
        case 0..<3: time += 86_400  // a day later
        case 3..<8: time -= Int64(rng.next() % 7200)  // a little back: out of order
        default: time += Int64(rng.next() % 2400)
        }
        now = max(now, time)
    }

    mutating func newPayment() -> Model.Pay {
        let business: Business = chance(4) ? .payout : chance(1) ? .refund : pick([.agreement, .agreement, .authentication, .gateway, .entrusted])
        return Model.Pay(
            time: time, pan: pick(pans), institution: pick(institutions), business: business,
            amountFen: Int64(100 + rng.next() % 70_000), accountClass: pick([.classI, .classI, .classII, .classIII]),
            channel: chance(30) ? nil : pick([.app, .pc, .h5]))
    }

    /// A reconciliation line: of a payment on record (its amount or another, now and then
    /// another institution, the same line again or a contradicting one), of a refund, or of a
    /// payment the bank never saw (with or without what counting it needs).
    mutating func reconcile(model: Model) -> Event {
        let status = pick(ReconciliationStatus.allCases)
        if chance(30) {
            counter += 1
            var pay = newPayment()
            if pay.business == .refund { pay.business = .agreement }
            return .reconcile("U\(counter)", status, pay.amountFen, pay.institution, chance(80) ? pay : nil, time)
        }
        if chance(5), let refund = model.refunds.keys.sorted().first { return .reconcile(refund, status, 100, pick(institutions), nil, time) }
        // Now and then a refunded payment: what a failure gives back of it depends on its refunds.
        let refunded = model.payments.filter { $0.value.refundedFen > 0 && $0.value.reconciled == nil }.keys.sorted()
        let id = chance(25) && !refunded.isEmpty ? pick(refunded) : pick(issued)
        guard let r = model.payments[id] else { return .reconcile(id, status, 100, pick(institutions), nil, time) }
        if let earlier = r.reconciled, chance(50) { return .reconcile(id, earlier.status, earlier.amountFen, r.pay.institution, nil, time) }
        let amount = chance(80) ? r.pay.amountFen : max(1, r.pay.amountFen + Int64(rng.next() % 10_000) - 5_000)
        return .reconcile(id, status, amount, chance(5) ? pick(institutions) : r.pay.institution, nil, time)
    }

    mutating func next(model: Model) -> Event {
        advanceTime()
        let roll = rng.next() % 100
        if roll >= 42 && roll < 50 && !issued.isEmpty { return reconcile(model: model) }
        if roll < 50 || issued.isEmpty {
            counter += 1
            let id = "P\(counter)"
            issued.append(id)
            return .authorize(id, newPayment())
        }
        let known = pick(issued)
        switch roll {
        case 50..<55:
            // A retry (not of a record reconciliation made without the payment: there is none to send).
            if let r = model.payments[known], !r.original.pan.isEmpty { return .authorize(known, r.original) }
            return .confirm(known)
        case 55..<57:
            var p = newPayment()
            p.amountFen += 1
            return .authorize(known, p)  // same id, other content
        case 57..<72: return .confirm(known)
        case 72..<81: return .release(known)
        case 81..<91:
            let original = model.payments[known]
            let amount = original.map { max(1, $0.pay.amountFen / Int64(1 + rng.next() % 3)) } ?? 100
            counter += 1
            let id = chance(10) && !model.refunds.isEmpty ? pick(Array(model.refunds.keys)) : "R\(counter)"
            if let r = model.refunds[id], chance(50) { return .refund(id, original: r.original, amountFen: r.amountFen, time: r.time) }
            return .refund(id, original: known, amountFen: amount, time: time)
        case 91..<94:
            let institution: String? = chance(50) ? nil : pick(institutions)
            let limits = CardLimits(
                singleAmountFenMax: chance(50) ? Int64(10_000 + rng.next() % 30_000) : nil,
                dailyAmountFenMax: chance(50) ? Int64(20_000 + rng.next() % 80_000) : nil,
                monthlyAmountFenMax: chance(30) ? Int64(100_000 + rng.next() % 400_000) : nil,
                dailyCountMax: chance(40) ? Int64(1 + rng.next() % 4) : nil)
            return limits.isEmpty ? .reopen : .setCardLimits(pick(pans), institution, limits)
        case 94..<95: return .clearCardLimits(pick(pans), chance(50) ? nil : pick(institutions))
        case 95..<97: return .reopen
        default: return chance(50) ? .confirm("X\(counter)") : .release(pick(Array(model.refunds.keys) + ["Y"]))
        }
    }
}
