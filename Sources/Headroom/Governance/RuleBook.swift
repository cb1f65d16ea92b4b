import Foundation
import HeadroomCore
import HeadroomRules
import LMDBKit

/// Dual control (双人复核) over a store's rule sets: one operator proposes, another approves,
/// either activates (now or at a set time), and every step is on record with name and time.
/// Running engines pick up a new version between two payments, never in the middle of one.
///
/// Needs no card key. Obtain one from an open engine (``Engine/ruleBook``) or open the store
/// with `init(path:clock:)` (not while an `Engine` of the same process has it open).
public final class RuleBook {
    let store: Store
    let clock: @Sendable () -> Int64
    private let ownedEnvironment: Environment?

    init(store: Store, clock: @escaping @Sendable () -> Int64) {
        self.store = store
        self.clock = clock
        self.ownedEnvironment = nil
    }

    /// Opens the existing store in `path` for rule administration; `readOnly`, for reading its
    /// history, versions and audit log only (nothing written, no writer waited for).
    /// - Throws: `noStore` for a path without a store; `storage`.
    public init(path: String, readOnly: Bool = false, clock: @escaping @Sendable () -> Int64 = Engine.systemClock) throws(HeadroomError) {
        try Engine.requireStore(path)
        self.store = try Store.open(path, .init(readOnly: readOnly))
        self.ownedEnvironment = store.environment
        try store.checkSchema(try store.beginRead())
        // Its writes, like an engine's, first apply what a crashed journaling process answered.
        if !readOnly { store.follower.journal = try JournalFile(directory: path) }
        self.clock = clock
    }

    /// Stores validated rule files as a new proposed version.
    /// - Throws: `invalidRules` (with every problem), `ruleSetAlreadyActive` when the files are
    ///   the rule set in force, `operatorRequired`.
    public func propose(_ sources: [RuleSource], by name: String) throws(HeadroomError) -> RuleSetVersion {
        try requireName(name)
        do {
            _ = try RuleLoader.parse(sources)
        } catch {
            throw .rules(error)
        }
        return try write { (txn) throws(HeadroomError) in
            if let current = try RuleSetHistory.currentVersion(store, txn),
               try RuleSetHistory.info(store, txn, version: current).digest == sources.digest.hexDigits {
                throw HeadroomError(.ruleSetAlreadyActive, "these files are the rule set in force (v\(current))")
            }
            let info = try RuleSetHistory.add(store, txn, sources, by: name, at: clock())
            try AuditLog.append(store, txn, time: clock(), operatorName: name, action: "rules.propose",
                                detail: "v\(info.version) proposed from \(info.files.joined(separator: ", "))")
            return info
        }
    }

    /// Approves a proposed version. The approver must not be its proposer.
    public func approve(_ version: UInt32, by name: String) throws(HeadroomError) -> RuleSetVersion {
        try requireName(name)
        return try write(recordingRefusalOf: "rules.approve", v: version, by: name) { (txn) throws(HeadroomError) in
            var info = try RuleSetHistory.info(store, txn, version: version)
            try Self.requireNotRejected(info)
            if let approver = info.approvedBy {
                throw HeadroomError(.ruleSetAlreadyApproved, "v\(version) was already approved by \(approver)")
            }
            guard info.proposedBy != name else {
                throw HeadroomError(.sameOperator, "\(name) proposed v\(version) and cannot approve it: another operator must (dual control)")
            }
            info.approvedBy = name
            info.approvedAt = clock()
            try RuleSetHistory.putInfo(store, txn, info)
            try AuditLog.append(store, txn, time: clock(), operatorName: name, action: "rules.approve",
                                detail: "v\(version) approved (proposed by \(info.proposedBy))")
            return info
        }
    }

    /// What ``activate(_:at:by:)`` did.
    public enum Activation: Sendable, Equatable {
        /// Put in force at once.
        case now
        /// To be put in force at this time (unix seconds).
        case scheduled(at: Int64)
    }

