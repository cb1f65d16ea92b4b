import Foundation
@testable import Headroom
import HeadroomCore

/// A plain in-memory model of the engine's semantics, written apart from it: no counters
/// (usage is recomputed by scanning every payment), windows from Foundation's calendar in
/// UTC+8, cards compared by number. The simulation compares the engine with it.
final class Model {
    struct Pay: Equatable {
        var time: Int64
        var pan: String
        var institution: String
        var business: Business
        var amountFen: Int64
        var accountClass: AccountClass
        var channel: Channel?
    }

    enum State { case declined, authorized, confirmed, released, expired, reversed }

    final class Record {
        var pay: Pay
        /// What the payment first said (a retry says it again); `pay` follows reconciliation.
        let original: Pay
        /// The reconciliation line applied: status and amount.
        var reconciled: (status: ReconciliationStatus, amountFen: Int64)?
        var state: State
        var refundedFen: Int64 = 0
        /// When an authorized payment's hold ends (engine clock); `nil`: never.
        var heldUntil: Int64?
        let decision: Decision
        let day: Int, month: Int, year: Int, minute: Int64, hour: Int64
        init(pay: Pay, state: State, decision: Decision) {
            self.pay = pay
            self.original = pay
            self.state = state
            self.decision = decision
            let c = Model.calendar.dateComponents([.year, .month, .day], from: Date(timeIntervalSince1970: Double(pay.time)))
            day = c.year! * 10_000 + c.month! * 100 + c.day!
            month = c.year! * 100 + c.month!
            year = c.year!
            minute = (pay.time + 28_800) / 60
            hour = (pay.time + 28_800) / 3600
        }
    }

    struct RefundRecord: Equatable {
        let original: String
        let amountFen: Int64
        let time: Int64
        let totalAfter: Int64
    }

    enum Outcome: Equatable {
        case decision(Decision, replayed: Bool)
        case refund(total: Int64, remaining: Int64, replayed: Bool)
        /// correction, state, amount, amount corrected from, the limit gone past.
        case reconciled(String, String, Int64, Int64?, String?)
        case ok
        case error(HeadroomError.Code)
    }

    static let calendar: Calendar = {
        var c = Calendar(identifier: .gregorian)
        c.timeZone = TimeZone(secondsFromGMT: 8 * 3600)!
        return c
    }()

    let rules: RuleSet
    let version: UInt32
    var payments: [String: Record] = [:]
    var refunds: [String: RefundRecord] = [:]
    var cardLimits: [String: CardLimits] = [:]  // "pan" or "pan@institution"

    /// The engine's clock, as every operation reads it.
    var now: Int64 = 0
    /// How many due reservations one write transaction expires.
    let expiriesPerTransaction: Int

    init(rules: RuleSet, version: UInt32, expiriesPerTransaction: Int = .max) {
        self.rules = rules
        self.version = version
        self.expiriesPerTransaction = expiriesPerTransaction
    }

    // MARK: Expiry

    /// What every write transaction does first: the `limit` earliest due reservations (by due
    /// time, then id) expire.
    func expireDue(limit: Int) {
        let due = payments.filter { $0.value.state == .authorized && ($0.value.heldUntil ?? .max) <= now }
            .sorted { ($0.value.heldUntil!, $0.key) < ($1.value.heldUntil!, $1.key) }
        for (_, r) in due.prefix(limit) {
            r.state = .expired
            r.heldUntil = nil
        }
    }

    /// Before an operation: its transaction's expiries (they stand even when it is refused).
    func beginOperation() { expireDue(limit: expiriesPerTransaction) }

    /// An engine opening expires everything due.
    func open() { expireDue(limit: .max) }

    // MARK: Operations

