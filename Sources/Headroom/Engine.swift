import CoreMetrics
import Foundation
import HeadroomCore
import HeadroomRules
import LMDBKit
import Logging
import Synchronization

/// Headroom's engine: three-tier limits over an LMDB store, with an exact, durable payment
/// lifecycle. Linked into the front processor and called once per payment, before the core
/// debit.
///
/// Every operation (``EngineOperation``, through ``perform(_:)`` or its shorthands) is one LMDB
/// write transaction: the check and the reservation are atomic, and an answer is given only
/// after its commit (durable as ``Options/durability`` says; by default, synced). An `Engine`
/// is used from one thread at a time; for many callers, see ``GroupCommitter``. A process
/// opens a store with one `Engine` only (LMDB must not open an environment twice in one
/// process); several processes may share a store, and LMDB serialises their writes.
public final class Engine {
    /// What an answered payment survives, named for what each setting risks.
    public enum Durability: Sendable, Equatable {
        /// Every commit is flushed to disk before its answer: an answered payment survives a crash
        /// of the process, of the operating system and a power loss. The default.
        case syncEachCommit
        /// Commits are not flushed; a background thread flushes every `milliseconds`. A crash of
        /// the process loses nothing; a crash of the operating system or a power loss loses at
        /// most the payments answered in the last `milliseconds` (plus one flush's duration).
        case syncEvery(milliseconds: Int)
        /// Commits are not flushed; the operating system writes when it likes. A crash of the
        /// process loses nothing; a crash of the system or a power loss can lose every payment
        /// answered since its last write-back (on Linux, typically up to 30 seconds).
        case operatingSystemDecides
    }

    /// How an engine opens its store and what it risks; read when it opens.
    public struct Options: Sendable {
        /// The size the store's memory map starts at; it doubles when full, up to
        /// `mapSizeBytesMax`.
        public var mapSizeBytes: Int
        /// When the map fills, it doubles, up to this size; an operation fails with a storage
        /// error only when the map cannot grow further.
        public var mapSizeBytesMax: Int
        /// Reader slots shared by every process that opens the store (snapshot reads in flight).
        public var readersMax: UInt32
        /// What an answered payment survives: the one setting of the store's syncing, read
        /// when the engine opens.
        public var durability: Durability
        /// How long a payment record stays after its last window closes (and a declined or
        /// released one after its day): the span in which a retry or a refund can still name
        /// it. At least 31 days.
        public var recordRetentionDays: Int
        /// Unix seconds now: when reservations are taken and expire (hold times run by it), when
        /// scheduled rule sets come due, and what the audit log and payment histories record.
        /// Payments are judged by their own time, not by this clock. `headroom replay` sets it
        /// to the latest event time read.
        public var clock: @Sendable () -> Int64
        /// For a scratch copy of a store only (a backtest): puts the rule files given at open in
        /// force without dual control. Never set it on a live store.
        public var adoptRulesWithoutApproval: Bool
        /// The most expired reservations one write transaction gives back (each operation's, or
        /// each batch's, under group commit): a backlog (a process stopped for hours) drains over
        /// the next transactions instead of stalling one payment. At least 1.
        public var expiriesPerTransaction: Int
        /// Gives back, when the engine opens, every reservation whose hold has run out (by
        /// `clock`). `headroom replay` turns it off: its clock follows the lines, and the
        /// replay's first transactions expire what its first line's time has made due.
        public var expiresOnOpening: Bool
        /// Opens an existing store for reading only (``Engine/init(path:cardKey:rules:options:logger:)``
        /// then creates nothing, writes nothing and waits for no writer): what the operators'
        /// read commands use. Every write is refused with `readOnlyStore`.
        public var readOnly: Bool
        /// Where the engine's figures go (authorizations by outcome, reason code and tier;
        /// latencies; batch sizes; syncs and checkpoints: docs/integration.md): `nil` for the
        /// process's `MetricsSystem` (nothing is recorded until the host bootstraps one). Its
        /// handles are made once, when the engine opens.
        public var metrics: (any MetricsFactory)?

        /// Options with the values given; the defaults are a live store's.
        public init(mapSizeBytes: Int = 1 << 30, mapSizeBytesMax: Int = 1 << 40, readersMax: UInt32 = 126,
                    durability: Durability = .syncEachCommit, recordRetentionDays: Int = 400,
                    clock: @escaping @Sendable () -> Int64 = Engine.systemClock, adoptRulesWithoutApproval: Bool = false,
                    readOnly: Bool = false, expiriesPerTransaction: Int = 256, expiresOnOpening: Bool = true,
                    metrics: (any MetricsFactory)? = nil) {
            self.mapSizeBytes = mapSizeBytes
            self.mapSizeBytesMax = mapSizeBytesMax
            self.readersMax = readersMax
            self.durability = durability
            self.recordRetentionDays = recordRetentionDays
            self.clock = clock
            self.adoptRulesWithoutApproval = adoptRulesWithoutApproval
            self.readOnly = readOnly
            self.expiriesPerTransaction = expiriesPerTransaction
            self.expiresOnOpening = expiresOnOpening
            self.metrics = metrics
        }

