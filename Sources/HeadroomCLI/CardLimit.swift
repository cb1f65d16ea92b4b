import ArgumentParser
import Foundation
import Headroom
import HeadroomCore

struct CardLimit: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "card-limit",
        abstract: "Set, show or clear a customer's own limits for a card (银行卡级).",
        subcommands: [Set.self, Get.self, Clear.self]
    )

    /// The card and, optionally, the one institution the limits are for.
    struct Target: ParsableArguments {
        @Option(name: .long, help: ArgumentHelp("The card number (16-19 digits); shown masked, stored hashed. On the command line it stays in the shell's history: prefer --card-file.", valueName: "pan"))
        var card: String?

        @Option(name: .long, help: ArgumentHelp("A file holding the card number, or - for standard input.", valueName: "path"))
        var cardFile: String?

        @Option(name: .long, help: ArgumentHelp("Limits for this institution only (default: all institutions).", valueName: "code"))
        var institution: String?

        /// Reads the card (once: standard input can be read only once).
        func parsed() throws -> (CardNumber, Institution?) {
            let number = try cardNumber(typed: card, file: cardFile, flag: "--card")
            guard let institution else { return (number, nil) }
            do {
                return (number, try Institution(institution))
            } catch {
                throw ValidationError("--institution: \(error)")
            }
        }

        func validate() throws {
            if card == nil && cardFile == nil { throw ValidationError("which card? Give --card PAN or --card-file FILE (- for standard input)") }
            if card != nil && cardFile != nil { throw ValidationError("give --card or --card-file, not both") }
        }
    }

    struct Set: OperatorCommand {
        static let configuration = CommandConfiguration(
            abstract: "Set limits (the values given; others stay). Refused above the bank's or the institution's limit.",
            discussion: "Example: echo 6222020200112233446 | headroom card-limit set --store DIR --card-file - --daily-amount 5000.00 --daily-count 10"
        )

        @OptionGroup var storeOptions: StoreOptions
        @OptionGroup var target: Target
        @OptionGroup var who: OperatorOption

        @Option(name: .long, help: ArgumentHelp("Largest single payment, yuan.", valueName: "yuan")) var singleAmount: String?
        @Option(name: .long, help: ArgumentHelp("Largest total per natural day, yuan.", valueName: "yuan")) var dailyAmount: String?
        @Option(name: .long, help: ArgumentHelp("Largest total per natural month, yuan.", valueName: "yuan")) var monthlyAmount: String?
        @Option(name: .long, parsing: .unconditional, help: ArgumentHelp("Most payments per natural day.", valueName: "n")) var dailyCount: Int64?

        func limits() throws -> CardLimits {
            func amount(_ text: String?, _ flag: String) throws -> Int64? {
                guard let text else { return nil }
                do {
                    return try Amount.parseFen(text, allowZero: true)
                } catch {
                    throw ValidationError("--\(flag): \(error)")
                }
            }
            if let dailyCount, dailyCount < 0 { throw ValidationError("--daily-count: \(dailyCount) is below zero") }
            let limits = CardLimits(
                singleAmountFenMax: try amount(singleAmount, "single-amount"),
                dailyAmountFenMax: try amount(dailyAmount, "daily-amount"),
                monthlyAmountFenMax: try amount(monthlyAmount, "monthly-amount"),
                dailyCountMax: dailyCount)
            if limits.isEmpty {
                throw ValidationError("give at least one of --single-amount, --daily-amount, --monthly-amount, --daily-count")
            }
            return limits
        }

        func validate() throws {
            _ = try limits()
        }

        func execute() throws {
            let (card, institution) = try target.parsed()
            let name = try who.resolved()
            let engine = try storeOptions.openEngine(rules: nil)
            let merged = try engine.setCardLimits(card, institution: institution, try limits(), by: name)
            print(describe(card, institution, merged))
        }
    }

    struct Get: OperatorCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show a card's own limits.",
            discussion: "Example: headroom card-limit get --store DIR --card 6222020200112233446 --format json")

        @OptionGroup var storeOptions: StoreOptions
        @OptionGroup var target: Target
        @OptionGroup var format: FormatOption

        func execute() throws {
            let (card, institution) = try target.parsed()
            let engine = try storeOptions.openReading()
            let limits = try engine.cardLimits(card, institution: institution) ?? CardLimits()
            guard format.format == .json else {
                print(describe(card, institution, limits))
                return
            }
            printJSON([
                "card": card.masked, "institution": institution?.code ?? NSNull(),
                "single_amount": limits.singleAmountFenMax.map(Amount.plain) ?? NSNull(),
                "daily_amount": limits.dailyAmountFenMax.map(Amount.plain) ?? NSNull(),
                "daily_count": limits.dailyCountMax.map { Int($0) } ?? NSNull(),
                "monthly_amount": limits.monthlyAmountFenMax.map(Amount.plain) ?? NSNull(),
            ] as [String: Any])
        }
    }

    struct Clear: OperatorCommand {
        static let configuration = CommandConfiguration(
            abstract: "Remove a card's own limits; the bank's apply alone again.",
            discussion: "Example: headroom card-limit clear --store DIR --card-file card.txt")

        @OptionGroup var storeOptions: StoreOptions
        @OptionGroup var target: Target
        @OptionGroup var who: OperatorOption

        func execute() throws {
            let (card, institution) = try target.parsed()
            let name = try who.resolved()
            let engine = try storeOptions.openEngine(rules: nil)
            let removed = try engine.clearCardLimits(card, institution: institution, by: name)
            print("card \(card.masked) \(scope(institution)): \(removed ? "limits cleared" : "had no limits")")
        }
    }
}

func scope(_ institution: Institution?) -> String {
    institution.map { "at \($0.code)" } ?? "(all institutions)"
}

func describe(_ card: CardNumber, _ institution: Institution?, _ limits: CardLimits) -> String {
    func amount(_ v: Int64?) -> String { v.map(Amount.grouped) ?? "not set" }
    return """
    card \(card.masked) \(scope(institution))
      single amount   \(amount(limits.singleAmountFenMax))
      daily amount    \(amount(limits.dailyAmountFenMax))
      daily count     \(limits.dailyCountMax.map { "\($0)" } ?? "not set")
      monthly amount  \(amount(limits.monthlyAmountFenMax))
    """
}
