/// The tier a limit belongs to. The raw value is the documented evaluation order: when several
/// limits fail, the decline names the first in this order (then in rule-file order).
public enum Tier: UInt8, Sendable, Comparable, NamedCase {
    /// PBoC caps by account class (II类户, III类户): the law comes first.
    case regulatory = 1
    /// 全行级: the bank's risk department, every institution.
    case bank = 2
    /// 支付机构级: per payment institution, under its contract with the bank.
    case institution = 3
    /// 银行卡级: the customer's own limits for their card.
    case card = 4

    /// The name rule files and answers write.
    public var name: String {
        switch self {
        case .regulatory: "regulatory"
        case .bank: "bank"
        case .institution: "institution"
        case .card: "card"
        }
    }

    var capitalizedName: String {
        switch self {
        case .regulatory: "Regulatory"
        case .bank: "Bank"
        case .institution: "Institution"
        case .card: "Card"
        }
    }

    public static func < (a: Tier, b: Tier) -> Bool { a.rawValue < b.rawValue }
}

/// What a limit caps: the amount or the number of payments.
public enum Measure: UInt8, Sendable, CustomStringConvertible {
    /// The amount, in fen.
    case amount = 1
    /// The number of payments.
    case count = 2

    public var description: String { self == .amount ? "amount" : "count" }
}
