import Foundation
import HeadroomCore

/// What is legal in a rule set but almost certainly not what its author meant: a file in the
/// rule directory that is not read, a cap that can never decide anything because another limit
/// always stops the same payments first. Warnings do not fail validation; `rules validate`
/// prints them.
public enum RuleWarnings {
    /// Files in `directory` that are not rule files and so are skipped.
    public static func skippedFiles(directory: String) -> [RuleProblem] {
        let base = directory.hasSuffix("/") ? String(directory.dropLast()) : directory
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return names.filter { !RuleSource.isRuleFile($0) }.sorted().map {
            RuleProblem(file: "\(base)/\($0)", line: 0, field: "", message: "skipped: not a rule file (*.yaml or *.yml)")
        }
    }

    /// A rule set without a `holds` section: a reservation whose confirm or release never
    /// comes holds its limit for ever.
    public static func missingHolds(_ rules: RuleSet, directory: String) -> [RuleProblem] {
        guard rules.holds == nil else { return [] }
        return [RuleProblem(file: directory, line: 0, field: "holds",
                            message: "no file has a holds section: an authorized payment that is never confirmed or released holds its limit until reconciliation gives it back")]
    }

    /// Caps that can never bind: another limit of the same tier or a broader one (an
    /// institution's cap above the bank's, say) counts at least the same payments in the same
    /// window and caps the same measure at no more, so it always declines first. A broader
    /// tier's cap under narrower ones (the bank's single-payment cap above every institution's)
    /// is a backstop, and is not warned of.
    public static func capsThatCannotBind(_ rules: RuleSet) -> [RuleProblem] {
        var out: [RuleProblem] = []
        for limit in rules.limits {
            for other in rules.limits where other.id != limit.id && other.tier <= limit.tier && covers(other, limit) {
                out += shadowed(limit, by: other)
            }
        }
        return out
    }

    /// Whether `outer` counts every payment `inner` counts, in the same window: it applies to
    /// them all and groups them no finer, and gives back no more on refunds.
    static func covers(_ outer: Limit, _ inner: Limit) -> Bool {
        guard outer.window == inner.window, includes(outer.filter, inner.filter) else { return false }
        guard !outer.refundRestores || inner.refundRestores else { return false }
        if outer.window == .single { return true }
        switch (outer.grouping, inner.grouping) {
        case let (a, b) where a == b: return true
        case (.bank, _): return true
        case (.card, .cardInstitution), (.institution, .cardInstitution): return true
        default: return false
        }
    }

    static func includes(_ outer: Filter, _ inner: Filter) -> Bool {
        func wider<T>(_ a: Set<T>?, _ b: Set<T>?) -> Bool {
            guard let a else { return true }
            guard let b else { return false }
            return b.isSubset(of: a)
        }
        return inner.businesses.isSubset(of: outer.businesses) && wider(outer.accountClasses, inner.accountClasses)
            && wider(outer.channels, inner.channels) && wider(outer.accountTypes, inner.accountTypes)
            && wider(outer.institutions, inner.institutions)
    }

    /// For the default caps and each institution's, the measures `limit` caps no lower than `other`.
    static func shadowed(_ limit: Limit, by other: Limit) -> [RuleProblem] {
        var scopes: [(Institution?, Caps, Caps)] = [(nil, limit.caps, other.caps)]
        for institution in Set(limit.institutionCaps.keys).union(other.institutionCaps.keys).sorted(by: { $0.code < $1.code }) {
            scopes.append((institution, limit.caps(for: institution), other.caps(for: institution)))
        }
        var out: [RuleProblem] = []
        for (institution, mine, theirs) in scopes {
            // An institution's caps equal to the default ones were said already.
            if institution != nil, mine == limit.caps, theirs == other.caps { continue }
            let scope = institution.map { " for \($0.code)" } ?? ""
            for (measure, a, b) in [("amount", mine.amountFenMax, theirs.amountFenMax), ("count", mine.countMax, theirs.countMax)] {
                guard let a, let b, a >= b else { continue }
                let shown = { (v: Int64) in measure == "amount" ? Amount.grouped(v) : "\(v)" }
                out.append(RuleProblem(file: limit.source?.file ?? "rules", line: limit.source?.line ?? 0, field: limit.id,
                                       message: "\(measure) cap\(scope) \(shown(a)) can never bind: \(other.id) (\(other.tier.name)) stops the same payments at \(shown(b))"))
            }
        }
        return out
    }
}