    /// Puts an approved version in force now, or at `time` (unix seconds; replacing any
    /// earlier schedule). Engines switch at their next payment after that time.
    public func activate(_ version: UInt32, at time: Int64? = nil, by name: String) throws(HeadroomError) -> Activation {
        try requireName(name)
        return try write(recordingRefusalOf: "rules.activate", v: version, by: name) { (txn) throws(HeadroomError) in
            let info = try RuleSetHistory.info(store, txn, version: version)
            try Self.requireNotRejected(info)
            guard info.approvedBy != nil else {
                throw HeadroomError(.ruleSetNotApproved, "v\(version) is not approved: another operator must approve it first")
            }
            if try RuleSetHistory.currentVersion(store, txn) == version {
                throw HeadroomError(.ruleSetAlreadyActive, "v\(version) is already in force")
            }
            let now = clock()
            if let time, time <= now {
                throw HeadroomError(.ruleSetNotChangeable, "the time \(Timestamp(unixSeconds: time).chinaISO8601) is already past (now: \(Timestamp(unixSeconds: now).chinaISO8601)): to put v\(version) in force now, leave the time out")
            }
            if let time {
                try RuleSetHistory.putJSON(store, txn, .rulesScheduled, RuleSetSchedule(version: version, at: time, scheduledBy: name))
                try AuditLog.append(store, txn, time: now, operatorName: name, action: "rules.schedule",
                                    detail: "v\(version) to be put in force at \(Timestamp(unixSeconds: time).chinaISO8601)")
                return .scheduled(at: time)
            }
            try RuleSetHistory.activate(store, txn, version, by: name, at: now)
            try AuditLog.append(store, txn, time: now, operatorName: name, action: "rules.activate", detail: "v\(version) put in force")
            return .now
        }
    }

    /// Withdraws (by its proposer) or rejects (by anyone else) a version that is not in force
    /// and not scheduled: it can no longer be approved or put in force.
    public func reject(_ version: UInt32, reason: String?, by name: String) throws(HeadroomError) -> RuleSetVersion {
        try requireName(name)
        return try write(recordingRefusalOf: "rules.reject", v: version, by: name) { (txn) throws(HeadroomError) in
            var info = try RuleSetHistory.info(store, txn, version: version)
            try Self.requireNotRejected(info)
            guard info.activatedAt == nil else {
                throw HeadroomError(.ruleSetNotChangeable, "v\(version) has been in force: roll back instead (headroom rules rollback)")
            }
            if try RuleSetHistory.schedule(store, txn)?.version == version {
                throw HeadroomError(.ruleSetNotChangeable, "v\(version) is scheduled: cancel the schedule first (headroom rules cancel)")
            }
            let now = clock()
            info.rejectedBy = name
            info.rejectedAt = now
            info.rejectionReason = reason
            try RuleSetHistory.putInfo(store, txn, info)
            let action = name == info.proposedBy ? "rules.withdraw" : "rules.reject"
            try AuditLog.append(store, txn, time: now, operatorName: name, action: action,
                                detail: "v\(version) \(name == info.proposedBy ? "withdrawn" : "rejected") (proposed by \(info.proposedBy))" + (reason.map { ": \($0)" } ?? ""))
            return info
        }
    }

    /// Cancels the activation waiting for its time.
    /// - Returns: the schedule cancelled.
    public func cancelSchedule(by name: String) throws(HeadroomError) -> RuleSetSchedule {
        try requireName(name)
        return try write { (txn) throws(HeadroomError) in
            guard let scheduled = try RuleSetHistory.schedule(store, txn) else {
                throw HeadroomError(.ruleSetNotChangeable, "no activation is scheduled")
            }
            try RuleSetHistory.clearSchedule(store, txn)
            try AuditLog.append(store, txn, time: clock(), operatorName: name, action: "rules.cancel",
                                detail: "the activation of v\(scheduled.version) at \(Timestamp(unixSeconds: scheduled.at).chinaISO8601) cancelled (scheduled by \(scheduled.scheduledBy))")
            return scheduled
        }
    }

    static func requireNotRejected(_ info: RuleSetVersion) throws(HeadroomError) {
        if let by = info.rejectedBy {
            throw HeadroomError(.ruleSetRejected, "v\(info.version) was \(by == info.proposedBy ? "withdrawn" : "rejected") by \(by): propose the files again")
        }
    }

