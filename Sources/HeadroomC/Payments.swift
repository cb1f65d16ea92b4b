// The C ABI's payment calls: authorize, explain, confirm, release, refund, reconcile.

import CHeadroom
import Headroom

@c(headroom_authorize)
public func headroomAuthorize(_ engine: OpaquePointer?, _ payment: UnsafePointer<headroom_payment>?,
                              _ decision: UnsafeMutablePointer<headroom_decision>?, _ error: UnsafeMutablePointer<headroom_error>?) -> Int32 {
    calling(engine, payment, "payment", decision, "decision", error) { (open, payment) throws(HeadroomError) in
        guard case .authorized(let result) = try open.committer.perform(.authorize(try paymentRequest(payment))) else {
            preconditionFailure("an authorization answered otherwise")
        }
        return cDecision(result.decision, replayed: result.replayed)
    }
}

@c(headroom_explain)
public func headroomExplain(_ engine: OpaquePointer?, _ payment: UnsafePointer<headroom_payment>?,
                            _ decision: UnsafeMutablePointer<headroom_decision>?, _ error: UnsafeMutablePointer<headroom_error>?) -> Int32 {
    calling(engine, payment, "payment", decision, "decision", error) { (open, payment) throws(HeadroomError) in
        cDecision(try open.committer.explain(try paymentRequest(payment)).decision, replayed: false)
    }
}

/// What every call with a struct in and a struct out shares: the arguments checked (a NULL
/// named), `body`'s answer written into the caller's struct, a refusal into `error`.
private func calling<In, Out>(_ engine: OpaquePointer?, _ input: UnsafePointer<In>?, _ inputName: String,
                              _ output: UnsafeMutablePointer<Out>?, _ outputName: String, _ error: UnsafeMutablePointer<headroom_error>?,
                              _ body: (OpenEngine, In) throws(HeadroomError) -> Out) -> Int32 {
    guard let open = OpenEngine.from(engine) else { return fail(HEADROOM_EARGUMENT, "engine: NULL", error) }
    guard let input else { return fail(HEADROOM_EARGUMENT, "\(inputName): NULL", error) }
    guard let output else { return fail(HEADROOM_EARGUMENT, "\(outputName): NULL: give a \(Out.self) to write the answer into", error) }
    return answering(error) { () throws(HeadroomError) in
        output.pointee = try body(open, input.pointee)
    }
}

@c(headroom_confirm)
public func headroomConfirm(_ engine: OpaquePointer?, _ id: UnsafePointer<CChar>?, _ error: UnsafeMutablePointer<headroom_error>?) -> Int32 {
    settling(engine, id, error, EngineOperation.confirm)
}

@c(headroom_release)
public func headroomRelease(_ engine: OpaquePointer?, _ id: UnsafePointer<CChar>?, _ error: UnsafeMutablePointer<headroom_error>?) -> Int32 {
    settling(engine, id, error, EngineOperation.release)
}

@c(headroom_verify)
public func headroomVerify(_ engine: OpaquePointer?, _ id: UnsafePointer<CChar>?, _ error: UnsafeMutablePointer<headroom_error>?) -> Int32 {
    settling(engine, id, error, EngineOperation.verify)
}

/// Confirm, release and verify: an id in, a status out.
private func settling(_ engine: OpaquePointer?, _ id: UnsafePointer<CChar>?, _ error: UnsafeMutablePointer<headroom_error>?,
                      _ operation: (PaymentID) -> EngineOperation) -> Int32 {
    guard let open = OpenEngine.from(engine) else { return fail(HEADROOM_EARGUMENT, "engine: NULL", error) }
    return answering(error) { () throws(HeadroomError) in
        _ = try open.committer.perform(operation(try paymentID(id, field: "id")))
    }
}

@c(headroom_refund)
public func headroomRefund(_ engine: OpaquePointer?, _ refund: UnsafePointer<headroom_refund_request>?,
                           _ result: UnsafeMutablePointer<headroom_refund_result>?, _ error: UnsafeMutablePointer<headroom_error>?) -> Int32 {
    calling(engine, refund, "refund", result, "result", error) { (open, r) throws(HeadroomError) in
        let request = RefundRequest(id: try paymentID(r.id, field: "refund.id"), original: try paymentID(r.original, field: "refund.original"),
                                    amount: try amount(r.amount_fen, field: "refund.amount_fen"), time: Timestamp(unixSeconds: r.time))
        guard case .refunded(let answer) = try open.committer.perform(.refund(request)) else {
            preconditionFailure("a refund answered otherwise")
        }
        return headroom_refund_result(refunded_total_fen: answer.refundedTotalFen, remaining_fen: answer.remainingFen,
                                      replayed: answer.replayed ? 1 : 0)
    }
}

// MARK: From C to the engine's types, field by field

