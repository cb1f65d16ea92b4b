import ArgumentParser
import Foundation
import Headroom
import HeadroomCore

struct Usage: OperatorCommand {
    static let configuration = CommandConfiguration(
        abstract: "A card's counters and headroom on every tier, for today, this month and this year.",
        discussion: """
        Shows every limit that applies to a payment of this card now (by default an agreement \
        payment from a Class I account; say otherwise with --business and --account-class): what \
        its window holds, its cap and what is left. Without --institution, limits kept per \
        institution are left out.

        Examples:
          headroom usage --card-file card.txt --institution Z2007933000010 \\
            --store /var/lib/headroom
          headroom usage --card-file - --store /var/lib/headroom < card.txt
        """
    )

    @Argument(help: ArgumentHelp("The card number; shown masked. On the command line it stays in the shell's history: prefer --card-file.", valueName: "card")) var card: String?
    @Option(help: ArgumentHelp("A file holding the card number, or - for standard input.", valueName: "path")) var cardFile: String?
    @Option(help: ArgumentHelp("The payment institution.", valueName: "code")) var institution: String?
    @Option(help: ArgumentHelp("The business type.", valueName: "type")) var business = "agreement"
    @Option(help: ArgumentHelp("The account class: I, II, III.", valueName: "class")) var accountClass = "I"
    @Option(help: ArgumentHelp("The moment, with its UTC offset (default: now).", valueName: "time")) var at: String?
    @OptionGroup var storeOptions: StoreOptions
    @OptionGroup var format: FormatOption

    func probe(card: CardNumber, clock: () -> Int64) throws -> PaymentRequest {
        do {
            return PaymentRequest(
                id: try PaymentID("usage-probe"),
                time: try at.map { try Timestamp(iso8601: $0) } ?? Timestamp(unixSeconds: clock()),
                card: card, institution: try Institution(institution ?? "0"),
                business: try Business(name: business).orThrow("--business: \"\(business)\" is not a business type"),
                amount: Amount(fen: 1),
                accountClass: try AccountClass(name: accountClass).orThrow("--account-class: \"\(accountClass)\" is not I, II or III"))
        } catch let error as ValidationError {
            throw error
        } catch {
            throw ValidationError("\(error)")
        }
    }

    func validate() throws {
        if card == nil && cardFile == nil { throw ValidationError("which card? Give it as an argument or with --card-file FILE (- for standard input)") }
        if card != nil && cardFile != nil { throw ValidationError("give the card as an argument or with --card-file, not both") }
        if let card { _ = try probe(card: try cardNumber(typed: card, file: nil, flag: "card"), clock: Engine.systemClock) }
    }

    func execute() throws {
        let number = try cardNumber(typed: card, file: cardFile, flag: "card")
        let request = try probe(card: number, clock: Engine.systemClock)
        let engine = try storeOptions.openReading()
        let lines = try engine.explain(request).lines.filter { line in
            institution != nil || (line.check.tier != .institution && (line.check.counter?.institution ?? Institution.ungrouped) == Institution.ungrouped
                && !line.check.limitID.hasPrefix("card@"))
        }
        printLines(lines, header: "card \(request.card.masked)\(institution.map { " at \($0)" } ?? "") on \(ChinaTime.dateString(day: request.time.chinaDay)), rule set v\(engine.ruleSetVersion)",
                   format: format.format)
    }
}

extension Optional {
    func orThrow(_ message: String) throws -> Wrapped {
        guard let self else { throw ValidationError(message) }
        return self
    }
}

/// Prints explanation lines: limit, tier, window, what it held, cap, what is left.
func printLines(_ lines: [Explanation.Line], header: String, format: OutputFormat,
                decision: Decision? = nil, onRecord: String? = nil, risk: [Explanation.RiskLine] = []) {
    func riskWindow(_ rule: RiskRule) -> String {
        switch rule.kind {
        case .list(let name, let field): "\(field.name) on list \(name)"
        case .endedAgreement: "agreement ended"
        case .velocity(let counting): "\(counting.name) \(rule.window!.phrase), per \(rule.grouping!.name)"
        case .newAgreement(let seconds): "first \(HoldTimes.text(seconds)) of an agreement"
        }
    }
    if format == .json {
        var o: [String: Any] = ["scope": header, "limits": lines.map { line -> [String: Any] in
            let c = line.check
            return [
                "limit": c.limitID, "tier": c.tier.name, "window": "\(c.window)",
                "used_amount": c.counter == nil ? NSNull() : Amount.plain(line.used.amountFen) as Any,
                "used_count": c.counter == nil ? NSNull() : Int(line.used.count) as Any,
                "amount_max": c.caps.amountFenMax.map(Amount.plain) ?? NSNull(),
                "count_max": c.caps.countMax.map { Int($0) } ?? NSNull(),
                "amount_left": amountLeft(line).map(Amount.plain) ?? NSNull(),
                "count_left": countLeft(line).map { Int($0) } ?? NSNull(),
            ]
        }]
        if !risk.isEmpty {
            o["risk"] = risk.map { line -> [String: Any] in
                [
                    "rule": line.rule.id, "action": line.rule.action.name, "what": riskWindow(line.rule),
                    "used_amount": line.used.map { Amount.plain($0.amountFen) as Any } ?? NSNull(),
                    "used_count": line.used.map { Int($0.count) as Any } ?? NSNull(),
                    "amount_max": line.rule.caps.amountFenMax.map(Amount.plain) ?? NSNull(),
                    "count_max": line.rule.caps.countMax.map { Int($0) } ?? NSNull(),
                ]
            }
        }
        if let decision {
            o["outcome"] = decision.outcome.description
            o["code"] = decision.code.name
            o["limit"] = decision.failed?.limitID ?? NSNull()
            if case .risk(let finding)? = decision.decidedBy { o["rule"] = finding.ruleID }
            o["on_record"] = onRecord ?? NSNull()
        }
        printJSON(o)
        return
    }
    print(header)
    var table = Table(["tier", "limit", "window", "used", "cap", "left"])
    for line in lines {
        let c = line.check
        let used = c.counter == nil ? "-" : "\(Amount.grouped(line.used.amountFen)) / \(line.used.count)"
        let cap = [c.caps.amountFenMax.map(Amount.grouped), c.caps.countMax.map { "\($0) payments" }].compactMap { $0 }.joined(separator: ", ")
        let left = [amountLeft(line).map(Amount.grouped), countLeft(line).map { "\($0) payments" }].compactMap { $0 }.joined(separator: ", ")
        table.add([c.tier.name, c.limitID, c.window.phrase, used, cap, left])
    }
    print(lines.isEmpty ? "no limit applies" : table.text)
    guard !risk.isEmpty else { return }
    var riskTable = Table(["risk rule", "action", "looks at", "used", "cap"])
    for line in risk {
        let used = line.used.map { "\(Amount.grouped($0.amountFen)) / \($0.count)" } ?? "matched"
        let cap = [line.rule.caps.amountFenMax.map(Amount.grouped), line.rule.caps.countMax.map { "\($0) payments" }]
            .compactMap { $0 }.joined(separator: ", ")
        riskTable.add([line.rule.id, line.rule.action.name, riskWindow(line.rule), used, cap.isEmpty ? "-" : cap])
    }
    print(riskTable.text)
}

func amountLeft(_ line: Explanation.Line) -> Int64? {
    line.check.caps.amountFenMax.map { line.check.counter == nil ? $0 : max(0, $0 - line.used.amountFen) }
}

func countLeft(_ line: Explanation.Line) -> Int64? {
    line.check.caps.countMax.map { max(0, $0 - line.used.count) }
}
