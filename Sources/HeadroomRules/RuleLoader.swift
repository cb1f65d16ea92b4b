import HeadroomCore
import Yams

/// Turns rule files into a validated, immutable `RuleSet`. Every problem in every file is
/// reported at once, each with file, line and field; nothing is defaulted silently (the only
/// defaults are documented in docs/rules.md: `refund_restores: false`, and every value for an
/// `applies_to` key that is left out, except `business`, which is required).
public enum RuleLoader {
    /// Reads and validates every rule file in `directory`.
    public static func load(directory: String) throws(RuleErrors) -> (RuleSet, [RuleSource]) {
        let sources = try RuleSource.read(directory: directory)
        return (try parse(sources), sources)
    }

    /// Validates rule files already read (from disk or from the store).
    public static func parse(_ sources: [RuleSource]) throws(RuleErrors) -> RuleSet {
        var problems: [RuleProblem] = []
        var limits: [Limit] = []
        var cardTiers: [(CardTierPolicy, SourceLocation)] = []
        var holds: [(HoldTimes, SourceLocation)] = []
        var risk: [RiskRule] = []
        for source in sources {
            var parser = FileParser(file: source.name)
            parser.parse(source.text)
            problems += parser.problems
            limits += parser.limits
            cardTiers += parser.cardTiers
            holds += parser.holds
            risk += parser.risk
        }
        problems += duplicateIDs(limits.map { ($0.id, $0.source) } + risk.map { ($0.id, $0.source) })
        let directory = sources.first.map { String($0.name.split(separator: "/").dropLast().joined(separator: "/")) } ?? ""
        if cardTiers.isEmpty {
            problems.append(RuleProblem(file: directory.isEmpty ? "rules" : directory, line: 0, field: "card_tier",
                                        message: "no file has a card_tier section: say what customers' card limits count"))
        }
        for extra in cardTiers.dropFirst() {
            problems.append(RuleProblem(file: extra.1.file, line: extra.1.line, field: "card_tier",
                                        message: "a second card_tier section (the first is at \(cardTiers[0].1))"))
        }
        for extra in holds.dropFirst() {
            problems.append(RuleProblem(file: extra.1.file, line: extra.1.line, field: "holds",
                                        message: "a second holds section (the first is at \(holds[0].1))"))
        }
        let lists = risk.filter { if case .list = $0.kind { true } else { false } }
        if lists.count > RuleSet.listRulesMax, let source = lists[RuleSet.listRulesMax].source {
            problems.append(RuleProblem(file: source.file, line: source.line, field: "risk",
                                        message: "a rule set has at most \(RuleSet.listRulesMax) list rules"))
        }
        if let challenging = risk.first(where: { $0.action == .challenge }), holds.first?.0.challengeSeconds == nil,
           let source = challenging.source {
            problems.append(RuleProblem(file: holds.first?.1.file ?? source.file, line: holds.first?.1.line ?? source.line,
                                        field: "holds.challenge",
                                        message: "is required: \(challenging.id) challenges, and a challenged payment holds its reservation this long"))
        }
        if !problems.isEmpty { throw RuleErrors(problems) }
        return RuleSet(limits: limits, cardTier: cardTiers[0].0, holds: holds.first?.0, risk: risk)
    }

    static func duplicateIDs(_ rules: [(id: String, source: SourceLocation?)]) -> [RuleProblem] {
        var first: [String: SourceLocation] = [:]
        var problems: [RuleProblem] = []
        for rule in rules {
            guard let source = rule.source else { continue }
            if let earlier = first[rule.id] {
                problems.append(RuleProblem(file: source.file, line: source.line, field: "id",
                                            message: "\"\(rule.id)\" is already the id of the rule at \(earlier)"))
            } else {
                first[rule.id] = source
            }
        }
        return problems
    }
}

/// Parses one file; collects problems instead of stopping at the first.
struct FileParser {
    let file: String
    var problems: [RuleProblem] = []
    var limits: [Limit] = []
    var cardTiers: [(CardTierPolicy, SourceLocation)] = []
    var holds: [(HoldTimes, SourceLocation)] = []
    var risk: [RiskRule] = []

    init(file: String) {
        self.file = file
    }

    mutating func problem(_ node: Node?, _ field: String, _ message: String) {
        problems.append(RuleProblem(file: file, line: node?.mark?.line ?? 0, field: field, message: message))
    }

