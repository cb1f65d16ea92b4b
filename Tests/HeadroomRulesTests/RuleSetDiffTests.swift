import HeadroomCore
import HeadroomRules
import Testing

@Suite struct RuleSetDiffTests {
    static let cardTier = RuleSource(name: "r/card.yaml", text: "card_tier:\n  applies_to:\n    business: [agreement]\n")

    func rules(_ limits: String) throws -> RuleSet {
        try RuleLoader.parse([RuleSource(name: "r/limits.yaml", text: "limits:\n" + limits), Self.cardTier])
    }

    @Test func changesReadAsSentences() throws {
        let old = try rules("""
          - {id: inst.daily, tier: institution, window: day, group: card+institution, amount_max: 20000.00,
             applies_to: {business: [agreement]}, per_institution: {Z2007933000010: {amount_max: 50000.00}}}
          - {id: bank.gone, tier: bank, window: single, amount_max: 1.00, applies_to: {business: [agreement]}}
        """)
        let new = try rules("""
          - {id: inst.daily, tier: institution, window: day, group: card+institution, amount_max: 20000.00, count_max: 5,
             applies_to: {business: [agreement]}, per_institution: {Z2007933000010: {amount_max: 30000.00}}}
          - {id: bank.new, tier: bank, window: month, group: card, amount_max: 9.00, applies_to: {business: [agreement, gateway]}}
        """)
        let texts = RuleSetDiff.changes(from: old, to: new).map(\.text)
        #expect(texts == [
            "removed bank.gone: bank, single payment, agreement, amount 1.00",
            "added bank.new: bank, card, monthly, agreement/gateway, amount 9.00",
            "inst.daily (card+institution, daily) for every other institution: count none -> 5",
            "inst.daily (card+institution, daily) for Z2007933000010: amount 50,000.00 -> 30,000.00",
            "inst.daily (card+institution, daily) for Z2007933000010: count none -> 5",
        ])  // limits in evaluation order: bank before institution
        #expect(RuleSetDiff.changes(from: old, to: old).isEmpty)
    }
}
