import Headroom

/// Writes one JSON object per line, keys in a fixed order, for decisions and errors.
public enum ResultEncoder {
    /// The line that answers `operation`.
    public static func answer(_ operation: EngineOperation, _ answer: Answer) -> String {
        switch answer {
        case .authorized(let result): authorize(operation.id!, result)
        case .confirmed: lifecycle(operation.id!, op: operation.name, code: "confirmed")
        case .released: lifecycle(operation.id!, op: operation.name, code: "released")
        case .refunded(let result): refund(result)
        case .cardLimitsSet(let limits): cardLimits(operation, code: "cardLimitsSet", limits)
        case .cardLimitsCleared(let removed): cardLimits(operation, code: removed ? "cardLimitsCleared" : "noCardLimits", nil)
        case .reconciled(let result): reconcile(result)
        case .verified(let replayed): lifecycle(operation.id!, op: operation.name, code: "verified", replayed: replayed)
        case .agreementSigned(let replayed), .agreementEnded(let replayed): agreement(operation, replayed: replayed)
        }
    }

    /// `{"id":null,"op":"sign-agreement","outcome":"approve","code":"agreementSigned","agreement_id":"A1"}`
    static func agreement(_ operation: EngineOperation, replayed: Bool) -> String {
        var o = JSONObject()
        o.raw("id", "null")
        o.string("op", operation.name)
        o.string("outcome", "approve")
        switch operation {
        case .signAgreement(let s):
            o.string("code", "agreementSigned")
            o.string("agreement_id", s.agreementID)
        case .endAgreement(let e):
            o.string("code", "agreementEnded")
            o.string("agreement_id", e.agreementID)
            o.string("by", e.by.name)
        default:
            preconditionFailure("not an agreement operation")
        }
        if replayed { o.raw("replayed", "true") }
        return o.text
    }

    /// `{"id":"N1","op":"reconcile","outcome":"approve","code":"reconciled","correction":"confirmed","state":"confirmed","amount":"12.00"}`,
    /// with `amount_corrected_from` when NetsUnion's amount differed, and code
    /// `overLimitByReconciliation` with the limit when counting it went past a cap.
    public static func reconcile(_ r: ReconcileResult) -> String {
        var o = JSONObject()
        o.string("id", r.id.text)
        o.string("op", "reconcile")
        o.string("outcome", "approve")
        o.string("code", r.overLimit == nil ? "reconciled" : "overLimitByReconciliation")
        o.string("correction", r.correction.rawValue)
        o.string("state", r.state.name)
        o.string("amount", Amount.plain(r.amountFen))
        if let from = r.amountCorrectedFromFen { o.string("amount_corrected_from", Amount.plain(from)) }
        if let f = r.overLimit {
            o.string("limit", f.limitID)
            o.string("tier", f.tier.name)
            o.string("reason", reason(f))
        }
        return o.text
    }

    /// `{"id":null,"op":"set-card-limits","outcome":"approve","code":"cardLimitsSet","card":"622202*********3446",...}`
    static func cardLimits(_ operation: EngineOperation, code: String, _ limits: CardLimits?) -> String {
        var o = JSONObject()
        o.raw("id", "null")
        o.string("op", operation.name)
        o.string("outcome", "approve")
        o.string("code", code)
        let target: (CardNumber, Institution?)?
        switch operation {
        case .setCardLimits(let change): target = (change.card, change.institution)
        case .clearCardLimits(let card, let institution, _): target = (card, institution)
        default: target = nil
        }
        if let (card, institution) = target {
            o.string("card", card.masked)
            if let institution { o.string("institution", institution.code) } else { o.raw("institution", "null") }
        }
        if let limits {
            let amount = { (fen: Int64?) in fen.map { quote(Amount.plain($0)) } ?? "null" }
            o.raw("single_amount", amount(limits.singleAmountFenMax))
            o.raw("daily_amount", amount(limits.dailyAmountFenMax))
            o.raw("daily_count", limits.dailyCountMax.map { "\($0)" } ?? "null")
            o.raw("monthly_amount", amount(limits.monthlyAmountFenMax))
        }
        return o.text
    }