    func authorize(_ id: String, _ pay: Pay) -> Outcome {
        beginOperation()
        if pay.business == .refund { return .error(.invalidInput) }
        if refunds[id] != nil { return .error(.idConflict) }
        if let r = payments[id] {
            return r.original == pay ? .decision(r.decision, replayed: true) : .error(.idConflict)
        }
        let d = decision(for: pay)
        let r = Record(pay: pay, state: d.isApproved ? .authorized : .declined, decision: d)
        if d.isApproved, let hold = rules.holds?.seconds(for: pay.business, accountType: nil) { r.heldUntil = now + hold }
        payments[id] = r
        return .decision(d, replayed: false)
    }

    func confirm(_ id: String) -> Outcome { transition(id, to: .confirmed) }
    func release(_ id: String) -> Outcome { transition(id, to: .released) }

    private func transition(_ id: String, to state: State) -> Outcome {
        beginOperation()
        if refunds[id] != nil { return .error(.notAPayment) }
        guard let r = payments[id] else { return .error(.unknownPayment) }
        switch r.state {
        case .declined: return .error(.notApproved)
        case .confirmed: return .error(.alreadyConfirmed)
        case .released: return .error(.alreadyReleased)
        case .expired: return .error(.expired)
        case .reversed: return .error(.reversed)
        case .authorized:
            // Past its hold, whether or not expiry has reached it yet.
            if let until = r.heldUntil, until <= now { return .error(.expired) }
            r.state = state
            r.heldUntil = nil
            return .ok
        }
    }

    func refund(_ id: String, original: String, amountFen: Int64, time: Int64) -> Outcome {
        beginOperation()
        if payments[id] != nil { return .error(.idConflict) }
        if let r = refunds[id] {
            guard r.original == original, r.amountFen == amountFen, r.time == time else { return .error(.idConflict) }
            return .refund(total: r.totalAfter, remaining: payments[original]!.pay.amountFen - r.totalAfter, replayed: true)
        }
        if refunds[original] != nil { return .error(.notAPayment) }
        guard let o = payments[original] else { return .error(.unknownPayment) }
        switch o.state {
        case .declined: return .error(.notApproved)
        case .released: return .error(.alreadyReleased)
        case .expired: return .error(.expired)
        case .reversed: return .error(.reversed)
        case .authorized: return .error(.notConfirmed)
        case .confirmed: break
        }
        guard amountFen <= o.pay.amountFen - o.refundedFen else { return .error(.refundExceedsRemaining) }
        o.refundedFen += amountFen
        refunds[id] = RefundRecord(original: original, amountFen: amountFen, time: time, totalAfter: o.refundedFen)
        return .refund(total: o.refundedFen, remaining: o.pay.amountFen - o.refundedFen, replayed: false)
    }