    mutating func parse(_ text: String) {
        let root: Node?
        do {
            root = try Yams.compose(yaml: text)
        } catch let error as YamlError {
            problems.append(Self.syntaxProblem(error, file: file))
            return
        } catch {
            problems.append(RuleProblem(file: file, line: 0, field: "", message: "is not YAML: \(error)"))
            return
        }
        guard let root else { return }  // an empty file holds no rules
        guard let top = mapping(root, "") else { return }
        for (key, value) in top {
            switch key {
            case "limits":
                guard let list = sequence(value, "limits") else { continue }
                for (index, item) in list.enumerated() {
                    if let limit = LimitParser.parse(item, field: "limits[\(index)]", into: &self) { limits.append(limit) }
                }
            case "card_tier":
                if let policy = parseCardTier(value) {
                    cardTiers.append((policy, SourceLocation(file: file, line: value.mark?.line ?? 0)))
                }
            case "holds":
                if let times = parseHolds(value) {
                    holds.append((times, SourceLocation(file: file, line: value.mark?.line ?? 0)))
                }
            case "risk":
                guard let list = sequence(value, "risk") else { continue }
                for (index, item) in list.enumerated() {
                    if let rule = RiskParser.parse(item, field: "risk[\(index)]", into: &self) { risk.append(rule) }
                }
            default:
                problem(value, key, "unknown section: a rule file has `limits`, `card_tier`, `holds` and `risk`")
            }
        }
    }

    mutating func parseCardTier(_ node: Node) -> CardTierPolicy? {
        guard let fields = mapping(node, "card_tier") else { return nil }
        var filter: Filter?
        var refundRestores = false
        for (key, value) in fields {
            switch key {
            case "applies_to": filter = parseFilter(value, "card_tier.applies_to")
            case "refund_restores": refundRestores = bool(value, "card_tier.refund_restores") ?? false
            default: problem(value, "card_tier.\(key)", "unknown field: card_tier has applies_to and refund_restores")
            }
        }
        guard let filter else {
            if !fields.contains(where: { $0.0 == "applies_to" }) {
                problem(node, "card_tier.applies_to", "is required: which payments customers' card limits apply to")
            }
            return nil
        }
        return CardTierPolicy(filter: filter, refundRestores: refundRestores)
    }

    /// `holds:` names every business that is authorized (all but refund), each with one hold
    /// (`1h`) or one per account type (`{personal: 3h, corporate: 30d}`).
    mutating func parseHolds(_ node: Node) -> HoldTimes? {
        guard let fields = mapping(node, "holds") else { return nil }
        var times = HoldTimes()
        var valid = true
        for (key, value) in fields {
            let field = "holds.\(key)"
            if key == "challenge" {
                if let seconds = holdSeconds(value, field) { times.challengeSeconds = seconds } else { valid = false }
                continue
            }
            guard let business = Business(name: key), business != .refund else {
                problem(value, field, "unknown business: holds are set for \(Self.heldBusinesses.map(\.name).joined(separator: ", ")), and challenge")
                valid = false
                continue
            }
            if case .mapping = value {
                guard let perType = mapping(value, field) else { valid = false; continue }
                for type in AccountType.allCases {
                    guard let entry = perType.first(where: { $0.0 == type.name }) else {
                        problem(value, "\(field).\(type.name)", "is required when the hold is set per account type")
                        valid = false
                        continue
                    }
                    if let seconds = holdSeconds(entry.1, "\(field).\(type.name)") {
                        times.set(business, type, seconds: seconds)
                    } else { valid = false }
                }
                for (other, otherValue) in perType where AccountType(name: other) == nil {
                    problem(otherValue, "\(field).\(other)", "unknown account type: personal or corporate")
                    valid = false
                }
            } else if let seconds = holdSeconds(value, field) {
                for type in AccountType.allCases { times.set(business, type, seconds: seconds) }
            } else {
                valid = false
            }
        }
        for business in Self.heldBusinesses where !fields.contains(where: { $0.0 == business.name }) {
            problem(node, "holds.\(business.name)", "is missing: every business that is authorized needs a hold time")
            valid = false
        }
        return valid ? times : nil
    }

    static let heldBusinesses = Business.allCases.filter { $0 != .refund }

    mutating func holdSeconds(_ node: Node, _ field: String) -> Int64? {
        guard let text = scalar(node, field) else { return nil }
        guard let seconds = HoldTimes.parse(text) else {
            problem(node, field, "\"\(text)\" is not a hold time: a whole number of minutes, hours or days (90m, 3h, 30d)")
            return nil
        }
        guard seconds >= HoldTimes.secondsMin, seconds <= HoldTimes.secondsMax else {
            problem(node, field, "\(text) is outside 1m to 366d")
            return nil
        }
        return seconds
    }

    static func syntaxProblem(_ error: YamlError, file: String) -> RuleProblem {
        switch error {
        case .scanner(_, let problem, let mark, _), .parser(_, let problem, let mark, _), .composer(_, let problem, let mark, _):
            return RuleProblem(file: file, line: mark.line, field: "", message: "YAML syntax: \(problem)")
        case .duplicatedKeysInMapping(let duplicates, let context):
            let keys = duplicates.sorted().joined(separator: ", ")
            return RuleProblem(file: file, line: context.mark.line, field: keys, message: "appears twice in one mapping")
        default:
            return RuleProblem(file: file, line: 0, field: "", message: "YAML: \(error)")
        }
    }
}