/// A payment from C, each field checked; `prefix` names the struct in messages (`payment.card: ...`).
func paymentRequest(_ p: headroom_payment, prefix: String = "payment") throws(HeadroomError) -> PaymentRequest {
    let id = try paymentID(p.id, field: "\(prefix).id")
    let card = try parsed(p.card, "\(id): \(prefix).card", CardNumber.init)
    let institution = try parsed(p.institution, "\(id): \(prefix).institution", Institution.init)
    guard let business = UInt8(exactly: p.business).flatMap(Business.init(rawValue:)) else {
        throw HeadroomError(.invalidInput, "\(id): \(prefix).business: \(p.business) is not a HEADROOM_ business type")
    }
    guard let accountClass = UInt8(exactly: p.account_class).flatMap(AccountClass.init(rawValue:)) else {
        throw HeadroomError(.invalidInput, "\(id): \(prefix).account_class: \(p.account_class) is not HEADROOM_CLASS_I, _II or _III")
    }
    let channel = try optional(p.channel, Channel.init(rawValue:), "\(id): \(prefix).channel", "HEADROOM_CHANNEL_APP, _PC, _H5")
    let accountType = try optional(p.account_type, AccountType.init(rawValue:), "\(id): \(prefix).account_type",
                                   "HEADROOM_PERSONAL, HEADROOM_CORPORATE")
    return PaymentRequest(id: id, time: Timestamp(unixSeconds: p.time), card: card, institution: institution,
                          business: business, amount: try amount(p.amount_fen, field: "\(id): \(prefix).amount_fen"),
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
    try parsed(text, field, PaymentID.init)
}

/// A C string field made into `T` by `make`: NULL, or what `make` throws, refused with the
/// field named (`N1: payment.card: NULL`).
func parsed<T>(_ text: UnsafePointer<CChar>?, _ field: String, _ make: (String) throws -> T) throws(HeadroomError) -> T {
    guard let text else { throw HeadroomError(.invalidInput, "\(field): NULL") }
    do {
        return try make(String(cString: text))
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

@c(headroom_reconcile)
public func headroomReconcile(_ engine: OpaquePointer?, _ line: UnsafePointer<headroom_reconcile_line>?,
                              _ result: UnsafeMutablePointer<headroom_reconcile_result>?, _ error: UnsafeMutablePointer<headroom_error>?) -> Int32 {
    calling(engine, line, "line", result, "result", error) { (open, line) throws(HeadroomError) in
        guard case .reconciled(let done) = try open.committer.perform(.reconcile(try reconciliationLine(line))) else {
            preconditionFailure("a reconciliation answered otherwise")
        }
        var c = headroom_reconcile_result()
        c.correction = correctionNumber(done.correction)
        c.state = Int32(done.state.rawValue)
        c.amount_fen = done.amountFen
        c.amount_corrected = done.amountCorrectedFromFen == nil ? 0 : 1
        c.amount_corrected_from_fen = done.amountCorrectedFromFen ?? 0
        withUnsafeMutableBytes(of: &c.over_limit) { copyCString(done.overLimit?.limitID ?? "", into: $0) }
        return c
    }
}

/// The stable number of each correction (include/headroom.h); a new one must be given one.
func correctionNumber(_ correction: ReconcileResult.Correction) -> Int32 {
    switch correction {
    case .confirmed: HEADROOM_CORRECTION_CONFIRMED
    case .recounted: HEADROOM_CORRECTION_RECOUNTED
    case .givenBack: HEADROOM_CORRECTION_GIVEN_BACK
    case .unknownToBank: HEADROOM_CORRECTION_UNKNOWN_TO_BANK
    case .unchanged: HEADROOM_CORRECTION_UNCHANGED
    case .alreadyReconciled: HEADROOM_CORRECTION_ALREADY_RECONCILED
    }
}

func reconciliationLine(_ l: headroom_reconcile_line) throws(HeadroomError) -> ReconciliationLine {
    let id = try paymentID(l.id, field: "line.id")
    let batch = try parsed(l.batch, "\(id): line.batch", ReconciliationBatch.init)
    guard let statusText = l.status, let status = ReconciliationStatus(code: String(cString: statusText)) else {
        throw HeadroomError(.invalidInput, "\(id): line.status: \(l.status.map { "\"\(String(cString: $0))\"" } ?? "NULL") is not 00, 01, 03 or 04")
    }
    let institution = try parsed(l.institution, "\(id): line.institution", Institution.init)
    var unseen: ReconciliationLine.Unseen?
    if let cardText = l.card {
        // The payment's fields, checked as an authorization's are.
        let p = try paymentRequest(headroom_payment(id: l.id, time: l.time, card: cardText, institution: l.institution,
                                                    business: l.business, amount_fen: l.amount_fen, account_class: l.account_class,
                                                    channel: l.channel, account_type: l.account_type), prefix: "line")
        unseen = .init(card: p.card, business: p.business, accountClass: p.accountClass, channel: p.channel, accountType: p.accountType)
    }
    return ReconciliationLine(id: id, batch: batch, status: status, amount: try amount(l.amount_fen, field: "\(id): line.amount_fen"),
                              time: Timestamp(unixSeconds: l.time), institution: institution, unseen: unseen)
}