    /// Puts back in force the version that was in force before the current one.
    /// - Returns: the versions left and restored.
    public func rollback(by name: String) throws(HeadroomError) -> (from: UInt32, to: UInt32) {
        try requireName(name)
        return try write { (txn) throws(HeadroomError) in
            let history = try RuleSetHistory.activations(store, txn)
            guard history.count >= 2, let current = try RuleSetHistory.currentVersion(store, txn) else {
                throw HeadroomError(.nothingToRollBack, "no earlier rule set was in force")
            }
            let previous = history[history.count - 2]
            _ = try RuleSetHistory.load(store, txn, version: previous)  // still valid
            try RuleSetHistory.activate(store, txn, previous, by: name, at: clock())
            try RuleSetHistory.putJSON(store, txn, .rulesActivations, Array(history.dropLast(2)) + [previous])
            try AuditLog.append(store, txn, time: clock(), operatorName: name, action: "rules.rollback",
                                detail: "v\(current) withdrawn, v\(previous) back in force")
            return (current, previous)
        }
    }

    /// Every version, oldest first, with where it stands.
    public func versions() throws(HeadroomError) -> [(RuleSetVersion, RuleSetStatus)] {
        let txn = try store.beginRead()
        let latest = UInt32(try store.metaInteger(txn, .rulesLatest) ?? 0)
        let current = try RuleSetHistory.currentVersion(store, txn)
        let scheduled = try RuleSetHistory.schedule(store, txn)
        guard latest > 0 else { return [] }
        var out: [(RuleSetVersion, RuleSetStatus)] = []
        for version in 1...latest {
            let info = try RuleSetHistory.info(store, txn, version: version)
            let status: RuleSetStatus = info.rejectedBy != nil ? .rejected
                : version == current ? .active
                : version == scheduled?.version ? .scheduled
                : info.activatedAt != nil ? .retired
                : info.approvedBy != nil ? .approved : .proposed
            out.append((info, status))
        }
        return out
    }

    /// The version in force, or `nil` for a store without rules.
    public func currentVersion() throws(HeadroomError) -> UInt32? {
        let txn = try store.beginRead()
        return try RuleSetHistory.currentVersion(store, txn)
    }

    /// The activation waiting for its time, if any.
    public func schedule() throws(HeadroomError) -> RuleSetSchedule? {
        let txn = try store.beginRead()
        return try RuleSetHistory.schedule(store, txn)
    }

    /// The files of a version, as they were proposed.
    public func sources(_ version: UInt32) throws(HeadroomError) -> [RuleSource] {
        let txn = try store.beginRead()
        return try RuleSetHistory.sources(store, txn, version: version)
    }

    /// A version's rule set.
    public func ruleSet(_ version: UInt32) throws(HeadroomError) -> RuleSet {
        let txn = try store.beginRead()
        return try RuleSetHistory.load(store, txn, version: version)
    }

    /// Runs an approved version beside the one in force (shadow mode): every authorization is
    /// also judged by it, never changing a live answer or counter; its own counters (for rules
    /// the live set lacks) are fed by the live traffic. One version at a time (this one replaces
    /// any other); putting it in force (``activate(_:at:by:)``) ends the shadow, and so does
    /// ``stopShadow(by:)``.
    /// - Throws: `ruleSetNotApproved`, `ruleSetRejected`, `ruleSetAlreadyActive` (the version in force).
    public func shadow(_ version: UInt32, by name: String) throws(HeadroomError) {
        try requireName(name)
        try write(recordingRefusalOf: "rules.shadow", v: version, by: name) { (txn) throws(HeadroomError) in
            let info = try RuleSetHistory.info(store, txn, version: version)
            try Self.requireNotRejected(info)
            guard info.approvedBy != nil else {
                throw HeadroomError(.ruleSetNotApproved, "v\(version) is not approved: another operator must approve it first")
            }
            if try RuleSetHistory.currentVersion(store, txn) == version {
                throw HeadroomError(.ruleSetAlreadyActive, "v\(version) is the rule set in force: there is nothing to compare it with")
            }
            let before = try store.metaInteger(txn, .rulesShadow)
            try store.putMetaInteger(txn, .rulesShadow, Int64(version))
            try AuditLog.append(store, txn, time: clock(), operatorName: name, action: "rules.shadow",
                                detail: "v\(version) judges every authorization beside the rule set in force"
                                    + (before.map { $0 == Int64(version) ? " (it already did)" : " (instead of v\($0))" } ?? ""))
        }
    }

