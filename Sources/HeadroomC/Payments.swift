// The C ABI's payment calls: authorize, confirm, release, refund, explain.

import CHeadroom
import Headroom

@c(headroom_authorize)
public func headroomAuthorize(_ engine: OpaquePointer?, _ payment: UnsafePointer<headroom_payment>?,
                              _ decision: UnsafeMutablePointer<headroom_decision>?, _ error: UnsafeMutablePointer<headroom_error>?) -> Int32 {
    guard let open = OpenEngine.from(engine) else { return fail(HEADROOM_EARGUMENT, "engine: NULL", error) }
    guard let payment else { return fail(HEADROOM_EARGUMENT, "payment: NULL", error) }
    guard let decision else { return fail(HEADROOM_EARGUMENT, "decision: NULL: give a headroom_decision to write the answer into", error) }
    return answering(error) { () throws(HeadroomError) in
        let request = try paymentRequest(payment.pointee)
        guard case .authorized(let result) = try open.committer.perform(.authorize(request)) else {
            preconditionFailure("an authorization answered otherwise")
        }
        decision.pointee = cDecision(result.decision, replayed: result.replayed)
    }
}

@c(headroom_explain)
public func headroomExplain(_ engine: OpaquePointer?, _ payment: UnsafePointer<headroom_payment>?,
                            _ decision: UnsafeMutablePointer<headroom_decision>?, _ error: UnsafeMutablePointer<headroom_error>?) -> Int32 {
    guard let open = OpenEngine.from(engine) else { return fail(HEADROOM_EARGUMENT, "engine: NULL", error) }
    guard let payment else { return fail(HEADROOM_EARGUMENT, "payment: NULL", error) }
    guard let decision else { return fail(HEADROOM_EARGUMENT, "decision: NULL: give a headroom_decision to write the answer into", error) }
    return answering(error) { () throws(HeadroomError) in
        let explanation = try open.committer.explain(try paymentRequest(payment.pointee))
        decision.pointee = cDecision(explanation.decision, replayed: false)
    }
}

@c(headroom_confirm)
public func headroomConfirm(_ engine: OpaquePointer?, _ id: UnsafePointer<CChar>?, _ error: UnsafeMutablePointer<headroom_error>?) -> Int32 {
    guard let open = OpenEngine.from(engine) else { return fail(HEADROOM_EARGUMENT, "engine: NULL", error) }
    return answering(error) { () throws(HeadroomError) in
        _ = try open.committer.perform(.confirm(try paymentID(id, field: "id")))
    }
}

@c(headroom_release)
public func headroomRelease(_ engine: OpaquePointer?, _ id: UnsafePointer<CChar>?, _ error: UnsafeMutablePointer<headroom_error>?) -> Int32 {
    guard let open = OpenEngine.from(engine) else { return fail(HEADROOM_EARGUMENT, "engine: NULL", error) }
    return answering(error) { () throws(HeadroomError) in
        _ = try open.committer.perform(.release(try paymentID(id, field: "id")))
    }
}

@c(headroom_refund)
public func headroomRefund(_ engine: OpaquePointer?, _ refund: UnsafePointer<headroom_refund_request>?,
                           _ result: UnsafeMutablePointer<headroom_refund_result>?, _ error: UnsafeMutablePointer<headroom_error>?) -> Int32 {
    guard let open = OpenEngine.from(engine) else { return fail(HEADROOM_EARGUMENT, "engine: NULL", error) }
    guard let refund else { return fail(HEADROOM_EARGUMENT, "refund: NULL", error) }
    guard let result else { return fail(HEADROOM_EARGUMENT, "result: NULL: give a headroom_refund_result to write the answer into", error) }
    return answering(error) { () throws(HeadroomError) in
        let r = refund.pointee
        let request = RefundRequest(id: try paymentID(r.id, field: "refund.id"), original: try paymentID(r.original, field: "refund.original"),
                                    amount: try amount(r.amount_fen, field: "refund.amount_fen"), time: Timestamp(unixSeconds: r.time))
        guard case .refunded(let answer) = try open.committer.perform(.refund(request)) else {
            preconditionFailure("a refund answered otherwise")
        }
        result.pointee = headroom_refund_result(refunded_total_fen: answer.refundedTotalFen, remaining_fen: answer.remainingFen,
                                                replayed: answer.replayed ? 1 : 0)
    }
}

