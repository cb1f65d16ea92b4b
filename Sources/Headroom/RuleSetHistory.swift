import Foundation
import HeadroomCore
import HeadroomRules
import LMDBKit
import Logging

/// A version of the rules, as kept in the store, with who proposed, approved and activated it.
public struct RuleSetVersion: Codable, Sendable, Equatable {
    /// The version's number, from 1.
    public let version: UInt32
    /// FNV-1a of the files' names and texts, 16 hex digits.
    public let digest: String
    /// The rule files' names.
    public let files: [String]
    /// The account that proposed it.
    public let proposedBy: String
    /// Unix seconds.
    public let proposedAt: Int64
    /// The account that approved it (never the proposer).
    public var approvedBy: String?
    /// When it was approved (unix seconds).
    public var approvedAt: Int64?
    /// The account that put it in force (or scheduled it).
    public var activatedBy: String?
    /// When it was put in force (unix seconds).
    public var activatedAt: Int64?
    /// Withdrawn by its proposer or rejected by a checker: it can no longer be approved or put
    /// in force.
    public var rejectedBy: String?
    /// When it was withdrawn or rejected (unix seconds).
    public var rejectedAt: Int64?
    /// Why, in the rejecting operator's words.
    public var rejectionReason: String?
}

/// Where a version stands.
public enum RuleSetStatus: String, Codable, Sendable {
    /// Proposed by one operator, waiting for another's approval.
    case proposed
    /// Approved by a second operator, not yet in force.
    case approved
    /// Approved, and to be put in force at a set time.
    case scheduled
    /// In force.
    case active
    /// Was in force; another version replaced it.
    case retired
    /// Withdrawn by its proposer or rejected by a checker.
    case rejected
}

/// An activation waiting for its time.
public struct RuleSetSchedule: Codable, Sendable, Equatable {
    /// The version to put in force.
    public let version: UInt32
    /// Unix seconds.
    public let at: Int64
    /// The account that scheduled it.
    public let scheduledBy: String
}

/// The rule sets a store has had, in `meta`: `rules.v<N>` the files of version N (kept whole:
/// names and texts, so any later Headroom can re-validate them), `rules.v<N>.info` who
/// proposed, approved and activated it, `rules.latest` the highest version, `rules.current` the
/// version in force, `rules.activations` the versions in force one after the other (for
/// rollback), `rules.scheduled` an activation waiting for its time.
enum RuleSetHistory {
    static func currentVersion(_ store: Store, _ txn: borrowing StoreTransaction) throws(HeadroomError) -> UInt32? {
        try store.metaInteger(txn, .rulesCurrent).map { UInt32($0) }
    }

    static func load(_ store: Store, _ txn: borrowing StoreTransaction, version: UInt32) throws(HeadroomError) -> RuleSet {
        let sources = try self.sources(store, txn, version: version)
        do {
            return try RuleLoader.parse(sources)
        } catch {
            throw HeadroomError(.invalidRules, "the store's rule set v\(version) no longer validates: \(error)")
        }
    }

    static func sources(_ store: Store, _ txn: borrowing StoreTransaction, version: UInt32) throws(HeadroomError) -> [RuleSource] {
        guard let bytes = try store.metaBytes(txn, .rulesFiles(version)) else {
            throw HeadroomError(.unknownRuleSet, "there is no rule set v\(version) in the store")
        }
        guard let sources = bytes.withUnsafeBytes({ decode($0) }) else {
            throw HeadroomError(.corrupted, "rule set v\(version) does not decode")
        }
        return sources
    }

    // MARK: Records

    static func info(_ store: Store, _ txn: borrowing StoreTransaction, version: UInt32) throws(HeadroomError) -> RuleSetVersion {
        guard let info: RuleSetVersion = try json(store, txn, .rulesInfo(version)) else {
            throw HeadroomError(.unknownRuleSet, "there is no rule set v\(version) in the store")
        }
        return info
    }

    static func putInfo(_ store: Store, _ txn: borrowing StoreTransaction, _ info: RuleSetVersion) throws(HeadroomError) {
        try putJSON(store, txn, .rulesInfo(info.version), info)
    }

    static func activations(_ store: Store, _ txn: borrowing StoreTransaction) throws(HeadroomError) -> [UInt32] {
        try json(store, txn, .rulesActivations) ?? []
    }

    static func schedule(_ store: Store, _ txn: borrowing StoreTransaction) throws(HeadroomError) -> RuleSetSchedule? {
        try json(store, txn, .rulesScheduled)
    }

    static func json<T: Decodable>(_ store: Store, _ txn: borrowing StoreTransaction, _ name: MetaKey) throws(HeadroomError) -> T? {
        guard let bytes = try store.metaBytes(txn, name) else { return nil }
        do {
            return try JSONDecoder().decode(T.self, from: Data(bytes))
        } catch {
            throw HeadroomError(.corrupted, "meta \(name.description) does not decode: \(error)")
        }
    }

