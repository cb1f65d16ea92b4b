/// One thing wrong in a rule file: where, which field, and what.
public struct RuleProblem: Error, Hashable, Sendable, CustomStringConvertible {
    /// The rule file's name.
    public let file: String
    /// 1-based; 0 when the problem is about the files as a whole.
    public let line: Int
    /// The field's path, e.g. `limits[2].amount_max`; empty for the file itself.
    public let field: String
    /// What is wrong.
    public let message: String

    /// A problem at `file`, `line` and `field`.
    public init(file: String, line: Int, field: String, message: String) {
        self.file = file
        self.line = line
        self.field = field
        self.message = message
    }

    /// `Rules/bank.yaml:12: limits[2].amount_max: "5O000" is not a decimal amount ...`
    public var description: String {
        let place = line > 0 ? "\(file):\(line)" : file
        return field.isEmpty ? "\(place): \(message)" : "\(place): \(field): \(message)"
    }
}

/// Every problem found in a set of rule files; a rule set with any problem is not loaded.
public struct RuleErrors: Error, Sendable, CustomStringConvertible {
    /// Every problem found, all at once.
    public let problems: [RuleProblem]

    /// The problems given.
    public init(_ problems: [RuleProblem]) {
        self.problems = problems
    }

    public var description: String {
        let noun = problems.count == 1 ? "problem" : "problems"
        return "\(problems.count) \(noun) in the rule files:\n" + problems.map { "  \($0)" }.joined(separator: "\n")
    }
}
