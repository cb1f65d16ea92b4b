import HeadroomCore
import Yams

/// Reads one risk rule of a `risk` section (docs/rules.md, "Risk rules").
enum RiskParser {
    static let kinds = ["list", "ended-agreement", "velocity", "new-agreement"]
    /// The fields each kind has besides id, kind, action, applies_to and description.
    static let kindFields: [String: [String]] = [
        "list": ["list", "match"],
        "ended-agreement": [],
        "velocity": ["window", "group", "counts", "amount_max", "count_max", "refund_restores"],
        "new-agreement": ["cool_off", "amount_max", "count_max"],
    ]
    static let common = ["id", "kind", "action", "applies_to", "description"]
    static let agreementBusinesses: Set<Business> = [.agreement, .entrusted]

    static func parse(_ node: Node, field: String, into parser: inout FileParser) -> RiskRule? {
        guard let pairs = parser.mapping(node, field) else { return nil }
        let before = parser.problems.count
        var values: [String: Node] = [:]
        for (key, value) in pairs { values[key] = value }
        let kindText = LimitParser.required(values, "kind", field, node, &parser).flatMap { parser.scalar($0, "\(field).kind") }
        if let kindText, !kinds.contains(kindText) {
            parser.problem(values["kind"], "\(field).kind", "\"\(kindText)\" is not one of \(kinds.joined(separator: ", "))")
        }
        let allowed = common + (kindText.flatMap { kindFields[$0] } ?? kindFields.values.flatMap { $0 })
        for (key, value) in pairs where !allowed.contains(key) {
            parser.problem(value, "\(field).\(key)", "unknown field: a\(kindText.map { " \($0)" } ?? "") risk rule has \(allowed.joined(separator: ", "))")
        }
        let id = LimitParser.required(values, "id", field, node, &parser).flatMap { LimitParser.parseID($0, "\(field).id", &parser) }
        let action = named(RiskAction.self, values, "action", field, node, &parser)
        let filter = LimitParser.required(values, "applies_to", field, node, &parser).flatMap { parser.parseFilter($0, "\(field).applies_to") }
        _ = values["description"].flatMap { parser.scalar($0, "\(field).description") }
        // Every problem at once: the kind's own fields are read even when a common one is wrong.
        guard let kindText, kinds.contains(kindText) else { return nil }
        let source = SourceLocation(file: parser.file, line: node.mark?.line ?? 0)
        switch kindText {
        case "list":
            let name = LimitParser.required(values, "list", field, node, &parser).flatMap { listName($0, "\(field).list", &parser) }
            let match = named(ListField.self, values, "match", field, node, &parser)
            guard parser.problems.count == before, let id, let action, let filter, let name, let match else { return nil }
            return RiskRule(id: id, kind: .list(name: name, field: match), action: action, filter: filter, source: source)
        case "ended-agreement":
            guard let filter, agreementOnly(filter, values["applies_to"], field, &parser), parser.problems.count == before,
                  let id, let action else { return nil }
            return RiskRule(id: id, kind: .endedAgreement, action: action, filter: filter, source: source)
        case "velocity":
            let window = LimitParser.required(values, "window", field, node, &parser).flatMap { LimitParser.parseWindow($0, "\(field).window", &parser) }
            if window == .single || window == .year {
                parser.problem(values["window"], "\(field).window", "a velocity rule counts a rolling window, a day or a month")
            }
            let grouping = named(Grouping.self, values, "group", field, node, &parser)
            let counting = named(Counting.self, values, "counts", field, node, &parser,
                                 names: "attempts (every authorization judged), approved (those holding a reservation)")
            let caps = caps(values, field, node, &parser)
            let refundRestores = values["refund_restores"].flatMap { parser.bool($0, "\(field).refund_restores") } ?? false
            if refundRestores && counting == .attempts {
                parser.problem(values["refund_restores"], "\(field).refund_restores", "a rule counting attempts gives nothing back")
            }
            guard parser.problems.count == before, let id, let action, let filter, let window, let grouping, let counting, let caps
            else { return nil }
            return RiskRule(id: id, kind: .velocity(counting), action: action, filter: filter, window: window, grouping: grouping,
                            caps: caps, refundRestores: refundRestores, source: source)
        default:  // new-agreement
            let coolOff = LimitParser.required(values, "cool_off", field, node, &parser).flatMap { value -> Int64? in
                guard let text = parser.scalar(value, "\(field).cool_off") else { return nil }
                guard let seconds = HoldTimes.parse(text), seconds <= RiskRule.coolOffSecondsMax else {
                    parser.problem(value, "\(field).cool_off", "\"\(text)\" is not a cool-off: a whole number of minutes, hours or days up to 30d (24h)")
                    return nil
                }
                return seconds
            }
            let caps = caps(values, field, node, &parser)
            guard let filter, agreementOnly(filter, values["applies_to"], field, &parser), parser.problems.count == before,
                  let id, let action, let coolOff, let caps else { return nil }
            return RiskRule(id: id, kind: .newAgreement(coolOffSeconds: coolOff), action: action, filter: filter, caps: caps, source: source)
        }
    }

    /// A required field naming one case of `T`; a name no case has is a problem that lists them
    /// (or says `names`).
    static func named<T: NamedCase>(_: T.Type, _ values: [String: Node], _ key: String, _ field: String, _ node: Node,
                                    _ parser: inout FileParser, names: String? = nil) -> T? {
        guard let value = LimitParser.required(values, key, field, node, &parser),
              let text = parser.scalar(value, "\(field).\(key)") else { return nil }
        guard let found = T(name: text) else {
            parser.problem(value, "\(field).\(key)", "\"\(text)\" is not one of \(names ?? T.allCases.map(\.name).joined(separator: ", "))")
            return nil
        }
        return found
    }

    static func caps(_ values: [String: Node], _ field: String, _ node: Node, _ parser: inout FileParser) -> Caps? {
        let caps = Caps(amountFenMax: values["amount_max"].flatMap { parser.amountFen($0, "\(field).amount_max") },
                        countMax: values["count_max"].flatMap { parser.count($0, "\(field).count_max") })
        if values["amount_max"] == nil && values["count_max"] == nil {
            parser.problem(node, "\(field).amount_max", "the rule sets no cap: give amount_max, count_max or both")
            return nil
        }
        if caps.isEmpty { return nil }  // a malformed cap, already reported
        return caps
    }

    static func agreementOnly(_ filter: Filter, _ node: Node?, _ field: String, _ parser: inout FileParser) -> Bool {
        guard filter.businesses.isSubset(of: agreementBusinesses) else {
            parser.problem(node, "\(field).applies_to.business", "agreements are named by agreement and entrusted payments only")
            return false
        }
        return true
    }

    /// A list's name: 1 to 64 of a-z, 0-9, '.', '-', '_'.
    static func listName(_ node: Node, _ field: String, _ parser: inout FileParser) -> String? {
        guard let text = parser.scalar(node, field) else { return nil }
        guard ListName.isValid(text) else {
            parser.problem(node, field, "\"\(text)\" is not a list name: \(ListName.rule)")
            return nil
        }
        return text
    }
}

/// What a list's name may be.
public enum ListName {
    /// The rule, in words.
    public static let rule = "1 to 64 of a-z, 0-9, '.', '-', '_'"

    /// Whether `text` is a valid list name.
    public static func isValid(_ text: String) -> Bool {
        (1...64).contains(text.utf8.count) && text.utf8.allSatisfy { b in
            (b >= 97 && b <= 122) || (b >= 48 && b <= 57) || b == 46 || b == 45 || b == 95
        }
    }
}
