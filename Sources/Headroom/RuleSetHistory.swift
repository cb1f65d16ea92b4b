import HeadroomCore
import HeadroomRules
import LMDBKit
import Logging

/// The rule sets a store has had, each kept whole (file names and texts) under its version in
/// `meta`: `rules.current` holds the version in force, `rules.v<N>` the files of version N.
/// Keeping the text, not a compiled form, means any later Headroom can re-validate it.
enum RuleSetHistory {
    static func current(_ store: Store, _ txn: borrowing Transaction) throws(HeadroomError) -> (RuleSet, UInt32)? {
        guard let version = try store.metaInteger(txn, "rules.current") else { return nil }
        let sources = try self.sources(store, txn, version: UInt32(version))
        do {
            return (try RuleLoader.parse(sources), UInt32(version))
        } catch {
            throw HeadroomError(.invalidRules, "the store's rule set v\(version) no longer validates: \(error)")
        }
    }

    static func sources(_ store: Store, _ txn: borrowing Transaction, version: UInt32) throws(HeadroomError) -> [RuleSource] {
        guard let bytes = try store.metaBytes(txn, "rules.v\(version)") else {
            throw HeadroomError(.corrupted, "rule set v\(version) is missing from the store")
        }
        guard let sources = bytes.withUnsafeBytes({ decode($0) }) else {
            throw HeadroomError(.corrupted, "rule set v\(version) does not decode")
        }
        return sources
    }

    /// Puts `rules` in force (as a new version when they differ from the current one), or
    /// keeps the current rule set when `rules` is nil.
    static func putInForce(_ store: Store, _ txn: borrowing Transaction, rules: [RuleSource]?,
                           logger: Logger) throws(HeadroomError) -> (RuleSet, UInt32) {
        let current = try store.metaInteger(txn, "rules.current").map { UInt32($0) }
        guard let rules else {
            guard let found = try self.current(store, txn) else {
                throw HeadroomError(.noRuleSet, "the store has no rule set yet: give rule files")
            }
            return found
        }
        let ruleSet: RuleSet
        do {
            ruleSet = try RuleLoader.parse(rules)
        } catch {
            throw .rules(error)
        }
        if let current, try sources(store, txn, version: current).digest == rules.digest {
            return (ruleSet, current)
        }
        let next = (current ?? 0) + 1
        try store.putMeta(txn, "rules.v\(next)", encode(rules))
        try store.putMetaInteger(txn, "rules.current", Int64(next))
        logger.info("rule set in force", metadata: ["version": "\(next)", "limits": "\(ruleSet.limits.count)"])
        return (ruleSet, next)
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
