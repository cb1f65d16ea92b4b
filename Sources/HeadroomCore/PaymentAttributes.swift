/// The business type (业务类型) of a payment. Raw values are stored; never renumber them.
public enum Business: UInt8, CaseIterable, Sendable, CustomStringConvertible {
    case agreement = 0       // 协议支付
    case authentication = 1  // 认证支付
    case gateway = 2         // 网关支付
    case entrusted = 3       // 商业委托支付
    case refund = 4          // 退款
    case payout = 5          // 付款

    public var name: String {
        switch self {
        case .agreement: "agreement"
        case .authentication: "authentication"
        case .gateway: "gateway"
        case .entrusted: "entrusted"
        case .refund: "refund"
        case .payout: "payout"
        }
    }

    public var description: String { name }

    public init?(name: String) {
        guard let found = Business.allCases.first(where: { $0.name == name }) else { return nil }
        self = found
    }
}

/// The PBoC account class (账户分类) of the paying account. Raw values are stored.
public enum AccountClass: UInt8, CaseIterable, Sendable, CustomStringConvertible {
    case classI = 0
    case classII = 1
    case classIII = 2

    public var name: String {
        switch self {
        case .classI: "I"
        case .classII: "II"
        case .classIII: "III"
        }
    }

    public var description: String { name }

    public init?(name: String) {
        guard let found = AccountClass.allCases.first(where: { $0.name == name }) else { return nil }
        self = found
    }
}

/// Where the customer paid from, when the institution says so. Raw values are stored.
public enum Channel: UInt8, CaseIterable, Sendable, CustomStringConvertible {
    case app = 0
    case pc = 1
    case h5 = 2

    public var name: String {
        switch self {
        case .app: "app"
        case .pc: "pc"
        case .h5: "h5"
        }
    }

    public var description: String { name }

    public init?(name: String) {
        guard let found = Channel.allCases.first(where: { $0.name == name }) else { return nil }
        self = found
    }
}

/// Whether the paying account is a person's or a company's. Raw values are stored.
public enum AccountType: UInt8, CaseIterable, Sendable, CustomStringConvertible {
    case personal = 0
    case corporate = 1

    public var name: String {
        switch self {
        case .personal: "personal"
        case .corporate: "corporate"
        }
    }

    public var description: String { name }

    public init?(name: String) {
        guard let found = AccountType.allCases.first(where: { $0.name == name }) else { return nil }
        self = found
    }
}