        /// How LMDB is opened: everything it is told comes from these options, here.
        var environment: Environment.Options {
            .init(mapSizeBytes: mapSizeBytes, readersMax: readersMax, syncOnCommit: durability == .syncEachCommit, readOnly: readOnly)
        }
    }

    /// The system's clock, in unix seconds.
    public static let systemClock: @Sendable () -> Int64 = { Int64(Date().timeIntervalSince1970) }

    /// The store's directory.
    public let path: String
    /// The options it was opened with.
    public let options: Options
    /// The rule set in force, and its version in this store.
    public private(set) var ruleSet: RuleSet
    /// The version of the rule set in force, which decided the last payment.
    public private(set) var ruleSetVersion: UInt32
    let store: Store
    let cardKey: CardKey
    let logger: Logger
    /// The figures and log events the engine reports.
    let telemetry: Telemetry
    /// Rule sets by version, for reads from any thread (``explain(_:)``).
    let ruleSetCache = Mutex<[UInt32: RuleSet]>([:])
    /// The background flush of ``Durability/syncEvery(milliseconds:)``.
    let flusher: Flusher?
    /// The store's journal file, held open (and its lock shared) while the engine is (decision
    /// 0009); written only by a journaling ``GroupCommitter``.
    let journal: JournalFile
    /// A committer journals through this engine (its hold on the journal is exclusive).
    var journaling = false
    /// The plan and window usage of the payment being authorized, lent to each authorization
    /// and given back with their capacity (the hot path allocates nothing for them).
    var planBuffer = Plan()
    var usageBuffer: [CounterValue] = []
    var riskUsageBuffer: [CounterValue] = []
    /// The cells of the record being written (its reservations and its attempts), reused.
    var cellsBuffer: [CounterUpdate] = []
    /// The approved version judged beside the one in force (``RuleBook/shadow(_:by:)``), if any.
    var shadow: (version: UInt32, rules: RuleSet)?
    var eventsBuffer: [PaymentRecord.Event] = []
    /// The engine's clock when the current write transaction began (``begin(_:)``): every
    /// operation in it takes and checks hold times by it.
    var now: Int64 = 0

