import Foundation
import HeadroomCore
import HeadroomTesting

/// A seeded, deterministic stream of NetsUnion traffic, as the issue specifies: Zipf-skewed or
/// uniform cards, institutions by share, the business mix, log-normal amounts, account classes,
/// retries, releases and refunds, over a natural day or packed into its peak hour.
struct WorkloadSpec: Codable, Sendable {
    var cards: Int = 1_000_000
    var payments: Int = 20_000
    var zipf: Bool = true
    var zipfExponent: Double = 1.0
    var peakHour: Bool = false
    var seed: UInt64 = 20261125
    /// The natural day the traffic falls on (UTC+8 midnight, unix seconds).
    var dayStart: Int64 = 1_795_536_000  // 2026-11-25T00:00:00+08:00
    var duplicatePercent = 0.5
    var releasePercent = 2.0
    var refundPercent = 1.0
    /// Prefix of the payment ids, so that several days' traffic can share one store.
    var idPrefix = "B"
    /// Seconds into the day where the traffic starts (the rest of the day after it): the
    /// day-scale runs leave the morning to the day store's own payments (``Workload/prefill(cards:spec:)``).
    var firstSecond: Int64 = 0

    var description: String {
        let span = peakHour ? "the peak hour" : firstSecond > 0 ? String(format: "%02ld:%02ld to midnight", Int(firstSecond / 3600), Int(firstSecond % 3600 / 60)) : "a natural day"
        return "\(payments) payments over \(cards) cards (\(zipf ? "Zipf s=\(zipfExponent)" : "uniform")), \(span), seed \(seed)"
    }
}

/// One operation, as a fixed 32-byte record shared with the C peers (peers/common.h).
struct Op: Sendable {
    enum Kind: UInt8 { case authorize = 1, confirm = 2, release = 3, refund = 4 }
    var kind: UInt8
    var institution: UInt8
    var business: UInt8
    var accountClass: UInt8
    var card: UInt32
    var payment: UInt32  // the payment's index; a refund's own id is payment + 1_000_000_000
    var reserved: UInt32 = 0
    var amountFen: Int64
    var time: Int64
}

/// The institutions: one at 55%, one at 30%, 20 more sharing the rest.
let institutionCodes: [String] = ["Z2007933000010", "Z2004944000010"] + (0..<20).map { "Z20000000001\(String(format: "%02d", $0))" }

struct Workload: Sendable {
    let spec: WorkloadSpec
    let ops: [Op]

    /// The ops cut into units a caller thread runs in order: a payment's authorization, its
    /// retry, and its confirm or release; each refund alone, after every payment.
    var units: [Range<Int>] {
        var out: [Range<Int>] = []
        var start = 0
        for i in 1...ops.count {
            if i == ops.count || ops[i].kind == Op.Kind.refund.rawValue
                || (ops[i].kind == Op.Kind.authorize.rawValue && ops[i].payment != ops[start].payment) {
                out.append(start..<i)
                start = i
            }
        }
        return out
    }

    var authorizations: Int { ops.reduce(0) { $0 + ($1.kind == Op.Kind.authorize.rawValue ? 1 : 0) } }

    /// The account class of a card: fixed per card (80% I, 15% II, 5% III).
    static func accountClass(card: UInt32) -> UInt8 {
        let bucket = ((UInt64(card) &* 0x9E37_79B9_7F4A_7C15) >> 40) % 100
        return bucket < 80 ? 0 : bucket < 95 ? 1 : 2
    }

    static func generate(_ spec: WorkloadSpec) -> Workload {
        var rng = SplitMix64(seed: spec.seed)
        let zipf = spec.zipf ? ZipfSampler(count: spec.cards, exponent: spec.zipfExponent) : nil
        let span: Int64 = spec.peakHour ? 3600 : 86_400 - spec.firstSecond
        let start = spec.dayStart + (spec.peakHour ? 20 * 3600 : spec.firstSecond)  // the peak hour: 20:00-21:00
        var times = (0..<spec.payments).map { _ in start + Int64(rng.next() % UInt64(span)) }
        times.sort()
        var ops: [Op] = []
        ops.reserveCapacity(spec.payments * 2 + spec.payments / 50)
        var refunds: [Op] = []
        for i in 0..<spec.payments {
            let card = UInt32(zipf.map { $0.sample(&rng) } ?? Int(rng.next() % UInt64(spec.cards)))
            let auth = Op(kind: Op.Kind.authorize.rawValue, institution: institution(&rng), business: business(&rng),
                          accountClass: accountClass(card: card), card: card, payment: UInt32(i),
                          amountFen: amount(&rng), time: times[i])
            ops.append(auth)
            if percent(&rng) < spec.duplicatePercent { ops.append(auth) }  // a NetsUnion retry
            var follow = auth
            if percent(&rng) < spec.releasePercent {
                follow.kind = Op.Kind.release.rawValue
            } else {
                follow.kind = Op.Kind.confirm.rawValue
                if percent(&rng) < spec.refundPercent {
                    var refund = auth
                    refund.kind = Op.Kind.refund.rawValue
                    refund.amountFen = max(1, auth.amountFen / Int64(1 + rng.next() % 2))
                    refunds.append(refund)
                }
            }
            ops.append(follow)
        }
        ops += refunds  // later in the day, after every payment's debit is confirmed
        return Workload(spec: spec, ops: ops)
    }

