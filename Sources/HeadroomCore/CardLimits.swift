/// A customer's own limits for their card (银行卡级), for all institutions or for one. Each
/// may only lower what the bank and the institution allow.
public struct CardLimits: Hashable, Sendable {
    /// The most one payment may take, in fen; `nil`: no limit of the customer's.
    public var singleAmountFenMax: Int64?
    /// The most a natural day's payments may take, in fen.
    public var dailyAmountFenMax: Int64?
    /// The most a natural month's payments may take, in fen.
    public var monthlyAmountFenMax: Int64?
    /// The most payments in a natural day.
    public var dailyCountMax: Int64?

    /// Limits with the caps given; the others unset.
    public init(
        singleAmountFenMax: Int64? = nil, dailyAmountFenMax: Int64? = nil,
        monthlyAmountFenMax: Int64? = nil, dailyCountMax: Int64? = nil
    ) {
        self.singleAmountFenMax = singleAmountFenMax
        self.dailyAmountFenMax = dailyAmountFenMax
        self.monthlyAmountFenMax = monthlyAmountFenMax
        self.dailyCountMax = dailyCountMax
    }

    /// No cap is set.
    public var isEmpty: Bool {
        singleAmountFenMax == nil && dailyAmountFenMax == nil && monthlyAmountFenMax == nil && dailyCountMax == nil
    }

    /// These limits with every field that `other` sets replaced.
    public func merged(with other: CardLimits) -> CardLimits {
        CardLimits(
            singleAmountFenMax: other.singleAmountFenMax ?? singleAmountFenMax,
            dailyAmountFenMax: other.dailyAmountFenMax ?? dailyAmountFenMax,
            monthlyAmountFenMax: other.monthlyAmountFenMax ?? monthlyAmountFenMax,
            dailyCountMax: other.dailyCountMax ?? dailyCountMax
        )
    }

    /// Each set value as (window, measure, value), in evaluation order.
    public var entries: [(window: Window, measure: Measure, value: Int64)] {
        var out: [(Window, Measure, Int64)] = []
        if let v = singleAmountFenMax { out.append((.single, .amount, v)) }
        if let v = dailyAmountFenMax { out.append((.day, .amount, v)) }
        if let v = dailyCountMax { out.append((.day, .count, v)) }
        if let v = monthlyAmountFenMax { out.append((.month, .amount, v)) }
        return out
    }

    /// 32 bytes: four Int64 in host order, -1 for "not set".
    public var encoded: [UInt8] {
        var bytes: [UInt8] = []
        for v in [singleAmountFenMax, dailyAmountFenMax, monthlyAmountFenMax, dailyCountMax] {
            withUnsafeBytes(of: v ?? -1) { bytes.append(contentsOf: $0) }
        }
        return bytes
    }

    /// Decodes the 32 bytes that ``encoded`` wrote; `nil` for any other length.
    public init?(encoded bytes: UnsafeRawBufferPointer) {
        guard bytes.count == 32 else { return nil }
        func field(_ i: Int) -> Int64? {
            let v = bytes.loadUnaligned(fromByteOffset: i * 8, as: Int64.self)
            return v < 0 ? nil : v
        }
        self.init(singleAmountFenMax: field(0), dailyAmountFenMax: field(1),
                  monthlyAmountFenMax: field(2), dailyCountMax: field(3))
    }
}

/// What the card tier counts: which payments a customer's own limits apply to.
public struct CardTierPolicy: Hashable, Sendable {
    /// Which payments customers' card limits count.
    public let filter: Filter
    /// Whether a refund gives back what it refunds on the card tier's counters.
    public let refundRestores: Bool

    /// The card tier's policy, as the rule files' `card_tier` section says it.
    public init(filter: Filter, refundRestores: Bool) {
        self.filter = filter
        self.refundRestores = refundRestores
    }
}