    /// NetsUnion's word wins, once: see ``ReconcileResult/Correction``.
    func reconcile(_ id: String, status: ReconciliationStatus, amountFen: Int64, institution: String, unseen: Pay?) -> Outcome {
        beginOperation()
        if refunds[id] != nil { return .error(.notAPayment) }
        guard let r = payments[id] else {
            if status.counts {
                guard var pay = unseen, pay.business != .refund else { return .error(.invalidInput) }
                pay.amountFen = amountFen
                let over = decision(for: pay).failed?.limitID
                let r = Record(pay: pay, state: .confirmed, decision: Decision(outcome: .approve, code: .approved, decidedBy: nil, headroom: [:], ruleSetVersion: 0))
                r.reconciled = (status, amountFen)
                payments[id] = r
                return .reconciled("unknownToBank", "confirmed", amountFen, nil, over)
            }
            var pay = unseen ?? Pay(time: 0, pan: "", institution: institution, business: .agreement, amountFen: amountFen, accountClass: .classI, channel: nil)
            pay.amountFen = amountFen
            let r = Record(pay: pay, state: .reversed, decision: Decision(outcome: .approve, code: .approved, decidedBy: nil, headroom: [:], ruleSetVersion: 0))
            r.reconciled = (status, amountFen)
            payments[id] = r
            return .reconciled("unknownToBank", "reversed", amountFen, nil, nil)
        }
        if let earlier = r.reconciled {
            guard earlier.status == status && earlier.amountFen == amountFen else { return .error(.reconcileConflict) }
            return .reconciled("alreadyReconciled", name(r.state), r.pay.amountFen, nil, nil)
        }
        if r.pay.institution != institution { return .error(.reconcileConflict) }
        let bank = r.pay.amountFen
        var correction = "unchanged"
        var over: String?
        if status.counts {
            switch r.state {
            case .authorized, .confirmed:
                if amountFen < r.refundedFen { return .error(.reconcileConflict) }
                correction = r.state == .authorized ? "confirmed" : "unchanged"
            case .declined, .released, .expired:
                var pay = r.pay
                pay.amountFen = amountFen
                over = decision(for: pay).failed?.limitID
                correction = "recounted"
            case .reversed: return .error(.corrupted)
            }
            r.state = .confirmed
            r.pay.amountFen = amountFen
        } else {
            switch r.state {
            case .authorized, .confirmed:
                r.state = .reversed
                correction = "givenBack"
            case .declined, .released, .expired: break
            case .reversed: return .error(.corrupted)
            }
        }
        r.heldUntil = nil
        r.reconciled = (status, amountFen)
        return .reconciled(correction, name(r.state), r.pay.amountFen, status.counts && amountFen != bank ? bank : nil, over)
    }

    func name(_ state: State) -> String {
        switch state {
        case .declined: "declined"
        case .authorized: "authorized"
        case .confirmed: "confirmed"
        case .released: "released"
        case .expired: "expired"
        case .reversed: "reversed"
        }
    }

    func setCardLimits(pan: String, institution: String?, _ limits: CardLimits) {
        beginOperation()
        let key = institution.map { "\(pan)@\($0)" } ?? pan
        cardLimits[key] = (cardLimits[key] ?? CardLimits()).merged(with: limits)
    }

    func clearCardLimits(pan: String, institution: String?) {
        beginOperation()
        cardLimits[institution.map { "\(pan)@\($0)" } ?? pan] = nil
    }

    // MARK: Evaluation

    struct ModelCheck {
        let id: String
        let tier: Tier
        let window: Window
        let caps: Caps
        let used: CounterValue
    }

    func matches(_ f: Filter, _ p: Pay) -> Bool {
        guard f.businesses.contains(p.business) else { return false }
        if let s = f.accountClasses, !s.contains(p.accountClass) { return false }
        if let s = f.channels { guard let c = p.channel, s.contains(c) else { return false } }
        if let s = f.institutions, !s.contains(where: { $0.code == p.institution }) { return false }
        return f.accountTypes == nil  // Pay carries no account type, so a filter naming some cannot match
    }

    /// Everything that applies to `p`, in the documented order, with each window's use.
    func checks(for p: Pay) -> [ModelCheck] {
        var out: [ModelCheck] = []
        for limit in rules.limits where matches(limit.filter, p) {
            var caps = limit.caps
            if let o = limit.institutionCaps.first(where: { $0.key.code == p.institution })?.value {
                caps = Caps(amountFenMax: o.amountFenMax ?? caps.amountFenMax, countMax: o.countMax ?? caps.countMax)
            }
            if caps.amountFenMax == nil && caps.countMax == nil { continue }
            let used = usage(limit.grouping, limit.window, limit.filter, limit.refundRestores, p)
            out.append(ModelCheck(id: limit.id, tier: limit.tier, window: limit.window, caps: caps, used: used))
        }
        guard matches(rules.cardTier.filter, p) else { return out }
        for (key, grouping, prefix) in [(p.pan, Grouping.card, "card"), ("\(p.pan)@\(p.institution)", .cardInstitution, "card@\(p.institution)")] {
            guard let cl = cardLimits[key] else { continue }
            var entries: [(Window, String, Caps)] = []
            if let v = cl.singleAmountFenMax { entries.append((.single, "single", Caps(amountFenMax: v))) }
            if cl.dailyAmountFenMax != nil || cl.dailyCountMax != nil {
                entries.append((.day, "daily", Caps(amountFenMax: cl.dailyAmountFenMax, countMax: cl.dailyCountMax)))
            }
            if let v = cl.monthlyAmountFenMax { entries.append((.month, "monthly", Caps(amountFenMax: v))) }
            for (window, suffix, caps) in entries {
                let used = usage(grouping, window, rules.cardTier.filter, rules.cardTier.refundRestores, p)
                out.append(ModelCheck(id: "\(prefix).\(suffix)", tier: .card, window: window, caps: caps, used: used))
            }
        }
        return out
    }

