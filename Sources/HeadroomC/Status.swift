// Statuses, messages and static names of the C ABI.

import CHeadroom
import Foundation
import Headroom

/// Runs `body`; a ``HeadroomError`` becomes its stable status, with its message in `error`.
func answering(_ error: UnsafeMutablePointer<headroom_error>?, _ body: () throws(HeadroomError) -> Void) -> Int32 {
    do {
        try body()
        return HEADROOM_OK
    } catch let failure {
        return fail(status(of: failure.code), failure.description, error)
    }
}

/// Writes `status` and `message` into the caller's `error` (when given) and returns `status`.
func fail(_ status: Int32, _ message: String, _ error: UnsafeMutablePointer<headroom_error>?) -> Int32 {
    guard let error else { return status }
    error.pointee.status = status
    withUnsafeMutableBytes(of: &error.pointee.message) { copyCString(message, into: $0) }
    return status
}

/// Copies `text` into `buffer` NUL-terminated, truncated at a character's boundary to fit.
func copyCString(_ text: String, into buffer: UnsafeMutableRawBufferPointer) {
    guard buffer.count > 0 else { return }
    var used = 0
    for scalar in text.unicodeScalars {
        let bytes = Array(String(scalar).utf8)
        guard used + bytes.count < buffer.count else { break }
        for byte in bytes {
            buffer[used] = byte
            used += 1
        }
    }
    buffer[used] = 0
}

/// The stable number of each error code (include/headroom.h); a new code must be given one.
func status(of code: HeadroomError.Code) -> Int32 {
    switch code {
    case .invalidInput: HEADROOM_EINVALID_INPUT
    case .idConflict: HEADROOM_EID_CONFLICT
    case .unknownPayment: HEADROOM_EUNKNOWN_PAYMENT
    case .notApproved: HEADROOM_ENOT_APPROVED
    case .alreadyConfirmed: HEADROOM_EALREADY_CONFIRMED
    case .alreadyReleased: HEADROOM_EALREADY_RELEASED
    case .notConfirmed: HEADROOM_ENOT_CONFIRMED
    case .expired: HEADROOM_EEXPIRED
    case .reversed: HEADROOM_EREVERSED
    case .reconcileConflict: HEADROOM_ERECONCILE_CONFLICT
    case .refundExceedsRemaining: HEADROOM_EREFUND_EXCEEDS
    case .notAPayment: HEADROOM_ENOT_A_PAYMENT
    case .counterOverflow: HEADROOM_ECOUNTER_OVERFLOW
    case .cardLimitAboveBank: HEADROOM_ECARD_LIMIT_ABOVE_BANK
    case .cardKeyMismatch: HEADROOM_ECARD_KEY_MISMATCH
    case .cardKeyUnavailable: HEADROOM_ECARD_KEY_UNAVAILABLE
    case .noRuleSet: HEADROOM_ENO_RULE_SET
    case .invalidRules: HEADROOM_EINVALID_RULES
    case .rulesNotInForce: HEADROOM_ERULES_NOT_IN_FORCE
    case .overloaded: HEADROOM_EOVERLOADED
    case .storeBusy: HEADROOM_ESTORE_BUSY
    case .noStore: HEADROOM_ENO_STORE
    case .storeNeedsMigration: HEADROOM_ESTORE_NEEDS_MIGRATION
    case .journalDamaged: HEADROOM_EJOURNAL_DAMAGED
    case .storage: HEADROOM_ESTORAGE
    case .corrupted: HEADROOM_ECORRUPTED
    case .challenged: HEADROOM_ECHALLENGED
    case .notChallenged: HEADROOM_ENOT_CHALLENGED
    case .agreementConflict: HEADROOM_EAGREEMENT_CONFLICT
    case .unknownRuleSet, .ruleSetNotApproved, .ruleSetAlreadyApproved, .ruleSetRejected, .ruleSetNotChangeable,
         .ruleSetAlreadyActive, .sameOperator, .nothingToRollBack, .operatorRequired, .readOnlyStore, .unknownListEntry, .listKindMismatch:
        HEADROOM_EOTHER
    }
}

/// Static, NUL-terminated names: made once, never freed, safe to hand to C.
enum Names {
    nonisolated(unsafe) static let version = permanent(Headroom.version)
    nonisolated(unsafe) static let unknown = permanent("unknown")
    nonisolated(unsafe) static let reasons: [UInt16: UnsafePointer<CChar>] = Dictionary(
        uniqueKeysWithValues: ReasonCode.table.map { ($0.number, permanent($0.name)) })

