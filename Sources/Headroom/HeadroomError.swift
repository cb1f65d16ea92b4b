import HeadroomCore
import HeadroomRules
import LMDBKit

/// Why the engine could not do what was asked. A decline is never an error: it is a
/// `Decision`. Messages name the payment and the field, never a card number.
public struct HeadroomError: Error, Sendable, CustomStringConvertible {
    /// Stable codes; the JSON `code` of an `error` line.
    public enum Code: String, Sendable, CaseIterable {
        /// A field of the request is missing or malformed.
        case invalidInput
        /// The id was seen before with other content.
        case idConflict
        /// No payment with this id is on record.
        case unknownPayment
        /// The payment was declined: there is nothing to confirm, release or refund.
        case notApproved
        /// A confirmed payment was confirmed or released again.
        case alreadyConfirmed
        /// A released payment was confirmed or released again.
        case alreadyReleased
        /// A refund names a payment whose debit was never confirmed.
        case notConfirmed
        /// The payment's hold time ran out before this confirm or release: its reservation was
        /// (or is being) given back, and reconciliation settles what really happened.
        case expired
        /// NetsUnion's reconciliation said the payment failed: it counts nothing any more.
        case reversed
        /// The payment is challenged: it must be verified (or released) before it is confirmed.
        case challenged
        /// A verify names a payment that was not challenged.
        case notChallenged
        /// A sign-agreement contradicts the agreement on record (another card, institution,
        /// kind or time), or names an ended agreement.
        case agreementConflict
        /// A list operation names a list that does not exist, or an entry not on it.
        case unknownListEntry
        /// A list entry of another kind than the list's (a merchant for a list of cards).
        case listKindMismatch
        /// A reconciliation line contradicts one already applied to the same transaction (another
        /// final status or amount): refused, never applied twice.
        case reconcileConflict
        /// The refunds of a payment would add up to more than it.
        case refundExceedsRemaining
        /// A refund names a refund as its original.
        case notAPayment
        /// A counter would overflow `Int64`.
        case counterOverflow
        /// A customer's card limit would be above the bank's or the institution's.
        case cardLimitAboveBank
        /// The store was created with another card key.
        case cardKeyMismatch
        /// No card key was given, or it is not 32 bytes.
        case cardKeyUnavailable
        /// The store has no rule set and none was given.
        case noRuleSet
        /// The rule files are invalid (every problem is in the message).
        case invalidRules
        /// Rule files given to an existing store differ from its rule set in force: changes go
        /// through propose, approve and activate.
        case rulesNotInForce
        /// No rule set of that version is in the store.
        case unknownRuleSet
        /// A rule set must be approved before it is put in force.
        case ruleSetNotApproved
        /// The rule set version was approved already.
        case ruleSetAlreadyApproved
        /// The version was withdrawn or rejected: propose it again to go on.
        case ruleSetRejected
        /// An activation was asked for a time already past, or a withdrawal of a version already
        /// in force, or a cancellation of a schedule that does not exist.
        case ruleSetNotChangeable
        /// The rule set version is already in force.
        case ruleSetAlreadyActive
        /// The operator who proposed a change may not approve it (dual control).
        case sameOperator
        /// No earlier rule set to go back to.
        case nothingToRollBack
        /// A change needs the operator's name.
        case operatorRequired
        /// More operations are waiting for the disk than the group committer's queue holds.
        case overloaded
        /// Another committer journals this store: a store has one journal at a time (decision 0009).
        case storeBusy
        /// No store at the path given (a read never creates one).
        case noStore
        /// The store was opened for reading only: a write was asked of it.
        case readOnlyStore
        /// The store was written by an older Headroom (its schema is named): migrate it first
        /// (`headroom store migrate`).
        case storeNeedsMigration
        /// The journal holds answered payments that cannot be applied (a damaged entry followed
        /// by valid ones; a journal missing, truncated or replaced where the store expects one):
        /// the store refuses to open until an operator accepts the loss
        /// (`headroom store accept-journal-loss`).
        case journalDamaged
        /// LMDB reported a condition (map full, readers full, I/O).
        case storage
        /// The store holds something that cannot be: a record that does not decode, a counter
        /// that would go negative. Stop and investigate.
        case corrupted
    }

    /// What kind of failure: stable, for programs.
    public let code: Code
    /// What was wrong and where, for people.
    public let message: String
    /// For `storage`: the store's return code (LMDB's), kept inside the engine.
    let storageCode: Int32?

    /// An error of `code`, said by `message`.
    public init(_ code: Code, _ message: String) {
        self.init(code, message, storageCode: nil)
    }

    init(_ code: Code, _ message: String, storageCode: Int32?) {
        self.code = code
        self.message = message
        self.storageCode = storageCode
    }

    /// The store's map is full (the engine grows it and tries again).
    var isMapFull: Bool { storageCode == LMDBError.mapFullCode }

    public var description: String { "\(code.rawValue): \(message)" }

    static func storage(_ error: LMDBError) -> HeadroomError {
        HeadroomError(.storage, error.description, storageCode: error.code)
    }

    static func rules(_ errors: RuleErrors) -> HeadroomError {
        HeadroomError(.invalidRules, errors.description)
    }
}

/// This Headroom's version, as `headroom --version` says it.
public let version = "0.14.0 (store schema \(Store.schemaVersion), journal format \(JournalFile.fileVersion))"