    /// Opens (creating when missing) the store in the directory `path`.
    ///
    /// - Parameters:
    ///   - path: the store's directory.
    ///   - cardKey: the operator's key for hashing card numbers; a store remembers the key it
    ///     was created with and refuses any other.
    ///   - rules: for a new store, the rule files to put in force (recorded as version 1, by
    ///     `bootstrap`). For an existing store they must be its rule set in force (changes go
    ///     through ``RuleBook``); `nil` uses the store's rule set.
    ///   - options: how to open it and what it risks (``Options``).
    ///   - logger: where the engine's notices, warnings and errors go (never a card number).
    /// - Throws: ``HeadroomError`` with `noRuleSet` for a new store without rules,
    ///   `rulesNotInForce`, `invalidRules`, `cardKeyMismatch`, `storage`.
    public init(path: String, cardKey: CardKey, rules: [RuleSource]?, options: Options = .init(),
                logger: Logger = Logger(label: "headroom.engine")) throws(HeadroomError) {
        precondition(options.recordRetentionDays >= 31, "recordRetentionDays below 31")
        precondition(options.expiriesPerTransaction >= 1, "expiriesPerTransaction below 1")
        self.path = path
        self.options = options
        self.cardKey = cardKey
        self.logger = logger
        telemetry = Telemetry(factory: options.metrics, logger: logger)
        if options.readOnly {
            try Engine.requireStore(path)
        } else {
            do {
                try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true,
                                                        attributes: [.posixPermissions: 0o700])
            } catch {
                throw HeadroomError(.storage, "cannot create the store directory \(path): \(fileErrorReason(error))")
            }
        }
        let store = try Store.open(path, options.environment)
        if !options.readOnly { _ = try lmdb { () throws(LMDBError) in try store.environment.clearStaleReaders() } }
        self.store = store
        // The journal (decision 0009): every write transaction first applies what a crashed
        // journaling process left; a journal that runs elsewhere holds the file locked.
        journal = try JournalFile(directory: path, readOnly: options.readOnly)
        if options.readOnly {
            (self.ruleSet, self.ruleSetVersion) = try Engine.prepareReading(store, cardKey: cardKey, rules: rules, options: options)
            flusher = nil
            return
        }
        // The schema first, in a read: a store of another version is refused before any write
        // transaction reads its journal (whose format is that version's).
        _ = try store.checkSchema(try store.beginRead())
        store.follower.journal = journal
        store.follower.logger = logger
        (self.ruleSet, self.ruleSetVersion) = try Engine.sayingDamage(logger, path) { () throws(HeadroomError) in
            try Engine.prepare(store, cardKey: cardKey, rules: rules, options: options, logger: logger)
        }
        if case .syncEvery(let milliseconds) = options.durability {
            flusher = Flusher(environment: store.environment, milliseconds: milliseconds, logger: logger)
        } else {
            flusher = nil
        }
        // No journal runs: bring the store up to date with what a stopped one left, and tidy it.
        if journal.tryExclusive() {
            defer { journal.unlock() }
            try Engine.sayingDamage(logger, path) { () throws(HeadroomError) in
                _ = try recoverJournal(journal, forgetting: true)
                try recoverRing()
            }
        }
        // Reservations whose hold ran out while no process wrote are given back now.
        if options.expiresOnOpening { try expireAllDue() }
    }

    /// Runs `body`; a store refused for its journal's sake (`journalDamaged`) is also said in
    /// the log, as an error, for the bank's monitoring.
    static func sayingDamage<T>(_ logger: Logger, _ path: String, _ body: () throws(HeadroomError) -> T) throws(HeadroomError) -> T {
        do {
            return try body()
        } catch {
            if error.code == .journalDamaged {
                logger.error("the store is refused: its journal is damaged", metadata: ["store": "\(path)", "reason": "\(error.message)"])
            }
            throw error
        }
    }

    /// Checks the schema version and the card key the store recorded, where it has; answers
    /// which of the two it had.
    static func checkRecorded(_ store: Store, _ txn: borrowing StoreTransaction, cardKey: CardKey) throws(HeadroomError) -> (schema: Bool, cardKey: Bool) {
        let schema = try store.checkSchema(txn)
        let check = try store.metaInteger(txn, .cardKeyCheck)
        if let check, check != Int64(bitPattern: cardKey.checkValue) {
            throw HeadroomError(.cardKeyMismatch, "this store was created with another card key: its card counters would not match")
        }
        return (schema, check != nil)
    }

    deinit {
        flusher?.stop()
    }

    /// Refuses a directory that holds no store (a mistyped path must not read as an empty one).
    public static func requireStore(_ path: String) throws(HeadroomError) {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw HeadroomError(.noStore, "there is no store at \(path): no such directory (check --store)")
        }
        guard isDirectory.boolValue else { throw HeadroomError(.noStore, "\(path) is a file, not a store directory (check --store)") }
        guard FileManager.default.fileExists(atPath: path + "/data.mdb") else {
            throw HeadroomError(.noStore, "there is no store in \(path): the directory holds no data.mdb (check --store)")
        }
    }

    /// Whether the store is open read-only without its lock file (an operator who may only
    /// read its files): engines writing meanwhile may make what it reads inconsistent.
    public var readsWithoutLock: Bool { store.environment.isLockless }

    /// The read-only counterpart of ``prepare``: checks the schema and the card key and reads
    /// the rule set in force (or due by its schedule), in one read transaction.
    static func prepareReading(_ store: Store, cardKey: CardKey, rules: [RuleSource]?, options: Options) throws(HeadroomError) -> (RuleSet, UInt32) {
        let txn = try store.beginRead()
        _ = try checkRecorded(store, txn, cardKey: cardKey)
        guard let version = try RuleSetHistory.activateIfDue(store, txn, now: options.clock) else {
            throw HeadroomError(.noRuleSet, "the store has no rule set yet")
        }
        if let rules, try RuleSetHistory.info(store, txn, version: version).digest != rules.digest.hexDigits {
            throw HeadroomError(.rulesNotInForce, "these rule files differ from the store's rule set in force (v\(version))")
        }
        return (try RuleSetHistory.load(store, txn, version: version), version)
    }

    /// Rule-set administration (propose, approve, activate, rollback, history) on this store.
    public var ruleBook: RuleBook { RuleBook(store: store, clock: options.clock) }

    /// Checks the schema and the card key, and puts the rules in force, in one transaction.
    static func prepare(_ store: Store, cardKey: CardKey, rules: [RuleSource]?, options: Options, logger: Logger) throws(HeadroomError) -> (RuleSet, UInt32) {
        let txn = try store.beginWrite()
        let recorded = try checkRecorded(store, txn, cardKey: cardKey)
        try store.putMetaInteger(txn, .schema, Int64(Store.schemaVersion))
        if !recorded.cardKey { try store.putMetaInteger(txn, .cardKeyCheck, Int64(bitPattern: cardKey.checkValue)) }
        let version = try putInForce(store, txn, rules: rules, options: options, logger: logger)
        let ruleSet = try RuleSetHistory.load(store, txn, version: version)
        try txn.commit()
        return (ruleSet, version)
    }

    static func putInForce(_ store: Store, _ txn: borrowing StoreTransaction, rules: [RuleSource]?, options: Options,
                           logger: Logger) throws(HeadroomError) -> UInt32 {
        let current = try RuleSetHistory.activateIfDue(store, txn, now: options.clock)
        guard let rules else {
            guard let current else { throw HeadroomError(.noRuleSet, "the store has no rule set yet: give rule files") }
            return current
        }
        do {
            _ = try RuleLoader.parse(rules)
        } catch {
            throw .rules(error)
        }
        guard let current else {
            let version = try RuleSetHistory.bootstrap(store, txn, rules, at: options.clock())
            logger.info("rule set in force", metadata: ["version": "\(version)"])
            return version
        }
        if try RuleSetHistory.info(store, txn, version: current).digest == rules.digest.hexDigits {
            return current
        }
        guard options.adoptRulesWithoutApproval else {
            throw HeadroomError(.rulesNotInForce, "these rule files differ from the store's rule set in force (v\(current)): propose them (headroom rules propose) and have another operator approve them")
        }
        let info = try RuleSetHistory.add(store, txn, rules, by: "backtest", at: options.clock())
        try RuleSetHistory.activate(store, txn, info.version, by: "backtest", at: options.clock())
        return info.version
    }

    /// Takes up the rule set in force, when another process or a schedule changed it: called
    /// at the start of every operation that applies rules, inside its transaction, so a
    /// change lands between two payments, never in the middle of one.
    func refreshRules(_ txn: borrowing StoreTransaction) throws(HeadroomError) {
        guard let version = try RuleSetHistory.activateIfDue(store, txn, now: options.clock) else {
            throw HeadroomError(.noRuleSet, "the store has no rule set")
        }
        if version != ruleSetVersion {
            ruleSet = try RuleSetHistory.load(store, txn, version: version)
            ruleSetVersion = version
            logger.info("rule set in force", metadata: ["version": "\(version)"])
        }
        let shadowVersion = try store.metaInteger(txn, .rulesShadow).map { UInt32($0) }
        if shadowVersion != shadow?.version {
            shadow = try shadowVersion.map { (v) throws(HeadroomError) in (v, try RuleSetHistory.load(store, txn, version: v)) }
            logger.info("shadow rule set", metadata: ["version": "\(shadowVersion.map(String.init) ?? "none")"])
        }
    }

    /// Runs `body` (which opens and ends its own transactions); when the map is full, grows it
    /// and runs `body` again. A failed attempt left nothing: its transaction was aborted.
    func growingMap<R>(_ body: () throws(HeadroomError) -> R) throws(HeadroomError) -> R {
        while true {
            do {
                return try body()
            } catch where error.isMapFull {
                try growMap()
            }
        }
    }

    /// The last journal entry the store holds (0 before any).
    func journalLSN() throws(HeadroomError) -> UInt64 {
        let txn = try store.beginRead()
        return UInt64(try store.metaInteger(txn, .journalLSN) ?? 0)
    }

    /// Flushes the store to disk whatever the durability setting (a journal checkpoint).
    func syncStore() throws(HeadroomError) {
        try lmdb { () throws(LMDBError) in try store.environment.sync() }
    }

    /// Doubles the map (no transaction of this engine is open), and says so in the log.
    func growMap() throws(HeadroomError) {
        let current = try statistics().mapSizeBytes
        guard current < options.mapSizeBytesMax else {
            throw HeadroomError(.storage, "the store's map is full at its largest allowed size, \(current) bytes (mapSizeBytesMax)",
                                storageCode: LMDBError.mapFullCode)
        }
        let next = min(current * 2, options.mapSizeBytesMax)
        try lmdb { () throws(LMDBError) in try store.environment.setMapSize(next) }
        logger.warning("the store's map was full: grown", metadata: ["from": "\(current)", "to": "\(next)", "store": "\(path)"])
    }

    /// Size facts about the store (operators read them through ``facts()``).
    func statistics() throws(HeadroomError) -> Environment.Statistics {
        try lmdb { () throws(LMDBError) in try store.environment.statistics() }
    }
}
