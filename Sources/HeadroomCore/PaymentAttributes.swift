/// The business type (业务类型) of a payment. Raw values are stored; never renumber them.
public enum Business: UInt8, Sendable, NamedCase {
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

}

/// The PBoC account class (账户分类) of the paying account. Raw values are stored.
public enum AccountClass: UInt8, Sendable, NamedCase {
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

}

/// Where the customer paid from, when the institution says so. Raw values are stored.
public enum Channel: UInt8, Sendable, NamedCase {
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

}

/// Whether the paying account is a person's or a company's. Raw values are stored.
public enum AccountType: UInt8, Sendable, NamedCase {
    case personal = 0
    case corporate = 1

    public var name: String {
        switch self {
        case .personal: "personal"
        case .corporate: "corporate"
        }
    }

}
