/// The business type (业务类型) of a payment. Raw values are stored; never renumber them.
public enum Business: UInt8, Sendable, NamedCase {
    /// Agreement payment (协议支付).
    case agreement = 0       // 协议支付
    /// Authentication payment (认证支付).
    case authentication = 1  // 认证支付
    /// Gateway payment (网关支付).
    case gateway = 2         // 网关支付
    /// Entrusted payment under a commercial mandate (商业委托支付).
    case entrusted = 3       // 商业委托支付
    /// Refund (退款): never authorized, sent as a refund of its original.
    case refund = 4          // 退款
    /// Payout (付款).
    case payout = 5          // 付款

    /// The name rule files and replay lines write.
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
    /// Class I: a full account.
    case classI = 0
    /// Class II.
    case classII = 1
    /// Class III.
    case classIII = 2

    /// The name rule files and replay lines write: `I`, `II`, `III`.
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
    /// A mobile app.
    case app = 0
    /// A web page on a computer.
    case pc = 1
    /// A mobile web page.
    case h5 = 2

    /// The name rule files and replay lines write.
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
    /// A person's account.
    case personal = 0
    /// A company's account.
    case corporate = 1

    /// The name rule files and replay lines write.
    public var name: String {
        switch self {
        case .personal: "personal"
        case .corporate: "corporate"
        }
    }

}
