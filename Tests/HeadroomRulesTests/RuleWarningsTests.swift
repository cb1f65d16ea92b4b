import Foundation
import HeadroomCore
import HeadroomRules
import Testing

/// Rule sets that are valid but not what their author meant: warned of, never failed.
@Suite struct RuleWarningsTests {
    static let cardTier = "card_tier:\n  applies_to:\n    business: [agreement]\n"

    static func limit(_ id: String, tier: String, window: String = "day", group: String? = "card", amount: String,
                      business: String = "[agreement]", perInstitution: String? = nil) -> String {
        var text = "  - id: \(id)\n    tier: \(tier)\n    window: \(window)\n"
        if let group { text += "    group: \(group)\n" }
        text += "    applies_to:\n      business: \(business)\n    amount_max: \(amount)\n"
        if let perInstitution { text += "    per_institution:\n      \(perInstitution)\n" }
        return text
    }

    static func rules(_ limits: String...) throws -> RuleSet {
        try RuleLoader.parse([RuleSource(name: "r/limits.yaml", text: "limits:\n" + limits.joined() + cardTier)])
    }

    @Test func theShippedRulesHaveNoWarnings() throws {
        let (rules, _) = try RuleLoader.load(directory: ShippedRulesTests.directory)
        #expect(RuleWarnings.capsThatCannotBind(rules).isEmpty)
        #expect(RuleWarnings.missingHolds(rules, directory: ShippedRulesTests.directory).isEmpty)
        #expect(RuleWarnings.skippedFiles(directory: ShippedRulesTests.directory).isEmpty)
    }

    /// An institution's cap above the bank's, on the same payments and window, never decides.
    @Test func aNarrowerCapAboveABroaderOneIsWarnedOf() throws {
        let set = try Self.rules(
            Self.limit("bank.daily", tier: "bank", amount: "200000.00"),
            Self.limit("inst.daily", tier: "institution", group: "card+institution", amount: "20000.00",
                       perInstitution: "Z1:\n        amount_max: 300000.00"))
        let warnings = RuleWarnings.capsThatCannotBind(set)
        #expect(warnings.count == 1)
        #expect(warnings.first?.field == "inst.daily" && warnings.first?.line == 9)
        #expect(warnings.first?.message == "amount cap for Z1 300,000.00 can never bind: bank.daily (bank) stops the same payments at 200,000.00")
    }

    /// No warning where the broader cap does not cover the narrower one: other payments, another
    /// window, a finer grouping, or a broader tier's backstop under narrower caps.
    @Test func capsThatCanStillBindAreNotWarnedOf() throws {
        let backstop = try Self.rules(
            Self.limit("bank.single", tier: "bank", window: "single", group: nil, amount: "50000.00"),
            Self.limit("inst.single", tier: "institution", window: "single", group: nil, amount: "10000.00"))
        #expect(RuleWarnings.capsThatCannotBind(backstop).isEmpty)
        let otherPayments = try Self.rules(
            Self.limit("bank.daily", tier: "bank", amount: "200.00", business: "[gateway]"),
            Self.limit("inst.daily", tier: "institution", amount: "300.00", business: "[agreement, gateway]"))
        #expect(RuleWarnings.capsThatCannotBind(otherPayments).isEmpty)
        let otherWindow = try Self.rules(
            Self.limit("bank.monthly", tier: "bank", window: "month", amount: "200.00"),
            Self.limit("inst.daily", tier: "institution", amount: "300.00"))
        #expect(RuleWarnings.capsThatCannotBind(otherWindow).isEmpty)
        let finer = try Self.rules(
            Self.limit("bank.daily", tier: "bank", group: "card+institution", amount: "200.00"),
            Self.limit("inst.daily", tier: "institution", group: "card", amount: "300.00"))
        #expect(RuleWarnings.capsThatCannotBind(finer).isEmpty)
    }

    /// Rule files in any case of their extension are read; every other file is warned of.
    @Test func filesOutsideTheRuleSetAreNamed() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("headroom-rulefiles-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        for name in try FileManager.default.contentsOfDirectory(atPath: ShippedRulesTests.directory) {
            let upper = name == "regulatory.yaml" ? "regulatory.YAML" : name
            try FileManager.default.copyItem(atPath: ShippedRulesTests.directory + "/" + name, toPath: dir + "/" + upper)
        }
        try "notes".write(toFile: dir + "/bank.yaml.bak", atomically: true, encoding: .utf8)
        let (rules, sources) = try RuleLoader.load(directory: dir)
        #expect(sources.count == 6 && rules.limit(id: "regulatory.class-ii-daily") != nil)
        #expect(RuleWarnings.skippedFiles(directory: dir).map(\.description) == ["\(dir)/bank.yaml.bak: skipped: not a rule file (*.yaml or *.yml)"])
    }
}