    func usage(_ g: Grouping, _ w: Window, _ f: Filter, _ restores: Bool, _ p: Pay) -> CounterValue {
        if w == .single { return .zero }
        let probe = Record(pay: p, state: .declined, decision: Decision(outcome: .decline, code: .approved, decidedBy: nil, headroom: [:], ruleSetVersion: 0))
        var total = CounterValue.zero
        for r in payments.values where r.state == .authorized || r.state == .confirmed {
            guard matches(f, r.pay) else { continue }
            if (g == .card || g == .cardInstitution) && r.pay.pan != p.pan { continue }
            if (g == .institution || g == .cardInstitution) && r.pay.institution != p.institution { continue }
            let inWindow: Bool
            switch w {
            case .day: inWindow = r.day == probe.day
            case .month: inWindow = r.month == probe.month
            case .year: inWindow = r.year == probe.year
            case .rollingMinutes(let n): inWindow = r.minute <= probe.minute && r.minute > probe.minute - Int64(n)
            case .rollingHours(let n): inWindow = r.hour <= probe.hour && r.hour > probe.hour - Int64(n)
            case .single: inWindow = false
            }
            guard inWindow else { continue }
            let full = r.refundedFen == r.pay.amountFen
            total.amountFen += r.pay.amountFen - (restores ? r.refundedFen : 0)
            total.count += restores && full ? 0 : 1
        }
        return total
    }

    func decision(for p: Pay) -> Decision {
        let list = checks(for: p)
        var failed: FailedLimit?
        outer: for c in list {
            if let max = c.caps.amountFenMax, c.used.amountFen + p.amountFen > max {
                failed = FailedLimit(limitID: c.id, tier: c.tier, window: c.window, measure: .amount, max: max, used: c.used.amountFen)
                break outer
            }
            if let max = c.caps.countMax, c.used.count + 1 > max {
                failed = FailedLimit(limitID: c.id, tier: c.tier, window: c.window, measure: .count, max: max, used: c.used.count)
                break outer
            }
        }
        let approved = failed == nil
        var headroom = TierHeadrooms()
        for c in list {
            var h = headroom[c.tier] ?? TierHeadroom()
            let usedAmount = c.used.amountFen + (approved ? p.amountFen : 0)
            let usedCount = c.used.count + (approved ? 1 : 0)
            if let max = c.caps.amountFenMax {
                let left = c.window == .single ? max : Swift.max(0, max - usedAmount)
                h.amountFen = Swift.min(h.amountFen ?? left, left)
            }
            if let max = c.caps.countMax {
                let left = Swift.max(0, max - usedCount)
                h.count = Swift.min(h.count ?? left, left)
            }
            headroom[c.tier] = h
        }
        guard let failed else {
            return Decision(outcome: .approve, code: .approved, decidedBy: nil, headroom: headroom, ruleSetVersion: version)
        }
        return Decision(outcome: .decline, code: .exceeds(failed.tier, failed.window, failed.measure), decidedBy: .cap(failed),
                        headroom: headroom, ruleSetVersion: version)
    }
}
