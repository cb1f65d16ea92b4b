import HeadroomCore
import Yams

/// Parses one entry of a `limits` list.
enum LimitParser {
    static let fieldNames = ["id", "tier", "window", "group", "applies_to", "amount_max", "count_max",
                             "refund_restores", "per_institution", "description"]
    static var fields: String { fieldNames.joined(separator: ", ") }

    static func parse(_ node: Node, field: String, into parser: inout FileParser) -> Limit? {
        guard let pairs = parser.mapping(node, field) else { return nil }
        var values: [String: Node] = [:]
        for (key, value) in pairs {
            if fieldNames.contains(key) {
                values[key] = value
            } else {
                parser.problem(value, "\(field).\(key)", "unknown field: a limit has \(fields)")
            }
        }
        let before = parser.problems.count
        let id = required(values, "id", field, node, &parser).flatMap { parseID($0, "\(field).id", &parser) }
        let tier = required(values, "tier", field, node, &parser).flatMap { parseTier($0, "\(field).tier", &parser) }
        let window = required(values, "window", field, node, &parser).flatMap { parseWindow($0, "\(field).window", &parser) }
        let grouping = parseGrouping(values["group"], window: window, field: field, node: node, &parser)
        let filter = required(values, "applies_to", field, node, &parser).flatMap { parser.parseFilter($0, "\(field).applies_to") }
        let caps = Caps(
            amountFenMax: values["amount_max"].flatMap { parser.amountFen($0, "\(field).amount_max") },
            countMax: values["count_max"].flatMap { parser.count($0, "\(field).count_max") }
        )
        let refundRestores = values["refund_restores"].flatMap { parser.bool($0, "\(field).refund_restores") } ?? false
        let overrides = values["per_institution"].flatMap { parseOverrides($0, "\(field).per_institution", &parser) } ?? [:]
        _ = values["description"].flatMap { parser.scalar($0, "\(field).description") }
        guard parser.problems.count == before, let id, let tier, let window, let grouping, let filter else { return nil }
        let limit = Limit(id: id, tier: tier, window: window, grouping: grouping, filter: filter,
                          refundRestores: refundRestores, caps: caps, institutionCaps: overrides,
                          source: SourceLocation(file: parser.file, line: node.mark?.line ?? 0))
        return validate(limit, values: values, field: field, node: node, &parser) ? limit : nil
    }

    /// Checks that need the whole limit.
    static func validate(_ limit: Limit, values: [String: Node], field: String, node: Node, _ parser: inout FileParser) -> Bool {
        let before = parser.problems.count
        if limit.window == .single && (limit.caps.countMax != nil || limit.institutionCaps.values.contains { $0.countMax != nil }) {
            parser.problem(values["count_max"] ?? values["per_institution"], "\(field).count_max",
                           "a single-payment limit caps the amount only; count a window instead")
        }
        if !limit.institutionCaps.isEmpty && limit.tier != .institution {
            parser.problem(values["per_institution"], "\(field).per_institution",
                           "only institution-tier limits have per-institution values")
        }
        if limit.caps.isEmpty && limit.institutionCaps.isEmpty {
            parser.problem(node, "\(field).amount_max", "the limit sets no cap: give amount_max, count_max or per_institution")
        }
        return parser.problems.count == before
    }

    static func required(_ values: [String: Node], _ key: String, _ field: String, _ node: Node, _ parser: inout FileParser) -> Node? {
        if let value = values[key] { return value }
        parser.problem(node, "\(field).\(key)", "is required")
        return nil
    }

    static func parseID(_ node: Node, _ field: String, _ parser: inout FileParser) -> String? {
        guard let text = parser.scalar(node, field) else { return nil }
        let allowed = text.utf8.allSatisfy { b in
            (b >= 97 && b <= 122) || (b >= 48 && b <= 57) || b == 46 || b == 45 || b == 95
        }
        guard allowed, (1...64).contains(text.utf8.count), !text.hasPrefix("card") else {
            parser.problem(node, field, "\"\(text)\" is not an id: 1 to 64 of a-z, 0-9, '.', '-', '_', not starting with \"card\" (kept for customers' limits)")
            return nil
        }
        return text
    }

    static func parseTier(_ node: Node, _ field: String, _ parser: inout FileParser) -> Tier? {
        guard let text = parser.scalar(node, field) else { return nil }
        if text == "card" {
            parser.problem(node, field, "card-tier limits are each customer's own: set them with `headroom card-limit`; say what they count in card_tier")
            return nil
        }
        guard let tier = Tier(name: text) else {
            parser.problem(node, field, "\"\(text)\" is not one of regulatory, bank, institution")
            return nil
        }
        return tier
    }

    static func parseWindow(_ node: Node, _ field: String, _ parser: inout FileParser) -> Window? {
        guard let text = parser.scalar(node, field) else { return nil }
        guard let window = Window(spelling: text) else {
            parser.problem(node, field, "\"\(text)\" is not one of single, day, month, year, rolling <N>m, rolling <N>h")
            return nil
        }
        switch window {
        case .rollingMinutes(let n) where n > Window.rollingMinutesMax:
            parser.problem(node, field, "a rolling window is at most \(Window.rollingMinutesMax) minutes; use hours")
            return nil
        case .rollingHours(let n) where n > Window.rollingHoursMax:
            parser.problem(node, field, "a rolling window is at most \(Window.rollingHoursMax) hours; use month")
            return nil
        default:
            return window
        }
    }

    /// `group` is required for counted windows; a single-payment cap has no group.
    static func parseGrouping(_ node: Node?, window: Window?, field: String, node parent: Node, _ parser: inout FileParser) -> Grouping? {
        guard let node else {
            if window == .single { return .card }
            parser.problem(parent, "\(field).group", "is required: bank, institution, card or card+institution")
            return nil
        }
        guard let text = parser.scalar(node, "\(field).group") else { return nil }
        if window == .single {
            parser.problem(node, "\(field).group", "a single-payment limit counts nothing, so it has no group")
            return nil
        }
        guard let grouping = Grouping(name: text), grouping.rawValue <= Grouping.cardInstitution.rawValue else {
            parser.problem(node, "\(field).group", "\"\(text)\" is not one of bank, institution, card, card+institution")
            return nil
        }
        return grouping
    }

    static func parseOverrides(_ node: Node, _ field: String, _ parser: inout FileParser) -> [Institution: Caps]? {
        guard let pairs = parser.mapping(node, field) else { return nil }
        var out: [Institution: Caps] = [:]
        for (code, value) in pairs {
            let path = "\(field).\(code)"
            let institution: Institution
            do {
                institution = try Institution(code)
            } catch {
                parser.problem(value, path, error.description)
                continue
            }
            guard let caps = parseCaps(value, path, &parser) else { continue }
            out[institution] = caps
        }
        return out
    }

    static func parseCaps(_ node: Node, _ field: String, _ parser: inout FileParser) -> Caps? {
        guard let pairs = parser.mapping(node, field) else { return nil }
        var caps = Caps()
        for (key, value) in pairs {
            switch key {
            case "amount_max": caps.amountFenMax = parser.amountFen(value, "\(field).amount_max")
            case "count_max": caps.countMax = parser.count(value, "\(field).count_max")
            default: parser.problem(value, "\(field).\(key)", "unknown field: an institution's values are amount_max and count_max")
            }
        }
        if caps.isEmpty {
            parser.problem(node, field, "sets neither amount_max nor count_max")
            return nil
        }
        return caps
    }
}
