import Foundation
import HeadroomCore
import HeadroomRules
import Testing

@Suite struct ShippedRulesTests {
    /// The repository's Rules/ directory.
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Rules").path

    /// A holds section names every business that is authorized, with hold times in m, h or d
    /// between 1 minute and 366 days, one or one per account type; each mistake is named.
    @Test func holdTimesAreValidatedWithFileLineAndField() throws {
        let cardTier = "card_tier:\n  applies_to: {business: [agreement]}\n"
        func problems(_ holds: String) -> [String] {
            do {
                _ = try RuleLoader.parse([RuleSource(name: "r/holds.yaml", text: cardTier + holds)])
                return []
            } catch {
                return error.problems.map(\.description)
            }
        }
        let good = "holds:\n  agreement: 1h\n  authentication: 90m\n  entrusted: 2d\n  payout: 1h\n  gateway: {personal: 3h, corporate: 30d}\n"
        #expect(problems(good).isEmpty)
        let rules = try RuleLoader.parse([RuleSource(name: "r/holds.yaml", text: cardTier + good)])
        #expect(rules.holds?.seconds(for: .authentication, accountType: .corporate) == 5400)
        #expect(rules.holds?.description == "agreement 1h, authentication 90m, gateway 3h (corporate 30d), entrusted 2d, payout 1h")

        #expect(problems("holds:\n  agreement: 1h\n") == [
            "r/holds.yaml:4: holds.authentication: is missing: every business that is authorized needs a hold time",
            "r/holds.yaml:4: holds.gateway: is missing: every business that is authorized needs a hold time",
            "r/holds.yaml:4: holds.entrusted: is missing: every business that is authorized needs a hold time",
            "r/holds.yaml:4: holds.payout: is missing: every business that is authorized needs a hold time"])
        let bad = good.replacingOccurrences(of: "90m", with: "90 minutes").replacingOccurrences(of: "2d", with: "0m")
            .replacingOccurrences(of: "corporate: 30d", with: "company: 30d") + "  refund: 1h\n"
        #expect(problems(bad) == [
            "r/holds.yaml:5: holds.authentication: \"90 minutes\" is not a hold time: a whole number of minutes, hours or days (90m, 3h, 30d)",
            "r/holds.yaml:6: holds.entrusted: \"0m\" is not a hold time: a whole number of minutes, hours or days (90m, 3h, 30d)",
            "r/holds.yaml:8: holds.gateway.corporate: is required when the hold is set per account type",
            "r/holds.yaml:8: holds.gateway.company: unknown account type: personal or corporate",
            "r/holds.yaml:9: holds.refund: unknown business: holds are set for agreement, authentication, gateway, entrusted, payout, and challenge"])
        #expect(problems(good.replacingOccurrences(of: "2d", with: "400d")) == ["r/holds.yaml:6: holds.entrusted: 400d is outside 1m to 366d"])
        // No holds section is valid (older rule sets have none), and warned of.
        let none = try RuleLoader.parse([RuleSource(name: "r/holds.yaml", text: cardTier)])
        #expect(none.holds == nil)
        #expect(RuleWarnings.missingHolds(none, directory: "r").map(\.field) == ["holds"])
        #expect(RuleWarnings.missingHolds(rules, directory: "r").isEmpty)
        // The diff names each change in words.
        let shorter = try RuleLoader.parse([RuleSource(name: "r/holds.yaml", text: cardTier + good.replacingOccurrences(of: "corporate: 30d", with: "corporate: 7d"))])
        #expect(RuleSetDiff.changes(from: rules, to: shorter).map(\.text) == ["holds: gateway (corporate) 30d -> 7d"])
        #expect(RuleSetDiff.changes(from: none, to: rules).map(\.text).first == "holds: agreement none (reservations held until confirmed or released) -> 1h")
    }

    @Test func shippedRulesHoldTheAgreedValues() throws {
        let (rules, sources) = try RuleLoader.load(directory: Self.directory)
        #expect(sources.count == 6)
        func limit(_ id: String) throws -> Limit { try #require(rules.limit(id: id)) }
        let z = try Institution("Z2007933000010"), other = try Institution("Z9999999999999")
        let debit: Set<Business> = [.agreement, .authentication, .gateway, .entrusted]

        #expect(try limit("bank.single").caps == Caps(amountFenMax: 5_000_000))
        #expect(try limit("bank.card-daily").caps == Caps(amountFenMax: 20_000_000, countMax: 50))
        #expect(try limit("bank.card-daily").window == .day)
        #expect(try limit("bank.card-daily").grouping == .card)
        #expect(try limit("bank.card-monthly").caps == Caps(amountFenMax: 100_000_000))
        #expect(try limit("bank.card-monthly").filter.businesses == debit)

        #expect(try limit("institution.single").caps(for: z) == Caps(amountFenMax: 2_000_000))
        #expect(try limit("institution.single").caps(for: other) == Caps(amountFenMax: 1_000_000))
        #expect(try limit("institution.card-daily").caps(for: z) == Caps(amountFenMax: 5_000_000))
        #expect(try limit("institution.card-daily").caps(for: other) == Caps(amountFenMax: 2_000_000))
        #expect(try limit("institution.card-daily").grouping == .cardInstitution)

        // The risk rules, exactly as the issue agreed them.
        func risk(_ id: String) throws -> RiskRule { try #require(rules.riskRule(id: id)) }
        #expect(rules.risk.map(\.id) == ["risk.blocked-card", "risk.ended-agreement", "risk.burst", "risk.new-agreement"])
        #expect(try risk("risk.blocked-card").kind == .list(name: "blocked-cards", field: .card))
        #expect(try risk("risk.blocked-card").action == .decline)
        #expect(try risk("risk.ended-agreement").kind == .endedAgreement && risk("risk.ended-agreement").action == .decline)
        #expect(try risk("risk.ended-agreement").filter.businesses == [.agreement, .entrusted])
        #expect(try risk("risk.burst").kind == .velocity(.attempts) && risk("risk.burst").action == .challenge)
        #expect(try risk("risk.burst").window == .rollingMinutes(10) && risk("risk.burst").grouping == .card)
        #expect(try risk("risk.burst").caps == Caps(countMax: 30))
        #expect(try risk("risk.new-agreement").kind == .newAgreement(coolOffSeconds: 86_400))
        #expect(try risk("risk.new-agreement").caps == Caps(amountFenMax: 500_000) && risk("risk.new-agreement").action == .challenge)
        #expect(try risk("risk.new-agreement").filter.businesses == [.agreement])
        #expect(rules.holds?.challengeSeconds == 300)

        #expect(try limit("regulatory.class-ii-daily").caps == Caps(amountFenMax: 1_000_000))
        #expect(try limit("regulatory.class-ii-yearly").caps == Caps(amountFenMax: 20_000_000))
        #expect(try limit("regulatory.class-iii-daily").caps == Caps(amountFenMax: 200_000))
        #expect(try limit("regulatory.class-iii-yearly").caps == Caps(amountFenMax: 5_000_000))
        #expect(try limit("regulatory.class-iii-yearly").filter.accountClasses == [.classIII])
        #expect(try limit("regulatory.class-iii-yearly").window == .year)

        #expect(rules.cardTier.filter.businesses == debit)
        #expect(rules.cardTier.refundRestores == false)

        // Hold times: gateway orders 3 hours for persons, 30 days for companies; 1 hour else.
        let holds = try #require(rules.holds)
        let threeHours: Int64 = 3 * 3600, thirtyDays: Int64 = 30 * 86_400, oneHour: Int64 = 3600
        #expect(holds.seconds(for: .gateway, accountType: .personal) == threeHours)
        #expect(holds.seconds(for: .gateway, accountType: nil) == threeHours)
        #expect(holds.seconds(for: .gateway, accountType: .corporate) == thirtyDays)
        for business in [Business.agreement, .authentication, .entrusted, .payout] {
            for type in [AccountType.personal, .corporate] { #expect(holds.seconds(for: business, accountType: type) == oneHour) }
        }
        #expect(holds.seconds(for: .refund, accountType: nil) == nil)
        #expect(rules.limits.allSatisfy { !$0.refundRestores })
        #expect(rules.limits.count == 9)
    }
}

@Suite struct RuleProblemTests {
    static let cardTier = RuleSource(name: "Rules/card.yaml", text: "card_tier:\n  applies_to:\n    business: [agreement]\n")

    func problems(_ text: String, file: String = "Rules/x.yaml") -> [RuleProblem] {
        do {
            _ = try RuleLoader.parse([RuleSource(name: file, text: text), Self.cardTier])
            return []
        } catch {
            return error.problems
        }
    }

    func limitText(_ fields: String) -> String {
        "limits:\n  - id: x.one\n" + fields.split(separator: "\n").map { "    \($0)" }.joined(separator: "\n") + "\n"
    }

    @Test func aGoodLimitLoads() throws {
        let text = limitText("""
        tier: institution
        window: rolling 30m
        group: card+institution
        applies_to:
          business: [agreement, gateway]
          channel: [app]
          account_type: [personal]
          institution: [Z1, Z2]
        count_max: 3
        refund_restores: true
        per_institution:
          Z2:
            count_max: 5
        """)
        let rules = try RuleLoader.parse([RuleSource(name: "Rules/x.yaml", text: text), Self.cardTier])
        let limit = try #require(rules.limit(id: "x.one"))
        #expect(limit.window == .rollingMinutes(30))
        #expect(limit.refundRestores)
        #expect(limit.caps(for: try Institution("Z2")) == Caps(countMax: 5))
        #expect(limit.filter.channels == [.app])
        #expect(limit.source == SourceLocation(file: "Rules/x.yaml", line: 2))
    }

    @Test func eachProblemNamesFileLineAndField() {
        let found = problems(limitText("""
        tier: bank
        window: day
        group: card
        applies_to:
          business: [agreement]
        amount_max: 5O000.00
        """))
        #expect(found == [RuleProblem(file: "Rules/x.yaml", line: 8, field: "limits[0].amount_max",
                                      message: "\"5O000.00\" is not a decimal amount in yuan like \"1234.56\"")])
        #expect(found.first?.description == "Rules/x.yaml:8: limits[0].amount_max: \"5O000.00\" is not a decimal amount in yuan like \"1234.56\"")
    }

    @Test func everyProblemIsReportedAtOnce() {
        let text = """
        limits:
          - id: Bad Id
            tier: national
            window: fortnight
            applies_to:
              business: [agreement, bribes]
            amount_max: 12.345
            count_max: -1
            colour: red
          - id: b.two
            tier: bank
            window: single
            group: card
            applies_to:
              account_class: [IV]
            count_max: 3
        extra: 1
        """
        let found = problems(text)
        let fields = Set(found.map(\.field))
        for field in ["limits[0].id", "limits[0].tier", "limits[0].window", "limits[0].applies_to.business[1]",
                      "limits[0].amount_max", "limits[0].count_max", "limits[0].colour", "limits[1].group",
                      "limits[1].applies_to.account_class[0]", "limits[1].applies_to.business", "extra"] {
            #expect(fields.contains(field), "missing a problem for \(field); got \(found)")
        }
        #expect(found.allSatisfy { $0.line > 0 && $0.file == "Rules/x.yaml" })
        #expect(found.first { $0.field == "limits[0].colour" }?.line == 9)
    }

    @Test func validationRules() {
        func first(_ fields: String) -> String { problems(limitText(fields)).first?.message ?? "" }
        let applies = "applies_to:\n  business: [agreement]"
        #expect(first("tier: card\nwindow: day\ngroup: card\n\(applies)\namount_max: 1").contains("card-limit"))
        #expect(first("tier: bank\nwindow: single\n\(applies)\ncount_max: 3").contains("amount only"))
        #expect(first("tier: bank\nwindow: day\ngroup: card\n\(applies)").contains("no cap"))
        #expect(first("tier: bank\nwindow: day\n\(applies)\namount_max: 1").contains("required"))
        #expect(first("tier: bank\nwindow: rolling 2000m\ngroup: card\n\(applies)\namount_max: 1").contains("at most 1440"))
        #expect(first("tier: bank\nwindow: day\ngroup: card\n\(applies)\namount_max: 1\nper_institution:\n  Z1:\n    amount_max: 2").contains("only institution-tier"))
        #expect(first("tier: bank\nwindow: day\ngroup: card\napplies_to:\n  business: [refund]\namount_max: 1").contains("refund"))
        #expect(first("tier: bank\nwindow: day\ngroup: card\napplies_to:\n  business: []\namount_max: 1").contains("empty list"))
        #expect(first("tier: bank\nwindow: day\ngroup: card\n\(applies)\namount_max:").contains("no value"))
        #expect(first("tier: bank\nwindow: day\ngroup: card\n\(applies)\nrefund_restores: yes\namount_max: 1").contains("true or false"))
        let twice = problems(limitText("tier: bank\ntier: bank\nwindow: day\ngroup: card\n\(applies)\namount_max: 1"))
        #expect(twice.map(\.field) == ["tier"] && twice.first?.message.contains("twice") == true && twice.first!.line > 0)
    }

    @Test func idsAreUniqueAcrossFiles() throws {
        let one = limitText("tier: bank\nwindow: day\ngroup: card\napplies_to:\n  business: [agreement]\namount_max: 1")
        do {
            _ = try RuleLoader.parse([RuleSource(name: "Rules/a.yaml", text: one), RuleSource(name: "Rules/b.yaml", text: one), Self.cardTier])
            Issue.record("duplicate ids were accepted")
        } catch {
            #expect(error.problems.map(\.description) == ["Rules/b.yaml:2: id: \"x.one\" is already the id of the rule at Rules/a.yaml:2"])
        }
    }

    @Test func cardTierIsRequiredOnce() {
        do {
            _ = try RuleLoader.parse([RuleSource(name: "Rules/x.yaml", text: "limits: []\n")])
            Issue.record("a rule set without card_tier was accepted")
        } catch {
            #expect(error.problems.first?.field == "card_tier")
        }
        do {
            _ = try RuleLoader.parse([Self.cardTier, RuleSource(name: "Rules/y.yaml", text: Self.cardTier.text)])
            Issue.record("two card_tier sections were accepted")
        } catch {
            #expect(error.problems.first?.message.contains("second card_tier") == true)
        }
    }

    @Test func yamlSyntaxErrorsCarryTheirLine() {
        let found = problems("limits:\n  - id: a\n    tier: [bank\n")
        #expect(found.count == 1)
        #expect(found.first?.message.hasPrefix("YAML syntax") == true)
        #expect((found.first?.line ?? 0) >= 3)
    }

    @Test func directoriesWithoutRulesAreNamed() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("headroom-empty-\(getpid())").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        #expect(throws: RuleErrors.self) { try RuleSource.read(directory: dir) }
        #expect(throws: RuleErrors.self) { try RuleSource.read(directory: dir + "/missing") }
    }
}

