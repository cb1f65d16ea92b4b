import Foundation
@testable import Headroom
import HeadroomCore
import HeadroomRules
import Testing

/// A small seeded generator, so that random tests repeat exactly.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

enum Fixture {
    static let cardKey = try! CardKey(hex: String(repeating: "5a", count: 32))

    /// The repository's Rules/ directory.
    static let shippedRulesDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Rules").path

    static func shippedRules() throws -> [RuleSource] {
        try RuleSource.read(directory: shippedRulesDirectory)
    }

    static func directory(_ name: String) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("headroom-\(name)-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    static func engine(_ path: String, rules: [RuleSource]? = nil, key: CardKey = cardKey) throws -> Engine {
        try Engine(path: path, cardKey: key, rules: rules, options: .init(storage: .init(mapSizeBytes: 64 << 20)))
    }

    /// A valid card number (Luhn) from an 18-digit body.
    static func pan(_ n: Int) -> String {
        let body = "622202" + String(format: "%012d", n)
        var digits = body.map { Int(String($0))! }
        var sum = 0
        for (i, d) in digits.reversed().enumerated() {
            var v = d
            if i % 2 == 0 { v *= 2; if v > 9 { v -= 9 } }
            sum += v
        }
        digits.append((10 - sum % 10) % 10)
        return digits.map(String.init).joined()
    }

    static func request(_ id: String, _ time: String, card: Int = 1, institution: String = "Z2007933000010",
                        business: Business = .agreement, amount: String, accountClass: AccountClass = .classI,
                        channel: Channel? = nil) throws -> PaymentRequest {
        PaymentRequest(id: try PaymentID(id), time: try Timestamp(iso8601: time), card: try CardNumber(pan(card)),
                       institution: try Institution(institution), business: business, amount: try Amount(yuan: amount),
                       accountClass: accountClass, channel: channel)
    }
}

/// Expects `body` to throw a HeadroomError with `code`.
func expectError(_ code: HeadroomError.Code, sourceLocation: Testing.SourceLocation = #_sourceLocation, _ body: () throws -> Void) {
    do {
        try body()
        Issue.record("expected \(code), nothing was thrown", sourceLocation: sourceLocation)
    } catch let error as HeadroomError {
        #expect(error.code == code, "\(error)", sourceLocation: sourceLocation)
    } catch {
        Issue.record("expected \(code), got \(error)", sourceLocation: sourceLocation)
    }
}