    static func putJSON<T: Encodable>(_ store: Store, _ txn: borrowing StoreTransaction, _ name: MetaKey, _ value: T) throws(HeadroomError) {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let data: Data
        do {
            data = try encoder.encode(value)
        } catch {
            throw HeadroomError(.corrupted, "cannot encode meta \(name.description): \(error)")
        }
        try store.putMeta(txn, name, Array(data))
    }

    // MARK: Changes

    /// Stores `sources` as the next version; answers it.
    static func add(_ store: Store, _ txn: borrowing StoreTransaction, _ sources: [RuleSource], by name: String, at time: Int64) throws(HeadroomError) -> RuleSetVersion {
        let next = UInt32(try store.metaInteger(txn, .rulesLatest) ?? 0) + 1
        let info = RuleSetVersion(version: next, digest: sources.digest.hexDigits,
                                  files: sources.map { String($0.name.split(separator: "/").last ?? "") },
                                  proposedBy: name, proposedAt: time)
        try store.putMeta(txn, .rulesFiles(next), encode(sources))
        try putInfo(store, txn, info)
        try store.putMetaInteger(txn, .rulesLatest, Int64(next))
        return info
    }

    /// Puts an approved version in force now.
    static func activate(_ store: Store, _ txn: borrowing StoreTransaction, _ version: UInt32, by name: String, at time: Int64) throws(HeadroomError) {
        var info = try self.info(store, txn, version: version)
        info.activatedBy = name
        info.activatedAt = time
        try putInfo(store, txn, info)
        try putJSON(store, txn, .rulesActivations, try activations(store, txn) + [version])
        try store.putMetaInteger(txn, .rulesCurrent, Int64(version))
        if try store.metaInteger(txn, .rulesShadow) == Int64(version) {
            try store.deleteMeta(txn, .rulesShadow)  // promoted: it is the live set now
        }
        if try schedule(store, txn)?.version == version {
            try clearSchedule(store, txn)
        }
    }

    static func clearSchedule(_ store: Store, _ txn: borrowing StoreTransaction) throws(HeadroomError) {
        try store.deleteMeta(txn, .rulesScheduled)
    }

    /// The first rule set of a new store: recorded as put in force by `bootstrap`.
    static func bootstrap(_ store: Store, _ txn: borrowing StoreTransaction, _ sources: [RuleSource], at time: Int64) throws(HeadroomError) -> UInt32 {
        var info = try add(store, txn, sources, by: "bootstrap", at: time)
        info.approvedBy = "bootstrap"
        info.approvedAt = time
        try putInfo(store, txn, info)
        try activate(store, txn, info.version, by: "bootstrap", at: time)
        try AuditLog.append(store, txn, time: time, operatorName: "bootstrap", action: "rules.bootstrap",
                            detail: "v\(info.version) from \(info.files.joined(separator: ", ")) put in force for a new store")
        return info.version
    }

    /// Puts a scheduled version in force when its time has come (inside a write transaction);
    /// answers the version then in force.
    static func activateIfDue(_ store: Store, _ txn: borrowing StoreTransaction, now: () -> Int64) throws(HeadroomError) -> UInt32? {
        if let due = try schedule(store, txn), due.at <= now() {
            if !txn.isReadOnly {
                try activate(store, txn, due.version, by: due.scheduledBy, at: due.at)
                try AuditLog.append(store, txn, time: now(), operatorName: due.scheduledBy, action: "rules.activate",
                                    detail: "v\(due.version) in force as scheduled for \(Timestamp(unixSeconds: due.at).chinaISO8601)")
            }
            return due.version
        }
        return try currentVersion(store, txn)
    }


    static func encode(_ sources: [RuleSource]) -> [UInt8] {
        var w = ByteWriter()
        w.u32(UInt32(sources.count))
        for source in sources {
            let name = Array(source.name.utf8), text = Array(source.text.utf8)
            w.u32(UInt32(name.count))
            w.bytes += name
            w.u32(UInt32(text.count))
            w.bytes += text
        }
        return w.bytes
    }

    static func decode(_ bytes: UnsafeRawBufferPointer) -> [RuleSource]? {
        var r = ByteReader(bytes)
        guard let count = r.u32() else { return nil }
        var sources: [RuleSource] = []
        for _ in 0..<count {
            guard let nameCount = r.u32(), let name = r.slice(Int(nameCount)),
                  let textCount = r.u32(), let text = r.slice(Int(textCount)) else { return nil }
            sources.append(RuleSource(name: String(decoding: name, as: UTF8.self), text: String(decoding: text, as: UTF8.self)))
        }
        return r.isAtEnd ? sources : nil
    }
}