    nonisolated(unsafe) static let statuses: [Int32: UnsafePointer<CChar>] = Dictionary(uniqueKeysWithValues: [
        (HEADROOM_OK, "HEADROOM_OK: done"),
        (HEADROOM_EARGUMENT, "HEADROOM_EARGUMENT: a NULL pointer or a value out of range"),
        (HEADROOM_EBUFFER, "HEADROOM_EBUFFER: the buffer is too small"),
        (HEADROOM_EINVALID_INPUT, "HEADROOM_EINVALID_INPUT: a field is malformed"),
        (HEADROOM_EID_CONFLICT, "HEADROOM_EID_CONFLICT: the id was used for another payment"),
        (HEADROOM_EUNKNOWN_PAYMENT, "HEADROOM_EUNKNOWN_PAYMENT: no payment with that id"),
        (HEADROOM_ENOT_APPROVED, "HEADROOM_ENOT_APPROVED: the payment was declined"),
        (HEADROOM_EALREADY_CONFIRMED, "HEADROOM_EALREADY_CONFIRMED: the payment is confirmed"),
        (HEADROOM_EALREADY_RELEASED, "HEADROOM_EALREADY_RELEASED: the payment is released"),
        (HEADROOM_ENOT_CONFIRMED, "HEADROOM_ENOT_CONFIRMED: the payment refunded is not confirmed"),
        (HEADROOM_EEXPIRED, "HEADROOM_EEXPIRED: the reservation's hold ran out"),
        (HEADROOM_EREVERSED, "HEADROOM_EREVERSED: reconciliation reversed the payment"),
        (HEADROOM_ERECONCILE_CONFLICT, "HEADROOM_ERECONCILE_CONFLICT: contradicts a reconciliation applied before"),
        (HEADROOM_EREFUND_EXCEEDS, "HEADROOM_EREFUND_EXCEEDS: the refund exceeds what remains"),
        (HEADROOM_ENOT_A_PAYMENT, "HEADROOM_ENOT_A_PAYMENT: the id names a refund"),
        (HEADROOM_ECOUNTER_OVERFLOW, "HEADROOM_ECOUNTER_OVERFLOW: a counter would overflow"),
        (HEADROOM_ECARD_LIMIT_ABOVE_BANK, "HEADROOM_ECARD_LIMIT_ABOVE_BANK: a card limit above the bank's"),
        (HEADROOM_ECARD_KEY_MISMATCH, "HEADROOM_ECARD_KEY_MISMATCH: not the store's card key"),
        (HEADROOM_ECARD_KEY_UNAVAILABLE, "HEADROOM_ECARD_KEY_UNAVAILABLE: no card key"),
        (HEADROOM_ENO_RULE_SET, "HEADROOM_ENO_RULE_SET: no rule set in force"),
        (HEADROOM_EINVALID_RULES, "HEADROOM_EINVALID_RULES: the rule files are invalid"),
        (HEADROOM_ERULES_NOT_IN_FORCE, "HEADROOM_ERULES_NOT_IN_FORCE: the rule files are not the set in force"),
        (HEADROOM_EOVERLOADED, "HEADROOM_EOVERLOADED: the write queue is full"),
        (HEADROOM_ESTORE_BUSY, "HEADROOM_ESTORE_BUSY: another process journals the store"),
        (HEADROOM_ENO_STORE, "HEADROOM_ENO_STORE: no store at that path"),
        (HEADROOM_ESTORE_NEEDS_MIGRATION, "HEADROOM_ESTORE_NEEDS_MIGRATION: run headroom store migrate"),
        (HEADROOM_EJOURNAL_DAMAGED, "HEADROOM_EJOURNAL_DAMAGED: the journal is damaged; the store is refused"),
        (HEADROOM_ESTORAGE, "HEADROOM_ESTORAGE: the storage failed"),
        (HEADROOM_ECORRUPTED, "HEADROOM_ECORRUPTED: a record cannot be read"),
        (HEADROOM_ECHALLENGED, "HEADROOM_ECHALLENGED: the payment is challenged: verify it first"),
        (HEADROOM_ENOT_CHALLENGED, "HEADROOM_ENOT_CHALLENGED: the payment was not challenged"),
        (HEADROOM_EAGREEMENT_CONFLICT, "HEADROOM_EAGREEMENT_CONFLICT: contradicts the agreement on record"),
        (HEADROOM_EOTHER, "HEADROOM_EOTHER: see the message"),
    ].map { ($0.0, permanent($0.1)) })

    static func permanent(_ text: String) -> UnsafePointer<CChar> {
        UnsafePointer(strdup(text)!)
    }
}

@c(headroom_strerror)
public func headroomStrerror(_ status: Int32) -> UnsafePointer<CChar> {
    Names.statuses[status] ?? Names.unknown
}

@c(headroom_reason_name)
public func headroomReasonName(_ reason: Int32) -> UnsafePointer<CChar> {
    UInt16(exactly: reason).flatMap { Names.reasons[$0] } ?? Names.unknown
}
