import Foundation
import HeadroomCore
import HeadroomRules
import LMDBKit
import Logging

/// Headroom's engine: three-tier limits over an LMDB store, with an exact, durable payment
/// lifecycle. Linked into the front processor and called once per payment, before the core
/// debit.
///
/// Every operation is one LMDB write transaction: the check and the reservation are atomic,
/// and an answer is given only after its commit (durable when `syncOnCommit` is on, the
/// default). An `Engine` is used from one thread at a time; several engines, in one process or
/// several, may open the same store (LMDB serialises their writes).
public final class Engine {
    public struct Options: Sendable {
        /// How LMDB is opened: map size, readers, sync on commit.
        public var storage: Environment.Options
        /// How long a payment record stays after its last window closes (and a declined or
        /// released one after its day): the span in which a retry or a refund can still name
        /// it. At least 31 days.
        public var recordRetentionDays: Int

        public init(storage: Environment.Options = .init(), recordRetentionDays: Int = 400) {
            self.storage = storage
            self.recordRetentionDays = recordRetentionDays
        }
    }

    public let path: String
    public let options: Options
    /// The rule set in force, and its version in this store.
    public private(set) var ruleSet: RuleSet
    public private(set) var ruleSetVersion: UInt32
    let store: Store
    let cardKey: CardKey
    let logger: Logger

    /// Opens (creating when missing) the store in the directory `path`.
    ///
    /// - Parameters:
    ///   - cardKey: the operator's key for hashing card numbers; a store remembers the key it
    ///     was created with and refuses any other.
    ///   - rules: rule files to put in force. When they differ from the store's rule set they
    ///     become its next version. `nil` keeps the store's rule set.
    /// - Throws: ``HeadroomError`` with `noRuleSet` for a new store without rules,
    ///   `invalidRules`, `cardKeyMismatch`, `storage`.
    public init(path: String, cardKey: CardKey, rules: [RuleSource]?, options: Options = .init(),
                logger: Logger = Logger(label: "headroom.engine")) throws(HeadroomError) {
        precondition(options.recordRetentionDays >= 31, "recordRetentionDays below 31")
        self.path = path
        self.options = options
        self.cardKey = cardKey
        self.logger = logger
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true,
                                                    attributes: [.posixPermissions: 0o700])
        } catch {
            throw HeadroomError(.storage, "cannot create the store directory \(path): \(error.localizedDescription)")
        }
        do {
            let environment = try Environment(path: path, options: options.storage)
            try environment.clearStaleReaders()
            self.store = try Store(environment: environment)
        } catch {
            throw .storage(error)
        }
        (self.ruleSet, self.ruleSetVersion) = try Engine.prepare(store, cardKey: cardKey, rules: rules, logger: logger)
    }

    /// Checks the schema and the card key, and puts the rules in force, in one transaction.
    static func prepare(_ store: Store, cardKey: CardKey, rules: [RuleSource]?, logger: Logger) throws(HeadroomError) -> (RuleSet, UInt32) {
        let txn = try store.beginWrite()
        if let schema = try store.metaInteger(txn, "schema"), schema != Int64(Store.schemaVersion) {
            throw HeadroomError(.corrupted, "the store's schema is version \(schema); this Headroom reads version \(Store.schemaVersion)")
        }
        try store.putMetaInteger(txn, "schema", Int64(Store.schemaVersion))
        let check = Int64(bitPattern: cardKey.checkValue)
        if let stored = try store.metaInteger(txn, "card-key-check") {
            guard stored == check else {
                throw HeadroomError(.cardKeyMismatch, "this store was created with another card key: its card counters would not match")
            }
        } else {
            try store.putMetaInteger(txn, "card-key-check", check)
        }
        let result = try RuleSetHistory.putInForce(store, txn, rules: rules, logger: logger)
        try store.commit(txn)
        return result
    }

    /// Re-reads the rule set in force from the store (another process may have changed it).
    public func reloadRules() throws(HeadroomError) {
        let txn = try store.beginRead()
        guard let current = try RuleSetHistory.current(store, txn) else {
            throw HeadroomError(.noRuleSet, "the store has no rule set")
        }
        (ruleSet, ruleSetVersion) = current
    }

    /// Size facts about the store.
    public func statistics() throws(HeadroomError) -> Environment.Statistics {
        do {
            return try store.environment.statistics()
        } catch {
            throw .storage(error)
        }
    }
}

extension Store {
    func beginWrite() throws(HeadroomError) -> Transaction {
        do {
            return try environment.beginWrite()
        } catch {
            throw .storage(error)
        }
    }

    func beginRead() throws(HeadroomError) -> Transaction {
        do {
            return try environment.beginRead()
        } catch {
            throw .storage(error)
        }
    }

    func commit(_ txn: consuming Transaction) throws(HeadroomError) {
        do {
            try txn.commit()
        } catch {
            throw .storage(error)
        }
    }
}