    public static func authorize(_ id: PaymentID, _ result: AuthorizeResult) -> String {
        let d = result.decision
        var o = JSONObject()
        o.string("id", id.text)
        o.string("op", "authorize")
        o.string("outcome", d.outcome.description)
        o.string("code", d.code.name)
        switch d.decidedBy {
        case .cap(let f)?:
            o.string("limit", f.limitID)
            o.string("tier", f.tier.name)
            o.string("reason", reason(f))
        case .risk(let f)?:
            o.string("rule", f.ruleID)
            o.string("reason", reason(f))
        case nil:
            break
        }
        if let ends = result.challengeEnds { o.string("challenge_ends", Timestamp(unixSeconds: ends).chinaISO8601) }
        o.raw("headroom", headroom(d.headroom))
        o.number("rule_set", Int64(d.ruleSetVersion))
        if result.replayed { o.raw("replayed", "true") }
        return o.text
    }

    public static func lifecycle(_ id: PaymentID, op: String, code: String, replayed: Bool = false) -> String {
        var o = JSONObject()
        o.string("id", id.text)
        o.string("op", op)
        o.string("outcome", "approve")
        o.string("code", code)
        if replayed { o.raw("replayed", "true") }
        return o.text
    }

    public static func refund(_ r: RefundResult) -> String {
        var o = JSONObject()
        o.string("id", r.id.text)
        o.string("op", "refund")
        o.string("outcome", "approve")
        o.string("code", "refunded")
        o.string("original", r.original.text)
        o.string("amount", r.amount.plain)
        o.string("refunded_total", Amount.plain(r.refundedTotalFen))
        o.string("refundable", Amount.plain(r.remainingFen))
        if r.replayed { o.raw("replayed", "true") }
        return o.text
    }

    public static func error(line: Int, id: String?, op: String?, code: String, field: String?, message: String) -> String {
        var o = JSONObject()
        if let id { o.string("id", id) } else { o.raw("id", "null") }
        if let op { o.string("op", op) }
        o.string("outcome", "error")
        o.string("code", code)
        if let field { o.string("field", field) }
        o.string("message", message)
        o.number("line", Int64(line))
        return o.text
    }

    /// `bank daily amount cap 200,000.00: 199,000.00 used before this payment`
    public static func reason(_ f: FailedLimit) -> String {
        let value: (Int64) -> String = { f.measure == .amount ? Amount.grouped($0) : "\($0)" }
        let head = "\(f.tier.name) \(f.window.phrase) \(f.measure) cap \(value(f.max))"
        return f.window == .single ? head : "\(head): \(value(f.used)) used before this payment"
    }

    /// `on the list blocked-cards`, `the agreement was ended`, `velocity count cap 30 per 10
    /// minutes: 30 before this payment`, `new agreement amount cap 5,000.00: 4,000.00 before this payment`.
    public static func reason(_ f: RiskFinding) -> String {
        if let list = f.list { return "on the list \(list)" }
        guard let measure = f.measure else { return "the agreement was ended" }
        let value: (Int64) -> String = { measure == .amount ? Amount.grouped($0) : "\($0)" }
        let head = f.window.map { "velocity \(measure) cap \(value(f.max)) \($0.phrase)" } ?? "new agreement \(measure) cap \(value(f.max))"
        return "\(head): \(value(f.used)) before this payment"
    }

    static func headroom(_ byTier: TierHeadrooms) -> String {
        var o = JSONObject()
        for tier in Tier.allCases {
            guard let h = byTier[tier] else {
                o.raw(tier.name, "null")
                continue
            }
            var inner = JSONObject()
            if let a = h.amountFen { inner.string("amount", Amount.plain(a)) } else { inner.raw("amount", "null") }
            if let c = h.count { inner.number("count", c) } else { inner.raw("count", "null") }
            o.raw(tier.name, inner.text)
        }
        return o.text
    }
}

/// A JSON object built in order.
struct JSONObject {
    private var parts: [String] = []

    mutating func string(_ key: String, _ value: String) { parts.append("\(quote(key)):\(quote(value))") }
    mutating func number(_ key: String, _ value: Int64) { parts.append("\(quote(key)):\(value)") }
    mutating func raw(_ key: String, _ json: String) { parts.append("\(quote(key)):\(json)") }

    var text: String { "{" + parts.joined(separator: ",") + "}" }
}

/// A JSON string literal, escaped per RFC 8259.
func quote(_ s: String) -> String {
    var out = "\""
    for scalar in s.unicodeScalars {
        switch scalar {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        case _ where scalar.value < 0x20:
            let hex = String(scalar.value, radix: 16)
            out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
        default: out.unicodeScalars.append(scalar)
        }
    }
    return out + "\""
}