// MARK: From C to the engine's types, field by field

func paymentRequest(_ p: headroom_payment) throws(HeadroomError) -> PaymentRequest {
    let id = try paymentID(p.id, field: "payment.id")
    guard let cardText = p.card else { throw HeadroomError(.invalidInput, "\(id): payment.card: NULL") }
    let card: CardNumber
    do {
        card = try CardNumber(String(cString: cardText))
    } catch {
        throw HeadroomError(.invalidInput, "\(id): payment.card: \(error)")
    }
    guard let institutionText = p.institution else { throw HeadroomError(.invalidInput, "\(id): payment.institution: NULL") }
    let institution: Institution
    do {
        institution = try Institution(String(cString: institutionText))
    } catch {
        throw HeadroomError(.invalidInput, "\(id): payment.institution: \(error)")
    }
    guard let business = UInt8(exactly: p.business).flatMap(Business.init(rawValue:)) else {
        throw HeadroomError(.invalidInput, "\(id): payment.business: \(p.business) is not a HEADROOM_ business type")
    }
    guard let accountClass = UInt8(exactly: p.account_class).flatMap(AccountClass.init(rawValue:)) else {
        throw HeadroomError(.invalidInput, "\(id): payment.account_class: \(p.account_class) is not HEADROOM_CLASS_I, _II or _III")
    }
    let channel = try optional(p.channel, Channel.init(rawValue:), "\(id): payment.channel", "HEADROOM_CHANNEL_APP, _PC, _H5")
    let accountType = try optional(p.account_type, AccountType.init(rawValue:), "\(id): payment.account_type",
                                   "HEADROOM_PERSONAL, HEADROOM_CORPORATE")
    return PaymentRequest(id: id, time: Timestamp(unixSeconds: p.time), card: card, institution: institution,
                          business: business, amount: try amount(p.amount_fen, field: "\(id): payment.amount_fen"),
                          accountClass: accountClass, channel: channel, accountType: accountType)
}

private func optional<T>(_ value: Int32, _ make: (UInt8) -> T?, _ field: String, _ allowed: String) throws(HeadroomError) -> T? {
    if value == HEADROOM_NOT_GIVEN { return nil }
    guard let made = UInt8(exactly: value).flatMap(make) else {
        throw HeadroomError(.invalidInput, "\(field): \(value) is not one of \(allowed) or HEADROOM_NOT_GIVEN")
    }
    return made
}

func paymentID(_ text: UnsafePointer<CChar>?, field: String) throws(HeadroomError) -> PaymentID {
    guard let text else { throw HeadroomError(.invalidInput, "\(field): NULL") }
    do {
        return try PaymentID(String(cString: text))
    } catch {
        throw HeadroomError(.invalidInput, "\(field): \(error)")
    }
}

func amount(_ fen: Int64, field: String) throws(HeadroomError) -> Amount {
    guard fen > 0, fen <= Amount.fenMax else {
        throw HeadroomError(.invalidInput, "\(field): \(fen) fen: above zero and at most \(Amount.fenMax)")
    }
    return Amount(fen: fen)
}

// MARK: From the engine's answer to C

func cDecision(_ d: Decision, replayed: Bool) -> headroom_decision {
    var c = headroom_decision()
    c.outcome = Int32(d.outcome.rawValue)
    c.reason = Int32(d.code.rawValue)
    c.tier = Int32(d.decidedBy?.tier?.rawValue ?? 0)
    c.rule_set = d.ruleSetVersion
    c.replayed = replayed ? 1 : 0
    withUnsafeMutableBytes(of: &c.rule) { copyCString(d.decidedBy?.ruleID ?? "", into: $0) }
    withUnsafeMutableBytes(of: &c.headroom) { raw in
        let tiers = raw.bindMemory(to: headroom_tier.self)
        for tier in Tier.allCases {
            guard let h = d.headroom[tier] else { continue }
            tiers[Int(tier.rawValue) - 1] = headroom_tier(
                applies: 1, amount_limited: h.amountFen == nil ? 0 : 1, amount_fen: h.amountFen ?? 0,
                count_limited: h.count == nil ? 0 : 1, count: h.count ?? 0)
        }
    }
    return c
}