    /// The day store's own traffic: every card pays once, in card order, between midnight and
    /// `spec.firstSecond`, and the payment is confirmed; the same mix of institutions, businesses
    /// and amounts, no retries, releases or refunds. Payment numbers start at
    /// ``prefillPaymentBase`` so that they never meet the day's own (nor their refunds').
    static func prefill(cards: Int, spec: WorkloadSpec) -> Workload {
        var rng = SplitMix64(seed: spec.seed ^ 0x5052_4546_494C_4C00)
        var s = spec
        s.cards = cards
        s.payments = cards
        s.idPrefix = "P"
        s.zipf = false
        var ops: [Op] = []
        ops.reserveCapacity(cards * 2)
        let span = UInt64(max(1, spec.firstSecond))
        for card in 0..<UInt32(cards) {
            var auth = Op(kind: Op.Kind.authorize.rawValue, institution: institution(&rng), business: business(&rng),
                          accountClass: accountClass(card: card), card: card, payment: prefillPaymentBase + card,
                          amountFen: amount(&rng), time: spec.dayStart + Int64(UInt64(card) * span / UInt64(cards)))
            ops.append(auth)
            auth.kind = Op.Kind.confirm.rawValue
            ops.append(auth)
        }
        return Workload(spec: s, ops: ops)
    }

    /// The first payment number of the day store's own traffic.
    static let prefillPaymentBase: UInt32 = 2_000_000_000

    static func percent(_ rng: inout SplitMix64) -> Double { Double(rng.next() % 100_000) / 1000 }

    static func institution(_ rng: inout SplitMix64) -> UInt8 {
        let p = percent(&rng)
        return p < 55 ? 0 : p < 85 ? 1 : UInt8(2 + rng.next() % 20)
    }

    /// 70% agreement, 10% each authentication, gateway, entrusted.
    static func business(_ rng: inout SplitMix64) -> UInt8 {
        let p = rng.next() % 10
        return p < 7 ? Business.agreement.rawValue : p == 7 ? Business.authentication.rawValue : p == 8 ? Business.gateway.rawValue : Business.entrusted.rawValue
    }

    /// Log-normal around 150.00 CNY (median), sigma 1, capped at 50,000.00; whole fen.
    static func amount(_ rng: inout SplitMix64) -> Int64 {
        let u1 = max(Double(rng.next() >> 11) / Double(1 << 53), 1e-12), u2 = Double(rng.next() >> 11) / Double(1 << 53)
        let normal = (-2 * log(u1)).squareRoot() * cos(2 * .pi * u2)
        let yuan = exp(log(150.0) + normal)
        return min(5_000_000, max(1, Int64((yuan * 100).rounded())))
    }

    /// Writes the ops for the C peers: a 16-byte header ("HRWL", version, count) then 32-byte ops.
    func write(to path: String) throws {
        var data = Data()
        data.append(contentsOf: Array("HRWL".utf8))
        withUnsafeBytes(of: UInt32(1)) { data.append(contentsOf: $0) }
        withUnsafeBytes(of: UInt64(ops.count)) { data.append(contentsOf: $0) }
        ops.withUnsafeBytes { data.append(contentsOf: $0) }
        try data.write(to: URL(fileURLWithPath: path))
    }
}

/// Zipf over 0..<count by inverse transform on a precomputed CDF.
struct ZipfSampler: Sendable {
    let cdf: [Double]

    init(count: Int, exponent: Double) {
        var cdf = [Double](repeating: 0, count: count)
        var sum = 0.0
        for k in 0..<count {
            sum += 1 / pow(Double(k + 1), exponent)
            cdf[k] = sum
        }
        self.cdf = cdf.map { $0 / sum }
    }

    func sample(_ rng: inout SplitMix64) -> Int {
        let u = Double(rng.next() >> 11) / Double(1 << 53)
        var lo = 0, hi = cdf.count - 1
        while lo < hi {
            let mid = (lo + hi) / 2
            if cdf[mid] < u { lo = mid + 1 } else { hi = mid }
        }
        return lo
    }
}

/// A valid card number (Luhn) for a card index.
func cardNumber(_ index: UInt32) -> String { TestCards.number(Int(index)) }
