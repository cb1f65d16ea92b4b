import HeadroomCore
import Yams

/// Typed reads of YAML nodes; each reports its own problem and answers `nil` when wrong.
extension FileParser {
    /// The pairs of a mapping, with string keys, refusing duplicate keys.
    mutating func mapping(_ node: Node, _ field: String) -> [(String, Node)]? {
        guard case .mapping(let map) = node else {
            problem(node, field, "expected a mapping of `key: value` lines")
            return nil
        }
        var pairs: [(String, Node)] = []
        var seen: Set<String> = []
        for (key, value) in map {
            guard case .scalar(let scalar) = key else {
                problem(key, field, "a key must be plain text")
                continue
            }
            if !seen.insert(scalar.string).inserted {
                problem(key, field.isEmpty ? scalar.string : "\(field).\(scalar.string)", "appears twice")
                continue
            }
            pairs.append((scalar.string, value))
        }
        return pairs
    }

    mutating func sequence(_ node: Node, _ field: String) -> [Node]? {
        guard case .sequence(let seq) = node else {
            problem(node, field, "expected a list (`- item` lines or `[a, b]`)")
            return nil
        }
        return Array(seq)
    }

    /// A scalar's text; `nil` (with a problem) for a mapping, a list or an empty value.
    mutating func scalar(_ node: Node, _ field: String) -> String? {
        guard case .scalar(let scalar) = node else {
            problem(node, field, "expected a single value")
            return nil
        }
        let text = scalar.string
        if scalar.style == .plain && (text.isEmpty || text == "~" || text == "null") {
            problem(node, field, "has no value")
            return nil
        }
        return text
    }

    mutating func bool(_ node: Node, _ field: String) -> Bool? {
        guard let text = scalar(node, field) else { return nil }
        switch text {
        case "true": return true
        case "false": return false
        default:
            problem(node, field, "\"\(text)\" is not true or false")
            return nil
        }
    }

    /// An amount in yuan, parsed exactly from the scalar's text (never through a float).
    mutating func amountFen(_ node: Node, _ field: String) -> Int64? {
        guard let text = scalar(node, field) else { return nil }
        do {
            return try Amount.parseFen(text, allowZero: true)
        } catch {
            problem(node, field, error.description)
            return nil
        }
    }

    mutating func count(_ node: Node, _ field: String) -> Int64? {
        guard let text = scalar(node, field) else { return nil }
        guard let value = Int64(text), value >= 0, value <= 1_000_000_000 else {
            problem(node, field, "\"\(text)\" is not a whole number of payments from 0 to 1,000,000,000")
            return nil
        }
        return value
    }

    /// A list of names, each turned into a value by `make`; `nil` when any is wrong.
    mutating func names<T: Hashable>(_ node: Node, _ field: String, allowed: String, _ make: (String) -> T?) -> Set<T>? {
        guard let items = sequence(node, field) else { return nil }
        var values: Set<T> = []
        var ok = true
        for (index, item) in items.enumerated() {
            guard let text = scalar(item, "\(field)[\(index)]") else { ok = false; continue }
            guard let value = make(text) else {
                problem(item, "\(field)[\(index)]", "\"\(text)\" is not one of \(allowed)")
                ok = false
                continue
            }
            values.insert(value)
        }
        if ok && values.isEmpty {
            problem(node, field, "is an empty list: leave the key out to mean every value")
            return nil
        }
        return ok ? values : nil
    }

    mutating func institution(_ node: Node, _ field: String) -> Institution? {
        guard let text = scalar(node, field) else { return nil }
        do {
            return try Institution(text)
        } catch {
            problem(node, field, error.description)
            return nil
        }
    }

    /// An `applies_to` mapping. `business` is required; the other keys default to every value.
    mutating func parseFilter(_ node: Node, _ field: String) -> Filter? {
        guard let fields = mapping(node, field) else { return nil }
        var businesses: Set<Business>?
        var filter = Filter(businesses: [])
        var ok = true
        for (key, value) in fields {
            let path = "\(field).\(key)"
            switch key {
            case "business":
                businesses = names(value, path, allowed: allNames(Business.allCases.map(\.name)), Business.init(name:))
                ok = ok && businesses != nil
                if businesses?.contains(.refund) == true {
                    problem(value, path, "refund is not a payment a limit counts: say with refund_restores what a refund gives back")
                    ok = false
                }
            case "account_class":
                filter.accountClasses = names(value, path, allowed: "I, II, III", AccountClass.init(name:))
                ok = ok && filter.accountClasses != nil
            case "channel":
                filter.channels = names(value, path, allowed: allNames(Channel.allCases.map(\.name)), Channel.init(name:))
                ok = ok && filter.channels != nil
            case "account_type":
                filter.accountTypes = names(value, path, allowed: "personal, corporate", AccountType.init(name:))
                ok = ok && filter.accountTypes != nil
            case "institution":
                filter.institutions = institutions(value, path)
                ok = ok && filter.institutions != nil
            default:
                problem(value, path, "unknown key: applies_to has business, account_class, channel, account_type, institution")
                ok = false
            }
        }
        if !fields.contains(where: { $0.0 == "business" }) {
            problem(node, "\(field).business", "is required: list the business types this counts")
            ok = false
        }
        guard ok, let businesses else { return nil }
        filter.businesses = businesses
        return filter
    }

    mutating func institutions(_ node: Node, _ field: String) -> Set<Institution>? {
        guard let items = sequence(node, field) else { return nil }
        var values: Set<Institution> = []
        var ok = true
        for (index, item) in items.enumerated() {
            if let value = institution(item, "\(field)[\(index)]") { values.insert(value) } else { ok = false }
        }
        if ok && values.isEmpty { problem(node, field, "is an empty list: leave the key out to mean every value") }
        return ok && !values.isEmpty ? values : nil
    }

    func allNames(_ names: [String]) -> String { names.joined(separator: ", ") }
}