/// Risk rules are validated like limits: every problem, with file, line and field.
@Suite struct RiskRuleProblemTests {
    static let holds = "holds: {agreement: 1h, authentication: 1h, gateway: 1h, entrusted: 1h, payout: 1h, challenge: 5m}\n"

    func problems(_ risk: String, holds: String = Self.holds) -> [String] {
        do {
            _ = try RuleLoader.parse([RuleSource(name: "r/risk.yaml", text: holds + risk), RuleProblemTests.cardTier])
            return []
        } catch {
            return error.problems.map(\.description)
        }
    }

    @Test func eachMistakeIsNamed() {
        #expect(problems("""
        risk:
          - id: a
            kind: lists
            action: decline
            applies_to: {business: [agreement]}
          - id: b
            kind: list
            list: Blocked Cards
            match: cards
            action: stop
            applies_to: {business: [agreement]}
          - id: c
            kind: velocity
            counts: tries
            window: year
            group: planet
            action: challenge
            applies_to: {business: [gateway]}
          - id: d
            kind: ended-agreement
            action: decline
            applies_to: {business: [gateway]}
          - id: e
            kind: new-agreement
            cool_off: 45d
            amount_max: 100.00
            action: challenge
            applies_to: {business: [agreement]}
          - id: f
            kind: velocity
            counts: attempts
            window: day
            group: card
            count_max: 3
            refund_restores: true
            color: red
            action: decline
            applies_to: {business: [gateway]}
        """) == [
            "r/risk.yaml:4: risk[0].kind: \"lists\" is not one of list, ended-agreement, velocity, new-agreement",
            "r/risk.yaml:11: risk[1].action: \"stop\" is not one of decline, challenge",
            "r/risk.yaml:9: risk[1].list: \"Blocked Cards\" is not a list name: 1 to 64 of a-z, 0-9, '.', '-', '_'",
            "r/risk.yaml:10: risk[1].match: \"cards\" is not one of card, agreement, merchant, institution",
            "r/risk.yaml:16: risk[2].window: a velocity rule counts a rolling window, a day or a month",
            "r/risk.yaml:17: risk[2].group: \"planet\" is not one of bank, institution, card, card+institution, agreement, merchant, card+merchant",
            "r/risk.yaml:15: risk[2].counts: \"tries\" is not one of attempts (every authorization judged), approved (those holding a reservation)",
            "r/risk.yaml:13: risk[2].amount_max: the rule sets no cap: give amount_max, count_max or both",
            "r/risk.yaml:23: risk[3].applies_to.business: agreements are named by agreement and entrusted payments only",
            "r/risk.yaml:26: risk[4].cool_off: \"45d\" is not a cool-off: a whole number of minutes, hours or days up to 30d (24h)",
            "r/risk.yaml:37: risk[5].color: unknown field: a velocity risk rule has id, kind, action, applies_to, description, window, group, counts, amount_max, count_max, refund_restores",
            "r/risk.yaml:36: risk[5].refund_restores: a rule counting attempts gives nothing back",
        ])
    }

    @Test func aChallengeNeedsAChallengeHoldAndIdsAreSharedWithLimits() {
        let challenge = """
        risk:
          - {id: burst, kind: velocity, counts: attempts, window: rolling 10m, group: card, count_max: 3, action: challenge,
             applies_to: {business: [gateway]}}
        """
        #expect(problems(challenge) == [])
        #expect(problems(challenge, holds: "holds: {agreement: 1h, authentication: 1h, gateway: 1h, entrusted: 1h, payout: 1h}\n") == [
            "r/risk.yaml:1: holds.challenge: is required: burst challenges, and a challenged payment holds its reservation this long",
        ])
        let clash = "limits:\n  - {id: burst, tier: bank, window: day, group: card, amount_max: 1.00, applies_to: {business: [gateway]}}\n"
        #expect(problems(clash + challenge) == ["r/risk.yaml:5: id: \"burst\" is already the id of the rule at r/risk.yaml:3"])
        // A limit cannot be grouped by merchant or agreement: those are risk rules' groups.
        #expect(problems("limits:\n  - {id: m, tier: bank, window: day, group: merchant, amount_max: 1.00, applies_to: {business: [gateway]}}\n")
                .first?.contains("is not one of bank, institution, card, card+institution") == true)
    }

    @Test func diffSaysWhatARiskRuleChangesInWords() throws {
        let base = RuleSource(name: "r/risk.yaml", text: Self.holds + """
        risk:
          - {id: burst, kind: velocity, counts: attempts, window: rolling 10m, group: card, count_max: 30, action: challenge,
             applies_to: {business: [gateway]}}
          - {id: blocked, kind: list, list: blocked-cards, match: card, action: decline, applies_to: {business: [gateway]}}
        """)
        let old = try RuleLoader.parse([base, RuleProblemTests.cardTier])
        var text = base.text.replacingOccurrences(of: "count_max: 30", with: "count_max: 5")
        text = text.replacingOccurrences(of: "  - {id: blocked, kind: list, list: blocked-cards, match: card, action: decline, applies_to: {business: [gateway]}}",
                                         with: "  - {id: ended, kind: ended-agreement, action: decline, applies_to: {business: [agreement]}}")
        let new = try RuleLoader.parse([RuleSource(name: base.name, text: text), RuleProblemTests.cardTier])
        #expect(RuleSetDiff.changes(from: old, to: new).map(\.text) == [
            "removed blocked: decline card on list blocked-cards, gateway",
            "burst: challenge attempts per card per 10 minutes: more than 30, gateway -> challenge attempts per card per 10 minutes: more than 5, gateway",
            "added ended: decline agreement ended, agreement",
        ])
    }
}