    /// Ends shadow mode. - Returns: the version that was shadowed, `nil` when none was.
    @discardableResult
    public func stopShadow(by name: String) throws(HeadroomError) -> UInt32? {
        try requireName(name)
        return try write { (txn) throws(HeadroomError) -> UInt32? in
            guard let version = try store.metaInteger(txn, .rulesShadow) else { return nil }
            try store.deleteMeta(txn, .rulesShadow)
            try AuditLog.append(store, txn, time: clock(), operatorName: name, action: "rules.shadow.stop",
                                detail: "v\(version) no longer judges beside the rule set in force")
            return UInt32(version)
        }
    }

    /// What the shadow version (or `version`, one shadowed before) would have decided
    /// differently, per rule; `nil` when no version is shadowed and none is given.
    public func shadowReport(_ version: UInt32? = nil) throws(HeadroomError) -> ShadowReport? {
        let txn = try store.beginRead()
        let shadowed = try store.metaInteger(txn, .rulesShadow).map { UInt32($0) }
        guard let v = version ?? shadowed else { return nil }
        _ = try RuleSetHistory.info(store, txn, version: v)  // unknownRuleSet for a version never proposed
        let prefix = MetaKey.shadowTally(v, "").bytes
        var judged = 0
        var differences: [ShadowDifference] = []
        try txn.scan(.meta, from: prefix) { (key, value) throws(HeadroomError) in
            guard key.starts(with: prefix) else { return false }
            let name = String(decoding: key.dropFirst(prefix.count), as: UTF8.self)
            guard let (count, samples) = Engine.decodeTally(value) else { throw HeadroomError(.corrupted, "a shadow tally does not decode") }
            if name == "judged" {
                judged = Int(count)
            } else {
                let parts = name.split(separator: "|", omittingEmptySubsequences: false).map(String.init)
                guard parts.count == 4, parts[0] == "diff", let live = Decision.Outcome(name: parts[2]),
                      let shadow = Decision.Outcome(name: parts[3]) else {
                    throw HeadroomError(.corrupted, "a shadow tally \(name) does not decode")
                }
                differences.append(ShadowDifference(rule: parts[1], live: live, shadow: shadow, count: Int(count), samples: samples))
            }
            return true
        }
        return ShadowReport(version: v, judged: judged, differences: differences)
    }

    /// Every change on record, oldest first.
    public func auditLog() throws(HeadroomError) -> [AuditEntry] {
        let txn = try store.beginRead()
        return try AuditLog.entries(store, txn)
    }

    func requireName(_ name: String) throws(HeadroomError) {
        if name.trimmingCharacters(in: .whitespaces).isEmpty {
            throw HeadroomError(.operatorRequired, "a change needs the operator's name")
        }
    }

    /// Runs a change; when dual control or the version's state refuses it, the refused attempt
    /// is recorded in the audit log (in a transaction of its own) before the refusal is thrown.
    func write<R>(recordingRefusalOf action: String, v version: UInt32, by name: String,
                  _ body: (borrowing StoreTransaction) throws(HeadroomError) -> R) throws(HeadroomError) -> R {
        do {
            return try write(body)
        } catch where [.sameOperator, .ruleSetNotApproved, .ruleSetRejected, .ruleSetNotChangeable, .ruleSetAlreadyApproved].contains(error.code) {
            try write { (txn) throws(HeadroomError) in
                try AuditLog.append(store, txn, time: clock(), operatorName: name, action: action + ".refused",
                                    detail: "v\(version): \(error.message)")
            }
            throw error
        }
    }

    func write<R>(_ body: (borrowing StoreTransaction) throws(HeadroomError) -> R) throws(HeadroomError) -> R {
        let txn = try store.beginWrite()
        let result = try body(txn)
        try txn.commit()
        return result
    }
}
